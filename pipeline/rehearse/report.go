package rehearse

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/understudy-dev/understudy/pipeline"
)

// Report is what a rehearsal measured; docs/rehearse.md documents its JSON form (a contract).
type Report struct {
	Target     Target       `json:"target"`
	Started    time.Time    `json:"started"`
	Seconds    float64      `json:"seconds"`
	Migrations []*Result    `json:"migrations"`
	Traffic    TrafficInfo  `json:"traffic"`
	Budget     BudgetResult `json:"budget"`
	Reset      *ResetInfo   `json:"reset,omitempty"`
	Notes      []string     `json:"notes"`
}

// Target describes the copy the timings were measured on.
type Target struct {
	Database      string `json:"database"`
	Host          string `json:"host"`
	ServerVersion string `json:"server_version"`
	// Copy says how the copy was made when this run built it ("restored from snapshot …,
	// subset, scaled ×2"), else "unknown": nothing in a finished database tells.
	Copy string `json:"copy"`
	// CopyScale is how many times the copy holds each non-shared table's rows, CopySubset
	// whether its tables were filtered; nil when unknown.
	CopyScale  *int          `json:"copy_scale"`
	CopySubset *bool         `json:"copy_subset"`
	Tables     []TableVolume `json:"tables"` // the tables the migrations touched, as they were before
}

// TableVolume is a table's volume before the migrations ran.
type TableVolume struct {
	Relation      string `json:"relation"`
	Rows          int64  `json:"rows"`
	RowsEstimated bool   `json:"rows_estimated"` // from the planner's statistics (pg_class.reltuples)
	Bytes         int64  `json:"bytes"`          // pg_total_relation_size: heap, indexes, TOAST
}

// Result is one migration: a file, or the statements a --command ran.
type Result struct {
	Name          string        `json:"name"`
	Seconds       float64       `json:"seconds"`
	OK            bool          `json:"ok"`
	Error         *SQLError     `json:"error"`
	InTransaction bool          `json:"in_transaction"`
	NoTxReason    string        `json:"no_transaction_reason,omitempty"`
	Statements    []*StmtResult `json:"statements"`
}

// StmtResult is one statement (or, from a --command, every statement with the same
// normalized text, with Calls above 1).
type StmtResult struct {
	SQL          string    `json:"sql"`
	Line         int       `json:"line,omitempty"`
	Start        time.Time `json:"start"`
	Seconds      float64   `json:"seconds"` // total over all calls
	Calls        int       `json:"calls,omitempty"`
	MeanSeconds  float64   `json:"mean_seconds,omitempty"`
	MaxSeconds   float64   `json:"max_seconds,omitempty"`
	OK           bool      `json:"ok"`
	Error        *SQLError `json:"error,omitempty"`
	Rows         *int64    `json:"rows"`
	Locks        []Lock    `json:"locks"`
	LockWaitSecs float64   `json:"lock_wait_seconds"` // how long the statement itself waited for its locks
	Rewrites     []Rewrite `json:"rewrites"`
	IndexesBuilt []string  `json:"indexes_built"`
	WALBytes     int64     `json:"wal_bytes"`
	TempBytes    int64     `json:"temp_bytes"`
	Sizes        []Size    `json:"sizes"`
	Traffic      *Traffic  `json:"traffic"`
	Advice       []string  `json:"advice,omitempty"`

	fingerprint string
	index       int // in the session's statements (the traffic's attribution)
	kw          []string
	txEnd       []*Lock // locks whose held time runs to the transaction's end
}

// SQLError is PostgreSQL's error for a statement, with where in the file it points.
type SQLError struct {
	Message  string `json:"message"`
	SQLState string `json:"sqlstate,omitempty"`
	Detail   string `json:"detail,omitempty"`
	Hint     string `json:"hint,omitempty"`
	Position int    `json:"position,omitempty"` // 1-based character in the statement, as PostgreSQL gives it
	Line     int    `json:"line,omitempty"`     // that position's line and column in the file
	Column   int    `json:"column,omitempty"`
}

func (e *SQLError) String() string {
	s := e.Message
	if e.SQLState != "" {
		s += " (SQLSTATE " + e.SQLState + ")"
	}
	if e.Line > 0 {
		s += fmt.Sprintf(" at line %d, column %d", e.Line, e.Column)
	} else if e.Position > 0 {
		s += fmt.Sprintf(" at character %d", e.Position)
	}
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	return s
}

// Lock is a relation lock a statement acquired, as pg_locks names it.
type Lock struct {
	Relation    string  `json:"relation"` // schema.name (a table, index or sequence)
	Mode        string  `json:"mode"`     // e.g. ShareLock, AccessExclusiveLock
	HeldSeconds float64 `json:"held_seconds"`

	oid      uint32
	acquired time.Time
}

// Rewrite is a relation whose file PostgreSQL replaced (relfilenode changed): the table or
// index was written anew.
type Rewrite struct {
	Relation    string `json:"relation"`
	Kind        string `json:"kind"` // table, index, materialized view
	BytesBefore int64  `json:"bytes_before"`
	BytesAfter  int64  `json:"bytes_after"`
}

// Size is a touched relation's size before and after the statement (pg_relation_size).
type Size struct {
	Relation    string `json:"relation"`
	BytesBefore int64  `json:"bytes_before"`
	BytesAfter  int64  `json:"bytes_after"`
}

// Traffic is what the synthetic clients saw while a statement ran (from its start to the
// next statement's start, so a lock held to the end of the transaction counts).
type Traffic struct {
	Queries        int      `json:"queries"`
	P50Seconds     float64  `json:"p50_seconds"`
	P99Seconds     float64  `json:"p99_seconds"`
	MaxSeconds     float64  `json:"max_seconds"`
	Waited         int      `json:"waited"`           // queries seen waiting for a lock
	MaxWaitSeconds float64  `json:"max_wait_seconds"` // the longest of those queries
	BlockedWrites  int      `json:"blocked_writes"`   // updates and inserts among them
	BlockedTables  []string `json:"blocked_tables"`
	Deadlocks      int      `json:"deadlocks"`
	Errors         int      `json:"errors"`
	ErrorSamples   []string `json:"error_samples,omitempty"`
}

// TrafficInfo says how the synthetic traffic was run.
type TrafficInfo struct {
	Mode    string   `json:"mode"`           // auto, off or file
	File    string   `json:"file,omitempty"` // with mode file: the --traffic file
	Clients int      `json:"clients"`
	Tables  []string `json:"tables"`
	Skipped []string `json:"skipped,omitempty"` // tables or kinds of query left out, and why
}

// BudgetResult lists the budgets a rehearsal broke.
type BudgetResult struct {
	OK         bool        `json:"ok"`
	Violations []Violation `json:"violations"`
}

// Violation is one broken budget.
type Violation struct {
	Budget    string `json:"budget"` // max-lock-wait, max-statement, max-migration, no-rewrite-over
	Migration string `json:"migration"`
	SQL       string `json:"sql,omitempty"`
	Measured  string `json:"measured"`
	Limit     string `json:"limit"`
	Message   string `json:"message"`
}

// ResetInfo is what --reset cost.
type ResetInfo struct {
	Template        string  `json:"template"`
	TemplateCreated bool    `json:"template_created"`
	TemplateSeconds float64 `json:"template_seconds"`
	RestoreSeconds  float64 `json:"restore_seconds"`
}

// WriteJSON writes the report to path.
func (r *Report) WriteJSON(path string) error {
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return pipeline.WritePrivateFile(path, append(data, '\n'))
}
