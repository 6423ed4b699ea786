// Package pgsink loads a copy into a PostgreSQL database: it refuses a target that is not
// empty (or that holds an earlier run's leftovers) unless asked to replace, marks the target
// incomplete for the whole run, creates the schema from pg_dump's pre-data section, takes
// rows as binary COPY streams, builds each table's indexes and keys as soon as its rows have
// landed, then adds foreign keys (validated), triggers and the rest of post-data, sets
// sequences, refreshes materialized views, and only then removes the incomplete marker.
//
// It knows nothing of where rows come from or of transformers.
package pgsink

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/understudy-dev/understudy/pipeline"
	"github.com/understudy-dev/understudy/pipeline/failure"
	"github.com/understudy-dev/understudy/pipeline/postgres"
	"github.com/understudy-dev/understudy/schemas"
)

// MarkerSchema exists in a target for as long as a run is loading it. A target that has it
// is incomplete: the next run refuses it unless told to replace.
const MarkerSchema = "_understudy_incomplete"

// Options shape the load.
type Options struct {
	// Replace drops, before loading, every schema of the target that the source also has
	// (and an earlier run's marker). Without it the target must hold no tables.
	Replace bool
	Jobs    int
	// SourceInfo is recorded in the marker (it must not hold a password).
	SourceInfo string
}

// Sink is an open target database.
type Sink struct {
	dsn   string
	admin *pgx.Conn
	ddl   *schemas.DDL
	cat   *schemas.Catalog
	opts  Options

	mu      sync.Mutex
	own     map[*schemas.Table][]int // a table's own post-data entries (by index in ddl.PostData)
	pending map[*schemas.Table]int   // own entries of a loaded table not yet built
	ready   map[*schemas.Table]bool  // loaded and indexed
	fks     []*earlyFK
	done    []bool // post-data entries already run

	busy        atomic.Int32 // COPYs and post-data entries running on the workers now
	maintenance int          // the server's max_parallel_maintenance_workers
}

var _ pipeline.Sink = (*Sink)(nil)

// NotEmptyError says the target already holds tables.
type NotEmptyError struct {
	Tables     []string
	Incomplete string // when set, an earlier run left the target unfinished (started at ...)
}

func (e *NotEmptyError) Error() string {
	if e.Incomplete != "" {
		return fmt.Sprintf("target holds an unfinished copy (a run started %s did not complete)", e.Incomplete)
	}
	more := ""
	if len(e.Tables) > 5 {
		more = fmt.Sprintf(" and %d more", len(e.Tables)-5)
	}
	return fmt.Sprintf("target is not empty: it has %s%s", strings.Join(e.Tables[:min(5, len(e.Tables))], ", "), more)
}

// Open connects to the target and checks it can be loaded. It changes nothing.
func Open(ctx context.Context, dsn string, opts Options) (*Sink, error) {
	conn, err := postgres.Connect(ctx, dsn, "target")
	if err != nil {
		return nil, err
	}
	if opts.Jobs < 1 {
		opts.Jobs = 1
	}
	return &Sink{dsn: dsn, admin: conn, opts: opts}, nil
}

// Identity says which database the sink reached.
func (s *Sink) Identity(ctx context.Context) (postgres.DBIdentity, error) {
	return postgres.Identify(ctx, s.admin)
}

// Querier reads and writes the target on the sink's own connection: for the steps between
// the load and Finish (reading what the rows hold, the target's sequences). Not for use
// while rows are loading or Finish runs.
func (s *Sink) Querier() schemas.Querier { return s.admin }

