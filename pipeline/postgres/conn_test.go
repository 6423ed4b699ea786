package postgres

import (
	"context"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/understudy-dev/understudy/fixtures/pgtest"
)

// roleWithSettings makes a role whose own settings would cut a run short, shape how values
// print, and (on the source) let row-level security thin out what it reads.
func roleWithSettings(t *testing.T) (db, dsn string) {
	db = pgtest.NewDB(t)
	role, dsn := pgtest.NewRole(t, db, "")
	admin := pgtest.Connect(t, db)
	pgtest.Exec(t, admin, "CREATE TABLE busy (id int); GRANT SELECT ON busy TO "+role)
	for _, s := range []string{"statement_timeout = '100ms'", "lock_timeout = '100ms'", "idle_in_transaction_session_timeout = '100ms'",
		"idle_session_timeout = '100ms'", "DateStyle = 'SQL, DMY'", "IntervalStyle = 'sql_standard'", "extra_float_digits = 0",
		"client_encoding = 'LATIN1'", "xmloption = document", "row_security = on", "application_name = 'psql'"} {
		pgtest.Exec(t, admin, "ALTER ROLE "+role+" SET "+s)
	}
	return db, dsn
}

// Every connection understudy opens, source or target, has the session settings a run relies
// on, whatever the role's (or database's) own settings say: no timeout ends a long
// statement, a long wait for a lock, or a long idle spell in or out of a transaction.
func TestConnectResetsWhatTheRoleSets(t *testing.T) {
	ctx := context.Background()
	db, dsn := roleWithSettings(t)
	admin := pgtest.Connect(t, db)
	for _, role := range []string{"source", "target"} {
		t.Run(role, func(t *testing.T) {
			conn, err := Connect(ctx, dsn, role)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close(ctx)
			assertSession(t, conn, role)
			if _, err := conn.Exec(ctx, "SELECT pg_sleep(0.3)"); err != nil {
				t.Errorf("a 300 ms statement: %v", err)
			}
			if _, err := conn.Exec(ctx, "BEGIN"); err != nil {
				t.Fatal(err)
			}
			time.Sleep(300 * time.Millisecond)
			if _, err := conn.Exec(ctx, "COMMIT"); err != nil {
				t.Errorf("after 300 ms idle in a transaction: %v", err)
			}
			time.Sleep(300 * time.Millisecond)
			if _, err := conn.Exec(ctx, "SELECT 1"); err != nil {
				t.Errorf("after 300 ms idle: %v", err)
			}
			tx, err := admin.Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := tx.Exec(ctx, "LOCK TABLE busy IN ACCESS EXCLUSIVE MODE"); err != nil {
				t.Fatal(err)
			}
			release := time.AfterFunc(300*time.Millisecond, func() { tx.Rollback(ctx) })
			defer release.Stop()
			if _, err := conn.Exec(ctx, "SELECT count(*) FROM busy"); err != nil {
				t.Errorf("a 300 ms wait for a lock: %v", err)
			}
		})
	}
}

func assertSession(t *testing.T, conn *pgx.Conn, role string) {
	t.Helper()
	want := map[string]string{
		"statement_timeout": "0", "lock_timeout": "0", "idle_in_transaction_session_timeout": "0", "idle_session_timeout": "0",
		"DateStyle": "ISO, DMY", "IntervalStyle": "postgres", "extra_float_digits": "3", "client_encoding": "UTF8",
		"lc_monetary": "C", "xmloption": "content", "row_security": "on", "application_name": "understudy",
	}
	if role == "source" {
		want["row_security"] = "off"
	}
	var major int
	if err := conn.QueryRow(context.Background(), "SELECT current_setting('server_version_num')::int / 10000").Scan(&major); err != nil {
		t.Fatal(err)
	}
	if major >= 17 {
		want["transaction_timeout"] = "0"
	}
	for name, v := range want {
		var got string
		if err := conn.QueryRow(context.Background(), "SELECT current_setting($1)", name).Scan(&got); err != nil {
			t.Fatal(err)
		}
		// DateStyle keeps the field order (DMY here) the role set: only the output style is
		// pinned, and ISO output reads back the same under any order.
		if got != v && !(name == "DateStyle" && (got == "ISO, DMY" || got == "ISO, MDY")) {
			t.Errorf("%s = %q, want %q", name, got, v)
		}
	}
}

// A server that refuses a parameter in the startup packet (one older than an earlier
// connection to the same address showed, or a pooler that accepts only a few) still gets
// the session set up, with SET after connecting.
func TestConnectSetsUpASessionWhenTheServerRefusesAStartupParameter(t *testing.T) {
	ctx := context.Background()
	_, dsn := roleWithSettings(t)
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	server := net.JoinHostPort(cfg.Host, strconv.Itoa(int(cfg.Port)))
	// As if an earlier connection had met PostgreSQL 99: this server does not know all of
	// its parameters, and refuses the connection that sends them.
	servers.Store(server, serverInfo{major: 99})
	t.Cleanup(func() { servers.Delete(server) })
	// The second connection no longer tries the startup packet the server refused.
	for range 2 {
		conn, err := Connect(ctx, dsn, "source")
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		assertSession(t, conn, "source")
		if _, err := conn.Exec(ctx, "SELECT pg_sleep(0.3)"); err != nil {
			t.Errorf("a 300 ms statement: %v", err)
		}
	}
	if v, _ := servers.Load(server); !v.(serverInfo).setOnly || v.(serverInfo).major < 14 {
		t.Errorf("what Connect learnt of the server: %+v", v)
	}
}

// pg_dump gets client_encoding=UTF8 in either DSN form, overriding one the DSN had.
func TestPgDumpDSNAsksForUTF8(t *testing.T) {
	for _, dsn := range []string{
		"postgres://u:p%40ss@h:5432/db?sslmode=disable",
		"postgresql://h/db?client_encoding=LATIN1",
		"host=h dbname=db user=u password='a b'",
		"host=h dbname=db client_encoding=LATIN1",
	} {
		cfg, err := pgconn.ParseConfig(PgDumpDSN(dsn))
		if err != nil {
			t.Fatalf("%s: %v", dsn, err)
		}
		if got := cfg.RuntimeParams["client_encoding"]; got != "UTF8" {
			t.Errorf("%s: client_encoding %q", dsn, got)
		}
		if cfg.Host != "h" || cfg.Database != "db" {
			t.Errorf("%s: lost host or database: %s/%s", dsn, cfg.Host, cfg.Database)
		}
	}
}
