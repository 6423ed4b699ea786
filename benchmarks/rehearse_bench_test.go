//go:build unix

package benchmarks

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/understudy-dev/understudy/fixtures"
	"github.com/understudy-dev/understudy/pipeline/config"
	"github.com/understudy-dev/understudy/pipeline/rehearse"
)

// rehearseMigrations are typical schema changes on the shop's biggest tables: an index
// built plainly and one concurrently, a foreign key, a rewrite and a column added in place.
var rehearseMigrations = map[string]string{
	"0001_orders_status.sql": "CREATE INDEX orders_status_at ON orders (status, ordered_at);\n",
	"0002_items_product.sql": "CREATE INDEX CONCURRENTLY order_items_product ON order_items (product_id, quantity);\n",
	"0003_orders_fk.sql":     "ALTER TABLE orders ADD CONSTRAINT orders_customer_fk FOREIGN KEY (customer_id) REFERENCES customers (id);\n",
	"0004_orders_total.sql":  "ALTER TABLE orders ALTER COLUMN total TYPE numeric(14,4);\n",
	"0005_orders_flag.sql":   "ALTER TABLE orders ADD COLUMN gift boolean NOT NULL DEFAULT false;\n",
}

// smallStatements is the size of the many-small-statements migration.
const smallStatements = 2000

