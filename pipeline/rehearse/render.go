package rehearse

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/understudy-dev/understudy/pipeline"
)

// WriteSummary prints the table a terminal shows after a rehearsal: one line per statement
// (the 20 slowest of an aggregated --command), then violations and advice.
func (r *Report) WriteSummary(w io.Writer) {
	fmt.Fprintf(w, "Rehearsed on %s (%s, PostgreSQL %s); copy: %s\n", r.Target.Database, r.Target.Host, strings.Fields(r.Target.ServerVersion + " ?")[0], r.Target.Copy)
	for _, v := range r.Target.Tables {
		est := ""
		if v.RowsEstimated {
			est = "~"
		}
		fmt.Fprintf(w, "  %s: %s%d rows, %s\n", v.Relation, est, v.Rows, pipeline.HumanBytes(v.Bytes))
	}
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "\nMIGRATION\tSTATEMENT\tTIME\tLOCKS\tREWRITES\tWAL\tTRAFFIC (waited / queries, max wait)")
	for _, m := range r.Migrations {
		for i, st := range topStatements(m, 20) {
			name := ""
			if i == 0 {
				name = m.Name
			}
			status := ""
			if !st.OK {
				status = "FAILED "
			}
			calls := ""
			if st.Calls > 1 {
				calls = fmt.Sprintf(" ×%d", st.Calls)
			}
			fmt.Fprintf(tw, "%s\t%s%s%s\t%s\t%s\t%s\t%s\t%s\n", name, status, shorten(st.SQL, 50), calls, secs(st.Seconds), lockSummary(st.Locks),
				rewriteSummary(st.Rewrites), pipeline.HumanBytes(st.WALBytes), trafficSummary(st.Traffic))
		}
	}
	tw.Flush()
	for _, m := range r.Migrations {
		if m.Error != nil {
			fmt.Fprintf(w, "\n%s failed: %s\n", m.Name, m.Error)
		}
	}
	if len(r.Budget.Violations) > 0 {
		fmt.Fprintln(w, "\nBudget violations:")
		for _, v := range r.Budget.Violations {
			fmt.Fprintf(w, "  ✗ %s\n", v.Message)
		}
	}
	first := true
	for _, m := range r.Migrations {
		for _, st := range m.Statements {
			for _, a := range st.Advice {
				if first {
					fmt.Fprintln(w, "\nAdvice:")
					first = false
				}
				fmt.Fprintf(w, "  %s: %s\n", m.Name, a)
			}
		}
	}
	if r.Reset != nil {
		fmt.Fprintf(w, "\nReset: copy put back from %s in %s (template taken in %s)\n", r.Reset.Template, secs(r.Reset.RestoreSeconds), secs(r.Reset.TemplateSeconds))
	}
}

// topStatements is a migration's statements in order, or an aggregated one's slowest n.
func topStatements(m *Result, n int) []*StmtResult {
	if len(m.Statements) <= n {
		return m.Statements
	}
	out := append([]*StmtResult{}, m.Statements...)
	sort.SliceStable(out, func(i, j int) bool { return out[i].Seconds > out[j].Seconds })
	return out[:n]
}

func lockSummary(locks []Lock) string {
	// the strongest lock per relation, user tables first
	strongest := map[string]Lock{}
	for _, l := range locks {
		if cur, ok := strongest[l.Relation]; !ok || lockRank(l.Mode) > lockRank(cur.Mode) {
			strongest[l.Relation] = l
		}
	}
	var parts []string
	for _, l := range strongest {
		if lockRank(l.Mode) >= lockRank("ShareUpdateExclusiveLock") {
			parts = append(parts, fmt.Sprintf("%s %s %s", strings.TrimSuffix(l.Mode, "Lock"), l.Relation, secs(l.HeldSeconds)))
		}
	}
	sort.Strings(parts)
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, ", ")
}

func lockRank(mode string) int {
	for i, m := range []string{"AccessShareLock", "RowShareLock", "RowExclusiveLock", "ShareUpdateExclusiveLock", "ShareLock",
		"ShareRowExclusiveLock", "ExclusiveLock", "AccessExclusiveLock"} {
		if m == mode {
			return i
		}
	}
	return -1
}

func rewriteSummary(rw []Rewrite) string {
	if len(rw) == 0 {
		return "-"
	}
	var parts []string
	for _, r := range rw {
		if r.Kind == "table" {
			parts = append(parts, r.Relation+" "+pipeline.HumanBytes(r.BytesBefore))
		}
	}
	if len(parts) == 0 {
		return fmt.Sprintf("%d index(es)", len(rw))
	}
	return strings.Join(parts, ", ")
}

func trafficSummary(t *Traffic) string {
	if t == nil {
		return "off"
	}
	s := fmt.Sprintf("%d / %d, %s", t.Waited, t.Queries, secs(t.MaxWaitSeconds))
	if t.Deadlocks > 0 {
		s += fmt.Sprintf(", %d deadlocks", t.Deadlocks)
	}
	if t.Errors > 0 {
		s += fmt.Sprintf(", %d errors", t.Errors)
	}
	return s
}

