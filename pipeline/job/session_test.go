package job

import (
	"context"
	"fmt"
	"testing"

	"github.com/understudy-dev/understudy/fixtures/pgtest"
)

// sessionZooSQL holds values whose text form depends on session settings. Table with_xml
// moves as text COPY (xml has no lossless binary form), binary_only as binary COPY.
const sessionZooSQL = `
CREATE TABLE with_xml (id int PRIMARY KEY, f8 float8, f4 float4, d date, ts timestamp, tstz timestamptz,
  iv interval, m money, t text, x xml);
CREATE TABLE binary_only (id int PRIMARY KEY, f8 float8, d date, iv interval, t text);
INSERT INTO with_xml VALUES
  (1, 0.1::float8 + 0.2::float8, 0.1::float4 * 3, '2024-04-03', '2024-04-03 10:11:12.345678', '2024-04-03 10:11:12.345678+02',
   interval '-1 day -2 hours', 1234.56, 'déjà vu €', 'abc<b>fragment</b>'),
  (2, 1e-310, 3.4e38, '0099-12-31 BC', 'infinity', '-infinity', interval '-1 year -2 months', -0.01, '日本', '<doc/>');
INSERT INTO binary_only SELECT id, f8, d, iv, t FROM with_xml;
COMMENT ON TABLE with_xml IS 'déjà vu, 日本';`

// A text-format COPY prints values as the session says (DateStyle, IntervalStyle,
// extra_float_digits, client_encoding...) and the target reads them as its session says
// (xmloption, client_encoding); pg_dump writes the schema in the session's client_encoding.
// Settings a database (or role) has of its own must not change a single value or name: sync
// and snapshot → restore give identical rows and schema.
func TestCopyIsLosslessWhateverTheDatabasesSettings(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name           string
		source, target string // ALTER DATABASE ... SET
	}{
		{"source extra_float_digits 0", "extra_float_digits = 0", ""},
		{"source DateStyle SQL, DMY", "DateStyle = 'SQL, DMY'", ""},
		{"source IntervalStyle sql_standard", "IntervalStyle = 'sql_standard'", ""},
		{"source client_encoding LATIN1", "client_encoding = 'LATIN1'", ""},
		{"target client_encoding LATIN1", "", "client_encoding = 'LATIN1'"},
		{"target xmloption document", "", "xmloption = document"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			src := pgtest.NewDB(t)
			pgtest.Exec(t, pgtest.Connect(t, src), sessionZooSQL)
			set := func(dsn, setting string) {
				if setting != "" {
					pgtest.Exec(t, pgtest.Connect(t, pgtest.DSN(t)), "ALTER DATABASE "+pgtest.DBName(t, dsn)+" SET "+setting)
				}
			}
			set(src, tc.source)

			dst := pgtest.NewDB(t)
			set(dst, tc.target)
			if _, err := Sync(ctx, syncOpts(src, dst)); err != nil {
				t.Fatalf("sync: %v", err)
			}
			pgtest.AssertSameRows(t, src, dst)
			pgtest.AssertSameSchema(t, src, dst)

			snap := dirStore(t, t.TempDir())
			if _, err := Snapshot(ctx, snapshotOpts(src, snap)); err != nil {
				t.Fatalf("snapshot: %v", err)
			}
			restored := pgtest.NewDB(t)
			set(restored, tc.target)
			if err := Restore(ctx, restoreOpts(snap, restored)); err != nil {
				t.Fatalf("restore: %v", err)
			}
			pgtest.AssertSameRows(t, src, restored)
			pgtest.AssertSameSchema(t, src, restored)
		})
	}
}

// Timeouts a role has of its own (ALTER ROLE ... SET) are for interactive sessions; a run
// that takes longer than them must not fail at the end. Here both roles cancel a statement
// after a second and end a session idle for a second; loading table t takes one and a half
// (its check sleeps on the first row), which the target's first connection spends idle, and
// so does refreshing the materialized view at the end of the sync.
func TestRoleTimeoutsDoNotFailLongRuns(t *testing.T) {
	src := pgtest.NewDB(t)
	admin := pgtest.Connect(t, src)
	pgtest.Exec(t, admin, `
CREATE FUNCTION slow_check(id int) RETURNS bool LANGUAGE plpgsql IMMUTABLE
  AS $$ BEGIN IF id = 1 THEN PERFORM pg_sleep(1.5); END IF; RETURN true; END $$;
CREATE TABLE t (id int PRIMARY KEY CHECK (slow_check(id)));
INSERT INTO t SELECT generate_series(1, 100);
CREATE MATERIALIZED VIEW slow AS SELECT count(*) AS n, pg_sleep(1.5)::text AS slept FROM t;`)
	timeouts := " SET statement_timeout = '1s'; ALTER ROLE %[1]s SET lock_timeout = '1s';" +
		" ALTER ROLE %[1]s SET idle_in_transaction_session_timeout = '1s'; ALTER ROLE %[1]s SET idle_session_timeout = '1s'"
	role, reader := pgtest.NewRole(t, src, "")
	pgtest.Exec(t, admin, "GRANT SELECT ON ALL TABLES IN SCHEMA public TO "+role+"; ALTER ROLE "+role+fmt.Sprintf(timeouts, role))

	dst := pgtest.NewDB(t)
	loaderRole, loader := pgtest.NewRole(t, dst, "")
	pgtest.Exec(t, pgtest.Connect(t, pgtest.DSN(t)), "ALTER DATABASE "+pgtest.DBName(t, dst)+" OWNER TO "+loaderRole+
		"; ALTER ROLE "+loaderRole+fmt.Sprintf(timeouts, loaderRole))
	o := syncOpts(reader, loader)
	o.NoOwner, o.NoPrivileges = true, true // the loader cannot give objects to the source's owner
	if _, err := Sync(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	pgtest.AssertSameRows(t, src, dst)
	assertNoMarker(t, dst)
}
