package benchmarks

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// Names of the approaches, as sub-benchmarks (go test -bench 'Sync/floor').
const (
	nameFloor     = "floor"
	nameDump      = "pg_dump+pg_restore"
	nameSync      = "sync_no_rules"
	nameSyncRules = "sync_3_rules"
	namePersonal  = "sync_8_personal"
)

// result is one approach's measured run.
type result struct {
	name       string // sub-benchmark name
	label      string // row label in the table
	wall       time.Duration
	cpu        time.Duration // client processes only, user+sys
	peakRSSKiB int64         // the largest client process
	note       string        // anything else worth a line (dump size)
}

// header says what the numbers were measured on.
type header struct {
	rows        int64
	sourceBytes int64
	date        time.Time
	machine     string // "linux/amd64, 2 CPUs (model), 23.5 GiB memory"
	server      string // PostgreSQL server version
	tools       string // pg_dump --version
	jobs        int
	command     string // the go test command line that measured them
	runs        int    // rounds of every step; each step's times are its median run's, its peak RSS the largest of any run's
}

// writeRun writes the lines every results page starts with: how and where it was measured.
func (h header) writeRun(b *strings.Builder) {
	switch {
	case h.command != "" && h.runs > 1:
		fmt.Fprintf(b, "- command: `%s`; %d rounds, each running every step once, in turn; each step's times are its median run's, its peak RSS the largest of any run's\n", h.command, h.runs)
	case h.command != "":
		fmt.Fprintf(b, "- command: `%s`; one run of each step\n", h.command)
	}
	fmt.Fprintf(b, "- date: %s\n", h.date.UTC().Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(b, "- machine: %s\n", h.machine)
	fmt.Fprintf(b, "- PostgreSQL: server %s, client tools %s, on the same machine\n", h.server, h.tools)
}

// bar is one of the targets understudy is held to.
type bar struct {
	text     string
	measured string
	met      bool
}

// The bars (DESIGN.md): sync without rules is at the raw COPY floor, at most half of
// pg_dump+pg_restore, and small; with rules it costs at most 30% over the floor.
const (
	barSyncVsFloor      = 1.0
	barSyncVsDump       = 0.5
	barSyncPeakRSSMiB   = 256
	barSyncRulesVsFloor = 1.3
	// The anonymization issue's bar: the eight personal columns of customers faked, at most
	// 30% over the floor, in the same memory.
	barPersonalVsFloor = 1.3
)

// bars checks the results against the bars. Only the bars whose approaches were all
// measured are returned.
func bars(rs []result) []bar {
	byName := map[string]result{}
	for _, r := range rs {
		byName[r.name] = r
	}
	floor, hasFloor := byName[nameFloor]
	dump, hasDump := byName[nameDump]
	sync, hasSync := byName[nameSync]
	rules, hasRules := byName[nameSyncRules]
	personal, hasPersonal := byName[namePersonal]
	var out []bar
	ratio := func(text string, a, b result, limit float64) bar {
		r := a.wall.Seconds() / b.wall.Seconds()
		return bar{text, fmt.Sprintf("%.2f×", r), r <= limit}
	}
	if hasSync && hasFloor {
		out = append(out, ratio(fmt.Sprintf("sync (no rules) ≤ %.1f× floor", barSyncVsFloor), sync, floor, barSyncVsFloor))
	}
	if hasSync && hasDump {
		out = append(out, ratio(fmt.Sprintf("sync (no rules) ≤ %.1f× pg_dump+pg_restore", barSyncVsDump), sync, dump, barSyncVsDump))
	}
	if hasSync {
		mib := float64(sync.peakRSSKiB) / 1024
		out = append(out, bar{fmt.Sprintf("sync (no rules) peak RSS < %d MiB", barSyncPeakRSSMiB), fmt.Sprintf("%.0f MiB", mib), mib < barSyncPeakRSSMiB})
	}
	if hasRules && hasFloor {
		out = append(out, ratio(fmt.Sprintf("sync (3 rules) ≤ %.1f× floor", barSyncRulesVsFloor), rules, floor, barSyncRulesVsFloor))
	}
	if hasPersonal && hasFloor {
		out = append(out, ratio(fmt.Sprintf("sync (8 personal rules) ≤ %.1f× floor", barPersonalVsFloor), personal, floor, barPersonalVsFloor))
	}
	if hasPersonal {
		mib := float64(personal.peakRSSKiB) / 1024
		out = append(out, bar{fmt.Sprintf("sync (8 personal rules) peak RSS < %d MiB", barSyncPeakRSSMiB), fmt.Sprintf("%.0f MiB", mib), mib < barSyncPeakRSSMiB})
	}
	return out
}

// renderResults writes the results as the Markdown page benchmarks/RESULTS.md.
func renderResults(h header, rs []result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Benchmark results\n\n")
	fmt.Fprintf(&b, "Written by `make bench` (benchmarks/, `go test ./benchmarks -bench .`); do not edit.\n\n")
	fmt.Fprintf(&b, "- rows: %d (shop fixture, seed %d; source database %s)\n", h.rows, fixtureSeed, mib(h.sourceBytes))
	h.writeRun(&b)
	fmt.Fprintf(&b, "- parallelism: %d jobs for every approach\n\n", h.jobs)

	byName := map[string]result{}
	for _, r := range rs {
		byName[r.name] = r
	}
	ratioTo := func(r result, base string) string {
		d, ok := byName[base]
		if !ok || d.wall <= 0 {
			return "–"
		}
		return fmt.Sprintf("%.2f×", r.wall.Seconds()/d.wall.Seconds())
	}
	fmt.Fprintf(&b, "| approach | wall s | ratio to floor | ratio to pg_dump+pg_restore | client CPU s | peak RSS MiB |\n")
	fmt.Fprintf(&b, "|---|---:|---:|---:|---:|---:|\n")
	for _, r := range rs {
		fmt.Fprintf(&b, "| %s | %.2f | %s | %s | %.2f | %.1f |\n", r.label, r.wall.Seconds(),
			ratioTo(r, nameFloor), ratioTo(r, nameDump), r.cpu.Seconds(), float64(r.peakRSSKiB)/1024)
	}

	if bs := bars(rs); len(bs) > 0 {
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
	for _, r := range rs {
		if r.note != "" {
			fmt.Fprintf(&b, "- %s: %s\n", r.label, r.note)
		}
	}
	fmt.Fprintf(&b, "- wall: from the first command to the last, each approach loading a fresh empty database; "+
		"checked afterwards (every table's row count equals the source's; its indexes, constraints, triggers, "+
		"sequences and views are the source's, all valid).\n")
	fmt.Fprintf(&b, "- client CPU and peak RSS: the approach's own processes (psql, pg_dump, pg_restore, understudy) "+
		"and their children, from wait4; the server's work is not in them, though it shares the machine.\n")
	fmt.Fprintf(&b, "- floor: `pg_dump --schema-only -Fc`, `pg_restore --section=pre-data`, per table "+
		"`psql COPY … TO STDOUT (FORMAT binary) | psql COPY … FROM STDIN (FORMAT binary)` two at a time, "+
		"biggest first, `pg_restore --section=post-data -j 2`.\n")
	return b.String()
}

func mib(n int64) string {
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}

func TestBars(t *testing.T) {
	run := func(name string, wallSec float64, rssMiB int64) result {
		return result{name: name, label: name, wall: time.Duration(wallSec * float64(time.Second)), peakRSSKiB: rssMiB << 10}
	}
	all := func(floor, dump, sync, rules float64, rss int64) []result {
		return []result{run(nameFloor, floor, 10), run(nameDump, dump, 10), run(nameSync, sync, rss), run(nameSyncRules, rules, rss)}
	}
	tests := []struct {
		name string
		rs   []result
		want []bool // met, in the order bars returns them
	}{
		{"all met", all(10, 25, 9, 12, 100), []bool{true, true, true, true}},
		{"exactly at the bars", all(10, 20, 10, 13, 255), []bool{true, true, true, true}},
		{"slower than the floor", all(10, 40, 10.5, 12, 100), []bool{false, true, true, true}},
		{"not half of pg_dump", all(10, 15, 9, 12, 100), []bool{true, false, true, true}},
		{"too much memory", all(10, 25, 9, 12, 256), []bool{true, true, false, true}},
		{"rules too slow", all(10, 25, 9, 13.5, 100), []bool{true, true, true, false}},
		{"only sync ran", []result{run(nameSync, 9, 100)}, []bool{true}},
		{"personal rules", []result{run(nameFloor, 10, 10), run(namePersonal, 13, 100)}, []bool{true, true}},
		{"personal rules too slow and too big", []result{run(nameFloor, 10, 10), run(namePersonal, 13.5, 300)}, []bool{false, false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkBars(t, bars(tt.rs), tt.want)
		})
	}
}

// checkBars fails t unless got holds exactly the bars of want, met or missed as it says.
func checkBars(t *testing.T, got []bar, want []bool) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d bars, want %d: %+v", len(got), len(want), got)
	}
	for i, b := range got {
		if b.met != want[i] {
			t.Errorf("%s (measured %s): met = %v, want %v", b.text, b.measured, b.met, want[i])
		}
	}
}

