package rehearse

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/understudy-dev/understudy/pipeline/postgres"
	"golang.org/x/sync/errgroup"
)

// traffic is synthetic production load on the tables the migrations touch: each client
// loops over point reads by primary key, updates of a non-key column by key, and inserts of
// a copied row under a new key, with keys drawn from the copy. Writes run in transactions
// that are rolled back, so the copy keeps its rows. No lock_timeout: a query waits as long
// as production's would.
type traffic struct {
	dsn     string
	clients []*trafficClient
	setup   *pgx.Conn // resolves and prepares tables; never used by the clients
	setupMu sync.Mutex

	targets atomic.Pointer[[]*trafficTarget]
	// custom, from a --traffic file, replaces the synthetic queries (set before run)
	custom      []*trafficQuery
	totalWeight int
	known       map[string]bool // names asked for (resolved or not), under setupMu
	skipped     []string        // under setupMu

	cur   atomic.Int32 // index of the statement running now (-1 before the first)
	mu    sync.Mutex
	stats []*trafficStats // per statement index
}

// trafficPause is how long a traffic client waits between queries: four clients then
// offer up to about 4,000 queries a second, and a blocked query is still seen within a
// millisecond of the lock it waits for.
const trafficPause = time.Millisecond

type trafficClient struct {
	conn      *pgx.Conn
	pid       uint32
	seq       atomic.Uint64 // the query in flight
	done      atomic.Uint64 // the last query recorded
	waitedSeq atomic.Uint64 // set by the sampler when it saw that query waiting for a lock
}

// trafficTarget is a table the clients query, with its statements prepared as text.
type trafficTarget struct {
	name     string // schema.table
	oid      uint32
	keys     [][]any // primary-key values as text, drawn from the copy
	read     string
	update   string // "" when the table has no non-key column to update
	insert   string // "" when a copied row cannot be inserted under a new key
	newKey   func(r *rand.Rand) any
	nextFake atomic.Int64
}

type trafficStats struct {
	hist        histogram
	waitHist    histogram
	waited      int
	waitedWrite int
	blocked     map[string]bool
	deadlocks   int
	errors      int
	samples     []string
}

func newTraffic(ctx context.Context, dsn string, n int) (*traffic, error) {
	t := &traffic{dsn: dsn, known: map[string]bool{}}
	t.cur.Store(-1)
	empty := []*trafficTarget{}
	t.targets.Store(&empty)
	var err error
	if t.setup, err = connect(ctx, dsn, "understudy rehearse traffic setup"); err != nil {
		return nil, err
	}
	// setup must never queue behind the migration's locks for long: the table is then
	// tried again at the next statement
	if _, err := t.setup.Exec(ctx, "SET lock_timeout = '200ms'"); err != nil {
		return nil, err
	}
	for i := 0; i < n; i++ {
		c, err := connect(ctx, dsn, "understudy rehearse traffic")
		if err != nil {
			t.close()
			return nil, err
		}
		if _, err := c.Exec(ctx, "SET lock_timeout = 0; SET statement_timeout = 0; SET idle_in_transaction_session_timeout = 0"); err != nil {
			t.close()
			return nil, err
		}
		t.clients = append(t.clients, &trafficClient{conn: c, pid: c.PgConn().PID()})
	}
	return t, nil
}

func (t *traffic) close() {
	if t == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, c := range t.clients {
		c.conn.Close(ctx)
	}
	if t.setup != nil {
		t.setup.Close(ctx)
	}
}

func (t *traffic) pids() []uint32 {
	if t == nil {
		return nil
	}
	out := make([]uint32, len(t.clients))
	for i, c := range t.clients {
		out[i] = c.pid
	}
	return out
}

// markWaiting is called by the sampler when it sees client pid waiting for a lock.
func (t *traffic) markWaiting(pid uint32) {
	for _, c := range t.clients {
		if c.pid == pid {
			c.waitedSeq.Store(c.seq.Load())
		}
	}
}

// want asks for traffic on the named tables (as written in SQL, or schema.table). Names
// that do not resolve yet (created by a later statement, or not yet committed) are tried
// again on the next call.
func (t *traffic) want(ctx context.Context, names []string) {
	if t == nil {
		return
	}
	t.setupMu.Lock()
	defer t.setupMu.Unlock()
	if t.custom != nil {
		return // the file says what runs
	}
	for _, n := range names {
		if done := t.known[n]; done {
			continue
		}
		tgt, skip, err := t.prepare(ctx, n)
		switch {
		case err != nil:
			continue // not there yet, or locked: try again later
		case skip != "":
			t.known[n] = true
			t.skipped = append(t.skipped, skip)
			continue
		}
		t.known[n] = true
		cur := *t.targets.Load()
		dup := false
		for _, c := range cur {
			dup = dup || c.oid == tgt.oid
		}
		if !dup {
			next := append(append([]*trafficTarget{}, cur...), tgt)
			t.targets.Store(&next)
		}
	}
}