// Prepare checks the target is empty (or replaces it), marks it incomplete, and creates the
// schema from the pre-data DDL.
func (s *Sink) Prepare(ctx context.Context, ddl *schemas.DDL, cat *schemas.Catalog) error {
	s.ddl, s.cat = ddl, cat
	s.classify()
	if err := s.admin.QueryRow(ctx, "SELECT current_setting('max_parallel_maintenance_workers')::int").Scan(&s.maintenance); err != nil {
		return fmt.Errorf("target: %w", err)
	}
	if err := s.checkEmpty(ctx); err != nil {
		var ne *NotEmptyError
		if !errors.As(err, &ne) || !s.opts.Replace {
			return err
		}
		if err := s.dropManaged(ctx); err != nil {
			return err
		}
		if err := s.checkEmpty(ctx); err != nil {
			return failure.WithCode(failure.ExitUnsafe, "drop them by hand or load into another database", fmt.Errorf("after --replace: %w", err))
		}
	}
	if _, err := s.admin.Exec(ctx, "CREATE SCHEMA "+schemas.QuoteIdent(MarkerSchema)+"; CREATE TABLE "+
		schemas.QuoteIdent(MarkerSchema)+".run (started timestamptz NOT NULL DEFAULT now(), source text NOT NULL)"); err != nil {
		return fmt.Errorf("target: mark incomplete: %w", err)
	}
	if _, err := s.admin.Exec(ctx, "INSERT INTO "+schemas.QuoteIdent(MarkerSchema)+".run (source) VALUES ($1)", s.opts.SourceInfo); err != nil {
		return fmt.Errorf("target: mark incomplete: %w", err)
	}
	if _, err := s.admin.Exec(ctx, ddl.PreData); err != nil {
		return failure.WithCode(failure.ExitFailed, preDataHint(err), fmt.Errorf("target: create schema (pre-data): %w", err))
	}
	return nil
}

func preDataHint(err error) string {
	if strings.Contains(err.Error(), "role") && strings.Contains(err.Error(), "does not exist") {
		return "the target lacks a role the source's objects belong to: create it, or pass --no-owner (and --no-privileges)"
	}
	if strings.Contains(err.Error(), "extension") {
		return "the target server lacks an extension the source uses: install its package on the target server"
	}
	return ""
}

