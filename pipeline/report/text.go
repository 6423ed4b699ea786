package report

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"
)

// WriteJSON writes the report (both stats, the options and every finding) as indented JSON.
func WriteJSON(w io.Writer, r *Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(struct {
		*Report
		Failed int `json:"failed"`
	}{r, r.Failed()})
}

// WriteText writes a side-by-side summary, source → target: per table its row counts, per
// column null fraction, distinct ratio and quantiles or top values (for a personal column its
// shape, and its top values masked unless the report shows values), per foreign key the
// fan-out; lines with a failed check end in FAIL, and the failed checks are listed in full
// at the end.
func WriteText(w io.Writer, r *Report) error {
	bw := bufio.NewWriter(w)
	idx := indexFindings(r.Findings)
	personal := r.Options.personalIndex()
	fmt.Fprintf(bw, "source %s → target %s%s\n", r.Source.Database, r.Target.Database, r.Options.describe())
	fmt.Fprintf(bw, "%d checks, %d failed\n", len(r.Findings), r.Failed())
	if n := len(r.Options.Personal); n > 0 {
		fmt.Fprintf(bw, "%d personal columns, judged by their shape: %s\n", n, valuesNote(r.ShowValues))
	}
	for i := range r.Source.Tables {
		s := &r.Source.Tables[i]
		d := r.Target.Table(s.Name)
		fmt.Fprintf(bw, "\n== %s", s.Name)
		if d == nil {
			fmt.Fprintf(bw, "  rows %d → (missing)  FAIL\n", s.Rows)
			continue
		}
		fmt.Fprintf(bw, "  rows %d → %d%s%s\n", s.Rows, d.Rows, sampledNote(s, d), mark(idx.failed(s.Name, "", "")))
		tw := tabwriter.NewWriter(bw, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "  column\ttype\tnull\tdistinct ratio\tcheck\tp05 p25 p50 p75 p95 or top values (source | target)")
		for j := range s.Columns {
			sc := &s.Columns[j]
			dc := d.Column(sc.Name)
			if dc == nil {
				fmt.Fprintf(tw, "  %s\t%s\t(missing in the target)\t\tFAIL\t\n", sc.Name, sc.Type)
				continue
			}
			ratio := ""
			if sc.Kind != KindOpaque {
				ratio = fmt.Sprintf("%.3f → %.3f", sc.DistinctRatio, dc.DistinctRatio)
			}
			check := "ok"
			if idx.failed(s.Name, sc.Name, "") {
				check = "FAIL"
			}
			p := personal[s.Name+"."+sc.Name]
			if p != nil && reshaping[p.Rule] {
				check = "-"
			}
			// The last cell of a line is not aligned, so a long one widens no column.
			var lines []string
			if p != nil {
				lines = append(lines, p.describe()+": "+shapeText(sc.Shape, dc.Shape))
			}
			if q := quantileText(sc, dc); q != "" {
				lines = append(lines, q)
			}
			switch {
			case sc.TopValues == nil:
			case p != nil:
				lines = append(lines, "top values"+maskedNote(sc)+": "+topSides(sc, dc, 6))
			default:
				lines = append(lines, "top values: "+topText(sc, dc, 6))
			}
			last := strings.Join(lines, "\n  \t\t\t\t\t")
			fmt.Fprintf(tw, "  %s\t%s\t%.3f → %.3f\t%s\t%s\t%s\n", sc.Name, sc.Type, sc.NullFraction, dc.NullFraction,
				ratio, check, last)
		}
		tw.Flush()
		for j := range s.ForeignKeys {
			sf := &s.ForeignKeys[j]
			df := d.FK(sf.Name)
			fmt.Fprintf(bw, "  fk %s (%s) → %s (%s)", sf.Name, strings.Join(sf.Columns, ", "), sf.Ref, strings.Join(sf.RefColumns, ", "))
			if df == nil {
				fmt.Fprintln(bw, ": missing in the target  FAIL")
				continue
			}
			fmt.Fprintf(bw, ": %d → %d parents, mean %.3f → %.3f children%s\n", sf.Parents, df.Parents, sf.Mean, df.Mean,
				mark(idx.failed(s.Name, "", sf.Name)))
			var parts []string
			for k, b := range sf.Histogram {
				t := 0.0
				if k < len(df.Histogram) {
					t = df.Histogram[k].Fraction
				}
				parts = append(parts, fmt.Sprintf("%s: %.3f→%.3f", b.Label, b.Fraction, t))
			}
			fmt.Fprintf(bw, "     %s\n", strings.Join(parts, "  "))
		}
	}
	for _, d := range r.Target.Tables {
		if r.Source.Table(d.Name) == nil {
			fmt.Fprintf(bw, "\n== %s  rows (missing) → %d  FAIL\n", d.Name, d.Rows)
		}
	}
	if failed := Failed(r.Findings); len(failed) > 0 {
		fmt.Fprintf(bw, "\nFAILED (%d)\n", len(failed))
		tw := tabwriter.NewWriter(bw, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "  where\tcheck\tsource\ttarget\tallowed\tnote")
		for _, f := range failed {
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\n", f.Where(), f.metricName(), f.format(f.Source), f.format(f.Target), f.allowedText(), f.Note)
		}
		tw.Flush()
	}
	return bw.Flush()
}