// prepare resolves a table and builds its queries; skip says why a table gets no traffic.
func (t *traffic) prepare(ctx context.Context, name string) (*trafficTarget, string, error) {
	var oid uint32
	var qualified string
	var relkind string
	err := t.setup.QueryRow(ctx, `SELECT c.oid, quote_ident(n.nspname) || '.' || quote_ident(c.relname), c.relkind::text
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = to_regclass($1)`, name).Scan(&oid, &qualified, &relkind)
	if err != nil {
		return nil, "", err
	}
	if relkind != "r" && relkind != "p" {
		return nil, fmt.Sprintf("%s: not a table", qualified), nil
	}
	rows, err := t.setup.Query(ctx, `SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attnum = ANY(COALESCE(i.indkey::int2[], '{}')),
  a.attgenerated <> '', a.atttypid IN ('int2'::regtype, 'int4'::regtype, 'int8'::regtype), a.atttypid = 'uuid'::regtype,
  a.atttypid IN ('text'::regtype, 'varchar'::regtype)
FROM pg_attribute a
LEFT JOIN pg_index i ON i.indrelid = a.attrelid AND i.indisprimary
WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`, oid)
	if err != nil {
		return nil, "", err
	}
	type col struct {
		name, typ                        string
		key, generated, intT, uuidT, txt bool
	}
	var cols []col
	for rows.Next() {
		var c col
		if err := rows.Scan(&c.name, &c.typ, &c.key, &c.generated, &c.intT, &c.uuidT, &c.txt); err != nil {
			rows.Close()
			return nil, "", err
		}
		cols = append(cols, c)
	}
	if err := rows.Err(); err != nil {
		return nil, "", err
	}
	var keys, others, insertable []col
	for _, c := range cols {
		switch {
		case c.key:
			keys = append(keys, c)
		case !c.generated:
			others = append(others, c)
		}
		if !c.generated {
			insertable = append(insertable, c)
		}
	}
	if len(keys) == 0 {
		return nil, fmt.Sprintf("%s: no primary key to draw keys from", qualified), nil
	}
	tgt := &trafficTarget{name: strings.ReplaceAll(qualified, `"`, ""), oid: oid}
	var where, keyList []string
	for i, k := range keys {
		where = append(where, fmt.Sprintf("%s = CAST($%d::text AS %s)", quoteIdent(k.name), i+1, k.typ))
		keyList = append(keyList, quoteIdent(k.name)+"::text")
	}
	w := strings.Join(where, " AND ")
	tgt.read = fmt.Sprintf("SELECT * FROM %s WHERE %s", qualified, w)
	if len(others) > 0 {
		c := quoteIdent(others[0].name)
		tgt.update = fmt.Sprintf("UPDATE %s SET %s = %s WHERE %s", qualified, c, c, w)
	}
	if len(keys) == 1 && (keys[0].intT || keys[0].uuidT || keys[0].txt) {
		var list, sel []string
		for _, c := range insertable {
			list = append(list, quoteIdent(c.name))
			if c.key {
				sel = append(sel, fmt.Sprintf("CAST($2::text AS %s)", c.typ))
			} else {
				sel = append(sel, quoteIdent(c.name))
			}
		}
		tgt.insert = fmt.Sprintf("INSERT INTO %s (%s) OVERRIDING SYSTEM VALUE SELECT %s FROM %s WHERE %s", qualified,
			strings.Join(list, ", "), strings.Join(sel, ", "), qualified, w)
	}
	// keys drawn from the copy: a sample of pages, so a big table is not read whole
	var reltuples float64
	if err := t.setup.QueryRow(ctx, "SELECT reltuples FROM pg_class WHERE oid = $1", oid).Scan(&reltuples); err != nil {
		return nil, "", err
	}
	pct := 100.0
	if reltuples > 4000 {
		pct = max(0.01, 100*4000/reltuples)
	}
	rows, err = t.setup.Query(ctx, fmt.Sprintf("SELECT %s FROM %s TABLESAMPLE SYSTEM (%g) LIMIT 2000", strings.Join(keyList, ", "), qualified, pct))
	if err != nil {
		return nil, "", err
	}
	for rows.Next() {
		vals := make([]string, len(keys))
		ptrs := make([]any, len(keys))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			rows.Close()
			return nil, "", err
		}
		k := make([]any, len(vals))
		for i, v := range vals {
			k[i] = v
		}
		tgt.keys = append(tgt.keys, k)
	}
	if err := rows.Err(); err != nil {
		return nil, "", err
	}
	if len(tgt.keys) == 0 {
		return nil, fmt.Sprintf("%s: empty, no keys to query", tgt.name), nil
	}
	if tgt.insert != "" {
		switch k := keys[0]; {
		case k.intT:
			var top int64
			if err := t.setup.QueryRow(ctx, fmt.Sprintf("SELECT COALESCE(max(%s), 0)::int8 FROM %s", quoteIdent(k.name), qualified)).Scan(&top); err != nil {
				return nil, "", err
			}
			tgt.nextFake.Store(top + 1_000_000)
			tgt.newKey = func(*rand.Rand) any { return fmt.Sprint(tgt.nextFake.Add(1)) }
		case k.uuidT:
			tgt.newKey = func(r *rand.Rand) any {
				return fmt.Sprintf("%08x-%04x-4%03x-8%03x-%012x", r.Uint32(), r.Uint32()&0xffff, r.Uint32()&0xfff, r.Uint32()&0xfff, r.Uint64()&0xffffffffffff)
			}
		default:
			tgt.newKey = func(r *rand.Rand) any { return fmt.Sprintf("understudy-%016x", r.Uint64()) }
		}
	}
	// one probe of each write, rolled back: a write that cannot succeed on this table (a
	// unique column copied along, a CHECK on the key) is left out rather than counted as
	// an error the migration did not cause
	r := rand.New(rand.NewPCG(1, 2))
	for _, q := range []*string{&tgt.update, &tgt.insert} {
		if *q == "" {
			continue
		}
		args := append([]any{}, tgt.keys[0]...)
		if q == &tgt.insert {
			args = append(args, tgt.newKey(r))
		}
		if err := rolledBack(ctx, t.setup, *q, args); err != nil {
			var pgErr *pgconn.PgError
			if errors.As(err, &pgErr) && pgErr.Code == "55P03" { // lock_timeout: try later
				return nil, "", err
			}
			kind := "updates"
			if q == &tgt.insert {
				kind = "inserts"
			}
			t.skipped = append(t.skipped, fmt.Sprintf("%s: no %s (%v)", tgt.name, kind, err))
			*q = ""
		}
	}
	return tgt, "", nil
}