// BenchmarkRehearse compares, on the shop fixture (UNDERSTUDY_BENCH_ROWS, default 2M rows),
// psql running the migration files one by one with a rehearsal of the same files without
// traffic and with traffic (4 clients). Each run gets a fresh clone of the fixture. The bar:
// rehearsal without traffic ≤ 1.1× psql; with traffic, the migrations ≤ 1.5× psql. It also
// times a file of smallStatements one-row INSERTs (psql -1 against a rehearsal without
// traffic), where the rehearsal's work around each statement shows; that has no bar. Each
// migration's time per run is logged (psql, off, auto). Results: RESULTS-rehearse.md.
func BenchmarkRehearse(b *testing.B) {
	admin := os.Getenv(envPG)
	if admin == "" {
		b.Skipf("%s is not set: run 'make bench', or set it to a superuser DSN (postgres://…)", envPG)
	}
	rows := int64(defaultRows)
	if v := os.Getenv(envRows); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			b.Fatal(err)
		}
		rows = n
	}
	ctx := context.Background()
	withDB := func(db string) string {
		u, err := url.Parse(admin)
		if err != nil {
			b.Fatal(err)
		}
		u.Path = "/" + db
		return u.String()
	}
	adminConn, err := pgx.Connect(ctx, admin)
	if err != nil {
		b.Fatal(err)
	}
	defer adminConn.Close(ctx)
	const fixture = "bench_rehearse_fixture"
	exec1 := func(sql string) {
		if _, err := adminConn.Exec(ctx, sql); err != nil {
			b.Fatalf("%s: %v", sql, err)
		}
	}
	exec1("DROP DATABASE IF EXISTS " + fixture + " WITH (FORCE)")
	exec1("CREATE DATABASE " + fixture)
	defer exec1("DROP DATABASE IF EXISTS " + fixture + " WITH (FORCE)")
	if err := fixtures.CreateShop(ctx, withDB(fixture), rows, fixtureSeed); err != nil {
		b.Fatal(err)
	}
	if c, err := pgx.Connect(ctx, withDB(fixture)); err == nil {
		c.Exec(ctx, "VACUUM ANALYZE")
		c.Close(ctx)
	}
	dir := b.TempDir()
	for n, sql := range rehearseMigrations {
		if err := os.WriteFile(filepath.Join(dir, n), []byte(sql), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	clone := func() string {
		exec1("DROP DATABASE IF EXISTS bench_rehearse WITH (FORCE)")
		exec1("CREATE DATABASE bench_rehearse TEMPLATE " + fixture + " STRATEGY FILE_COPY")
		return withDB("bench_rehearse")
	}
	defer exec1("DROP DATABASE IF EXISTS bench_rehearse WITH (FORCE)")
	perFile := map[string][]string{} // migration → its times per run, for the log
	psql := func(dsn string) time.Duration {
		var total time.Duration
		for _, f := range sortedKeys(rehearseMigrations) {
			start := time.Now()
			cmd := exec.Command("psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", dsn, "-f", filepath.Join(dir, f))
			if out, err := cmd.CombinedOutput(); err != nil {
				b.Fatalf("psql: %v\n%s", err, out)
			}
			d := time.Since(start)
			total += d
			perFile[f] = append(perFile[f], fmt.Sprintf("psql %.3f", d.Seconds()))
		}
		return total
	}
	rehearsal := func(dsn, traffic string) (total, migrations time.Duration) {
		start := time.Now()
		rep, err := rehearse.Run(ctx, rehearse.Options{Target: config.DSN(dsn), Migrations: dir, Traffic: traffic})
		if err != nil {
			b.Fatalf("rehearse (traffic %s): %v", traffic, err)
		}
		var s float64
		for _, m := range rep.Migrations {
			s += m.Seconds
			perFile[m.Name] = append(perFile[m.Name], fmt.Sprintf("%s %.3f", traffic, m.Seconds))
		}
		return time.Since(start), time.Duration(s * float64(time.Second))
	}
	// many small statements: where the rehearsal's work around each statement shows
	small := b.TempDir()
	var seed strings.Builder
	seed.WriteString("CREATE TABLE bench_settings (id int PRIMARY KEY, name text NOT NULL, value text);\n")
	for i := 0; i < smallStatements; i++ {
		fmt.Fprintf(&seed, "INSERT INTO bench_settings (id, name, value) VALUES (%d, 'setting %d', 'on');\n", i, i)
	}
	if err := os.WriteFile(filepath.Join(small, "0001_settings.sql"), []byte(seed.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	timed := func(f func()) time.Duration {
		start := time.Now()
		f()
		return time.Since(start)
	}
	// each measure's median over the runs, as the other benchmarks report: a load spike
	// from elsewhere on the machine moves one run, not the figure
	var tPsql, tPlain, tTrafficMig, tSmallPsql, tSmall []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		dsn := clone()
		tSmallPsql = append(tSmallPsql, timed(func() {
			if out, err := exec.Command("psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-1", "-d", dsn, "-f", filepath.Join(small, "0001_settings.sql")).CombinedOutput(); err != nil {
				b.Fatalf("psql: %v\n%s", err, out)
			}
		}))
		dsn = clone()
		tSmall = append(tSmall, timed(func() {
			if _, err := rehearse.Run(ctx, rehearse.Options{Target: config.DSN(dsn), Migrations: small, Traffic: "off"}); err != nil {
				b.Fatal(err)
			}
		}))
		tPsql = append(tPsql, psql(clone()))
		d, _ := rehearsal(clone(), "off")
		tPlain = append(tPlain, d)
		_, m := rehearsal(clone(), "auto")
		tTrafficMig = append(tTrafficMig, m)
	}
	psqlS, plainS, trafficS, smallPsqlS, smallS := medianSeconds(tPsql), medianSeconds(tPlain), medianSeconds(tTrafficMig), medianSeconds(tSmallPsql), medianSeconds(tSmall)
	b.ReportMetric(psqlS, "psql_s")
	b.ReportMetric(plainS, "rehearse_s")
	b.ReportMetric(trafficS, "traffic_migrations_s")
	b.ReportMetric(plainS/psqlS, "no_traffic_ratio")
	b.ReportMetric(trafficS/psqlS, "traffic_ratio")
	b.ReportMetric(smallS/smallPsqlS, "small_statements_ratio")
	for _, f := range sortedKeys(rehearseMigrations) {
		fmt.Fprintf(os.Stderr, "  %s: %v\n", f, perFile[f])
	}
	fmt.Fprintf(os.Stderr, "%d one-row INSERTs in one file (one transaction), medians of %d runs: psql -1 %.2fs, rehearsal %.2fs (%.2f×)\n",
		smallStatements, b.N, smallPsqlS, smallS, smallS/smallPsqlS)
	fmt.Fprintf(os.Stderr, "rehearse at %d rows, medians of %d runs: psql %.2fs, rehearsal %.2fs (%.2f×), migrations under traffic %.2fs (%.2f×)\n",
		rows, b.N, psqlS, plainS, plainS/psqlS, trafficS, trafficS/psqlS)
}

// medianSeconds returns the median of ds in seconds.
func medianSeconds(ds []time.Duration) float64 {
	s := append([]time.Duration{}, ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	if len(s)%2 == 1 {
		return s[len(s)/2].Seconds()
	}
	return (s[len(s)/2-1] + s[len(s)/2]).Seconds() / 2
}

func sortedKeys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
