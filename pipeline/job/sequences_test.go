package job

import (
	"context"
	"testing"

	"github.com/understudy-dev/understudy/fixtures/pgtest"
	"github.com/understudy-dev/understudy/pipeline/config"
	"github.com/understudy-dev/understudy/transforms"
)

// Every kind of sequence that feeds a column a rule rewrote: serial, identity, a plain
// DEFAULT nextval on a unique non-key column, a sequence OWNED BY a column without a
// default (the application calls nextval itself), an empty table, a descending sequence, a
// serial key of a partitioned table (the sequence feeds the parent; the partitions hold the rows).
const rewrittenSequencesSQL = `
CREATE TABLE s_serial (id serial PRIMARY KEY, v text);
CREATE TABLE s_ident (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, v text);
CREATE SEQUENCE plain_seq;
CREATE TABLE s_plain (id bigserial PRIMARY KEY, ref_no bigint NOT NULL UNIQUE DEFAULT nextval('plain_seq'));
CREATE TABLE s_owned (code int PRIMARY KEY);
CREATE SEQUENCE owned_seq AS integer OWNED BY s_owned.code;
CREATE TABLE s_empty (id serial PRIMARY KEY);
CREATE SEQUENCE desc_seq AS integer INCREMENT BY -1;
CREATE TABLE s_desc (id int PRIMARY KEY DEFAULT nextval('desc_seq'));
CREATE TABLE s_child (id serial PRIMARY KEY, parent_id int NOT NULL REFERENCES s_serial (id));
CREATE TABLE s_part (id bigserial, half int NOT NULL, PRIMARY KEY (id, half)) PARTITION BY LIST (half);
CREATE TABLE s_part_0 PARTITION OF s_part FOR VALUES IN (0);
CREATE TABLE s_part_1 PARTITION OF s_part FOR VALUES IN (1);
INSERT INTO s_serial (v) SELECT 'r' || g FROM generate_series(1, 200) g;
INSERT INTO s_ident (v) SELECT 'r' || g FROM generate_series(1, 200) g;
INSERT INTO s_plain SELECT FROM generate_series(1, 200);
INSERT INTO s_owned SELECT nextval('owned_seq') FROM generate_series(1, 200);
INSERT INTO s_desc SELECT FROM generate_series(1, 200);
INSERT INTO s_child (parent_id) SELECT 1 + g % 200 FROM generate_series(0, 299) g;
INSERT INTO s_part (half) SELECT g % 2 FROM generate_series(1, 200) g;
`

const rewrittenSequencesRules = `tables:
  public.s_serial:
    columns: {id: permute}
  public.s_ident:
    columns: {id: permute}
  public.s_plain:
    columns: {ref_no: permute}
  public.s_owned:
    columns: {code: permute}
  public.s_empty:
    columns: {id: permute}
  public.s_desc:
    columns: {id: permute}
  public.s_part:
    columns: {id: permute}
`

// After a sync, and after a snapshot and a restore, with permute on keys that sequences feed:
// the next value of every such sequence lies past the rewritten keys (above the largest, or
// below the smallest for a descending sequence), so the application's first inserts into
// staging succeed. A sequence behind a column no rule touched (the child's serial; its
// parent_id follows the rule but has no sequence) keeps the source's value.
func TestSequencesEndPastRewrittenKeys(t *testing.T) {
	src := pgtest.NewDB(t)
	pgtest.Exec(t, pgtest.Connect(t, src), rewrittenSequencesSQL)
	cfg, err := config.Parse("rules.yaml", []byte(rewrittenSequencesRules))
	if err != nil {
		t.Fatal(err)
	}
	key, _ := transforms.NewKey("sequence-test-key-0123456789")

	viaSync := pgtest.NewDB(t)
	o := syncOpts(src, viaSync)
	o.Config, o.Key = cfg, key
	if _, err := Sync(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	t.Run("sync", func(t *testing.T) { assertInsertsSucceed(t, viaSync) })

	snap := dirStore(t, t.TempDir())
	so := snapshotOpts(src, snap)
	so.Config, so.Key = cfg, key
	if _, err := Snapshot(context.Background(), so); err != nil {
		t.Fatal(err)
	}
	viaRestore := pgtest.NewDB(t)
	if err := Restore(context.Background(), restoreOpts(snap, viaRestore)); err != nil {
		t.Fatal(err)
	}
	t.Run("restore", func(t *testing.T) { assertInsertsSucceed(t, viaRestore) })
}

func assertInsertsSucceed(t *testing.T, dsn string) {
	ctx := context.Background()
	conn := pgtest.Connect(t, dsn)
	for _, c := range []struct {
		table, col, insert string
		descending         bool
	}{
		{"s_serial", "id", "INSERT INTO s_serial DEFAULT VALUES RETURNING id", false},
		{"s_ident", "id", "INSERT INTO s_ident DEFAULT VALUES RETURNING id", false},
		{"s_plain", "ref_no", "INSERT INTO s_plain DEFAULT VALUES RETURNING ref_no", false},
		{"s_owned", "code", "INSERT INTO s_owned VALUES (nextval('owned_seq')) RETURNING code", false},
		{"s_desc", "id", "INSERT INTO s_desc DEFAULT VALUES RETURNING id", true},
		{"s_part", "id", "INSERT INTO s_part (half) VALUES (1) RETURNING id", false},
	} {
		var lo, hi int64
		if err := conn.QueryRow(ctx, "SELECT min("+c.col+"), max("+c.col+") FROM "+c.table).Scan(&lo, &hi); err != nil {
			t.Fatal(err)
		}
		if hi < 1000 && !c.descending || lo > -1000 && c.descending {
			t.Fatalf("%s.%s spans [%d, %d]: the rule did not rewrite it, the test proves nothing", c.table, c.col, lo, hi)
		}
		for i := 0; i < 3; i++ {
			var got int64
			if err := conn.QueryRow(ctx, c.insert).Scan(&got); err != nil {
				t.Errorf("%s: insert %d: %v", c.table, i+1, err)
				break
			}
			if !c.descending && got <= hi || c.descending && got >= lo {
				t.Errorf("%s: the sequence gave %d, inside the rewritten keys [%d, %d]", c.table, got, lo, hi)
				break
			}
		}
	}
	var id int64
	if err := conn.QueryRow(ctx, "INSERT INTO s_empty DEFAULT VALUES RETURNING id").Scan(&id); err != nil || id != 1 {
		t.Errorf("empty table: insert gave id %d, %v; want 1, as in the source", id, err)
	}
	if err := conn.QueryRow(ctx, "INSERT INTO s_child (parent_id) SELECT max(id) FROM s_serial RETURNING id").Scan(&id); err != nil || id != 301 {
		t.Errorf("child table: insert gave id %d, %v; want 301, the source's next value", id, err)
	}
}