func rolledBack(ctx context.Context, conn *pgx.Conn, sql string, args []any) error {
	tx, err := conn.Begin(ctx)
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, sql, args...)
	rerr := tx.Rollback(ctx)
	if err != nil {
		return err
	}
	return rerr
}

// tables lists the tables that get traffic.
func (t *traffic) tables() []string {
	var out []string
	seen := map[string]bool{}
	for _, q := range t.custom {
		if q.table != "" && !seen[q.table] {
			seen[q.table] = true
			out = append(out, q.table)
		}
	}
	for _, tg := range *t.targets.Load() {
		out = append(out, tg.name)
	}
	sort.Strings(out)
	return out
}

// begin starts attributing queries to statement i.
func (t *traffic) begin(i int) {
	if t == nil {
		return
	}
	t.mu.Lock()
	for len(t.stats) <= i {
		t.stats = append(t.stats, &trafficStats{blocked: map[string]bool{}})
	}
	t.mu.Unlock()
	t.cur.Store(int32(i))
}

// run drives the clients until ctx ends.
func (t *traffic) run(ctx context.Context) error {
	g, ctx := errgroup.WithContext(ctx)
	for i, c := range t.clients {
		g.Go(func() error { return t.client(ctx, c, uint64(i)) })
	}
	return g.Wait()
}

