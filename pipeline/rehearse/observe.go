package rehearse

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// querier is what the catalog reads need: a migration connection (which sees its own
// uncommitted changes) or the rehearsal's own.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

type lockKey struct {
	oid  uint32
	mode string
}

// relInfo is one user relation as pg_class has it.
type relInfo struct {
	name     string // schema.name
	kind     string // r, i, m, p, I, S, v, f
	filenode uint32
	table    uint32 // an index's table
}

func (r relInfo) kindName() string {
	switch r.kind {
	case "i", "I":
		return "index"
	case "m":
		return "materialized view"
	case "S":
		return "sequence"
	}
	return "table"
}

// catalogSQL lists the user relations: oid, schema.name, relkind, relfilenode, an index's table.
const catalogSQL = `SELECT c.oid, n.nspname || '.' || c.relname, c.relkind::text, c.relfilenode, COALESCE(i.indrelid, 0)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace LEFT JOIN pg_index i ON i.indexrelid = c.oid
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\_toast%' AND n.nspname NOT LIKE 'pg\_temp%'
  AND c.relkind IN ('r', 'i', 'm', 'p', 'I', 'S', 'v', 'f')`

// ownLocksWhere selects the relation locks the session's own backend holds on user relations.
const ownLocksWhere = `pid = pg_backend_pid() AND locktype = 'relation' AND granted AND relation >= 16384
  AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`

// migState is what the migration's connection sees right after a statement.
type migState struct {
	cat   map[uint32]relInfo // nil: unchanged since the last read
	held  map[lockKey]bool   // in a transaction: the relation locks it holds
	sizes map[uint32]int64   // in a transaction: sizes of the relations it holds more than AccessShareLock on
	// catWrites counts the transaction's own writes to pg_class so far: a statement that
	// leaves it unchanged changed no relation (created, dropped, rewritten), so the catalog
	// need not be read again
	catWrites int64
}

// catalogWritesSQL counts the transaction's writes to pg_class; -1 when track_counts is off
// and nothing is counted.
const catalogWritesSQL = `SELECT CASE WHEN current_setting('track_counts')::bool THEN
  pg_stat_get_xact_tuples_inserted('pg_class'::regclass) + pg_stat_get_xact_tuples_updated('pg_class'::regclass)
  + pg_stat_get_xact_tuples_deleted('pg_class'::regclass) ELSE -1 END`

// locksAndSizesSQL lists the backend's relation locks, with the size of each relation it
// may have written. The locks are read (all at once, by pg_lock_status's first call) before
// pg_relation_size takes its own.
const locksAndSizesSQL = `WITH l AS MATERIALIZED (SELECT relation, mode FROM pg_locks WHERE ` + ownLocksWhere + `)
SELECT l.relation, l.mode, CASE WHEN l.mode <> 'AccessShareLock' AND c.relkind IN ('r', 'i', 'm') THEN pg_relation_size(l.relation) END
FROM l LEFT JOIN pg_class c ON c.oid = l.relation`

// readState reads the migration connection's view after a statement. Outside a transaction
// that is the catalog. In one, it is one round trip (a pipeline of prepared statements):
// the transaction's pg_class writes, its locks and the sizes of what it may have written,
// and the catalog again only when pg_class was written since prevWrites. pg_relation_size
// takes an AccessShareLock that a transaction would keep; a savepoint rolled back at once
// gives it back, so the rehearsal holds no lock the migration would not.
func readState(ctx context.Context, conn *pgx.Conn, inTx bool, prevWrites int64) (migState, error) {
	if !inTx {
		cat, err := readCatalog(ctx, conn)
		return migState{cat: cat}, err
	}
	st := migState{held: map[lockKey]bool{}, sizes: map[uint32]int64{}}
	b := &pgx.Batch{}
	b.Queue(catalogWritesSQL).QueryRow(func(row pgx.Row) error { return row.Scan(&st.catWrites) })
	b.Queue("SAVEPOINT understudy_sizes")
	b.Queue(locksAndSizesSQL).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			var k lockKey
			var size *int64
			if err := rows.Scan(&k.oid, &k.mode, &size); err != nil {
				return err
			}
			st.held[k] = true
			if size != nil {
				st.sizes[k.oid] = *size
			}
		}
		return rows.Err()
	})
	b.Queue("ROLLBACK TO SAVEPOINT understudy_sizes")
	b.Queue("RELEASE SAVEPOINT understudy_sizes")
	if err := conn.SendBatch(ctx, b).Close(); err != nil {
		_, _ = conn.Exec(ctx, "ROLLBACK TO SAVEPOINT understudy_sizes; RELEASE SAVEPOINT understudy_sizes")
		return migState{}, fmt.Errorf("read pg_locks and sizes: %w", err)
	}
	if st.catWrites < 0 || st.catWrites != prevWrites {
		var err error
		if st.cat, err = readCatalog(ctx, conn); err != nil {
			return migState{}, err
		}
	}
	return st, nil
}

