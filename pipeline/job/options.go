package job

import (
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/apache/arrow/go/v15/arrow/memory"

	"github.com/understudy-dev/understudy/pipeline"
	"github.com/understudy-dev/understudy/pipeline/config"
	"github.com/understudy-dev/understudy/schemas"
	"github.com/understudy-dev/understudy/transforms"
)

// The options of the jobs come in groups that each job embeds where it applies, so that a
// knob means the same in every command and a new job picks groups instead of copying fields:
//
//	Rules          what is done to the rows: config, key, registry, scale   Plan, Verify, Restore (and, in SourceOptions, Sync, Snapshot)
//	SourceOptions  a copy's source: its DSN, Rules, the guard, pg_dump, chunks   Sync, Snapshot
//	TargetOptions  a target database: its DSN, --replace                     Sync, Restore
//	Running        a run that moves rows: workers, batches, logs, progress   Sync, Snapshot, Restore
//
// cmd/understudy has one flag group per option group (flags.go).

// Rules is what a command does to the rows: the config's rules, subset and scale, keyed by Key.
type Rules struct {
	Config   *config.Config       // nil: no rules
	Key      *transforms.Key      // nil: keyed rules refuse to run
	Registry *transforms.Registry // nil: transforms.Default()
	Scale    int                  // overrides the config's scale factor when above 0
}

// config is the config, empty when there is none.
func (r Rules) config() *config.Config {
	if r.Config == nil {
		return &config.Config{}
	}
	return r.Config
}

// scale is the config's scale section with Scale, when above 0, as its factor.
func (r Rules) scale() *config.Scale { return scaleOf(r.config(), r.Scale) }

// SourceOptions are the source side of a command that copies a database (sync, snapshot):
// which database, under which rules, and how its schema and rows are read.
type SourceOptions struct {
	Source config.DSN
	Rules
	AllowUnmasked bool   // copy columns that look personal but have no rule
	PgDump        string // pg_dump path; empty: found automatically
	NoOwner       bool   // leave ownership out of the schema
	NoPrivileges  bool   // leave GRANTs out of the schema
	ChunkBytes    int64  // chunk size; 0: 64 MiB
	// ChunkShare cuts only the tables bigger than their share of the copy (all tables' heap
	// over Jobs) into chunks; the others load whole (pipeline.PlanOptions.Share). Without it
	// every table bigger than ChunkBytes is cut.
	ChunkShare bool
}

// share is pipeline.PlanOptions.Share for a run with jobs workers.
func (o SourceOptions) share(jobs int) int {
	if o.ChunkShare {
		return jobs
	}
	return 0
}

// dump is how pg_dump reads the schema (the snapshot is the source's, set when it runs).
func (o SourceOptions) dump() schemas.DumpOptions {
	return schemas.DumpOptions{NoOwner: o.NoOwner, NoPrivileges: o.NoPrivileges}
}

// TargetOptions are a target database's: where, and whether what understudy manages in it
// may be dropped and loaded again.
type TargetOptions struct {
	Target  config.DSN
	Replace bool
}

// Running is what every command that moves rows shares: parallelism, batch bounds, and
// how progress is shown and reported. Its methods (engine.go) run the engine with it.
type Running struct {
	Jobs       int
	BatchRows  int
	BatchBytes int
	Mem        memory.Allocator
	DecodeAll  bool // see pipeline.RunOptions

	Log              *slog.Logger
	ProgressTo       *os.File      // live progress (a terminal) or nil
	ProgressInterval time.Duration // log line interval without a terminal; 0: none
	SummaryTo        io.Writer     // final summary table, or nil
	ReportPath       string        // JSON run report, or ""
	progress         *pipeline.Progress
	counters         []func(*pipeline.RunReport) // fill in the report's counts at the end
}
