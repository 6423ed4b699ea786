package report

import (
	"bufio"
	"fmt"
	"html"
	"io"
	"math"
	"strconv"
	"strings"
)

// Colours of the two sides in every plot.
const (
	srcColour = "#4e79a7"
	dstColour = "#f28e2b"
)

const pageCSS = `
body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #222; }
h1 { font-size: 20px; } h2 { font-size: 17px; margin-top: 32px; border-bottom: 1px solid #ccc; }
h3 { font-size: 15px; } h4 { font-size: 14px; margin: 12px 0 4px; }
table { border-collapse: collapse; } th, td { padding: 3px 8px; border-bottom: 1px solid #eee; text-align: left; vertical-align: middle; }
th { background: #f4f4f4; font-weight: 600; }
td.num { font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.fail td { background: #fde2e1; } tr.fail td:first-child { border-left: 4px solid #c0392b; }
.fail-mark { color: #fff; background: #c0392b; padding: 0 6px; border-radius: 3px; font-size: 12px; font-weight: 600; }
.ok-mark { color: #1e7e34; font-size: 12px; }
.legend span { display: inline-block; width: 12px; height: 12px; margin: 0 4px 0 12px; vertical-align: -1px; }
.fk { display: inline-block; vertical-align: top; margin: 0 24px 16px 0; padding: 8px; border: 1px solid #ddd; border-radius: 4px; }
.fk.fail { border: 2px solid #c0392b; }
.note { color: #666; font-size: 12px; }
svg text { font-family: system-ui, sans-serif; }
`