// readCatalog lists the user relations visible to q.
func readCatalog(ctx context.Context, q querier) (map[uint32]relInfo, error) {
	rows, err := q.Query(ctx, catalogSQL)
	if err != nil {
		return nil, fmt.Errorf("read pg_class: %w", err)
	}
	out := map[uint32]relInfo{}
	for rows.Next() {
		var oid uint32
		var r relInfo
		if err := rows.Scan(&oid, &r.name, &r.kind, &r.filenode, &r.table); err != nil {
			rows.Close()
			return nil, err
		}
		out[oid] = r
	}
	return out, rows.Err()
}

// relationSizes reads pg_relation_size of each oid (0 for one that is gone).
func relationSizes(ctx context.Context, q querier, oids []uint32) (map[uint32]int64, error) {
	if len(oids) == 0 {
		return map[uint32]int64{}, nil
	}
	return readSizes(ctx, q, "SELECT o, COALESCE(pg_relation_size(o), 0) FROM unnest($1::oid[]) AS o", oids)
}

// allSizes reads the size of every user relation with storage, once, before the migrations.
func allSizes(ctx context.Context, q querier) (map[uint32]int64, error) {
	return readSizes(ctx, q, `SELECT c.oid, pg_relation_size(c.oid) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\_toast%' AND c.relkind IN ('r', 'i', 'm')`)
}

// readSizes runs a query of (oid, size) rows into a map.
func readSizes(ctx context.Context, q querier, sql string, args ...any) (map[uint32]int64, error) {
	rows, err := q.Query(ctx, sql, args...)
	if err != nil {
		return nil, fmt.Errorf("read relation sizes: %w", err)
	}
	out := map[uint32]int64{}
	for rows.Next() {
		var oid uint32
		var n int64
		if err := rows.Scan(&oid, &n); err != nil {
			rows.Close()
			return nil, err
		}
		out[oid] = n
	}
	return out, rows.Err()
}

