package benchmarks

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// Names of the scale benchmark's steps, as sub-benchmarks (go test -bench 'Scale/sync').
const (
	nameScaleFloor    = "copy_floor"
	nameScaleSync     = "sync_scale"
	nameScaleSnapshot = "snapshot_scale"
)

// scaleOrder is the order of the table's rows: the floor first, as the others are compared
// with it.
var scaleOrder = []string{nameScaleFloor, nameScaleSync, nameScaleSnapshot}

// scaleResult is one step's measured run.
type scaleResult struct {
	result
	rows int64 // rows written (loaded, for the floor)
	// postData, for the floor, is how long building what it leaves out took afterwards
	// (indexes, keys, constraints, foreign keys), untimed: a sync's wall time includes it.
	postData time.Duration
}

// rate is the step's rows per second of wall time.
func (r scaleResult) rate() float64 {
	if r.wall <= 0 {
		return 0
	}
	return float64(r.rows) / r.wall.Seconds()
}

// scaleInfo says what the scaled runs write.
type scaleInfo struct {
	factor     int
	shared     []string
	sourceRows int64 // rows in the source's tables
	written    int64 // rows a scaled run writes: factor × every table's but the shared ones', plus those
}

// The scale bars (the scale issue): a scaled sync and a scaled snapshot write at least 0.8×
// the rows per second the target takes through plain binary COPY, in the same memory as an
// unscaled run. A scaled sync leaves a target with every index, key and foreign key built
// and validated, which bare COPY into index-less tables does not: its bar is against the
// floor with those built afterwards (pg_restore --section=post-data), the fastest way the
// target takes the same rows to the same end. (Against bare COPY alone no tool that builds
// them can reach 0.8×: building them takes longer than the COPY itself.) A snapshot builds
// nothing, so its bar is against bare COPY.
const (
	barScaleVsFloor    = 0.8
	barScalePeakRSSMiB = 256
)

// scaleBarText is how the bars name each step.
var scaleBarText = map[string]string{
	nameScaleFloor:    "COPY floor",
	nameScaleSync:     "sync --scale",
	nameScaleSnapshot: "snapshot --scale",
}

// scaleBars checks the results against the scale bars. Only the bars whose steps were all
// measured are returned: for sync, then for snapshot, the rate bar and the memory bar.
func scaleBars(rs []scaleResult) []bar {
	byName := map[string]scaleResult{}
	for _, r := range rs {
		byName[r.name] = r
	}
	floor, hasFloor := byName[nameScaleFloor]
	var out []bar
	for _, name := range []string{nameScaleSync, nameScaleSnapshot} {
		r, ok := byName[name]
		if !ok {
			continue
		}
		if hasFloor && floor.rate() > 0 {
			base, text := floor, scaleBarText[nameScaleFloor]
			if name == nameScaleSync && floor.postData > 0 {
				base.wall += floor.postData
				text += " + its indexes, keys and foreign keys"
			}
			ratio := r.rate() / base.rate()
			out = append(out, bar{
				fmt.Sprintf("%s rows/s ≥ %.1f× %s rows/s", scaleBarText[name], barScaleVsFloor, text),
				fmt.Sprintf("%.2f×", ratio), ratio >= barScaleVsFloor})
		}
		mib := float64(r.peakRSSKiB) / 1024
		out = append(out, bar{fmt.Sprintf("%s peak RSS < %d MiB", scaleBarText[name], barScalePeakRSSMiB),
			fmt.Sprintf("%.0f MiB", mib), mib < barScalePeakRSSMiB})
	}
	return out
}

