package rehearse

import (
	"reflect"
	"strings"
	"testing"
)

func TestSplit(t *testing.T) {
	src := `-- leading comment; with a semicolon
CREATE TABLE a (s text DEFAULT 'x;y', "we;ird" int); /* block ; /* nested ; */ still */
INSERT INTO a VALUES (E'it\'s;', 1);
CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $body$ BEGIN RETURN 1; END; $body$;
CREATE FUNCTION g() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT CASE WHEN true THEN 1 END; SELECT 2; END;
DO $$ BEGIN PERFORM 1; END $$;
SELECT $1::int;;
-- only a comment at the end`
	got := Split(src)
	var sqls []string
	for _, s := range got {
		sqls = append(sqls, s.SQL)
	}
	want := []string{
		`CREATE TABLE a (s text DEFAULT 'x;y', "we;ird" int)`,
		`INSERT INTO a VALUES (E'it\'s;', 1)`,
		`CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $body$ BEGIN RETURN 1; END; $body$`,
		`CREATE FUNCTION g() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT CASE WHEN true THEN 1 END; SELECT 2; END`,
		`DO $$ BEGIN PERFORM 1; END $$`,
		`SELECT $1::int`,
	}
	if !reflect.DeepEqual(sqls, want) {
		t.Fatalf("Split:\n got %q\nwant %q", sqls, want)
	}
	if got[0].Line != 2 || got[2].Line != 4 {
		t.Errorf("lines: %d, %d; want 2, 4", got[0].Line, got[2].Line)
	}
}

func TestParseMigrationTransactions(t *testing.T) {
	for _, c := range []struct {
		name, text string
		inTx       bool
		why        string
		n          int
	}{
		{"plain", "CREATE INDEX i ON t (a);\nALTER TABLE t ADD COLUMN b int;", true, "", 2},
		{"concurrently", "CREATE INDEX CONCURRENTLY i ON t (a);", false, "CREATE INDEX CONCURRENTLY", 1},
		{"vacuum", "vacuum analyze t;", false, "VACUUM", 1},
		{"reindex", "REINDEX INDEX CONCURRENTLY i;", false, "REINDEX CONCURRENTLY", 1},
		{"goose", "-- +goose NO TRANSACTION\n-- +goose Up\nCREATE INDEX i ON t (a);\n-- +goose Down\nDROP INDEX i;", false, "+goose NO TRANSACTION", 1},
		{"goose up only", "-- +goose Up\nCREATE TABLE x (a int);\n-- +goose Down\nDROP TABLE x;", true, "", 1},
		{"dbmate", "-- migrate:up transaction:false\nCREATE TABLE x (a int);\n-- migrate:down\nDROP TABLE x;", false, "transaction:false", 1},
		{"flyway", "-- flyway:executeInTransaction=false\nCREATE TABLE x (a int);", false, "executeInTransaction", 1},
		{"own tx", "BEGIN;\nCREATE TABLE x (a int);\nCOMMIT;", false, "own transactions", 3},
		{"comment mentioning concurrently", "-- CREATE INDEX CONCURRENTLY later\nCREATE INDEX i ON t (a);", true, "", 1},
	} {
		m := ParseMigration(c.name+".sql", "", c.text, 150000)
		if m.InTransaction != c.inTx || !strings.Contains(m.NoTxReason, c.why) || len(m.Statements) != c.n {
			t.Errorf("%s: in tx %v (%q), %d statements; want %v (%q), %d", c.name, m.InTransaction, m.NoTxReason, len(m.Statements), c.inTx, c.why, c.n)
		}
	}
	if m := ParseMigration("enum.sql", "", "ALTER TYPE mood ADD VALUE 'meh';", 110000); m.InTransaction {
		t.Errorf("ALTER TYPE … ADD VALUE on PostgreSQL 11 must run outside a transaction")
	}
	if m := ParseMigration("enum.sql", "", "ALTER TYPE mood ADD VALUE 'meh';", 150000); !m.InTransaction {
		t.Errorf("ALTER TYPE … ADD VALUE on PostgreSQL 15 runs in a transaction")
	}
}

