package snapshot

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/understudy-dev/understudy/pipeline/store"
	"github.com/understudy-dev/understudy/pipeline/store/dirstore"
	"github.com/understudy-dev/understudy/schemas"
)

// The sign key is a secret: too short is refused, and it never prints.
func TestSignKeyIsASecret(t *testing.T) {
	const secret = "sixteen-byte-key"
	if _, err := NewSignKey([]byte(secret[:15])); err == nil || strings.Contains(err.Error(), secret[:15]) {
		t.Errorf("a 15-byte key: %v; want it refused without being repeated", err)
	}
	// Measured as the anonymization key is: 16 hex digits are 8 bytes, not 16.
	if _, err := NewSignKey([]byte("0123456789abcdef")); err == nil || !strings.Contains(err.Error(), "8 bytes") {
		t.Errorf("a 16-hex-digit key: %v; want it refused as 8 bytes", err)
	}
	k, err := NewSignKey([]byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{fmt.Sprint(k), fmt.Sprintf("%v %+v %#v %s", k, k, k, k), fmt.Sprint(struct{ K *SignKey }{k})} {
		if strings.Contains(s, secret) {
			t.Errorf("the key prints: %s", s)
		}
	}
}

// orderStore records when each object becomes visible.
type orderStore struct {
	store.Store
	mu      sync.Mutex
	visible []string
}

type orderWriter struct {
	store.Writer
	s    *orderStore
	name string
}

func (s *orderStore) Create(ctx context.Context, name string) (store.Writer, error) {
	w, err := s.Store.Create(ctx, name)
	return &orderWriter{w, s, name}, err
}

func (w *orderWriter) Close() error {
	err := w.Writer.Close()
	w.s.mu.Lock()
	w.s.visible = append(w.s.visible, w.name)
	w.s.mu.Unlock()
	return err
}

// A snapshot never looks finished before it is signed: the signature is in place before the
// manifest appears. Signed, it verifies; changed by one byte, or unsigned, it does not; and
// an unsigned manifest written over a signed one does not keep the old signature beside it.
func TestManifestSignature(t *testing.T) {
	ctx := context.Background()
	dir, err := dirstore.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	s := &orderStore{Store: dir}
	key, _ := NewSignKey([]byte("manifest-sign-key-0123"))
	m := &Manifest{Format: Format, Version: Version, Catalog: &schemas.Catalog{}, Rows: 42}
	if err := WriteManifest(ctx, s, m, key); err != nil {
		t.Fatal(err)
	}
	if want := []string{SignatureName, ManifestName}; fmt.Sprint(s.visible) != fmt.Sprint(want) {
		t.Errorf("objects appeared in the order %v; want %v", s.visible, want)
	}
	if got, err := ReadSignedManifest(ctx, s, key); err != nil || got.Rows != 42 {
		t.Fatalf("ReadSignedManifest = %+v, %v", got, err)
	}
	m.Rows = 43
	if err := WriteManifest(ctx, s, m, nil); err != nil {
		t.Fatal(err)
	}
	var se *SignatureError
	if _, err := ReadSignedManifest(ctx, s, key); !errors.As(err, &se) || !strings.Contains(err.Error(), "not signed") {
		t.Errorf("an unsigned manifest written over a signed one: %v; want it unsigned", err)
	}
}