func (o CompareOptions) describe() string {
	s := ""
	if o.Scale > 1 {
		s += fmt.Sprintf("; scale ×%d", o.Scale)
	}
	if len(o.Shared) > 0 {
		s += "; shared: " + strings.Join(o.Shared, ", ")
	}
	return s
}

// valuesNote says whether the report holds the values of personal columns.
func valuesNote(shown bool) string {
	if shown {
		return "their values are shown (--show-values)"
	}
	return "their values are masked or left out (--show-values shows them)"
}

func (o CompareOptions) personalIndex() map[string]*PersonalColumn {
	m := make(map[string]*PersonalColumn, len(o.Personal))
	for i, p := range o.Personal {
		m[p.Column] = &o.Personal[i]
	}
	return m
}

// describe says why a column is personal and whether it is judged.
func (p *PersonalColumn) describe() string {
	var why string
	switch {
	case p.Rule != "" && p.Follows != "":
		why = "rule " + p.Rule + " (follows " + p.Follows + ")"
	case p.Rule != "":
		why = "rule " + p.Rule
	default:
		why = "detected (" + p.Detected + ")"
	}
	if p.When != "" {
		why += " when " + p.When
	}
	if reshaping[p.Rule] {
		why += " (it sets the shape: not judged)"
	}
	return "personal, " + why
}

func maskedNote(c *ColumnStats) string {
	if c.Masked {
		return " (masked)"
	}
	return ""
}

// shapeText prints two shapes side by side.
func shapeText(s, d *Shape) string {
	if s == nil || d == nil {
		return "no shape"
	}
	lengths := func(sh *Shape) string {
		if len(sh.Lengths) != len(QuantileLevels) {
			return "-"
		}
		return fmt.Sprintf("%g–%g (mean %.1f)", sh.Lengths[0], sh.Lengths[len(sh.Lengths)-1], sh.LengthMean)
	}
	parts := []string{"length " + lengths(s) + " → " + lengths(d)}
	if s.BlankFraction > 0 || d.BlankFraction > 0 {
		parts = append(parts, fmt.Sprintf("blank %.2f→%.2f", s.BlankFraction, d.BlankFraction))
	}
	parts = append(parts, fmt.Sprintf("letters %.2f→%.2f digits %.2f→%.2f spaces %.2f→%.2f other %.2f→%.2f",
		s.Letters, d.Letters, s.Digits, d.Digits, s.Spaces, d.Spaces, s.Other, d.Other))
	if len(s.Formats) > 0 {
		f := s.Formats[0]
		parts = append(parts, fmt.Sprintf("format %s %.2f→%.2f", shorten(f.Value, 24), f.Fraction, d.Format(f.Value)))
	}
	return strings.Join(parts, ", ")
}

// topSides lists each side's top values on its own: a rewritten column's values differ
// between the sides, so a value of one has no fraction in the other.
func topSides(s, d *ColumnStats, limit int) string {
	side := func(c *ColumnStats) string {
		if c.TopValues == nil {
			return "(not low-cardinality)"
		}
		var parts []string
		for i, v := range c.TopValues {
			if i == limit {
				parts = append(parts, fmt.Sprintf("… %d more", len(c.TopValues)-limit))
				break
			}
			parts = append(parts, fmt.Sprintf("%s %.3f", shorten(v.Value, 24), v.Fraction))
		}
		return strings.Join(parts, ", ")
	}
	return side(s) + " | " + side(d)
}