// WriteHTML writes a self-contained page (no scripts, CSS inline, plots as inline SVG) that
// is also well-formed XML: per table its row counts, per column its measures side by side
// with plots (null fraction bars, a quantile strip, top-value bar pairs), per foreign key
// a fan-out histogram. Failed checks are listed first and their rows highlighted.
func WriteHTML(w io.Writer, r *Report) error {
	bw := bufio.NewWriter(w)
	h := &page{w: bw, idx: indexFindings(r.Findings), findings: r.Findings, personal: r.Options.personalIndex()}
	title := fmt.Sprintf("understudy report: %s → %s", r.Source.Database, r.Target.Database)
	h.printf("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"/><title>%s</title><style>%s</style></head>\n<body>\n", esc(title), pageCSS)
	h.printf("<h1>%s</h1>\n", esc(title+r.Options.describe()))
	h.printf("<p>%d checks, %s. <span class=\"legend\"><span style=\"background:%s\"></span>source (%s)<span style=\"background:%s\"></span>target (%s)</span></p>\n",
		len(r.Findings), failedText(r.Failed()), srcColour, esc(r.Source.Database), dstColour, esc(r.Target.Database))
	if n := len(r.Options.Personal); n > 0 {
		h.printf("<p class=\"note\">%d personal columns, judged by their shape: %s.</p>\n", n, esc(valuesNote(r.ShowValues)))
	}
	if failed := Failed(r.Findings); len(failed) > 0 {
		h.printf("<h2>Failed checks</h2>\n<table class=\"failed\"><thead><tr><th>where</th><th>check</th><th>source</th><th>target</th><th>allowed</th><th>note</th></tr></thead><tbody>\n")
		for _, f := range failed {
			h.printf("<tr class=\"fail\"><td>%s</td><td>%s</td><td class=\"num\">%s</td><td class=\"num\">%s</td><td>%s</td><td>%s</td></tr>\n",
				esc(f.Where()), esc(f.metricName()), esc(f.format(f.Source)), esc(f.format(f.Target)), esc(f.allowedText()), esc(f.Note))
		}
		h.printf("</tbody></table>\n")
	}
	for i := range r.Source.Tables {
		s := &r.Source.Tables[i]
		h.table(s, r.Target.Table(s.Name))
	}
	for _, d := range r.Target.Tables {
		if r.Source.Table(d.Name) == nil {
			h.printf("<h2>%s <span class=\"fail-mark\">only in the target</span></h2>\n<p>rows: %d</p>\n", esc(d.Name), d.Rows)
		}
	}
	h.printf("</body></html>\n")
	if h.err != nil {
		return h.err
	}
	return bw.Flush()
}

func failedText(n int) string {
	if n == 0 {
		return "all passed"
	}
	return fmt.Sprintf("<span class=\"fail-mark\">%d failed</span>", n)
}

type page struct {
	w        *bufio.Writer
	idx      findingIndex
	findings []Finding
	personal map[string]*PersonalColumn
	err      error
}

// checked reports whether Compare made the metric's check on the column.
func (h *page) checked(table, column, metric string) bool {
	for _, f := range h.findings {
		if f.Table == table && f.Column == column && f.Metric == metric {
			return true
		}
	}
	return false
}

// failedBuckets returns the labels of the fan-out buckets of fk whose check failed.
func (h *page) failedBuckets(table, fk string) map[string]bool {
	out := map[string]bool{}
	for _, f := range h.findings {
		if !f.OK && f.Table == table && f.FK == fk && strings.HasPrefix(f.Metric, "fanout[") {
			out[strings.TrimSuffix(strings.TrimPrefix(f.Metric, "fanout["), "]")] = true
		}
	}
	return out
}

func (h *page) printf(format string, args ...any) {
	if h.err == nil {
		_, h.err = fmt.Fprintf(h.w, format, args...)
	}
}

func esc(s string) string { return html.EscapeString(s) }

func status(failed bool) string {
	if failed {
		return "<span class=\"fail-mark\">FAIL</span>"
	}
	return "<span class=\"ok-mark\">ok</span>"
}

func (h *page) table(s, d *TableStats) {
	h.printf("<h2 id=\"%s\">%s ", esc("t-"+s.Name), esc(s.Name))
	if d == nil {
		h.printf("<span class=\"fail-mark\">missing in the target</span></h2>\n")
		return
	}
	h.printf("<small>rows %d → %d</small> %s</h2>\n", s.Rows, d.Rows, status(h.idx.failed(s.Name, "", "")))
	if note := sampledNote(s, d); note != "" {
		h.printf("<p class=\"note\">%s</p>\n", esc(strings.TrimSpace(note)))
	}
	h.printf("<table class=\"columns\"><thead><tr><th>column</th><th>type</th><th>null fraction</th><th>distinct (ratio)</th><th>p05 · p25 · p50 · p75 · p95, or shape</th><th>top values</th><th></th></tr></thead><tbody>\n")
	for i := range s.Columns {
		sc := &s.Columns[i]
		dc := d.Column(sc.Name)
		if dc == nil {
			h.printf("<tr class=\"fail\"><td>%s</td><td>%s</td><td colspan=\"4\">missing in the target</td><td>%s</td></tr>\n", esc(sc.Name), esc(sc.Type), status(true))
			continue
		}
		failed := h.idx.failed(s.Name, sc.Name, "")
		cls := ""
		if failed {
			cls = " class=\"fail\""
		}
		p := h.personal[s.Name+"."+sc.Name]
		h.printf("<tr%s><td>%s</td><td>%s</td>", cls, esc(sc.Name), esc(sc.Type))
		h.printf("<td class=\"num\">%.3f → %.3f<br/>%s</td>", sc.NullFraction, dc.NullFraction, nullBars(sc.NullFraction, dc.NullFraction))
		if sc.Kind == KindOpaque {
			h.printf("<td class=\"note\">not measured (%s)</td>", esc(string(sc.Kind)))
		} else {
			h.printf("<td class=\"num\">%d (%.3f) → %d (%.3f)</td>", sc.Distinct, sc.DistinctRatio, dc.Distinct, dc.DistinctRatio)
		}
		h.printf("<td>")
		if p != nil {
			h.printf("<div class=\"shape\"><b>%s</b><br/>%s</div>", esc(p.describe()), esc(shapeText(sc.Shape, dc.Shape)))
		}
		if sc.Kind.Ordered() && sc.Quantiles != nil {
			note := ""
			switch {
			case h.checked(s.Name, sc.Name, "p50"):
			case p != nil:
				note = `<div class="note">not compared: a personal column is judged by its shape</div>`
			case sc.Key || sc.References != "":
				note = `<div class="note">not compared: scaling moves this key</div>`
			default:
				note = `<div class="note">not compared: no values in the target</div>`
			}
			h.printf("%s%s", quantileStrip(sc, dc), note)
		}
		h.printf("</td>")
		switch {
		case sc.TopValues == nil:
			h.printf("<td></td>")
		case p != nil:
			h.printf("<td class=\"note\">%s</td>", esc("source"+maskedNote(sc)+": "+strings.Replace(topSides(sc, dc, 8), " | ", "; target: ", 1)))
		default:
			h.printf("<td>%s</td>", topBars(sc, dc, 8))
		}
		st := status(failed)
		if p != nil && reshaping[p.Rule] {
			st = `<span class="note">not judged</span>`
		}
		h.printf("<td>%s</td></tr>\n", st)
	}
	h.printf("</tbody></table>\n")
	if len(s.ForeignKeys) == 0 {
		return
	}
	h.printf("<h3>Foreign keys: children per parent row</h3>\n")
	for i := range s.ForeignKeys {
		sf := &s.ForeignKeys[i]
		df := d.FK(sf.Name)
		failed := df == nil || h.idx.failed(s.Name, "", sf.Name)
		cls := "fk"
		if failed {
			cls += " fail"
		}
		h.printf("<div class=\"%s\"><h4>%s %s</h4><p class=\"note\">(%s) → %s (%s)", cls, esc(sf.Name), status(failed),
			esc(strings.Join(sf.Columns, ", ")), esc(sf.Ref), esc(strings.Join(sf.RefColumns, ", ")))
		if df == nil {
			h.printf("<br/>missing in the target</p></div>\n")
			continue
		}
		h.printf("<br/>parents %d → %d, mean %.3f → %.3f children</p>\n", sf.Parents, df.Parents, sf.Mean, df.Mean)
		h.printf("%s</div>\n", fanoutChart(sf, df, h.failedBuckets(s.Name, sf.Name)))
	}
}

// nullBars: two horizontal bars, source over target, on a 0–1 scale.
func nullBars(s, d float64) string {
	const w, barW = 130.0, 100.0
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" class="nulls" width="%g" height="26" viewBox="0 0 %g 26" role="img"><title>null fraction: source %.3f, target %.3f</title>`, w, w, s, d)
	fmt.Fprintf(&b, `<rect x="0" y="2" width="%g" height="9" fill="#eee"/><rect x="0" y="2" width="%.2f" height="9" fill="%s"/>`, barW, s*barW, srcColour)
	fmt.Fprintf(&b, `<rect x="0" y="14" width="%g" height="9" fill="#eee"/><rect x="0" y="14" width="%.2f" height="9" fill="%s"/>`, barW, d*barW, dstColour)
	fmt.Fprintf(&b, `<text x="%g" y="11" font-size="10">%.0f%%</text><text x="%g" y="23" font-size="10">%.0f%%</text></svg>`, barW+4, 100*s, barW+4, 100*d)
	return b.String()
}

// quantileStrip draws, on one axis spanning both sides' min and max, a row per side: the
// min–max line, a p05–p95 whisker, a p25–p75 box and a p50 tick.
func quantileStrip(s, d *ColumnStats) string {
	const w, left, right, h = 360.0, 52.0, 12.0, 70.0
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, c := range []*ColumnStats{s, d} {
		if c.Min != nil && c.Max != nil {
			lo, hi = math.Min(lo, *c.Min), math.Max(hi, *c.Max)
		}
	}
	if math.IsInf(lo, 0) || math.IsInf(hi, 0) {
		return ""
	}
	span := hi - lo
	x := func(v float64) float64 {
		if span == 0 {
			return left + (w-left-right)/2
		}
		return left + (v-lo)/span*(w-left-right)
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" class="quantiles" width="%g" height="%g" viewBox="0 0 %g %g" role="img">`, w, h, w, h)
	fmt.Fprintf(&b, `<title>quantiles p05 p25 p50 p75 p95: source %s; target %s</title>`, esc(quantileList(s, s.Kind)), esc(quantileList(d, s.Kind)))
	for row, c := range []*ColumnStats{s, d} {
		y := 14.0 + 22*float64(row)
		colour, label := srcColour, "source"
		if row == 1 {
			colour, label = dstColour, "target"
		}
		fmt.Fprintf(&b, `<text x="0" y="%g" font-size="11">%s</text>`, y+4, label)
		if len(c.Quantiles) != len(QuantileLevels) || c.Min == nil || c.Max == nil {
			fmt.Fprintf(&b, `<text x="%g" y="%g" font-size="11" fill="#666">no values</text>`, left, y+4)
			continue
		}
		q := c.Quantiles
		fmt.Fprintf(&b, `<line x1="%.2f" y1="%g" x2="%.2f" y2="%g" stroke="%s" stroke-width="1" stroke-dasharray="2 2"/>`, x(*c.Min), y, x(*c.Max), y, colour)
		fmt.Fprintf(&b, `<line x1="%.2f" y1="%g" x2="%.2f" y2="%g" stroke="%s" stroke-width="2"/>`, x(q[0]), y, x(q[4]), y, colour)
		fmt.Fprintf(&b, `<rect x="%.2f" y="%g" width="%.2f" height="12" fill="%s" fill-opacity="0.55" stroke="%s"/>`, x(q[1]), y-6, math.Max(1, x(q[3])-x(q[1])), colour, colour)
		fmt.Fprintf(&b, `<line x1="%.2f" y1="%g" x2="%.2f" y2="%g" stroke="#000" stroke-width="2"/>`, x(q[2]), y-7, x(q[2]), y+7)
	}
	axis := h - 16
	fmt.Fprintf(&b, `<line x1="%g" y1="%g" x2="%g" y2="%g" stroke="#999"/>`, left, axis, w-right, axis)
	fmt.Fprintf(&b, `<text x="%g" y="%g" font-size="10" text-anchor="start">%s</text>`, left, h-3, esc(axisValue(s.Kind, lo)))
	fmt.Fprintf(&b, `<text x="%g" y="%g" font-size="10" text-anchor="end">%s</text>`, w-right, h-3, esc(axisValue(s.Kind, hi)))
	if span > 0 {
		fmt.Fprintf(&b, `<text x="%g" y="%g" font-size="10" text-anchor="middle">%s</text>`, x(lo+span/2), h-3, esc(axisValue(s.Kind, lo+span/2)))
	}
	b.WriteString(`</svg>`)
	return b.String()
}

// axisValue is a short label for an axis: dates without the time, numbers in 4 digits.
func axisValue(k Kind, v float64) string {
	switch k {
	case KindDate, KindTimestamp:
		return formatValue(KindDate, v)
	}
	if v == math.Trunc(v) && math.Abs(v) < 1e6 {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'g', 4, 64)
}

func quantileList(c *ColumnStats, k Kind) string {
	if len(c.Quantiles) == 0 {
		return "none"
	}
	parts := make([]string, len(c.Quantiles))
	for i, v := range c.Quantiles {
		parts[i] = formatValue(k, v)
	}
	return strings.Join(parts, ", ")
}

// topBars draws a bar pair (source, target) per value, the source's most frequent first.
func topBars(s, d *ColumnStats, limit int) string {
	const w, labelW, barW, rowH = 300.0, 110.0, 150.0, 18.0
	dv := fractions(d.TopValues)
	n := min(len(s.TopValues), limit)
	h := rowH*float64(n) + 4
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" class="topvalues" width="%g" height="%g" viewBox="0 0 %g %g" role="img"><title>top values, fraction of non-null values: source and target</title>`, w, h, w, h)
	for i, v := range s.TopValues[:n] {
		y := rowH * float64(i)
		t := dv[v.Value]
		fmt.Fprintf(&b, `<text x="%g" y="%g" font-size="11" text-anchor="end">%s</text>`, labelW-4, y+12, esc(shorten(v.Value, 16)))
		fmt.Fprintf(&b, `<rect x="%g" y="%g" width="%.2f" height="7" fill="%s"><title>source %.3f</title></rect>`, labelW, y+2, v.Fraction*barW, srcColour, v.Fraction)
		fmt.Fprintf(&b, `<rect x="%g" y="%g" width="%.2f" height="7" fill="%s"><title>target %.3f</title></rect>`, labelW, y+9, t*barW, dstColour, t)
		fmt.Fprintf(&b, `<text x="%g" y="%g" font-size="10">%.0f%% | %.0f%%</text>`, labelW+math.Max(v.Fraction, t)*barW+4, y+12, 100*v.Fraction, 100*t)
	}
	b.WriteString(`</svg>`)
	if len(s.TopValues) > n {
		fmt.Fprintf(&b, `<div class="note">… %d more values</div>`, len(s.TopValues)-n)
	}
	if d.TopValues == nil {
		b.WriteString(`<div class="note">the target has more distinct values</div>`)
	}
	return b.String()
}

// fanoutChart is a grouped bar chart: per bucket of children per parent, the fraction of
// parent rows in it, source and target side by side, with a y axis, gridlines, bucket labels
// and a legend. Target bars of failed buckets are outlined in red.
func fanoutChart(s, d *FKStats, failed map[string]bool) string {
	const w, h, left, right, top, bottom = 440.0, 220.0, 44.0, 10.0, 24.0, 40.0
	plotW, plotH := w-left-right, h-top-bottom
	peak := 0.0
	for _, f := range []*FKStats{s, d} {
		for _, b := range f.Histogram {
			peak = math.Max(peak, b.Fraction)
		}
	}
	// A y axis up to the next quarter (or tenth, for small peaks) above the highest bar.
	step := 0.25
	if peak <= 0.3 {
		step = 0.1
	}
	ymax := math.Max(step, math.Ceil(peak/step-1e-9)*step)
	y := func(v float64) float64 { return top + plotH - v/ymax*plotH }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" class="fanout" data-fk="%s" width="%g" height="%g" viewBox="0 0 %g %g" role="img">`, esc(s.Name), w, h, w, h)
	fmt.Fprintf(&b, `<title>%s: fraction of parent rows by number of children, source and target</title>`, esc(s.Name))
	for v := 0.0; v <= ymax+1e-9; v += step {
		fmt.Fprintf(&b, `<line x1="%g" y1="%.2f" x2="%g" y2="%.2f" stroke="#e5e5e5"/>`, left, y(v), w-right, y(v))
		fmt.Fprintf(&b, `<text x="%g" y="%.2f" font-size="11" text-anchor="end">%g</text>`, left-4, y(v)+4, math.Round(v*100)/100)
	}
	n := float64(len(s.Histogram))
	group := plotW / n
	barW := group * 0.36
	for i, bk := range s.Histogram {
		gx := left + group*float64(i)
		t := 0.0
		if i < len(d.Histogram) {
			t = d.Histogram[i].Fraction
		}
		fmt.Fprintf(&b, `<rect x="%.2f" y="%.2f" width="%.2f" height="%.2f" fill="%s"><title>%s children: source %.3f</title></rect>`,
			gx+group*0.12, y(bk.Fraction), barW, top+plotH-y(bk.Fraction), srcColour, esc(bk.Label), bk.Fraction)
		stroke := ""
		if failed[bk.Label] {
			stroke = ` stroke="#c0392b" stroke-width="2"`
		}
		fmt.Fprintf(&b, `<rect x="%.2f" y="%.2f" width="%.2f" height="%.2f" fill="%s"%s><title>%s children: target %.3f</title></rect>`,
			gx+group*0.12+barW, y(t), barW, top+plotH-y(t), dstColour, stroke, esc(bk.Label), t)
		fmt.Fprintf(&b, `<text x="%.2f" y="%g" font-size="11" text-anchor="middle">%s</text>`, gx+group/2, top+plotH+14, esc(bk.Label))
	}
	fmt.Fprintf(&b, `<line x1="%g" y1="%g" x2="%g" y2="%g" stroke="#666"/>`, left, top+plotH, w-right, top+plotH)
	fmt.Fprintf(&b, `<line x1="%g" y1="%g" x2="%g" y2="%g" stroke="#666"/>`, left, top, left, top+plotH)
	fmt.Fprintf(&b, `<text x="%g" y="%g" font-size="11" text-anchor="middle">children per parent row</text>`, left+plotW/2, h-6)
	fmt.Fprintf(&b, `<text x="%g" y="14" font-size="11">fraction of parents</text>`, 2.0)
	fmt.Fprintf(&b, `<rect x="%g" y="5" width="10" height="10" fill="%s"/><text x="%g" y="14" font-size="11">source</text>`, w-140, srcColour, w-126)
	fmt.Fprintf(&b, `<rect x="%g" y="5" width="10" height="10" fill="%s"/><text x="%g" y="14" font-size="11">target</text>`, w-76, dstColour, w-62)
	b.WriteString(`</svg>`)
	return b.String()
}