func TestFingerprint(t *testing.T) {
	a := Fingerprint("INSERT INTO t (a, b)\n VALUES (1, 'x') -- one")
	b := Fingerprint("insert into T (a,b) values (2,'yy')")
	if a != b || a != "INSERT INTO t (a, b) VALUES ($1, $2)" {
		t.Errorf("fingerprints %q and %q; want one INSERT INTO t (a, b) VALUES ($1, $2)", a, b)
	}
	if Fingerprint("ALTER TABLE t ALTER COLUMN c TYPE numeric(10,2)") == Fingerprint("ALTER TABLE t ALTER COLUMN c TYPE numeric(12,4)") {
		t.Errorf("DDL literals must not be folded")
	}
	for in, want := range map[string]string{
		// operators stay whole; literals are numbered after the statement's own parameters
		"SELECT * FROM t WHERE a<=$1 AND b = 5":               "SELECT * FROM t WHERE a <= $1 AND b = $2",
		"UPDATE t SET doc = doc || '{}' WHERE k->>'id' <> $2": "UPDATE t SET doc = doc || $3 WHERE k ->> $4 <> $2",
		"SELECT a::int FROM t WHERE b != -1":                  "SELECT a::int FROM t WHERE b != - $1",
	} {
		if got := Fingerprint(in); got != want {
			t.Errorf("Fingerprint(%q) = %q, want %q", in, got, want)
		}
	}
	if d := Display(strings.Repeat("SELECT 1, ", 100)); len([]rune(d)) != maxSQL || !strings.HasSuffix(d, "…") {
		t.Errorf("Display not shortened: %d runes", len([]rune(d)))
	}
	// A role's password is a secret: neither shown nor part of what statements are grouped by.
	for _, sql := range []string{"CREATE ROLE app LOGIN PASSWORD 'hunter2-secret'", "alter role app with password 'hunter2-secret' valid until 'infinity'"} {
		for _, got := range []string{Display(sql), Fingerprint(sql)} {
			if strings.Contains(got, "hunter2") || !strings.Contains(strings.ToUpper(got), "PASSWORD '***'") {
				t.Errorf("%q shows as %q", sql, got)
			}
		}
	}
}

func FuzzSplit(f *testing.F) {
	f.Add("SELECT 'a;b'; SELECT $x$;$x$; /* ; */")
	f.Fuzz(func(t *testing.T, s string) {
		for _, st := range Split(s) {
			if st.Offset < 0 || st.Offset+len(st.SQL) > len(s) || s[st.Offset:st.Offset+len(st.SQL)] != st.SQL {
				t.Fatalf("statement %q not at its offset %d", st.SQL, st.Offset)
			}
		}
	})
}

func TestTargets(t *testing.T) {
	for sql, want := range map[string][]string{
		"ALTER TABLE public.orders ADD CONSTRAINT f FOREIGN KEY (c) REFERENCES customers (id)": {"public.orders", "customers"},
		"CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS i ON ONLY \"Orders\" (a)":              {`"Orders"`},
		"ALTER TABLE IF EXISTS ONLY s.t ALTER COLUMN c TYPE numeric(12,4)":                     {"s.t"},
		"INSERT INTO t (a) SELECT a FROM u":                                                    {"t"},
		"UPDATE ONLY t SET a = 1":                                                              {"t"},
		"DELETE FROM t WHERE a = 1":                                                            {"t"},
		"VACUUM (ANALYZE) t":                                                                   {"t"},
		"TRUNCATE TABLE a":                                                                     {"a"},
		"SELECT 1":                                                                             nil,
	} {
		if got := Targets(sql); !reflect.DeepEqual(got, want) {
			t.Errorf("Targets(%q) = %q; want %q", sql, got, want)
		}
	}
}
