package rehearse

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/understudy-dev/understudy/fixtures/pgtest"
)

// fixtureRows sizes the orders table so that a plain CREATE INDEX on it takes about half a
// second to a second on the test server: long enough for blocking to show, short enough
// for 'make test'.
const fixtureRows = 500_000

var (
	fixtureOnce sync.Once
	fixtureName string
	fixtureErr  error
	dbSeq       atomic.Int64
)

const fixtureSQL = `
CREATE TABLE customers (id bigint PRIMARY KEY, name text NOT NULL);
INSERT INTO customers SELECT g, 'customer ' || g FROM generate_series(1, 20000) g;
CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint NOT NULL, amount numeric(10,2) NOT NULL,
  code text NOT NULL, status int NOT NULL, note text);
INSERT INTO orders SELECT g, 1 + g %% 20000, (g %% 100000) / 100.0, md5(g::text), g %% 5, NULL FROM generate_series(1, %d) g;
`

func TestMain(m *testing.M) {
	code := m.Run()
	if fixtureName != "" {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		if c, err := pgx.Connect(ctx, os.Getenv(pgtest.EnvDSN)); err == nil {
			c.Exec(ctx, "DROP DATABASE IF EXISTS "+fixtureName+" WITH (FORCE)")
			c.Close(ctx)
		}
		cancel()
	}
	os.Exit(code)
}

// shopCopy returns the DSN of a fresh database holding customers (20,000 rows) and orders
// (fixtureRows rows), cloned from a template built once per test process.
func shopCopy(t *testing.T) string {
	t.Helper()
	admin := pgtest.DSN(t)
	fixtureOnce.Do(func() {
		name := fmt.Sprintf("rehearse_fixture_%d", os.Getpid())
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		c, err := pgx.Connect(ctx, admin)
		if err != nil {
			fixtureErr = err
			return
		}
		defer c.Close(ctx)
		if _, fixtureErr = c.Exec(ctx, "CREATE DATABASE "+name+" TEMPLATE template0 ENCODING 'UTF8'"); fixtureErr != nil {
			return
		}
		fixtureName = name
		f, err := pgx.Connect(ctx, pgtest.WithDatabase(t, admin, name))
		if err != nil {
			fixtureErr = err
			return
		}
		defer f.Close(ctx)
		if _, fixtureErr = f.Exec(ctx, fmt.Sprintf(fixtureSQL, fixtureRows)); fixtureErr == nil {
			_, fixtureErr = f.Exec(ctx, "VACUUM ANALYZE")
		}
	})
	if fixtureErr != nil {
		t.Fatalf("build the fixture: %v", fixtureErr)
	}
	name := fmt.Sprintf("t_rh_%d_%d", os.Getpid(), dbSeq.Add(1))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	if _, err := c.Exec(ctx, "CREATE DATABASE "+name+" TEMPLATE "+fixtureName); err != nil {
		t.Fatalf("clone the fixture: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if c, err := pgx.Connect(ctx, admin); err == nil {
			c.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
			c.Exec(ctx, "DROP DATABASE IF EXISTS "+templateName(name)+" WITH (FORCE)")
			c.Close(ctx)
		}
	})
	return pgtest.WithDatabase(t, admin, name)
}

// migrationsDir writes files (name → SQL) into a temporary directory.
func migrationsDir(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for n, sql := range files {
		if err := os.WriteFile(filepath.Join(dir, n), []byte(sql), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func findStmt(t *testing.T, rep *Report, migration string, i int) *StmtResult {
	t.Helper()
	for _, m := range rep.Migrations {
		if m.Name == migration {
			if i >= len(m.Statements) {
				t.Fatalf("%s has %d statements, want at least %d", migration, len(m.Statements), i+1)
			}
			return m.Statements[i]
		}
	}
	t.Fatalf("no migration %s in the report", migration)
	return nil
}

func hasLock(st *StmtResult, rel, mode string) bool {
	for _, l := range st.Locks {
		if l.Relation == rel && l.Mode == mode {
			return true
		}
	}
	return false
}