func (t *traffic) client(ctx context.Context, c *trafficClient, seed uint64) error {
	r := rand.New(rand.NewPCG(seed, uint64(time.Now().UnixNano())))
	pause := time.NewTimer(0)
	defer pause.Stop()
	for ctx.Err() == nil {
		// a pause between queries: a client in a tight loop would measure how the queries
		// starve the migration of CPU (a stress test), not what its locks do to them
		select {
		case <-ctx.Done():
			return nil
		case <-pause.C:
		}
		pause.Reset(trafficPause)
		targets := *t.targets.Load()
		idx := int(t.cur.Load())
		if len(t.custom) > 0 && idx >= 0 {
			if err := t.fileQuery(ctx, c, r, idx); err != nil {
				return err
			}
			continue
		}
		if len(targets) == 0 || idx < 0 {
			select {
			case <-ctx.Done():
			case <-time.After(5 * time.Millisecond):
			}
			continue
		}
		tg := targets[r.IntN(len(targets))]
		key := tg.keys[r.IntN(len(tg.keys))]
		op := r.IntN(10)
		var sql string
		write := true
		args := key
		switch {
		case op < 3 && tg.update != "":
			sql = tg.update
		case op < 5 && tg.insert != "":
			sql = tg.insert
			args = append(append([]any{}, key...), tg.newKey(r))
		default:
			sql, write = tg.read, false
		}
		seq := c.seq.Add(1)
		start := time.Now()
		var err error
		if write {
			err = rolledBack(ctx, c.conn, sql, args)
		} else {
			_, err = c.conn.Exec(ctx, sql, args...)
		}
		d := time.Since(start)
		if ctx.Err() != nil {
			return nil // stopped mid-query: not a measurement
		}
		t.record(idx, tg.name, d, c.waitedSeq.Load() == seq, write, err)
		c.done.Store(seq)
		if err != nil && c.conn.IsClosed() {
			return fmt.Errorf("traffic client lost its connection: %w", err)
		}
	}
	return nil
}

// fileQuery runs one query of a --traffic file, in a transaction rolled back.
func (t *traffic) fileQuery(ctx context.Context, c *trafficClient, r *rand.Rand, idx int) error {
	q := t.pick(r)
	args := q.draw(r)
	seq := c.seq.Add(1)
	start := time.Now()
	err := rolledBack(ctx, c.conn, q.sql, args)
	d := time.Since(start)
	if ctx.Err() != nil {
		return nil
	}
	t.record(idx, q.table, d, c.waitedSeq.Load() == seq, q.write, err)
	c.done.Store(seq)
	if err != nil && c.conn.IsClosed() {
		return fmt.Errorf("traffic client lost its connection: %w", err)
	}
	return nil
}

func (t *traffic) record(idx int, table string, d time.Duration, waited, write bool, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.stats[idx]
	s.hist.add(d)
	if waited {
		s.waited++
		s.waitHist.add(d)
		s.blocked[table] = true
		if write {
			s.waitedWrite++
		}
	}
	if err != nil {
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == "40P01" {
			s.deadlocks++
		} else {
			s.errors++
		}
		if len(s.samples) < 3 {
			s.samples = append(s.samples, table+": "+err.Error())
		}
	}
}

// drain waits (up to limit) until every query in flight when the migrations ended has
// finished and been recorded: a query blocked until the last COMMIT is the one that
// matters most.
func (t *traffic) drain(limit time.Duration) {
	if t == nil {
		return
	}
	want := make([]uint64, len(t.clients))
	for i, c := range t.clients {
		want[i] = c.seq.Load()
	}
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		pending := false
		for i, c := range t.clients {
			pending = pending || c.done.Load() < want[i]
		}
		if !pending {
			return
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// result returns what statement i's traffic saw.
func (t *traffic) result(i int) *Traffic {
	if t == nil {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if i >= len(t.stats) {
		return &Traffic{BlockedTables: []string{}}
	}
	s := t.stats[i]
	out := &Traffic{
		Queries: int(s.hist.n), P50Seconds: s.hist.quantile(0.5).Seconds(), P99Seconds: s.hist.quantile(0.99).Seconds(),
		MaxSeconds: s.hist.max.Seconds(), Waited: s.waited, MaxWaitSeconds: s.waitHist.max.Seconds(), BlockedWrites: s.waitedWrite,
		Deadlocks: s.deadlocks, Errors: s.errors, ErrorSamples: s.samples, BlockedTables: []string{},
	}
	for tb := range s.blocked {
		out.BlockedTables = append(out.BlockedTables, tb)
	}
	sort.Strings(out.BlockedTables)
	return out
}

// connect opens a connection to the copy; postgres.Connect words a failure for the user
// (never with the password).
func connect(ctx context.Context, dsn, app string) (*pgx.Conn, error) {
	c, err := postgres.Connect(ctx, dsn, "target")
	if err != nil {
		return nil, err
	}
	// the application name tells the rehearsal's own sessions apart in pg_stat_activity
	if _, err := c.Exec(ctx, "SELECT set_config('application_name', $1, false)", app); err != nil {
		c.Close(ctx)
		return nil, err
	}
	return c, nil
}

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }
