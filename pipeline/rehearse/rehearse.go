// Package rehearse runs a team's migrations on a production-sized copy and measures what
// they would do to production: per statement its time, the relation locks it took and how
// long they were held, rewrites, indexes built, WAL, temp and size changes, and what
// synthetic traffic on the touched tables suffered meanwhile. Budgets turn the measurements
// into a verdict; advice is tied to what was measured.
//
// It is not a linter (it runs the SQL) and not a migration tool (it keeps no version
// table): migrations come from a directory of .sql files, or from the team's own tool run
// through a local wire-protocol proxy (package proxy). It never builds the copy itself:
// --from and --source call the restore and sync jobs first.
package rehearse

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/understudy-dev/understudy/pipeline/config"
	"github.com/understudy-dev/understudy/pipeline/failure"
	"golang.org/x/sync/errgroup"
)

// ExitBudget is the exit code of a rehearsal that broke a budget.
const ExitBudget = failure.ExitBudget

// Options configure a rehearsal.
type Options struct {
	Target     config.DSN
	Migrations string // a directory of .sql files
	Command    string // or a shell command that runs the migrations through the proxy

	Traffic        string // "auto" (default), "off", or a file of the team's own statements
	TrafficClients int    // default 4
	Budget         Budget
	Reset          bool // template the copy first; put it back afterwards
	// HideEnv names environment variables the --command tool must not inherit besides
	// understudy's own secrets: those the config file expands (config.Config.Env).
	HideEnv []string
	// Copy, when set, says how the copy was built ("restored from snapshot …, scaled ×4"):
	// the database cannot tell. CopyScale (0: unknown) and CopySubset (nil: unknown) say
	// whether it is scaled or a subset.
	Copy       string
	CopyScale  int
	CopySubset *bool

	Log        *slog.Logger
	ProgressTo io.Writer     // live progress (a terminal), or nil
	SampleEach time.Duration // pg_locks sampling interval; default 5ms (the contract: ≤10ms)
	Stdout     io.Writer     // --command's output; default io.Discard
	Stderr     io.Writer
}