// WriteMarkdown writes the report as a pull-request comment: the verdict, the worst
// statements first, and every statement's details folded in <details>.
func (r *Report) WriteMarkdown(path string) error {
	var b strings.Builder
	verdict := "✅ passed"
	failed := false
	for _, m := range r.Migrations {
		failed = failed || !m.OK
	}
	switch {
	case failed:
		verdict = "❌ a migration failed"
	case !r.Budget.OK:
		verdict = fmt.Sprintf("❌ %d budget violation(s)", len(r.Budget.Violations))
	}
	fmt.Fprintf(&b, "### Migration rehearsal: %s\n\n", verdict)
	fmt.Fprintf(&b, "On `%s` (PostgreSQL %s), copy: **%s**", r.Target.Database, strings.Fields(r.Target.ServerVersion + " ?")[0], r.Target.Copy)
	var vols []string
	for _, v := range r.Target.Tables {
		est := ""
		if v.RowsEstimated {
			est = "~"
		}
		vols = append(vols, fmt.Sprintf("`%s` %s%s rows, %s", v.Relation, est, groupDigits(v.Rows), pipeline.HumanBytes(v.Bytes)))
	}
	if len(vols) > 0 {
		fmt.Fprintf(&b, "; %s", strings.Join(vols, "; "))
	}
	fmt.Fprintf(&b, ". Traffic: %s", r.Traffic.Mode)
	if r.Traffic.Mode == "auto" {
		fmt.Fprintf(&b, ", %d clients", r.Traffic.Clients)
	}
	b.WriteString(".\n\n")
	for _, m := range r.Migrations {
		if m.Error != nil {
			fmt.Fprintf(&b, "**%s failed:** `%s`\n\n", m.Name, strings.ReplaceAll(m.Error.String(), "`", "'"))
		}
	}
	for _, v := range r.Budget.Violations {
		fmt.Fprintf(&b, "- ✗ %s\n", v.Message)
	}
	if len(r.Budget.Violations) > 0 {
		b.WriteString("\n")
	}
	type row struct {
		m  *Result
		st *StmtResult
		w  float64 // how bad: blocking first, then time
	}
	var rows []row
	for _, m := range r.Migrations {
		for _, st := range m.Statements {
			w := st.Seconds
			if st.Traffic != nil {
				w += 10 * st.Traffic.MaxWaitSeconds
			}
			if !st.OK {
				w += 1e9
			}
			rows = append(rows, row{m, st, w})
		}
	}
	sort.SliceStable(rows, func(i, j int) bool { return rows[i].w > rows[j].w })
	b.WriteString("| migration | statement | time | locks | rewrites | traffic waited / queries (max wait) |\n|---|---|---|---|---|---|\n")
	for i, x := range rows {
		if i == 10 {
			break
		}
		calls := ""
		if x.st.Calls > 1 {
			calls = fmt.Sprintf(" ×%d", x.st.Calls)
		}
		fmt.Fprintf(&b, "| %s | `%s`%s | %s | %s | %s | %s |\n", x.m.Name, mdCell(shorten(x.st.SQL, 80)), calls, secs(x.st.Seconds),
			mdCell(lockSummary(x.st.Locks)), mdCell(rewriteSummary(x.st.Rewrites)), trafficSummary(x.st.Traffic))
	}
	var advice []string
	for _, x := range rows {
		for _, a := range x.st.Advice {
			advice = append(advice, fmt.Sprintf("- **%s**: %s", x.m.Name, a))
		}
	}
	if len(advice) > 0 {
		b.WriteString("\n**Advice**\n\n" + strings.Join(advice, "\n") + "\n")
	}
	b.WriteString("\n<details><summary>Every statement</summary>\n\n")
	for _, m := range r.Migrations {
		fmt.Fprintf(&b, "#### %s (%s, %s)\n\n", m.Name, secs(m.Seconds), map[bool]string{true: "one transaction", false: "no transaction: " + m.NoTxReason}[m.InTransaction])
		for _, st := range m.Statements {
			fmt.Fprintf(&b, "- `%s` — %s", mdCell(st.SQL), secs(st.Seconds))
			if st.Rows != nil {
				fmt.Fprintf(&b, ", %d rows", *st.Rows)
			}
			fmt.Fprintf(&b, ", WAL %s", pipeline.HumanBytes(st.WALBytes))
			if st.TempBytes > 0 {
				fmt.Fprintf(&b, ", temp %s", pipeline.HumanBytes(st.TempBytes))
			}
			b.WriteString("\n")
			for _, l := range st.Locks {
				fmt.Fprintf(&b, "  - lock %s on %s, held %s\n", l.Mode, l.Relation, secs(l.HeldSeconds))
			}
			for _, rw := range st.Rewrites {
				fmt.Fprintf(&b, "  - rewrote %s %s: %s → %s\n", rw.Kind, rw.Relation, pipeline.HumanBytes(rw.BytesBefore), pipeline.HumanBytes(rw.BytesAfter))
			}
			for _, ix := range st.IndexesBuilt {
				fmt.Fprintf(&b, "  - built index %s\n", ix)
			}
			if t := st.Traffic; t != nil {
				fmt.Fprintf(&b, "  - traffic: %d queries, p50 %s, p99 %s, max %s; %d waited (max %s) on %s; %d deadlocks, %d errors\n",
					t.Queries, secs(t.P50Seconds), secs(t.P99Seconds), secs(t.MaxSeconds), t.Waited, secs(t.MaxWaitSeconds),
					orNone(t.BlockedTables), t.Deadlocks, t.Errors)
			}
		}
		b.WriteString("\n")
	}
	b.WriteString("</details>\n")
	return pipeline.WritePrivateFile(path, []byte(b.String()))
}

func mdCell(s string) string {
	return strings.NewReplacer("|", `\|`, "`", "'", "\n", " ").Replace(s)
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "no table"
	}
	return strings.Join(s, ", ")
}

func groupDigits(n int64) string {
	s := fmt.Sprint(n)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}
