package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/understudy-dev/understudy/schemas"
)

// Progress tracks a run per table. A nil *Progress tracks nothing.
type Progress struct {
	start  time.Time
	phase  atomic.Value // string: what the run is doing now
	mu     sync.Mutex
	tables map[schemas.Name]*tableProgress
	order  []*tableProgress
}

type tableProgress struct {
	name       schemas.Name
	estBytes   int64 // heap+TOAST size: a rough total for the COPY stream
	estRows    int64
	rules      []string
	bytes      atomic.Int64
	rows       atomic.Int64
	started    atomic.Int64 // unix nanos of the first byte
	finished   atomic.Int64 // unix nanos when the last unit landed
	retries    atomic.Int64 // units copied again after a transient fault
	unitsTotal int
}

// NewProgress starts tracking the plan's tables.
func NewProgress(p *Plan) *Progress {
	pr := &Progress{start: time.Now(), tables: map[schemas.Name]*tableProgress{}}
	for _, t := range p.Tables {
		tp := &tableProgress{name: t.Name, estBytes: t.TotalBytes, estRows: max(t.EstRows, 0), unitsTotal: t.Units}
		for _, r := range t.Rules {
			tp.rules = append(tp.rules, r.Column.Name+"="+r.Rule)
		}
		pr.tables[t.Name] = tp
		pr.order = append(pr.order, tp)
	}
	return pr
}

// SetPhase says what the run is doing now ("copying", "foreign keys and triggers", ...).
func (p *Progress) SetPhase(s string) {
	if p != nil {
		p.phase.Store(s)
	}
}

func (p *Progress) table(n schemas.Name) *tableProgress {
	if p == nil {
		return nil
	}
	return p.tables[n]
}

func (p *Progress) tableDone(n schemas.Name) {
	if t := p.table(n); t != nil {
		t.finished.Store(time.Now().UnixNano())
	}
}

// retried counts a unit of table n copied again after a transient fault.
func (p *Progress) retried(n schemas.Name) {
	if t := p.table(n); t != nil {
		t.retries.Add(1)
	}
}

func (t *tableProgress) addBytes(n int64) {
	if t == nil {
		return
	}
	if t.bytes.Add(n) == n {
		t.started.CompareAndSwap(0, time.Now().UnixNano())
	}
}

func (t *tableProgress) addRows(n int64) {
	if t != nil {
		t.rows.Add(n)
	}
}

// TableStats is one table's line of the summary and the JSON report.
type TableStats struct {
	Table        string   `json:"table"`
	Rows         int64    `json:"rows"`
	Bytes        int64    `json:"bytes"`
	Seconds      float64  `json:"seconds"`
	Transformers []string `json:"transformers"`
	// Retries counts the units of the table copied again after a transient fault (a
	// connection lost, a backend terminated, a serialization failure or deadlock).
	Retries int `json:"retries,omitempty"`
}

// Stats returns per-table figures, biggest first.
func (p *Progress) Stats() []TableStats {
	var out []TableStats
	for _, t := range p.order {
		s := TableStats{Table: t.name.String(), Rows: t.rows.Load(), Bytes: t.bytes.Load(), Transformers: t.rules, Retries: int(t.retries.Load())}
		if s.Transformers == nil {
			s.Transformers = []string{}
		}
		if st, fin := t.started.Load(), t.finished.Load(); st > 0 && fin > st {
			s.Seconds = time.Duration(fin - st).Seconds()
		}
		out = append(out, s)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Bytes > out[j].Bytes })
	return out
}

// Totals sums rows and bytes over all tables.
func (p *Progress) Totals() (rows, bytes int64) {
	for _, t := range p.order {
		rows += t.rows.Load()
		bytes += t.bytes.Load()
	}
	return rows, bytes
}

