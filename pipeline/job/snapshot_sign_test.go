package job

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/understudy-dev/understudy/fixtures"
	"github.com/understudy-dev/understudy/fixtures/pgtest"
	"github.com/understudy-dev/understudy/pipeline/snapshot"
	"github.com/understudy-dev/understudy/pipeline/store"
)

// A snapshot is code restore runs. Signed with a key, it restores with that key; with the
// key, restore refuses (exit 4, the target untouched) an unsigned snapshot, a manifest or
// schema file changed after signing — even one whose manifest was edited to match — and a
// snapshot signed with another key.
func TestRestoreChecksTheSignature(t *testing.T) {
	src := pgtest.NewDB(t)
	if err := fixtures.CreateShop(context.Background(), src, 1000, 7); err != nil {
		t.Fatal(err)
	}
	const secret = "job-sign-key-0123456789abcdef"
	key, err := snapshot.NewSignKey([]byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	wrong, _ := snapshot.NewSignKey([]byte("another-sign-key-0123456789"))
	if _, err := snapshot.NewSignKey([]byte("fifteen bytes..")); err == nil {
		t.Error("a 15-byte sign key was accepted")
	}

	eachStore(t, func(t *testing.T, fresh func() store.Store) {
		take := func(key *snapshot.SignKey) store.Store {
			t.Helper()
			to := fresh()
			o := snapshotOpts(src, to)
			o.SignKey = key
			if _, err := Snapshot(context.Background(), o); err != nil {
				t.Fatal(err)
			}
			return to
		}
		restore := func(from store.Store, key *snapshot.SignKey) (string, error) {
			t.Helper()
			dst := pgtest.NewDB(t)
			ro := restoreOpts(from, dst)
			ro.SignKey = key
			return dst, Restore(context.Background(), ro)
		}
		refused := func(what string, from store.Store, key *snapshot.SignKey, want ...string) {
			t.Helper()
			dst, err := restore(from, key)
			wantRefused(t, what, err, want...)
			if n := len(pgtest.TableDigests(t, dst)); n > 0 {
				t.Errorf("%s: the refused restore created %d tables", what, n)
			}
			var marker int
			pgtest.Scan(t, pgtest.Connect(t, dst).QueryRow(context.Background(), "SELECT count(*) FROM pg_namespace WHERE nspname = '_understudy_incomplete'"), &marker)
			if marker != 0 {
				t.Errorf("%s: the refused restore touched the target (it is marked incomplete)", what)
			}
		}

		signed := take(key)
		if _, ok := readObject(t, signed, snapshot.SignatureName); !ok {
			t.Fatalf("a signed snapshot has no %s", snapshot.SignatureName)
		}
		for _, n := range objectNames(t, signed) {
			if c, _ := readObject(t, signed, n); strings.Contains(c, secret) {
				t.Errorf("%s holds the sign key", n)
			}
		}
		dst, err := restore(signed, key)
		if err != nil {
			t.Fatalf("restore of a signed snapshot with its key: %v", err)
		}
		pgtest.AssertSameRows(t, src, dst)
		if _, err := restore(signed, nil); err != nil {
			t.Errorf("restore of a signed snapshot without a key: %v", err)
		}

		refused("an unsigned snapshot", take(nil), key, "not signed")
		refused("the wrong key", signed, wrong, "does not verify", "another key")

		// The manifest changed after signing: one byte of its totals.
		to := take(key)
		manifest, _ := readObject(t, to, snapshot.ManifestName)
		putObject(t, to, snapshot.ManifestName, strings.Replace(manifest, `"rows": `, `"rows": 1`, 1))
		refused("a changed manifest", to, key, "does not verify")

		// The schema changed, the manifest left alone: its checksum catches it.
		to = take(key)
		pre, _ := readObject(t, to, snapshot.PreDataName)
		evil := pre + "\nCREATE TABLE public.pwned ();\n"
		putObject(t, to, snapshot.PreDataName, evil)
		refused("a changed schema file", to, key, snapshot.PreDataName, "not what the manifest recorded")

		// The schema changed and the manifest edited to match: the signature catches it.
		manifest, _ = readObject(t, to, snapshot.ManifestName)
		oldSum, newSum := sha256.Sum256([]byte(pre)), sha256.Sum256([]byte(evil))
		edited := strings.Replace(manifest, hex.EncodeToString(oldSum[:]), hex.EncodeToString(newSum[:]), 1)
		if edited == manifest {
			t.Fatal("the manifest does not hold the schema file's checksum")
		}
		putObject(t, to, snapshot.ManifestName, edited)
		refused("a changed schema file with the manifest edited to match", to, key, "does not verify")
	})
}