func sampledNote(s, d *TableStats) string {
	if !s.Sampled && !d.Sampled {
		return ""
	}
	side := func(t *TableStats) string {
		if !t.Sampled {
			return "exact"
		}
		return strconv.FormatInt(t.SampleRows, 10) + " rows"
	}
	return fmt.Sprintf("  (distinct and quantiles from samples: %s | %s)", side(s), side(d))
}

func mark(failed bool) string {
	if failed {
		return "  FAIL"
	}
	return ""
}

func quantileText(s, d *ColumnStats) string {
	if !s.Kind.Ordered() || s.Quantiles == nil {
		return ""
	}
	q := func(c *ColumnStats) string {
		if len(c.Quantiles) == 0 {
			return "-"
		}
		parts := make([]string, len(c.Quantiles))
		for i, v := range c.Quantiles {
			parts[i] = formatValue(s.Kind, v)
		}
		return strings.Join(parts, " ")
	}
	return q(s) + " | " + q(d)
}

func topText(s, d *ColumnStats, limit int) string {
	dv := fractions(d.TopValues)
	var parts []string
	for i, v := range s.TopValues {
		if i == limit {
			parts = append(parts, fmt.Sprintf("… %d more", len(s.TopValues)-limit))
			break
		}
		t := "-"
		if f, ok := dv[v.Value]; ok {
			t = fmt.Sprintf("%.3f", f)
		}
		parts = append(parts, fmt.Sprintf("%s %.3f→%s", shorten(v.Value, 24), v.Fraction, t))
	}
	if d.TopValues == nil {
		parts = append(parts, "(target: not low-cardinality)")
	}
	return strings.Join(parts, ", ")
}

// shorten cuts a value to n characters, with control characters (a tab, a newline, a
// terminal escape in the data) shown as \uXXXX so they cannot break the layout.
func shorten(s string, n int) string {
	r := []rune(s)
	if len(r) > n {
		r = append(r[:n-1], '…')
	}
	var b strings.Builder
	for _, c := range r {
		if unicode.IsControl(c) {
			fmt.Fprintf(&b, "\\u%04x", c)
		} else {
			b.WriteRune(c)
		}
	}
	return b.String()
}

// formatValue prints a measured value the way its column's kind reads.
func formatValue(k Kind, v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return strconv.FormatFloat(v, 'g', -1, 64)
	}
	switch k {
	case KindDate:
		return time.Unix(int64(math.Floor(v)), 0).UTC().Format("2006-01-02")
	case KindTimestamp:
		sec := math.Floor(v)
		t := time.Unix(int64(sec), int64(math.Round((v-sec)*1e6))*1e3).UTC()
		if t.Nanosecond() != 0 {
			return t.Format("2006-01-02 15:04:05.000000")
		}
		return t.Format("2006-01-02 15:04:05")
	}
	if v == math.Trunc(v) && math.Abs(v) < 1e15 {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'g', 6, 64)
}

// format prints one of the finding's values.
func (f Finding) format(v float64) string {
	switch {
	case f.Kind != "":
		return formatValue(f.Kind, v)
	case f.Metric == "rows" || f.Metric == "top_values" || f.Metric == "table" || f.Metric == "column" || f.Metric == "fk" || f.Metric == "distinct":
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	return strconv.FormatFloat(v, 'f', 4, 64)
}

func (f Finding) metricName() string {
	if f.Value != "" {
		return f.Metric + " " + strconv.Quote(shorten(f.Value, 40))
	}
	return f.Metric
}

// allowedText is the rule and, where it is a range, the range.
func (f Finding) allowedText() string {
	switch f.Metric {
	case "table", "column", "fk", "shared", "type", "top_values":
		return f.Allowed
	case "rows", "distinct":
		return f.Allowed + " (" + f.format(f.Lo) + ")"
	}
	return fmt.Sprintf("%s [%s, %s]", f.Allowed, f.format(f.Lo), f.format(f.Hi))
}

// findingIndex says which parts of the report have failed checks.
type findingIndex map[string]bool

func indexFindings(fs []Finding) findingIndex {
	idx := findingIndex{}
	for _, f := range fs {
		if !f.OK {
			idx[f.Table+"\x00"+f.Column+"\x00"+f.FK] = true
		}
	}
	return idx
}

func (idx findingIndex) failed(table, column, fk string) bool {
	return idx[table+"\x00"+column+"\x00"+fk]
}
