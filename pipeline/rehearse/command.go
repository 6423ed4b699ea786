package rehearse

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/understudy-dev/understudy/pipeline/failure"
	"github.com/understudy-dev/understudy/pipeline/rehearse/proxy"
	"github.com/understudy-dev/understudy/schemas"
)

// commandRun is the state of a --command rehearsal: statements aggregated by their
// normalized text, as pg_stat_statements does, so an import of a million INSERTs is one
// line with its calls.
type commandRun struct {
	s   *session
	ctx context.Context

	hookMu  sync.Mutex // one hook at a time: they share the session's connection
	mu      sync.Mutex
	byText  map[string]*StmtResult
	order   []*StmtResult
	lastErr *StmtResult // the last statement that failed, for the error message
	conns   map[uint32]*connState
	names   map[uint32]relInfo // the catalog as last read, for lock names
}

// connState is one tool connection's current transaction, for what is measured at its end.
type connState struct {
	before   map[uint32]relInfo // catalog before the transaction's first schema change
	ddl      []*StmtResult      // the schema changes in this transaction
	locks    []txLock           // locks seen in this transaction, held to its end
	c0       counters
	measured bool
}

type txLock struct {
	st       *StmtResult
	key      lockKey
	acquired time.Time
}

// runCommand runs the tool through the proxy and reports its statements as one migration.
func (s *session) runCommand(ctx context.Context) error {
	cr := &commandRun{s: s, ctx: ctx, byText: map[string]*StmtResult{}, conns: map[uint32]*connState{}}
	px, err := proxy.Listen(s.o.Target.Value(), cr)
	if err != nil {
		return failure.WithCode(failure.ExitFailed, "", err)
	}
	res := &Result{Name: s.o.Command, Statements: []*StmtResult{}}
	s.rep.Migrations = append(s.rep.Migrations, res)
	if s.prog != nil {
		s.prog.migration(0, 0, shorten(s.o.Command, 40), 0)
	}
	cmd := exec.CommandContext(ctx, "sh", "-c", s.o.Command)
	cmd.Env = append(childEnv(os.Environ(), s.o.HideEnv), px.Env()...)
	cmd.Stdout, cmd.Stderr = s.o.Stdout, s.o.Stderr
	start := time.Now()
	runErr := cmd.Run()
	px.Close()
	res.Seconds = time.Since(start).Seconds()

	cr.mu.Lock()
	defer cr.mu.Unlock()
	for _, st := range cr.order {
		if st.Calls > 0 {
			st.MeanSeconds = st.Seconds / float64(st.Calls)
		}
		res.Statements = append(res.Statements, st)
	}
	sort.SliceStable(res.Statements, func(i, j int) bool { return res.Statements[i].Seconds > res.Statements[j].Seconds })
	if runErr != nil {
		why := runErr.Error()
		if cr.lastErr != nil {
			res.Error = cr.lastErr.Error
			why = fmt.Sprintf("%s; its last failed statement: %s: %s", why, cr.lastErr.SQL, cr.lastErr.Error)
		} else {
			res.Error = &SQLError{Message: why}
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return failure.Errorf(failure.ExitFailed, "the migration fails on this copy's data (or the tool failed): see its output above",
			"migration command %q failed: %s", s.o.Command, why)
	}
	res.OK = true
	return nil
}

// childEnv is the tool's environment: the caller's, without its PG* and DATABASE_URL
// variables (the tool must reach the copy through the proxy only) and without understudy's
// secrets (schemas.SecretEnvVar: the key, the sign key, the production DSN of --source, AWS
// credentials, the variables the config expands).
func childEnv(env, hide []string) []string {
	var out []string
	for _, e := range env {
		name, _, _ := strings.Cut(e, "=")
		if strings.HasPrefix(name, "PG") || name == "DATABASE_URL" || schemas.SecretEnvVar(name, hide) {
			continue
		}
		out = append(out, e)
	}
	return out
}

func (cr *commandRun) Split(sql string) []string {
	var out []string
	for _, st := range Split(sql) {
		out = append(out, st.SQL)
	}
	return out
}

// Begin runs before a statement reaches the server: traffic for its tables, and for a
// schema change the catalog and counters it will be compared with.
func (cr *commandRun) Begin(c *proxy.Conn, sql string) {
	cr.hookMu.Lock()
	defer cr.hookMu.Unlock()
	s := cr.s
	cr.mu.Lock()
	cs := cr.conns[c.PID]
	if cs == nil {
		cs = &connState{}
		cr.conns[c.PID] = cs
		s.sampler.watch(c.PID)
	}
	st := cr.entry(sql)
	cr.mu.Unlock()
	if s.traffic != nil {
		s.traffic.want(cr.ctx, Targets(sql))
		s.traffic.begin(st.index)
	}
	if s.prog != nil {
		s.prog.statement(0, st.SQL)
	}
	if changesSchema(sql) && cs.before == nil {
		if cat, err := readCatalog(cr.ctx, s.meta); err == nil {
			cs.before = cat
		}
		if c0, err := readCounters(cr.ctx, s.meta); err == nil {
			cs.c0, cs.measured = c0, true
		}
	}
	s.sampler.reset()
}

// entry finds or makes the aggregate for sql; cr.mu is held.
func (cr *commandRun) entry(sql string) *StmtResult {
	var fps []string // a query string's statements, each normalized
	for _, st := range Split(sql) {
		fps = append(fps, Fingerprint(st.SQL))
	}
	fp := strings.Join(fps, "; ")
	st, ok := cr.byText[fp]
	if !ok {
		st = &StmtResult{SQL: shorten(fp, maxSQL), Start: time.Now(), OK: true, Locks: []Lock{}, Rewrites: []Rewrite{}, IndexesBuilt: []string{},
			Sizes: []Size{}, fingerprint: fp, kw: keywords(sql, 12)}
		cr.byText[fp] = st
		cr.order = append(cr.order, st)
		cr.s.stmts = append(cr.s.stmts, st)
		st.index = len(cr.s.stmts) - 1
	}
	return st
}

// End records a finished statement.
func (cr *commandRun) End(c *proxy.Conn, sql string, tag pgconn.CommandTag, pgErr *pgconn.PgError, seconds float64) {
	cr.hookMu.Lock()
	defer cr.hookMu.Unlock()
	seen, waited := cr.s.sampler.take()
	if pgErr == nil && changesSchema(sql) {
		// The sampler sees a lock only if it is held at one of its ticks, and a short schema
		// change inside a transaction can take one between two. The client has not seen the
		// result yet, so in a transaction the locks are still held: read them now. (In
		// autocommit they are gone with the commit; then the sampler's view is what there is.)
		if held, err := backendLocks(cr.ctx, cr.s.meta, c.PID); err == nil {
			if seen == nil {
				seen = map[lockKey]time.Time{}
			}
			start := time.Now().Add(-time.Duration(seconds * float64(time.Second)))
			for _, k := range held {
				if _, ok := seen[k]; !ok {
					seen[k] = start
				}
			}
		}
	}
	cr.mu.Lock()
	defer cr.mu.Unlock()
	st := cr.entry(sql)
	cs := cr.conns[c.PID]
	if cs == nil {
		cs = &connState{}
		cr.conns[c.PID] = cs
	}
	st.Calls++
	st.Seconds += seconds
	st.MaxSeconds = max(st.MaxSeconds, seconds)
	st.LockWaitSecs += waited.Seconds()
	if tag.Insert() || tag.Update() || tag.Delete() || tag.Select() || strings.HasPrefix(tag.String(), "MERGE") || strings.HasPrefix(tag.String(), "COPY") {
		n := tag.RowsAffected()
		if st.Rows != nil {
			n += *st.Rows
		}
		st.Rows = &n
	}
	if pgErr != nil {
		st.OK = false
		st.Error = sqlError(pgErr, Statement{SQL: sql})
		cr.lastErr = st
	}
	for k, t := range seen {
		cs.locks = append(cs.locks, txLock{st: st, key: k, acquired: t})
	}
	if changesSchema(sql) {
		cs.ddl = append(cs.ddl, st)
	}
}

// Idle runs when a connection is idle outside a transaction: locks seen in the transaction
// were held until now; schema changes are compared with the catalog from before it.
func (cr *commandRun) Idle(c *proxy.Conn) {
	cr.hookMu.Lock()
	defer cr.hookMu.Unlock()
	s := cr.s
	cr.mu.Lock()
	cs := cr.conns[c.PID]
	if cs == nil {
		cr.mu.Unlock()
		return
	}
	now := time.Now()
	locks, ddl, before, c0, measured := cs.locks, cs.ddl, cs.before, cs.c0, cs.measured
	cs.locks, cs.ddl, cs.before, cs.measured = nil, nil, nil, false
	cr.mu.Unlock()

	var after map[uint32]relInfo
	if before != nil {
		after, _ = readCatalog(cr.ctx, s.meta)
		cr.names = after
	}
	for _, l := range locks {
		if _, ok := cr.names[l.key.oid]; !ok {
			// a relation new since the names were read (an import reads them once)
			cr.names, _ = readCatalog(cr.ctx, s.meta)
			break
		}
	}
	names := func(oid uint32) string {
		if r, ok := cr.names[oid]; ok {
			return r.name
		}
		if r, ok := before[oid]; ok {
			return r.name
		}
		return ""
	}
	cr.mu.Lock()
	defer cr.mu.Unlock()
	for _, l := range locks {
		name := names(l.key.oid)
		if name == "" {
			name = fmt.Sprintf("oid %d", l.key.oid)
		}
		held := now.Sub(l.acquired).Seconds()
		found := false
		for i := range l.st.Locks {
			if x := &l.st.Locks[i]; x.Relation == name && x.Mode == l.key.mode {
				x.HeldSeconds = max(x.HeldSeconds, held)
				found = true
			}
		}
		if !found {
			l.st.Locks = append(l.st.Locks, Lock{Relation: name, Mode: l.key.mode, HeldSeconds: held, oid: l.key.oid})
		}
	}
	if before == nil || len(ddl) == 0 {
		return
	}
	// a changed file goes to the schema change that locked the relation (or its table),
	// else to the transaction's last one
	owner := func(oid uint32) *StmtResult {
		table := after[oid].table
		for i := len(ddl) - 1; i >= 0; i-- {
			for _, l := range ddl[i].Locks {
				if l.oid == oid || table != 0 && l.oid == table {
					return ddl[i]
				}
			}
		}
		return ddl[len(ddl)-1]
	}
	var touched []uint32
	for oid, r := range after {
		b, ok := before[oid]
		switch {
		case !ok && (r.kind == "i" || r.kind == "I"):
			st := owner(oid)
			st.IndexesBuilt = append(st.IndexesBuilt, r.name)
			touched = append(touched, oid)
		case ok && b.filenode != r.filenode && r.filenode != 0:
			st := owner(oid)
			st.Rewrites = append(st.Rewrites, Rewrite{Relation: r.name, Kind: r.kindName(), BytesBefore: s.sizes[oid]})
			touched = append(touched, oid)
		}
	}
	cr.mu.Unlock()
	sizes, err := relationSizes(cr.ctx, s.meta, touched)
	c1, cerr := readCounters(cr.ctx, s.meta)
	cr.mu.Lock()
	if err == nil {
		for _, st := range ddl {
			for i := range st.Rewrites {
				for _, oid := range touched {
					if after[oid].name == st.Rewrites[i].Relation {
						st.Rewrites[i].BytesAfter = sizes[oid]
					}
				}
			}
			for _, ix := range st.IndexesBuilt {
				for _, oid := range touched {
					if after[oid].name == ix {
						st.Sizes = append(st.Sizes, Size{Relation: ix, BytesAfter: sizes[oid]})
					}
				}
			}
		}
		for _, oid := range touched {
			s.sizes[oid] = sizes[oid]
		}
	}
	if cerr == nil && measured {
		// the transaction's WAL goes to its schema changes, split by their time
		var total float64
		for _, st := range ddl {
			total += st.Seconds
		}
		for _, st := range ddl {
			share := 1 / float64(len(ddl))
			if total > 0 {
				share = st.Seconds / total
			}
			st.WALBytes += int64(float64(c1.wal-c0.wal) * share)
			st.TempBytes += int64(float64(c1.temp-c0.temp) * share)
		}
	}
}

// changesSchema reports whether any statement of sql (a query string may hold several) is
// not DML.
func changesSchema(sql string) bool {
	for _, st := range Split(sql) {
		if !isDML(st.SQL) {
			return true
		}
	}
	return false
}

var _ proxy.Hooks = (*commandRun)(nil)