func (o *Options) defaults() {
	if o.Traffic == "" {
		o.Traffic = "auto"
	}
	if o.TrafficClients <= 0 {
		o.TrafficClients = 4
	}
	if o.SampleEach <= 0 || o.SampleEach > 10*time.Millisecond {
		o.SampleEach = 5 * time.Millisecond
	}
	if o.Log == nil {
		o.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if o.Stdout == nil {
		o.Stdout = io.Discard
	}
	if o.Stderr == nil {
		o.Stderr = io.Discard
	}
}

// Validate says what is wrong with the options.
func (o *Options) Validate() error {
	switch {
	case o.Target == "":
		return failure.Errorf(failure.ExitUsage, "give --target DSN (the copy to rehearse on)", "missing target DSN")
	case o.Migrations == "" && o.Command == "":
		return failure.Errorf(failure.ExitUsage, "give --migrations DIR or --command 'tool …'", "nothing to rehearse")
	case o.Migrations != "" && o.Command != "":
		return failure.Errorf(failure.ExitUsage, "give one of them", "--migrations and --command exclude each other")
	case o.Traffic != "" && o.Traffic != "auto" && o.Traffic != "off":
		if _, err := os.Stat(o.Traffic); err != nil {
			return failure.Errorf(failure.ExitUsage, "--traffic takes auto, off, or a file of your own statements (docs/rehearse.md)",
				"--traffic %q: %v", o.Traffic, err)
		}
	}
	return nil
}

// session is one rehearsal's connections and state.
type session struct {
	o       Options
	meta    *pgx.Conn // counters, volumes; never the migration's
	sampler *sampler
	traffic *traffic // nil with --traffic off
	sizes   map[uint32]int64
	// cat and counters are the migration connection's catalog and the cluster's counters as
	// the last statement left them
	cat       map[uint32]relInfo
	counters  counters
	catWrites int64 // the migration transaction's pg_class writes when cat was read
	rep       *Report
	stmts     []*StmtResult // every statement, by traffic index
	prog      *progress
}

// Run rehearses the migrations on the target and returns what it measured. The report is
// returned with the error when a migration failed (exit 1) or a budget was broken (exit 6).
func Run(ctx context.Context, o Options) (*Report, error) {
	o.defaults()
	if err := o.Validate(); err != nil {
		return nil, err
	}
	rep := &Report{Started: time.Now(), Migrations: []*Result{}, Budget: BudgetResult{OK: true, Violations: []Violation{}},
		Traffic: TrafficInfo{Mode: o.Traffic, Tables: []string{}}}
	if o.Traffic != "auto" && o.Traffic != "off" {
		rep.Traffic.Mode, rep.Traffic.File = "file", o.Traffic
	}
	rep.Notes = append(rep.Notes,
		"wal_bytes is the cluster's WAL written while the statement ran (pg_current_wal_lsn): it includes the synthetic traffic's rolled-back writes and any other database's on the same server.",
		"temp_bytes comes from pg_stat_database, which a backend reports when it goes idle (at most once a second): a statement's temp files may show on a later statement.")
	var reset *resetter
	if o.Reset {
		var err error
		if reset, err = prepareReset(ctx, o.Target.Value(), o.Log); err != nil {
			return nil, err
		}
		rep.Reset = &reset.info
	}
	err := run(ctx, o, rep)
	rep.Seconds = time.Since(rep.Started).Seconds()
	if reset != nil {
		if rerr := reset.restore(ctx); rerr != nil {
			err = errors.Join(err, rerr)
		}
		rep.Reset = &reset.info
	}
	if err == nil && !rep.Budget.OK {
		var lines []string
		for _, v := range rep.Budget.Violations {
			lines = append(lines, v.Message)
		}
		err = failure.Errorf(ExitBudget, "see the report's advice; raise the budget only if production can take it",
			"%d budget violation(s):\n  %s", len(lines), strings.Join(lines, "\n  "))
	}
	return rep, err
}

func run(ctx context.Context, o Options, rep *Report) error {
	meta, err := connect(ctx, o.Target.Value(), "understudy rehearse")
	if err != nil {
		return err
	}
	defer meta.Close(context.Background())
	s := &session{o: o, meta: meta, rep: rep}
	if err := s.describeTarget(ctx); err != nil {
		return err
	}
	var migrations []Migration
	if o.Migrations != "" {
		var ver int
		if err := meta.QueryRow(ctx, "SELECT current_setting('server_version_num')::int").Scan(&ver); err != nil {
			return err
		}
		if migrations, err = LoadDir(o.Migrations, ver); err != nil {
			return err
		}
	}
	if s.sizes, err = allSizes(ctx, meta); err != nil {
		return err
	}
	var wanted []string
	for _, m := range migrations {
		for _, st := range m.Statements {
			wanted = append(wanted, Targets(st.SQL)...)
		}
	}
	if err := s.volumes(ctx, wanted); err != nil {
		return err
	}

	var fileQueries []*trafficQuery
	if rep.Traffic.Mode == "file" {
		if fileQueries, err = parseTrafficFile(o.Traffic); err != nil {
			return err
		}
	}
	if o.Traffic != "off" {
		if s.traffic, err = newTraffic(ctx, o.Target.Value(), o.TrafficClients); err != nil {
			return err
		}
		defer s.traffic.close()
		if fileQueries != nil {
			if err := s.traffic.prepareFile(ctx, o.Traffic, fileQueries); err != nil {
				return err
			}
		}
		s.traffic.want(ctx, wanted)
	}
	if s.sampler, err = newSampler(ctx, o.Target.Value(), o.SampleEach, s.traffic); err != nil {
		return err
	}
	defer s.sampler.close()

	bg, bgCtx := errgroup.WithContext(ctx)
	stop := make(chan struct{})
	bgCtx, cancelBg := context.WithCancel(bgCtx)
	bg.Go(func() error { return s.sampler.run(bgCtx) })
	if s.traffic != nil {
		bg.Go(func() error { return s.traffic.run(bgCtx) })
	}
	if o.ProgressTo != nil {
		s.prog = newProgress(o.ProgressTo)
		bg.Go(func() error { s.prog.run(bgCtx, stop); return nil })
	}
	var runErr error
	if o.Migrations != "" {
		runErr = s.runMigrations(ctx, migrations)
	} else {
		runErr = s.runCommand(ctx)
	}
	s.traffic.drain(5 * time.Second)
	close(stop)
	cancelBg()
	bgErr := bg.Wait()
	if s.traffic != nil {
		for i, st := range s.stmts {
			st.Traffic = s.traffic.result(i)
		}
		rep.Traffic.Tables = s.traffic.tables()
		rep.Traffic.Skipped = s.traffic.skipped
		rep.Traffic.Clients = len(s.traffic.clients)
	}
	for _, m := range rep.Migrations {
		for _, st := range m.Statements {
			if st.Traffic == nil && s.traffic != nil {
				st.Traffic = &Traffic{BlockedTables: []string{}}
			}
		}
	}
	judge(rep, o.Budget)
	if runErr != nil {
		return runErr
	}
	if bgErr != nil && ctx.Err() == nil {
		return failure.WithCode(failure.ExitFailed, "", fmt.Errorf("rehearse: %w", bgErr))
	}
	return ctx.Err()
}

// describeTarget fills the report's target: server, database, and what kind of copy it is.
func (s *session) describeTarget(ctx context.Context) error {
	t := &s.rep.Target
	cfg := s.meta.Config()
	t.Host = fmt.Sprintf("%s:%d", cfg.Host, cfg.Port)
	var marker bool
	err := s.meta.QueryRow(ctx, `SELECT current_database(), current_setting('server_version'),
  EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = '_understudy_incomplete')`).Scan(&t.Database, &t.ServerVersion, &marker)
	if err != nil {
		return fmt.Errorf("target: %w", err)
	}
	if marker {
		return failure.Errorf(failure.ExitUnsafe, "finish the copy first (sync/restore --resume), or rebuild it",
			"target %s is an unfinished copy (schema _understudy_incomplete is there): its timings would mean nothing", t.Database)
	}
	t.Copy, t.CopySubset = s.o.Copy, s.o.CopySubset
	if t.Copy == "" {
		t.Copy = "unknown"
	}
	if s.o.CopyScale > 0 {
		t.CopyScale = &s.o.CopyScale
	}
	t.Tables = []TableVolume{}
	return nil
}

// volumes records the named tables' rows and sizes before any migration runs.
func (s *session) volumes(ctx context.Context, names []string) error {
	seen := map[string]bool{}
	for _, v := range s.rep.Target.Tables {
		seen[v.Relation] = true
	}
	for _, n := range names {
		var v TableVolume
		var reltuples float64
		err := s.meta.QueryRow(ctx, `SELECT n.nspname || '.' || c.relname, c.reltuples, pg_total_relation_size(c.oid)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = to_regclass($1) AND c.relkind IN ('r', 'p', 'm')`, n).Scan(&v.Relation, &reltuples, &v.Bytes)
		if err != nil || seen[v.Relation] {
			continue // not there yet (a migration creates it), or counted
		}
		seen[v.Relation] = true
		if reltuples >= 0 {
			v.Rows, v.RowsEstimated = int64(reltuples), true
		} else if err := s.meta.QueryRow(ctx, "SELECT count(*) FROM "+quoteQualified(v.Relation)).Scan(&v.Rows); err != nil {
			return fmt.Errorf("count %s: %w", v.Relation, err)
		}
		s.rep.Target.Tables = append(s.rep.Target.Tables, v)
	}
	sort.Slice(s.rep.Target.Tables, func(i, j int) bool { return s.rep.Target.Tables[i].Relation < s.rep.Target.Tables[j].Relation })
	return nil
}

func quoteQualified(rel string) string {
	if i := strings.IndexByte(rel, '.'); i >= 0 {
		return quoteIdent(rel[:i]) + "." + quoteIdent(rel[i+1:])
	}
	return quoteIdent(rel)
}

// runMigrations runs the files in order on one connection; the first failure stops.
func (s *session) runMigrations(ctx context.Context, migrations []Migration) error {
	mig, err := connect(ctx, s.o.Target.Value(), "understudy rehearse migrations")
	if err != nil {
		return err
	}
	defer mig.Close(context.Background())
	s.sampler.watch(mig.PgConn().PID())
	if s.cat, err = readCatalog(ctx, mig); err != nil {
		return err
	}
	if s.counters, err = readCounters(ctx, s.meta); err != nil {
		return err
	}
	for i, m := range migrations {
		if s.prog != nil {
			s.prog.migration(i+1, len(migrations), m.Name, len(m.Statements))
		}
		res, err := s.runMigration(ctx, mig, m)
		s.rep.Migrations = append(s.rep.Migrations, res)
		if err != nil {
			return err
		}
	}
	return nil
}

func (s *session) runMigration(ctx context.Context, mig *pgx.Conn, m Migration) (*Result, error) {
	res := &Result{Name: m.Name, InTransaction: m.InTransaction, NoTxReason: m.NoTxReason, Statements: []*StmtResult{}}
	start := time.Now()
	fail := func(st *StmtResult, e *SQLError, where string) (*Result, error) {
		res.Seconds = time.Since(start).Seconds()
		res.Error = e
		if m.InTransaction {
			_, _ = mig.Exec(context.Background(), "ROLLBACK")
		}
		return res, failure.Errorf(failure.ExitFailed, "the migration fails on this copy's data: it would fail in production too",
			"migration %s failed%s: %s", m.Name, where, e)
	}
	s.catWrites = 0 // a new transaction has written nothing yet
	if m.InTransaction {
		if _, err := mig.Exec(ctx, "BEGIN"); err != nil {
			return fail(nil, &SQLError{Message: err.Error()}, "")
		}
	}
	baseline := map[lockKey]bool{}
	for i, st := range m.Statements {
		if s.prog != nil {
			s.prog.statement(i+1, Display(st.SQL))
		}
		sr, err := s.runStatement(ctx, mig, st, m.InTransaction, baseline)
		res.Statements = append(res.Statements, sr)
		if err != nil {
			if sr.Error == nil {
				sr.Error = &SQLError{Message: err.Error()}
			}
			return fail(sr, sr.Error, fmt.Sprintf(" at statement %d (line %d: %s)", i+1, st.Line, Display(st.SQL)))
		}
	}
	if m.InTransaction {
		if _, err := mig.Exec(ctx, "COMMIT"); err != nil {
			e := sqlError(err, Statement{})
			return fail(nil, e, " at COMMIT")
		}
	}
	end := time.Now()
	for _, st := range res.Statements {
		for _, l := range st.txEnd {
			l.HeldSeconds = end.Sub(l.acquired).Seconds()
		}
		st.txEnd = nil
	}
	res.Seconds = end.Sub(start).Seconds()
	res.OK = true
	return res, nil
}

// runStatement runs one statement on mig and measures it. baseline holds the locks the
// transaction held before it; it is updated to those held after.
func (s *session) runStatement(ctx context.Context, mig *pgx.Conn, st Statement, inTx bool, baseline map[lockKey]bool) (*StmtResult, error) {
	sr := &StmtResult{SQL: Display(st.SQL), Line: st.Line, Locks: []Lock{}, Rewrites: []Rewrite{}, IndexesBuilt: []string{}, Sizes: []Size{},
		fingerprint: Fingerprint(st.SQL), kw: keywords(st.SQL, 12)}
	idx := len(s.stmts)
	sr.index = idx
	s.stmts = append(s.stmts, sr)
	if s.traffic != nil {
		s.traffic.want(ctx, Targets(st.SQL)) // tables created by earlier migrations
		s.traffic.begin(idx)
	}
	// what the last statement left is what this one starts from: only the migration's
	// connection changes the schema, so its catalog and the counters are read once between
	// two statements, not twice
	before, c0 := s.cat, s.counters
	s.sampler.reset()
	sr.Start = time.Now()
	results, execErr := mig.PgConn().Exec(ctx, st.SQL).ReadAll()
	end := time.Now()
	seen, waited := s.sampler.take()
	sr.Seconds = end.Sub(sr.Start).Seconds()
	sr.LockWaitSecs = waited.Seconds()
	if execErr == nil {
		for _, r := range results {
			if r.Err != nil {
				execErr = r.Err
			}
		}
	}
	if execErr != nil {
		sr.Error = sqlError(execErr, st)
		s.recordLocks(sr, seen, nil, before, nil, baseline, end)
		return sr, execErr
	}
	sr.OK = true
	if n := len(results); n > 0 {
		tag := results[n-1].CommandTag
		if tag.Insert() || tag.Update() || tag.Delete() || tag.Select() || strings.HasPrefix(tag.String(), "MERGE") || strings.HasPrefix(tag.String(), "COPY") {
			rows := tag.RowsAffected()
			sr.Rows = &rows
		}
	}
	// the migration connection's view and the cluster's counters, at once (two connections)
	var state migState
	var c1 counters
	var g errgroup.Group
	g.Go(func() (err error) { state, err = readState(ctx, mig, inTx, s.catWrites); return err })
	g.Go(func() (err error) { c1, err = readCounters(ctx, s.meta); return err })
	if err := g.Wait(); err != nil {
		return sr, err
	}
	after, held := state.cat, state.held
	if after == nil {
		after = before // pg_class untouched: no relation created, dropped or rewritten
	}
	s.cat, s.counters, s.catWrites = after, c1, state.catWrites
	s.recordLocks(sr, seen, held, before, after, baseline, end)
	touched := map[uint32]bool{}
	for _, l := range sr.Locks {
		if l.Mode != "AccessShareLock" { // a relation only read keeps its size
			touched[l.oid] = true
		}
	}
	for oid, r := range after {
		b, ok := before[oid]
		switch {
		case !ok && (r.kind == "i" || r.kind == "I"):
			sr.IndexesBuilt = append(sr.IndexesBuilt, r.name)
			touched[oid] = true
		case !ok && (r.kind == "r" || r.kind == "m"):
			touched[oid] = true
		case ok && b.filenode != r.filenode && r.filenode != 0:
			sr.Rewrites = append(sr.Rewrites, Rewrite{Relation: r.name, Kind: r.kindName()})
			touched[oid] = true
		}
	}
	var oids []uint32
	for oid := range touched {
		if r, ok := after[oid]; ok && (r.kind == "r" || r.kind == "i" || r.kind == "m") {
			oids = append(oids, oid)
		}
	}
	sizes := state.sizes
	if !inTx && len(oids) > 0 {
		var err error
		if sizes, err = relationSizes(ctx, mig, oids); err != nil {
			return sr, err
		}
	}
	for i := range sr.Rewrites {
		for oid, r := range after {
			if r.name == sr.Rewrites[i].Relation {
				sr.Rewrites[i].BytesBefore, sr.Rewrites[i].BytesAfter = s.sizes[oid], sizes[oid]
			}
		}
	}
	for _, oid := range oids {
		if _, ok := sizes[oid]; !ok {
			continue // in a transaction, only what it holds a write lock on was read
		}
		sr.Sizes = append(sr.Sizes, Size{Relation: after[oid].name, BytesBefore: s.sizes[oid], BytesAfter: sizes[oid]})
		s.sizes[oid] = sizes[oid]
	}
	sort.Slice(sr.Sizes, func(i, j int) bool { return sr.Sizes[i].Relation < sr.Sizes[j].Relation })
	sort.Strings(sr.IndexesBuilt)
	sort.Slice(sr.Rewrites, func(i, j int) bool { return sr.Rewrites[i].Relation < sr.Rewrites[j].Relation })
	sr.WALBytes, sr.TempBytes = c1.wal-c0.wal, c1.temp-c0.temp
	if inTx {
		// the size read above took and gave back its own locks; what is held now is the base
		clear(baseline)
		for k := range held {
			baseline[k] = true
		}
	}
	return sr, nil
}

// recordLocks turns the sampled and read locks into the statement's new locks. Locks still
// held at its end in a transaction are held to the transaction's end (filled at COMMIT);
// others were released when the statement ended.
func (s *session) recordLocks(sr *StmtResult, seen map[lockKey]time.Time, held map[lockKey]bool, before, after map[uint32]relInfo, baseline map[lockKey]bool, end time.Time) {
	all := map[lockKey]time.Time{}
	for k, t := range seen {
		all[k] = t
	}
	for k := range held {
		if _, ok := all[k]; !ok {
			all[k] = sr.Start // taken between two samples
		}
	}
	for k, t := range all {
		if baseline[k] {
			continue
		}
		name := ""
		if r, ok := after[k.oid]; ok {
			name = r.name
		} else if r, ok := before[k.oid]; ok {
			name = r.name
		} else {
			name = fmt.Sprintf("oid %d", k.oid)
		}
		if t.Before(sr.Start) {
			t = sr.Start
		}
		sr.Locks = append(sr.Locks, Lock{Relation: name, Mode: k.mode, HeldSeconds: end.Sub(t).Seconds(), oid: k.oid, acquired: t})
	}
	sort.Slice(sr.Locks, func(i, j int) bool {
		if sr.Locks[i].Relation != sr.Locks[j].Relation {
			return sr.Locks[i].Relation < sr.Locks[j].Relation
		}
		return sr.Locks[i].Mode < sr.Locks[j].Mode
	})
	for i := range sr.Locks {
		if held[lockKey{sr.Locks[i].oid, sr.Locks[i].Mode}] {
			sr.txEnd = append(sr.txEnd, &sr.Locks[i])
		}
	}
}