// checkEmpty fails with a NotEmptyError if the target has tables, views or sequences of its
// own, or an unfinished earlier run.
func (s *Sink) checkEmpty(ctx context.Context) error {
	var hasMarker, hasRun bool
	if err := s.admin.QueryRow(ctx, "SELECT to_regnamespace($1) IS NOT NULL, to_regclass($2) IS NOT NULL",
		schemas.QuoteIdent(MarkerSchema), schemas.QuoteIdent(MarkerSchema)+".run").Scan(&hasMarker, &hasRun); err != nil {
		return fmt.Errorf("target: %w", err)
	}
	if hasMarker {
		// Without its table the run was killed between creating the two: still unfinished.
		when := "at an unknown time"
		var started *time.Time
		if hasRun && s.admin.QueryRow(ctx, "SELECT min(started) FROM "+schemas.QuoteIdent(MarkerSchema)+".run").Scan(&started) == nil && started != nil {
			when = "at " + started.Format(time.RFC3339)
		}
		return &NotEmptyError{Incomplete: when}
	}
	rows, err := s.admin.Query(ctx, `
SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_(toast|temp_|toast_temp_)'
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
ORDER BY 1`)
	if err != nil {
		return fmt.Errorf("target: list tables: %w", err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return fmt.Errorf("target: list tables: %w", err)
	}
	if len(names) > 0 {
		return &NotEmptyError{Tables: names}
	}
	return nil
}

// dropManaged drops the marker and every target schema the source also has; public is
// recreated as initdb makes it.
func (s *Sink) dropManaged(ctx context.Context) error {
	schemaSet := map[string]bool{MarkerSchema: true, "public": true}
	for _, t := range s.cat.Tables {
		schemaSet[t.Schema] = true
	}
	for _, n := range append(append([]schemas.Name{}, s.cat.Sequences...), s.cat.MatViews...) {
		schemaSet[n.Schema] = true
	}
	names := make([]string, 0, len(schemaSet))
	for n := range schemaSet {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, n := range names {
		fmt.Fprintf(&b, "DROP SCHEMA IF EXISTS %s CASCADE;\n", schemas.QuoteIdent(n))
	}
	b.WriteString("CREATE SCHEMA public; ALTER SCHEMA public OWNER TO pg_database_owner; GRANT USAGE ON SCHEMA public TO PUBLIC;\n")
	b.WriteString("COMMENT ON SCHEMA public IS 'standard public schema';\n")
	if _, err := s.admin.Exec(ctx, b.String()); err != nil {
		return fmt.Errorf("target: --replace: %w", err)
	}
	return nil
}

// classify sorts post-data by when it can run. A table's own indexes and primary, unique,
// check and exclusion constraints run as soon as its rows have landed; a foreign key between
// two plain tables runs once both are loaded and indexed; everything else (triggers,
// partitioned parents' indexes and attachments, rules, policies, ...) waits for all rows.
func (s *Sink) classify() {
	s.own = map[*schemas.Table][]int{}
	s.pending = map[*schemas.Table]int{}
	s.ready = map[*schemas.Table]bool{}
	s.done = make([]bool, len(s.ddl.PostData))
	s.fks = nil
	for i, e := range s.ddl.PostData {
		switch e.Type {
		case "INDEX", "CONSTRAINT":
			t := s.cat.Indexes[e.Name]
			if e.Type == "CONSTRAINT" {
				t = s.cat.Constraints[e.Name]
			}
			if t != nil && t.Kind == 'r' {
				s.own[t] = append(s.own[t], i)
			}
		case "FK CONSTRAINT":
			child := s.cat.Constraints[e.Name]
			if child == nil || child.Kind != 'r' {
				continue
			}
			if fk, ok := foreignKeyOf(child, e); ok {
				if parent := s.cat.Table(fk.Ref); parent != nil && parent.Kind == 'r' {
					s.fks = append(s.fks, &earlyFK{entry: i, child: child, parent: parent, key: fk})
				}
			}
		}
	}
}

// objectOf returns the name of the object of table t that entry e creates: pg_dump names a
// table's index, constraint or trigger "table object".
func objectOf(t *schemas.Table, e schemas.Entry) (string, bool) {
	return strings.CutPrefix(e.Name.Name, t.Name.Name+" ")
}

// foreignKeyOf returns the foreign key of child that entry e adds.
func foreignKeyOf(child *schemas.Table, e schemas.Entry) (schemas.ForeignKey, bool) {
	name, ok := objectOf(child, e)
	for _, fk := range child.ForeignKeys {
		if ok && fk.Name == name {
			return fk, true
		}
	}
	return schemas.ForeignKey{}, false
}

// earlyFK is a foreign key that can be added before all rows are in.
type earlyFK struct {
	entry         int
	child, parent *schemas.Table
	key           schemas.ForeignKey
	queued        bool
}

// TableLoaded returns the table's own index and key builds (or, if it has none, the foreign
// keys it was the last to wait for).
func (s *Sink) TableLoaded(t *pipeline.TablePlan) []pipeline.Task {
	s.mu.Lock()
	defer s.mu.Unlock()
	own := s.own[t.Table]
	if len(own) == 0 {
		return s.markReady(t.Table)
	}
	s.pending[t.Table] = len(own)
	tasks := make([]pipeline.Task, 0, len(own))
	built := func() []pipeline.Task {
		s.pending[t.Table]--
		if s.pending[t.Table] == 0 {
			return s.markReady(t.Table)
		}
		return nil
	}
	for _, i := range own {
		if k, ok := s.keyInTwoSteps(i, t.Table, built); ok {
			tasks = append(tasks, k)
			continue
		}
		tasks = append(tasks, s.task(i, []*schemas.Table{t.Table}, nil, built))
	}
	return tasks
}

// task runs post-data entry i, which locks tables (and is the foreign key fk, if set); then,
// under the lock, it marks it done and calls after.
func (s *Sink) task(i int, tables []*schemas.Table, fk *earlyFK, after func() []pipeline.Task) pipeline.Task {
	run := (*writer).exec
	if fk != nil {
		run = func(w *writer, ctx context.Context, preamble string, e schemas.Entry) error {
			return w.addForeignKey(ctx, preamble, e, fk)
		}
	}
	return s.step(s.ddl.PostData[i], lockNames(tables), run, s.marking(i, after))
}

// marking returns what marks post-data entry i done and then calls after (if set), for a
// step's end. It runs with s.mu held.
func (s *Sink) marking(i int, after func() []pipeline.Task) func() []pipeline.Task {
	return func() []pipeline.Task {
		s.done[i] = true
		if after == nil {
			return nil
		}
		return after()
	}
}

// keyInTwoSteps returns, for post-data entry i when it is a primary key or unique
// constraint of t that the catalog can build in two steps (Table.KeyIndexes), a task that
// builds its unique index, as CREATE INDEX, and then hands on the task that attaches the
// constraint to it (ALTER TABLE … USING INDEX). A table's primary key then no longer holds
// ACCESS EXCLUSIVE while its index is built, which kept the table's other index builds
// waiting, one after the other, at the end of a load; now they run side by side. An entry
// that does more than add the constraint (pg_dump adds CLUSTER ON to it) is left whole.
func (s *Sink) keyInTwoSteps(i int, t *schemas.Table, after func() []pipeline.Task) (pipeline.Task, bool) {
	e := s.ddl.PostData[i]
	name, ok := objectOf(t, e)
	k, known := t.KeyIndexes[name]
	if e.Type != "CONSTRAINT" || !ok || !known || strings.Count(e.SQL, ";") != 1 || !strings.HasSuffix(e.SQL, ";") {
		return pipeline.Task{}, false
	}
	tables := lockNames([]*schemas.Table{t})
	attach := schemas.Entry{Name: e.Name, Type: e.Type, SQL: t.Attach(name) + ";", Header: e.Header}
	build := schemas.Entry{Name: e.Name, Type: "INDEX", SQL: k.Create + ";", Header: e.Header}
	return s.step(build, tables, (*writer).exec, func() []pipeline.Task {
		return []pipeline.Task{s.step(attach, tables, (*writer).exec, s.marking(i, after))}
	}), true
}

// step runs e with run on a worker, holding locks (the quoted names of the tables it locks);
// then, under s.mu, it returns what after returns (if set).
func (s *Sink) step(e schemas.Entry, locks []string, run func(*writer, context.Context, string, schemas.Entry) error, after func() []pipeline.Task) pipeline.Task {
	return pipeline.Task{
		Name: fmt.Sprintf("create %s %s", strings.ToLower(e.Type), e.Name),
		// CREATE INDEX takes SHARE, which does not conflict with itself; ALTER TABLE (a
		// primary key, a unique or check constraint, a foreign key) takes modes that do.
		Locks:  locks,
		Shared: e.Type == "INDEX",
		Run: func(ctx context.Context, w pipeline.Writer) ([]pipeline.Task, error) {
			if err := run(w.(*writer), ctx, s.ddl.Preamble, e); err != nil || after == nil {
				return nil, err
			}
			s.mu.Lock()
			defer s.mu.Unlock()
			return after(), nil
		},
	}
}

// lockNames names tables as Task.Locks does.
func lockNames(tables []*schemas.Table) []string {
	locks := make([]string, len(tables))
	for k, t := range tables {
		locks[k] = t.Name.Quoted()
	}
	return locks
}

// markReady records that t is loaded and indexed and returns the foreign keys that were
// waiting only for that. Call with s.mu held.
func (s *Sink) markReady(t *schemas.Table) []pipeline.Task {
	s.ready[t] = true
	var tasks []pipeline.Task
	for _, fk := range s.fks {
		if !fk.queued && s.ready[fk.child] && s.ready[fk.parent] {
			fk.queued = true
			tasks = append(tasks, s.task(fk.entry, []*schemas.Table{fk.child, fk.parent}, fk, nil))
		}
	}
	return tasks
}

// Finish runs what waits for all rows: post-data entries not yet run (foreign keys in
// parallel, the rest in pg_dump's order), sequence values, materialized view refreshes;
// then it removes the incomplete marker, durably.
func (s *Sink) Finish(ctx context.Context, seqs []pipeline.SequenceValue) error {
	var pending []schemas.Entry
	for i, e := range s.ddl.PostData {
		if !s.done[i] {
			pending = append(pending, e)
		}
	}
	w := &writer{conn: s.admin, sink: s, workers: -1}
	if _, err := s.admin.Exec(ctx, s.ddl.Preamble); err != nil {
		return fmt.Errorf("target: %w", err)
	}
	for i := 0; i < len(pending); {
		if pending[i].Type != "FK CONSTRAINT" {
			if err := w.exec(ctx, "", pending[i]); err != nil {
				return err
			}
			i++
			continue
		}
		j := i
		for j < len(pending) && pending[j].Type == "FK CONSTRAINT" {
			j++
		}
		if err := s.parallel(ctx, pending[i:j]); err != nil {
			return err
		}
		i = j
	}
	var b strings.Builder
	for _, sv := range seqs {
		fmt.Fprintf(&b, "SELECT pg_catalog.setval(%s, %d, %t);\n", quoteLiteral(sv.Name.Quoted()), sv.LastValue, sv.IsCalled)
	}
	if b.Len() > 0 {
		if _, err := s.admin.Exec(ctx, b.String()); err != nil {
			return fmt.Errorf("target: set sequences: %w", err)
		}
	}
	for _, mv := range s.cat.MatViews {
		if _, err := s.admin.Exec(ctx, "REFRESH MATERIALIZED VIEW "+mv.Quoted()); err != nil {
			return fmt.Errorf("target: refresh materialized view %s: %w", mv, err)
		}
	}
	// Everything before this commit is durable once it is (WAL is flushed in order).
	if _, err := s.admin.Exec(ctx, "SET synchronous_commit = on; DROP SCHEMA "+schemas.QuoteIdent(MarkerSchema)+" CASCADE"); err != nil {
		return fmt.Errorf("target: remove the incomplete marker: %w", err)
	}
	return nil
}

// parallel runs foreign-key entries on up to Jobs connections, by the engine's scheduler:
// never two at once that lock a table in common (adding a foreign key takes SHARE ROW
// EXCLUSIVE on both of its tables, which conflicts with itself, so the second would wait
// with its connection idle), the first in pg_dump's order whose tables are free.
func (s *Sink) parallel(ctx context.Context, entries []schemas.Entry) error {
	tasks := make([]pipeline.Task, len(entries))
	for i, e := range entries {
		tasks[i] = s.step(e, s.fkTables(e), (*writer).exec, nil)
	}
	return pipeline.RunTasks(ctx, tasks, s.opts.Jobs, s.NewWriter)
}

// fkTables names the two tables of a foreign-key entry (one, if it references its own
// table), as lockNames does; none if the catalog does not know the entry.
func (s *Sink) fkTables(e schemas.Entry) []string {
	child := s.cat.Constraints[e.Name]
	if child == nil {
		return nil
	}
	keys := []string{child.Name.Quoted()}
	if fk, ok := foreignKeyOf(child, e); ok && fk.Ref != child.Name {
		keys = append(keys, fk.Ref.Quoted())
	}
	return keys
}

// Close closes the admin connection. After a failure the marker stays in place.
func (s *Sink) Close() error {
	return s.admin.Close(context.Background())
}

// NewWriter opens a worker connection.
func (s *Sink) NewWriter(ctx context.Context) (pipeline.Writer, error) {
	conn, err := postgres.Connect(ctx, s.dsn, "target")
	if err != nil {
		return nil, err
	}
	// Commits need not wait for the disk: the marker's removal at the end is a synchronous
	// commit, and WAL is flushed in order, so everything before it is durable with it.
	if _, err := conn.Exec(ctx, "SET synchronous_commit = off"); err != nil {
		conn.Close(ctx)
		return nil, fmt.Errorf("target: %w", err)
	}
	return &writer{conn: conn, sink: s, workers: s.maintenance}, nil
}

type writer struct {
	conn     *pgx.Conn
	sink     *Sink
	preamble bool
	// workers is what this connection has max_parallel_maintenance_workers set to now (-1:
	// leave it alone, on the admin connection).
	workers int
}

// shareCores sets the parallel workers an index build on w may use: the jobs idle now, at
// most the server's own setting (Sink.maintenance, read by Prepare). --jobs is how many
// server processes a load keeps at work; an index built while the other workers copy or
// build gets no parallel workers (they would only share the cores those use, and add the
// cost of a parallel sort), one built alone may use the idle jobs' share.
func (w *writer) shareCores(ctx context.Context) error {
	if w.workers < 0 {
		return nil
	}
	n := min(w.sink.maintenance, max(w.sink.opts.Jobs-int(w.sink.busy.Load()), 0))
	if n == w.workers {
		return nil
	}
	if _, err := w.conn.Exec(ctx, "SET max_parallel_maintenance_workers = "+strconv.Itoa(n)); err != nil {
		return fmt.Errorf("target: %w", err)
	}
	w.workers = n
	return nil
}

// CopyIn loads one unit. A table's only unit (a plain table or a leaf partition) loads in the
// transaction that truncates the new, empty table, with FREEZE: its rows land frozen and
// its pages all-visible, so the index builds and foreign-key checks that read them next
// set no hint bits, the first vacuum has nothing to do, and on a wal_level=minimal server
// the rows write no WAL (pg_restore -j loads a table it created in the same way, without
// FREEZE). The chunks of a table split into several units load side by side, plainly: a
// truncation would lock the others out.
func (w *writer) CopyIn(ctx context.Context, u pipeline.Unit, r io.Reader) (int64, error) {
	w.sink.busy.Add(1)
	defer w.sink.busy.Add(-1)
	format := pipeline.CopyFormat(u.Table)
	freeze := u.Of == 1 && u.Table.Table.Kind == 'r'
	if freeze {
		format = strings.TrimSuffix(format, ")") + ", FREEZE)"
		if _, err := w.conn.Exec(ctx, "BEGIN; TRUNCATE ONLY "+u.Table.Name.Quoted()); err != nil {
			return 0, fmt.Errorf("write to target: %w", err)
		}
	}
	sql := "COPY " + u.Table.Name.Quoted() + " (" + postgres.QuotedColumns(u.Table.Columns) + ") FROM STDIN " + format
	src := &readToEnd{r: r}
	tag, err := w.conn.PgConn().CopyFrom(ctx, src, sql)
	if err == nil && freeze {
		_, err = w.conn.Exec(ctx, "COMMIT")
	}
	if err != nil {
		if freeze {
			// Best effort, and bounded: the run fails with err, and the connection is closed
			// with it.
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			w.conn.Exec(rctx, "ROLLBACK")
			cancel()
		}
		err = fmt.Errorf("write to target: %w", err)
		if !freeze && src.done {
			// The COPY commits on its own once all of it is in: lost now, it may have. A frozen
			// load is safe to redo (its TRUNCATE comes first); this one is not.
			err = &pipeline.OutcomeUnknown{Err: err}
		}
		return 0, err
	}
	return tag.RowsAffected(), nil
}

// readToEnd notes whether the reader's end was reached: all of a unit's rows were sent.
type readToEnd struct {
	r    io.Reader
	done bool
}

func (e *readToEnd) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err == io.EOF {
		e.done = true
	}
	return n, err
}

// prelude runs the post-data preamble, once per connection.
func (w *writer) prelude(ctx context.Context, preamble string) error {
	if !w.preamble && preamble != "" {
		if _, err := w.conn.Exec(ctx, preamble); err != nil {
			return fmt.Errorf("target: %w", err)
		}
		w.preamble = true
	}
	return nil
}

// exec runs one post-data entry, after the preamble once per connection.
func (w *writer) exec(ctx context.Context, preamble string, e schemas.Entry) error {
	if err := w.prelude(ctx, preamble); err != nil {
		return err
	}
	w.sink.busy.Add(1)
	defer w.sink.busy.Add(-1)
	if e.Type == "INDEX" || e.Type == "CONSTRAINT" {
		if err := w.shareCores(ctx); err != nil {
			return err
		}
	}
	if _, err := w.conn.Exec(ctx, e.SQL); err != nil {
		return fmt.Errorf("target: create %s %s: %w", strings.ToLower(e.Type), e.Name, err)
	}
	return nil
}

// mergeMinPages is the size (heap pages of both tables) from which addForeignKey asks whether
// a merge of indexes would check a foreign key faster: 8 MiB.
const mergeMinPages = 1024

// addForeignKey adds the foreign key fk (entry e) between two plain tables whose indexes are
// built. ALTER TABLE checks the existing rows with an anti-join of the two tables, which the
// planner, without statistics on the fresh tables, makes a hash join: it reads both heaps and
// hashes the referenced keys. When the referencing columns lead an index of their own and
// both tables are all-visible (as one loaded frozen is: an index-only scan of it never reads
// the heap), a merge join of the two indexes in key order does the same check in under half
// the time (the shop fixture's order_items into orders, 800k rows into 500k: 85 against
// 190 ms). So when that holds, the check runs with hash joins off; otherwise it runs as
// pg_restore's does. Between small tables (under mergeMinPages together, in the source) the
// check takes about as long as the questions, and runs as it would.
func (w *writer) addForeignKey(ctx context.Context, preamble string, e schemas.Entry, fk *earlyFK) error {
	if fk.child.Pages+fk.parent.Pages < mergeMinPages {
		return w.exec(ctx, preamble, e)
	}
	if err := w.prelude(ctx, preamble); err != nil {
		return err
	}
	if _, err := w.conn.Exec(ctx, "SET enable_hashjoin = off"); err != nil {
		return fmt.Errorf("target: %w", err)
	}
	merge := mergesIndexes(ctx, w.conn, fk)
	if !merge {
		if _, err := w.conn.Exec(ctx, "RESET enable_hashjoin"); err != nil {
			return fmt.Errorf("target: %w", err)
		}
	}
	err := w.exec(ctx, "", e)
	if merge {
		if _, rerr := w.conn.Exec(ctx, "RESET enable_hashjoin"); rerr != nil && err == nil {
			err = fmt.Errorf("target: %w", rerr)
		}
	}
	return err
}

// mergesIndexes reports whether both of fk's tables are all-visible (their last index build
// found as many all-visible pages as they have now) and the planner, with hash joins off,
// would check fk's rows as ALTER TABLE does with a merge anti-join of two index-only scans
// and nothing else: no sort, no heap read. A question it cannot get answered (an equality
// operator outside pg_catalog, which the dump's empty search_path hides, for one) is a no:
// the check then runs as it would anyway.
func mergesIndexes(ctx context.Context, conn *pgx.Conn, fk *earlyFK) bool {
	var visible bool
	err := conn.QueryRow(ctx, `SELECT bool_and(relallvisible > 0 AND relallvisible >= pg_catalog.pg_relation_size(oid) / pg_catalog.current_setting('block_size')::int8)
		FROM pg_catalog.pg_class WHERE oid IN ($1::regclass, $2::regclass)`,
		fk.child.Name.Quoted(), fk.parent.Name.Quoted()).Scan(&visible)
	if err != nil || !visible {
		return false
	}
	var on, null, notNull []string
	for k, c := range fk.key.Columns {
		r := schemas.QuoteIdent(fk.key.RefColumns[k])
		on = append(on, "pk."+r+" = fk."+schemas.QuoteIdent(c))
		null = append(null, "pk."+r+" IS NULL")
		notNull = append(notNull, "fk."+schemas.QuoteIdent(c)+" IS NOT NULL")
	}
	var plan []byte
	err = conn.QueryRow(ctx, "EXPLAIN (FORMAT JSON) SELECT 1 FROM ONLY "+fk.child.Name.Quoted()+" fk LEFT JOIN ONLY "+
		fk.parent.Name.Quoted()+" pk ON "+strings.Join(on, " AND ")+" WHERE "+strings.Join(null, " AND ")+
		" AND "+strings.Join(notNull, " AND ")).Scan(&plan)
	var top []struct{ Plan planNode }
	if err != nil || json.Unmarshal(plan, &top) != nil || len(top) != 1 {
		return false
	}
	return top[0].Plan.indexMerge()
}

// planNode is the part of a node of EXPLAIN (FORMAT JSON) that mergesIndexes reads.
type planNode struct {
	Type  string     `json:"Node Type"`
	Join  string     `json:"Join Type"`
	Plans []planNode `json:"Plans"`
}

// indexMerge reports whether the plan is, under any Gather, a merge anti-join whose two
// inputs are index-only scans.
func (n planNode) indexMerge() bool {
	for (n.Type == "Gather" || n.Type == "Gather Merge") && len(n.Plans) == 1 {
		n = n.Plans[0]
	}
	if n.Type != "Merge Join" || n.Join != "Anti" || len(n.Plans) != 2 {
		return false
	}
	return n.Plans[0].Type == "Index Only Scan" && n.Plans[1].Type == "Index Only Scan"
}

func (w *writer) Close() error {
	return w.conn.Close(context.Background())
}

func quoteLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