// Report runs until ctx ends: on a terminal it redraws a live table every half second;
// otherwise it logs a line every interval.
func (p *Progress) Report(ctx context.Context, w *os.File, log *slog.Logger, interval time.Duration) {
	tty := isTerminal(w)
	if !tty && interval <= 0 {
		return
	}
	every := interval
	if tty {
		every = 500 * time.Millisecond
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	lines := 0
	for {
		select {
		case <-ctx.Done():
			if tty && lines > 0 {
				fmt.Fprintf(w, "\x1b[%dA\x1b[J", lines)
			}
			return
		case <-tick.C:
		}
		if tty {
			var b strings.Builder
			if lines > 0 {
				fmt.Fprintf(&b, "\x1b[%dA\x1b[J", lines)
			}
			text := p.live()
			b.WriteString(text)
			lines = strings.Count(text, "\n")
			io.WriteString(w, b.String())
			continue
		}
		rows, bytes := p.Totals()
		done := 0
		for _, t := range p.order {
			if t.finished.Load() > 0 {
				done++
			}
		}
		log.Info("progress", "tables_done", done, "tables", len(p.order), "rows", rows,
			"bytes", bytes, "elapsed", time.Since(p.start).Round(time.Second).String())
	}
}

// live renders the tables being copied now plus a total line.
func (p *Progress) live() string {
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TABLE\tROWS\tBYTES\tRATE\tETA")
	now := time.Now()
	shown := 0
	for _, t := range p.order {
		st, fin := t.started.Load(), t.finished.Load()
		if st == 0 || fin > 0 || shown >= 10 {
			continue
		}
		shown++
		bytes := t.bytes.Load()
		el := now.Sub(time.Unix(0, st)).Seconds()
		rate := float64(bytes) / max(el, 0.001)
		eta := "?"
		if rate > 0 && t.estBytes > bytes {
			eta = (time.Duration(float64(t.estBytes-bytes)/rate) * time.Second).Round(time.Second).String()
		}
		rows := t.rows.Load()
		if t.estBytes > 0 && t.estRows > 0 {
			rows = int64(float64(t.estRows) * min(float64(bytes)/float64(t.estBytes), 1))
		}
		fmt.Fprintf(tw, "%s\t~%d\t%s\t%s/s\t%s\n", t.name, rows, HumanBytes(bytes), HumanBytes(int64(rate)), eta)
	}
	rows, bytes := p.Totals()
	done := 0
	var est int64
	for _, t := range p.order {
		if t.finished.Load() > 0 {
			done++
		}
		est += max(t.estBytes, t.bytes.Load())
	}
	el := time.Since(p.start)
	rate := float64(bytes) / max(el.Seconds(), 0.001)
	eta := "?"
	if rate > 0 {
		eta = (time.Duration(float64(est-bytes)/rate) * time.Second).Round(time.Second).String()
	}
	fmt.Fprintf(tw, "total: %d/%d tables\t%d\t%s\t%s/s\t%s\n", done, len(p.order), rows, HumanBytes(bytes), HumanBytes(int64(rate)), eta)
	tw.Flush()
	phase, _ := p.phase.Load().(string)
	if phase == "" {
		phase = "copying"
	}
	fmt.Fprintf(&b, "%s, %s elapsed\n", phase, el.Round(time.Second))
	return b.String()
}

// Summary writes the final per-table table.
func (p *Progress) Summary(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TABLE\tROWS\tBYTES\tSECONDS\tTRANSFORMERS")
	for _, s := range p.Stats() {
		rules := strings.Join(s.Transformers, ", ")
		if rules == "" {
			rules = "-"
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%.2f\t%s\n", s.Table, s.Rows, HumanBytes(s.Bytes), s.Seconds, rules)
	}
	rows, bytes := p.Totals()
	fmt.Fprintf(tw, "total (%d tables)\t%d\t%s\t%.2f\t\n", len(p.order), rows, HumanBytes(bytes), time.Since(p.start).Seconds())
	tw.Flush()
}

// RunReport is the JSON run report written by --report (what a sync, snapshot or restore
// did); not to be confused with package report's Report, which compares data distributions.
type RunReport struct {
	Command        string       `json:"command"`
	Status         string       `json:"status"` // "ok" or "failed"
	Error          string       `json:"error,omitempty"`
	Started        time.Time    `json:"started"`
	Seconds        float64      `json:"seconds"`
	Source         string       `json:"source"` // password hidden
	Target         string       `json:"target"`
	KeyFingerprint string       `json:"key_fingerprint,omitempty"`
	Jobs           int          `json:"jobs"`
	Rows           int64        `json:"rows"`
	Bytes          int64        `json:"bytes"`
	Tables         []TableStats `json:"tables"`
	// S3Retries counts the requests to an S3 store that were sent again (throttling, 5xx,
	// dropped connections); absent without an S3 store.
	S3Retries *int64 `json:"s3_retries,omitempty"`
	// PartsRefetched counts the snapshot parts a restore fetched a second time because the
	// first download was cut or failed its checksum.
	PartsRefetched int64 `json:"parts_refetched,omitempty"`
}

// WriteReport writes r as indented JSON to path, mode 0600 (see WritePrivateFile).
func WriteReport(path string, r RunReport) error {
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return WritePrivateFile(path, append(data, '\n'))
}

// HumanBytes formats a byte count with binary units.
func HumanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