// backendLocks reads the relation locks backend pid holds on the database's user relations.
func backendLocks(ctx context.Context, q querier, pid uint32) ([]lockKey, error) {
	rows, err := q.Query(ctx, `SELECT relation, mode FROM pg_locks
WHERE pid = $1 AND locktype = 'relation' AND granted AND relation >= 16384
  AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`, int32(pid))
	if err != nil {
		return nil, fmt.Errorf("read locks: %w", err)
	}
	var out []lockKey
	for rows.Next() {
		var k lockKey
		if err := rows.Scan(&k.oid, &k.mode); err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

// counters are the cluster's WAL position and the database's temp bytes.
type counters struct{ wal, temp int64 }

func readCounters(ctx context.Context, q querier) (counters, error) {
	var c counters
	err := q.QueryRow(ctx, `SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::int8,
  COALESCE((SELECT temp_bytes FROM pg_stat_database WHERE datname = current_database()), 0)`).Scan(&c.wal, &c.temp)
	return c, err
}

// sampler polls pg_locks from its own connection while statements run: which relation
// locks the migration's backends hold (first seen when), whether they wait, and which
// traffic clients wait. It sees locks a statement takes and releases before its end
// (autocommit, CREATE INDEX CONCURRENTLY's phases) that a read at the end would miss.
type sampler struct {
	conn    *pgx.Conn
	dbOID   uint32
	every   time.Duration
	traffic *traffic

	mu      sync.Mutex
	inside  bool // a statement's window is open (between reset and take)
	migPIDs map[uint32]bool
	seen    map[lockKey]time.Time
	waiting bool
	waited  time.Duration
	last    time.Time
	samples int
}

func newSampler(ctx context.Context, dsn string, every time.Duration, t *traffic) (*sampler, error) {
	c, err := connect(ctx, dsn, "understudy rehearse lock sampler")
	if err != nil {
		return nil, err
	}
	s := &sampler{conn: c, every: every, traffic: t, migPIDs: map[uint32]bool{}, seen: map[lockKey]time.Time{}}
	if err := c.QueryRow(ctx, "SELECT oid FROM pg_database WHERE datname = current_database()").Scan(&s.dbOID); err != nil {
		c.Close(ctx)
		return nil, err
	}
	return s, nil
}

// watch adds a migration backend.
func (s *sampler) watch(pid uint32) {
	s.mu.Lock()
	s.migPIDs[pid] = true
	s.mu.Unlock()
}

// reset starts a statement's window.
func (s *sampler) reset() {
	s.mu.Lock()
	s.seen = map[lockKey]time.Time{}
	s.waited, s.waiting = 0, false
	s.inside = true
	s.mu.Unlock()
}

// take ends a statement's window: the locks seen (first seen when) and how long the
// migration waited for a lock.
func (s *sampler) take() (map[lockKey]time.Time, time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	seen, waited := s.seen, s.waited
	s.seen = map[lockKey]time.Time{}
	s.waited, s.waiting = 0, false
	s.inside = false
	return seen, waited
}

// run polls until ctx ends.
func (s *sampler) run(ctx context.Context) error {
	tick := time.NewTicker(s.every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		if err := s.sample(ctx); err != nil && ctx.Err() == nil {
			return fmt.Errorf("sample pg_locks: %w", err)
		}
	}
}

func (s *sampler) sample(ctx context.Context) error {
	s.mu.Lock()
	if !s.inside && s.traffic == nil {
		// between statements only traffic waits matter (a lock held to COMMIT blocks it)
		s.mu.Unlock()
		return nil
	}
	pids := make([]int32, 0, len(s.migPIDs)+4)
	for p := range s.migPIDs {
		pids = append(pids, int32(p))
	}
	s.mu.Unlock()
	for _, p := range s.traffic.pids() {
		pids = append(pids, int32(p))
	}
	if len(pids) == 0 {
		return nil
	}
	// a waiting traffic query counts only when the migration is what it waits for (directly
	// or queued behind a lock the migration holds), not another client's row
	rows, err := s.conn.Query(ctx, `SELECT pid, COALESCE(relation, 0), mode, granted,
  CASE WHEN granted THEN '{}'::int4[] ELSE pg_blocking_pids(pid) END
FROM pg_locks
WHERE pid = ANY($1) AND (NOT granted OR (locktype = 'relation' AND relation >= 16384 AND database = $2))`, pids, s.dbOID)
	if err != nil {
		return err
	}
	now := time.Now()
	migWaiting := false
	s.mu.Lock()
	defer s.mu.Unlock()
	for rows.Next() {
		var pid int32
		var k lockKey
		var granted bool
		var blockers []int32
		if err := rows.Scan(&pid, &k.oid, &k.mode, &granted, &blockers); err != nil {
			rows.Close()
			return err
		}
		switch {
		case s.migPIDs[uint32(pid)] && granted:
			if _, ok := s.seen[k]; !ok {
				s.seen[k] = now
			}
		case s.migPIDs[uint32(pid)]:
			migWaiting = true
		default:
			for _, b := range blockers {
				if s.migPIDs[uint32(b)] {
					s.traffic.markWaiting(uint32(pid))
					break
				}
			}
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if s.waiting && migWaiting {
		s.waited += now.Sub(s.last)
	}
	s.waiting, s.last = migWaiting, now
	s.samples++
	return nil
}

func (s *sampler) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s.conn.Close(ctx)
}

// sqlError turns a PostgreSQL error into the report's form; line and column are in the
// file when the statement's place in it is known.
func sqlError(err error, st Statement) *SQLError {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return &SQLError{Message: err.Error()}
	}
	// Not pgErr.Detail: it quotes the rows' values ("Key (email)=(…) already exists",
	// "Failing row contains (…)"), and the copy's values do not go into a report.
	e := &SQLError{Message: pgErr.Message, SQLState: pgErr.Code, Hint: pgErr.Hint, Position: int(pgErr.Position)}
	if e.Position > 0 && st.Line > 0 {
		r := []rune(st.SQL)
		p := min(e.Position-1, len(r))
		line, col := st.Line, 1
		for _, c := range r[:p] {
			if c == '\n' {
				line, col = line+1, 1
			} else {
				col++
			}
		}
		if line == st.Line && st.Column > 0 {
			col += st.Column - 1 // the statement may start mid-line
		}
		e.Line, e.Column = line, col
	}
	return e
}