func TestRenderResultsMarksMissedBars(t *testing.T) {
	rs := []result{
		{name: nameFloor, label: "floor", wall: 10 * time.Second},
		{name: nameDump, label: "dump", wall: 30 * time.Second, note: "dump directory 1.0 MiB"},
		{name: nameSync, label: "sync", wall: 11 * time.Second, peakRSSKiB: 50 << 10},
		{name: nameSyncRules, label: "rules", wall: 12 * time.Second, peakRSSKiB: 60 << 10},
	}
	page := renderResults(header{rows: 1000, date: time.Date(2026, 1, 2, 3, 4, 0, 0, time.UTC), jobs: 2}, rs)
	for _, want := range []string{
		"| sync | 11.00 | 1.10× | 0.37× | 0.00 | 50.0 |",
		"| sync (no rules) ≤ 1.0× floor | 1.10× | **missed** |",
		"| sync (no rules) ≤ 0.5× pg_dump+pg_restore | 0.37× | met |",
		"| sync (3 rules) ≤ 1.3× floor | 1.20× | met |",
		"- dump: dump directory 1.0 MiB",
		"- date: 2026-01-02 03:04 UTC",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("results page lacks %q:\n%s", want, page)
		}
	}
}

// A step's figures are its median run's time with the largest peak RSS of any of its runs:
// a run that went over the memory bar fails it even when another run's time stands.
func TestStandForTakesTheMedianTimeAndTheWorstPeakRSS(t *testing.T) {
	runs := []result{
		{name: nameSync, wall: 3 * time.Second, peakRSSKiB: 90 << 10},
		{name: nameSync, wall: 1 * time.Second, peakRSSKiB: 300 << 10},
		{name: nameSync, wall: 2 * time.Second, peakRSSKiB: 100 << 10},
	}
	got := standFor(runs, func(r *result) *result { return r })
	if got.wall != 2*time.Second || got.peakRSSKiB != 300<<10 {
		t.Errorf("standFor = %v, %d KiB; want the median 2s and the worst 300 MiB", got.wall, got.peakRSSKiB)
	}
	if bs := bars([]result{got}); len(bs) != 1 || bs[0].met {
		t.Errorf("a step with one run over 256 MiB met the memory bar: %+v", bs)
	}
	snaps := []snapResult{
		{result: result{name: nameSnapshotDir, wall: 2 * time.Second, peakRSSKiB: 100 << 10}},
		{result: result{name: nameSnapshotDir, wall: 5 * time.Second, peakRSSKiB: 260 << 10}},
		{result: result{name: nameSnapshotDir, wall: 1 * time.Second, peakRSSKiB: 100 << 10}},
	}
	if got := standFor(snaps, func(r *snapResult) *result { return &r.result }); got.wall != 2*time.Second || got.peakRSSKiB != 260<<10 {
		t.Errorf("standFor(snapshot runs) = %v, %d KiB; want 2s and 260 MiB", got.wall, got.peakRSSKiB)
	}
}
