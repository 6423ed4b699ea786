package job

import (
	"context"
	"testing"

	"github.com/understudy-dev/understudy/fixtures/pgtest"
)

// ddlLiteralsSQL is a schema whose string literals, dollar-quoted bodies, quoted identifiers
// and comments hold text that looks like pg_dump's own framing: "--" lines, full
// "-- Name: …; Type: …; Schema: …; Owner: …" headers and psql's \restrict lines.
const ddlLiteralsSQL = `
CREATE TABLE t (id int PRIMARY KEY, note text, "c
-- Name: c; Type: COLUMN; Schema: public; Owner: postgres" int);
INSERT INTO t VALUES (1, 'one', 1), (2, E'two\n-- Name: x; Type: TABLE', 2);

CREATE FUNCTION f() RETURNS text LANGUAGE plpgsql AS $body$
BEGIN
--
-- Name: x; Type: TABLE; Schema: public; Owner: postgres
--
-- Name: x; Type: TABLE
  RETURN 'ok
\restrict abc
--
\unrestrict abc
';
END
$body$;

CREATE FUNCTION g(text) RETURNS boolean LANGUAGE sql IMMUTABLE AS $q$
SELECT $1 <> $tag$
--
-- Name: y; Type: INDEX; Schema: public; Owner: postgres
--
$tag$
$q$;

ALTER TABLE t ENABLE ROW LEVEL SECURITY;
CREATE POLICY p ON t USING (note <> E'a\n-- Name: x; Type: TABLE\n--\n-- Name: x; Type: TABLE; Schema: public; Owner: postgres\n--\nb');
CREATE POLICY "q
-- Name: t q; Type: POLICY; Schema: public; Owner: postgres" ON t USING (g(note));

CREATE INDEX t_note ON t (id) WHERE note <> E'x\n--\n-- Name: y; Type: INDEX; Schema: public; Owner: postgres\n--\n' AND note <> E'\n-- Name: x; Type: TABLE\n';
CREATE INDEX t_c ON t ("c
-- Name: c; Type: COLUMN; Schema: public; Owner: postgres") WHERE note <> E'it''s \\ \n-- Name: z; Type: INDEX; Schema: public; Owner: postgres\n';
COMMENT ON INDEX t_note IS E'c\n--\n-- Name: z; Type: INDEX; Schema: public; Owner: postgres\n--\n-- hi';

CREATE FUNCTION trg() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
CREATE TRIGGER t_trg BEFORE UPDATE ON t FOR EACH ROW
  WHEN (NEW.note IS DISTINCT FROM E'w\n--\n-- Name: w; Type: TRIGGER; Schema: public; Owner: postgres\n--\n')
  EXECUTE FUNCTION trg();
`

// Text inside a literal is never taken for pg_dump's framing: sync (and snapshot → restore)
// reproduce a schema whose policy, index predicate, comment, trigger condition, function
// bodies and identifiers hold "--" lines, "-- Name:" headers and \restrict lines.
func TestSyncKeepsDDLWhoseLiteralsLookLikePgDumpFraming(t *testing.T) {
	src := pgtest.NewDB(t)
	pgtest.Exec(t, pgtest.Connect(t, src), ddlLiteralsSQL)

	dst := pgtest.NewDB(t)
	if _, err := Sync(context.Background(), syncOpts(src, dst)); err != nil {
		t.Fatal(err)
	}
	assertSameDatabase(t, src, dst)

	snap := dirStore(t, t.TempDir())
	if _, err := Snapshot(context.Background(), snapshotOpts(src, snap)); err != nil {
		t.Fatal(err)
	}
	restored := pgtest.NewDB(t)
	if err := Restore(context.Background(), restoreOpts(snap, restored)); err != nil {
		t.Fatal(err)
	}
	assertSameDatabase(t, src, restored)
}
