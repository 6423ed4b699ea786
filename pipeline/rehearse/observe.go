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

// readCatalog lists the user relations visible to q.
func readCatalog(ctx context.Context, q querier) (map[uint32]relInfo, error) {
	rows, err := q.Query(ctx, `SELECT c.oid, n.nspname || '.' || c.relname, c.relkind::text, c.relfilenode, COALESCE(i.indrelid, 0)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace LEFT JOIN pg_index i ON i.indexrelid = c.oid
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\_toast%' AND n.nspname NOT LIKE 'pg\_temp%'
  AND c.relkind IN ('r', 'i', 'm', 'p', 'I', 'S', 'v', 'f')`)
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

// heldLocks lists the relation locks q's own backend holds on user relations.
func heldLocks(ctx context.Context, q querier) (map[lockKey]bool, error) {
	rows, err := q.Query(ctx, `SELECT relation, mode FROM pg_locks
WHERE pid = pg_backend_pid() AND locktype = 'relation' AND granted AND relation >= 16384
  AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`)
	if err != nil {
		return nil, fmt.Errorf("read pg_locks: %w", err)
	}
	out := map[lockKey]bool{}
	for rows.Next() {
		var k lockKey
		if err := rows.Scan(&k.oid, &k.mode); err != nil {
			rows.Close()
			return nil, err
		}
		out[k] = true
	}
	return out, rows.Err()
}

// relationSizes reads pg_relation_size of each oid (0 for one that is gone).
func relationSizes(ctx context.Context, q querier, oids []uint32) (map[uint32]int64, error) {
	out := map[uint32]int64{}
	if len(oids) == 0 {
		return out, nil
	}
	rows, err := q.Query(ctx, "SELECT o, COALESCE(pg_relation_size(o), 0) FROM unnest($1::oid[]) AS o", oids)
	if err != nil {
		return nil, fmt.Errorf("read relation sizes: %w", err)
	}
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

// allSizes reads the size of every user relation with storage, once, before the migrations.
func allSizes(ctx context.Context, q querier) (map[uint32]int64, error) {
	rows, err := q.Query(ctx, `SELECT c.oid, pg_relation_size(c.oid) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\_toast%' AND c.relkind IN ('r', 'i', 'm')`)
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
	e := &SQLError{Message: pgErr.Message, SQLState: pgErr.Code, Detail: pgErr.Detail, Hint: pgErr.Hint, Position: int(pgErr.Position)}
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