// renderScaleResults writes the results as the Markdown page benchmarks/RESULTS-scale.md.
func renderScaleResults(h header, s scaleInfo, rs []scaleResult) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Scale benchmark results\n\n")
	fmt.Fprintf(&b, "Written by `make bench` (benchmarks/, `go test ./benchmarks -bench Scale`); do not edit.\n\n")
	fmt.Fprintf(&b, "- rows: %d in the source (shop fixture, seed %d; source database %s)\n", s.sourceRows, fixtureSeed, mib(h.sourceBytes))
	fmt.Fprintf(&b, "- scale: ×%d, shared %s: %d rows written by every step\n", s.factor, strings.Join(s.shared, ", "), s.written)
	h.writeRun(&b)
	fmt.Fprintf(&b, "- parallelism: %d jobs for every step\n\n", h.jobs)

	byName := map[string]scaleResult{}
	for _, r := range rs {
		byName[r.name] = r
	}
	fmt.Fprintf(&b, "| step | rows | wall s | rows/s | ratio to floor rows/s | client CPU s | peak RSS MiB |\n")
	fmt.Fprintf(&b, "|---|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range orderScale(rs) {
		ratio := "–"
		if f, ok := byName[nameScaleFloor]; ok && f.rate() > 0 {
			ratio = fmt.Sprintf("%.2f×", r.rate()/f.rate())
		}
		fmt.Fprintf(&b, "| %s | %d | %.2f | %.0f | %s | %.2f | %.1f |\n", r.label, r.rows, r.wall.Seconds(), r.rate(), ratio,
			r.cpu.Seconds(), float64(r.peakRSSKiB)/1024)
	}

	if bs := scaleBars(rs); len(bs) > 0 {
		fmt.Fprintf(&b, "\n| bar | measured | |\n|---|---:|---|\n")
		for _, x := range bs {
			verdict := "met"
			if !x.met {
				verdict = "**missed**"
			}
			fmt.Fprintf(&b, "| %s | %s | %s |\n", x.text, x.measured, verdict)
		}
	}

	fmt.Fprintf(&b, "\n")
	for _, r := range orderScale(rs) {
		if r.note != "" {
			fmt.Fprintf(&b, "- %s: %s\n", r.label, r.note)
		}
	}
	if f, ok := byName[nameScaleFloor]; ok && f.postData > 0 {
		with := scaleResult{result: result{wall: f.wall + f.postData}, rows: f.rows}
		fmt.Fprintf(&b, "- %s: building the indexes, keys and foreign keys on its rows afterwards "+
			"(`pg_restore --section=post-data -j %d`, not in its wall) took %.2f s more; with them, %.2f s, %.0f rows/s",
			f.label, h.jobs, f.postData.Seconds(), with.wall.Seconds(), with.rate())
		if s, ok := byName[nameScaleSync]; ok && with.rate() > 0 {
			fmt.Fprintf(&b, ", and %s writes %.2f× that rate (its bar: it builds them too)", s.label, s.rate()/with.rate())
		}
		fmt.Fprintf(&b, ".\n")
	}
	fmt.Fprintf(&b, "- rows/s: rows written over wall seconds; ratio: a step's rows/s over the floor's (higher is better).\n")
	fmt.Fprintf(&b, "- floor: the tables of the scaled sync's target, each written once to a file with "+
		"`COPY … TO STDOUT (FORMAT binary)` (untimed), loaded into a fresh database holding only the "+
		"pre-data schema (`pg_restore --section=pre-data`: no indexes, keys or constraints) with "+
		"`psql -c 'COPY … FROM STDIN (FORMAT binary)' < file`, two at a time, biggest first. Only the COPYs are timed.\n")
	fmt.Fprintf(&b, "- sync --scale: `understudy sync --scale %d --config scale.yaml --jobs %d --allow-unmasked` into a fresh empty database, "+
		"the whole run: schema, rows, and the indexes, keys and foreign keys the floor does not build; checked afterwards "+
		"(every table's row count is the scaled count; its indexes, constraints, triggers and sequences are the source's, all valid).\n", s.factor, h.jobs)
	fmt.Fprintf(&b, "- snapshot --scale: `understudy snapshot --scale %d --config scale.yaml --jobs %d --allow-unmasked` to a fresh directory "+
		"(Parquet with zstd); checked by the row count of its run report and by every table's rows counted in its Parquet parts' footers.\n", s.factor, h.jobs)
	fmt.Fprintf(&b, "- client CPU and peak RSS: the step's own processes (psql, understudy) and their children, from wait4; "+
		"the server's work is not in them, though it shares the machine.\n")
	return b.String()
}

// orderScale returns rs in scaleOrder, steps of other names last.
func orderScale(rs []scaleResult) []scaleResult {
	var out []scaleResult
	for _, name := range scaleOrder {
		for _, r := range rs {
			if r.name == name {
				out = append(out, r)
			}
		}
	}
	for _, r := range rs {
		if !slices.Contains(scaleOrder, r.name) {
			out = append(out, r)
		}
	}
	return out
}

func TestScaleBars(t *testing.T) {
	// run: rows rows in wallSec seconds.
	run := func(name string, rows int64, wallSec float64, rssMiB int64) scaleResult {
		return scaleResult{result: result{name: name, label: name, wall: time.Duration(wallSec * float64(time.Second)), peakRSSKiB: rssMiB << 10}, rows: rows}
	}
	// all: the floor loads 1000 rows in 10 s (100 rows/s); sync and snapshot as given.
	all := func(sync, snap float64, rss int64) []scaleResult {
		return []scaleResult{run(nameScaleFloor, 1000, 10, 10), run(nameScaleSync, 1000, sync, rss), run(nameScaleSnapshot, 1000, snap, rss)}
	}
	tests := []struct {
		name string
		rs   []scaleResult
		want []bool // met, in the order scaleBars returns them: sync rate, sync RSS, snapshot rate, snapshot RSS
	}{
		{"all met", all(11, 9, 100), []bool{true, true, true, true}},
		{"exactly at the bars", all(12.5, 12.5, 255), []bool{true, true, true, true}},
		{"sync too slow", all(12.6, 9, 100), []bool{false, true, true, true}},
		{"snapshot too slow", all(9, 13, 100), []bool{true, true, false, true}},
		{"too much memory", all(9, 9, 256), []bool{true, false, true, false}},
		{"no floor", []scaleResult{run(nameScaleSync, 1000, 9, 300), run(nameScaleSnapshot, 1000, 9, 10)}, []bool{false, true}},
		{"only the floor", []scaleResult{run(nameScaleFloor, 1000, 10, 10)}, nil},
		{"more rows in the same time", []scaleResult{run(nameScaleFloor, 1000, 10, 10), run(nameScaleSync, 2000, 20, 10)}, []bool{true, true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkBars(t, scaleBars(tt.rs), tt.want)
		})
	}
}

func TestRenderScaleResultsMarksMissedBars(t *testing.T) {
	// Out of order, as a run that measured the floor after the sync hands them over.
	rs := []scaleResult{
		{result: result{name: nameScaleSync, label: "sync --scale 10", wall: 20 * time.Second, cpu: 3 * time.Second, peakRSSKiB: 80 << 10, note: "phases"}, rows: 2_000_000},
		{result: result{name: nameScaleFloor, label: "floor", wall: 10 * time.Second, peakRSSKiB: 10 << 10}, rows: 2_000_000, postData: 6 * time.Second},
		{result: result{name: nameScaleSnapshot, label: "snapshot --scale 10", wall: 12 * time.Second, peakRSSKiB: 300 << 10}, rows: 2_000_000},
	}
	info := scaleInfo{factor: 10, shared: []string{"public.products"}, sourceRows: 200_000, written: 2_000_000}
	page := renderScaleResults(header{rows: 200_000, date: time.Date(2026, 1, 2, 3, 4, 0, 0, time.UTC), jobs: 2,
		command: "go test ./benchmarks -bench Scale -benchtime 3x", runs: 3}, info, rs)
	for _, want := range []string{
		"do not edit",
		"- scale: ×10, shared public.products: 2000000 rows written by every step",
		"| floor | 2000000 | 10.00 | 200000 | 1.00× | 0.00 | 10.0 |",
		"| sync --scale 10 | 2000000 | 20.00 | 100000 | 0.50× | 3.00 | 80.0 |",
		"| snapshot --scale 10 | 2000000 | 12.00 | 166667 | 0.83× | 0.00 | 300.0 |",
		"| sync --scale rows/s ≥ 0.8× COPY floor + its indexes, keys and foreign keys rows/s | 0.80× | met |",
		"| sync --scale peak RSS < 256 MiB | 80 MiB | met |",
		"| snapshot --scale rows/s ≥ 0.8× COPY floor rows/s | 0.83× | met |",
		"| snapshot --scale peak RSS < 256 MiB | 300 MiB | **missed** |",
		"- sync --scale 10: phases",
		"took 6.00 s more; with them, 16.00 s, 125000 rows/s, and sync --scale 10 writes 0.80× that rate (its bar: it builds them too).",
		"- date: 2026-01-02 03:04 UTC",
		"- command: `go test ./benchmarks -bench Scale -benchtime 3x`; 3 rounds, each running every step once, in turn; each step's times are its median run's, its peak RSS the largest of any run's",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("results page lacks %q:\n%s", want, page)
		}
	}
	if i, j := strings.Index(page, "| floor |"), strings.Index(page, "| sync --scale 10 |"); i < 0 || j < i {
		t.Errorf("the floor is not the first row:\n%s", page)
	}
}
