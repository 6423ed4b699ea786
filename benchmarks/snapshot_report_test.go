package benchmarks

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// Names of the snapshot benchmark's steps, as sub-benchmarks (go test -bench 'Snapshot/restore_dir').
const (
	namePgDump      = "pg_dump"
	namePgRestore   = "pg_restore"
	nameSnapshotDir = "snapshot_dir"
	nameRestoreDir  = "restore_dir"
	nameSnapshotS3  = "snapshot_s3"
	nameRestoreS3   = "restore_s3"
)

// snapBase names, for every step, the step its time is compared with: pg_dump for the steps
// that write a dump or a snapshot, pg_restore for those that load one.
var snapBase = map[string]string{
	namePgDump:      namePgDump,
	nameSnapshotDir: namePgDump,
	nameSnapshotS3:  namePgDump,
	namePgRestore:   namePgRestore,
	nameRestoreDir:  namePgRestore,
	nameRestoreS3:   namePgRestore,
}

// writesOutput says whether step name writes a dump or a snapshot, whose size is measured.
func writesOutput(name string) bool { return snapBase[name] == namePgDump }

// snapResult is one step's measured run.
type snapResult struct {
	result
	bytes int64 // the dump's or snapshot's size; 0 for a restore
}

// The snapshot bars (the snapshot issue): a snapshot costs no more than pg_dump and is
// smaller, a restore no more than pg_restore, both in little memory; on S3 they take at most
// 30% longer than on a local directory.
const (
	barSnapshotVsDump   = 1.0
	barRestoreVsRestore = 1.0
	barSnapPeakRSSMiB   = 256
	barS3VsDir          = 1.3
)

// snapBarText is how the bars name each step.
var snapBarText = map[string]string{
	namePgDump:      "pg_dump",
	namePgRestore:   "pg_restore",
	nameSnapshotDir: "snapshot (dir)",
	nameRestoreDir:  "restore (dir)",
	nameSnapshotS3:  "snapshot (S3)",
	nameRestoreS3:   "restore (S3)",
}

// snapshotBars checks the results against the snapshot bars. Only the bars whose steps were
// all measured are returned.
func snapshotBars(rs []snapResult) []bar {
	byName := map[string]snapResult{}
	for _, r := range rs {
		byName[r.name] = r
	}
	has := func(names ...string) bool {
		for _, n := range names {
			if _, ok := byName[n]; !ok {
				return false
			}
		}
		return true
	}
	ratio := func(a, b string, limit float64) bar {
		r := byName[a].wall.Seconds() / byName[b].wall.Seconds()
		return bar{fmt.Sprintf("%s ≤ %.1f× %s", snapBarText[a], limit, snapBarText[b]), fmt.Sprintf("%.2f×", r), r <= limit}
	}
	var out []bar
	if has(nameSnapshotDir, namePgDump) {
		out = append(out, ratio(nameSnapshotDir, namePgDump, barSnapshotVsDump))
		s, d := byName[nameSnapshotDir].bytes, byName[namePgDump].bytes
		out = append(out, bar{snapBarText[nameSnapshotDir] + " output smaller than pg_dump's",
			fmt.Sprintf("%.2f vs %.2f MiB", float64(s)/(1<<20), float64(d)/(1<<20)), s < d})
	}
	if has(nameRestoreDir, namePgRestore) {
		out = append(out, ratio(nameRestoreDir, namePgRestore, barRestoreVsRestore))
	}
	for _, name := range []string{nameSnapshotDir, nameRestoreDir, nameSnapshotS3, nameRestoreS3} {
		if r, ok := byName[name]; ok {
			mib := float64(r.peakRSSKiB) / 1024
			out = append(out, bar{fmt.Sprintf("%s peak RSS < %d MiB", snapBarText[name], barSnapPeakRSSMiB), fmt.Sprintf("%.0f MiB", mib), mib < barSnapPeakRSSMiB})
		}
	}
	if has(nameSnapshotS3, nameSnapshotDir) {
		out = append(out, ratio(nameSnapshotS3, nameSnapshotDir, barS3VsDir))
	}
	if has(nameRestoreS3, nameRestoreDir) {
		out = append(out, ratio(nameRestoreS3, nameRestoreDir, barS3VsDir))
	}
	return out
}

// renderSnapshotResults writes the results as the Markdown page benchmarks/RESULTS-snapshot.md.
// s3 describes the S3 server the S3 steps wrote to ("" when there was none).
func renderSnapshotResults(h header, s3 string, rs []snapResult) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Snapshot benchmark results\n\n")
	fmt.Fprintf(&b, "Written by `make bench` (benchmarks/, `go test ./benchmarks -bench Snapshot`); do not edit.\n\n")
	fmt.Fprintf(&b, "- rows: %d (shop fixture, seed %d; source database %s)\n", h.rows, fixtureSeed, mib(h.sourceBytes))
	h.writeRun(&b)
	if s3 != "" {
		fmt.Fprintf(&b, "- S3: %s\n", s3)
	}
	fmt.Fprintf(&b, "- parallelism: %d jobs for every step\n\n", h.jobs)

	byName := map[string]snapResult{}
	for _, r := range rs {
		byName[r.name] = r
	}
	fmt.Fprintf(&b, "| step | wall s | ratio to pg_dump / pg_restore | output MiB | client CPU s | peak RSS MiB |\n")
	fmt.Fprintf(&b, "|---|---:|---:|---:|---:|---:|\n")
	for _, r := range rs {
		ratio := "–"
		if base, ok := byName[snapBase[r.name]]; ok && base.wall > 0 {
			ratio = fmt.Sprintf("%.2f×", r.wall.Seconds()/base.wall.Seconds())
		}
		size := "–"
		if writesOutput(r.name) {
			size = fmt.Sprintf("%.1f", float64(r.bytes)/(1<<20))
		}
		fmt.Fprintf(&b, "| %s | %.2f | %s | %s | %.2f | %.1f |\n", r.label, r.wall.Seconds(), ratio, size,
			r.cpu.Seconds(), float64(r.peakRSSKiB)/1024)
	}

	if bs := snapshotBars(rs); len(bs) > 0 {
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
	fmt.Fprintf(&b, "- wall: from the first command to the last. Dumps and snapshots read the source (its cache warm); "+
		"each restore loads a fresh empty database from the dump or snapshot made just before, and is checked "+
		"afterwards (every table's row count equals the source's; its indexes, constraints, triggers, sequences "+
		"and views are the source's, all valid).\n")
	fmt.Fprintf(&b, "- ratio: a dump's or snapshot's wall time over pg_dump's, a restore's over pg_restore's.\n")
	fmt.Fprintf(&b, "- output: the files written (a directory's file sizes, or the S3 objects under the snapshot's prefix); "+
		"pg_dump -Fd compresses with gzip by default, snapshots are Parquet with zstd.\n")
	fmt.Fprintf(&b, "- client CPU and peak RSS: the step's own processes (pg_dump, pg_restore, understudy) "+
		"and their children, from wait4; the server's work (PostgreSQL, and the S3 server) is not in them, though it shares the machine.\n")
	return b.String()
}

func TestSnapshotBars(t *testing.T) {
	run := func(name string, wallSec float64, mib int64, rssMiB int64) snapResult {
		return snapResult{result: result{name: name, label: name, wall: time.Duration(wallSec * float64(time.Second)), peakRSSKiB: rssMiB << 10}, bytes: mib << 20}
	}
	// all: pg_dump 10 s and 30 MiB, pg_restore 20 s; the snapshot and restore as given.
	all := func(snap float64, snapMiB int64, restore, snapS3, restoreS3 float64, rss int64) []snapResult {
		return []snapResult{
			run(namePgDump, 10, 30, 10), run(namePgRestore, 20, 0, 10),
			run(nameSnapshotDir, snap, snapMiB, rss), run(nameRestoreDir, restore, 0, rss),
			run(nameSnapshotS3, snapS3, snapMiB, rss), run(nameRestoreS3, restoreS3, 0, rss),
		}
	}
	tests := []struct {
		name string
		rs   []snapResult
		// met, in the order snapshotBars returns them: snapshot time, snapshot size, restore
		// time, the four peak RSS bars, S3 snapshot, S3 restore.
		want []bool
	}{
		{"all met", all(8, 20, 15, 9, 16, 100), []bool{true, true, true, true, true, true, true, true, true}},
		{"exactly at the bars", all(10, 29, 20, 13, 26, 255), []bool{true, true, true, true, true, true, true, true, true}},
		{"snapshot slower than pg_dump", all(10.5, 20, 15, 12, 16, 100), []bool{false, true, true, true, true, true, true, true, true}},
		{"snapshot as big as the dump", all(8, 30, 15, 9, 16, 100), []bool{true, false, true, true, true, true, true, true, true}},
		{"restore slower than pg_restore", all(8, 20, 21, 9, 21, 100), []bool{true, true, false, true, true, true, true, true, true}},
		{"too much memory", all(8, 20, 15, 9, 16, 256), []bool{true, true, true, false, false, false, false, true, true}},
		{"S3 too slow", all(8, 20, 15, 10.5, 19.6, 100), []bool{true, true, true, true, true, true, true, false, false}},
		{"only the directory snapshot ran", []snapResult{run(nameSnapshotDir, 8, 20, 300)}, []bool{false}},
		{"no S3 server", all(8, 20, 15, 0, 0, 100)[:4], []bool{true, true, true, true, true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkBars(t, snapshotBars(tt.rs), tt.want)
		})
	}
}

func TestRenderSnapshotResultsMarksMissedBars(t *testing.T) {
	rs := []snapResult{
		{result: result{name: namePgDump, label: "pg_dump -Fd -j 2", wall: 10 * time.Second, cpu: 4 * time.Second, peakRSSKiB: 20 << 10}, bytes: 30 << 20},
		{result: result{name: namePgRestore, label: "pg_restore -j 2", wall: 20 * time.Second}},
		{result: result{name: nameSnapshotDir, label: "snapshot (dir)", wall: 8 * time.Second, peakRSSKiB: 100 << 10}, bytes: 40 << 20},
		{result: result{name: nameRestoreDir, label: "restore (dir)", wall: 22 * time.Second, peakRSSKiB: 300 << 10, note: "checked"}},
		{result: result{name: nameSnapshotS3, label: "snapshot (S3)", wall: 12 * time.Second, peakRSSKiB: 100 << 10}, bytes: 40 << 20},
	}
	page := renderSnapshotResults(header{rows: 1000, date: time.Date(2026, 1, 2, 3, 4, 0, 0, time.UTC), jobs: 2}, "versitygw", rs)
	for _, want := range []string{
		"do not edit",
		"| pg_dump -Fd -j 2 | 10.00 | 1.00× | 30.0 | 4.00 | 20.0 |",
		"| pg_restore -j 2 | 20.00 | 1.00× | – | 0.00 | 0.0 |",
		"| snapshot (dir) | 8.00 | 0.80× | 40.0 | 0.00 | 100.0 |",
		"| restore (dir) | 22.00 | 1.10× | – | 0.00 | 300.0 |",
		"| snapshot (S3) | 12.00 | 1.20× | 40.0 |",
		"| snapshot (dir) ≤ 1.0× pg_dump | 0.80× | met |",
		"| snapshot (dir) output smaller than pg_dump's | 40.00 vs 30.00 MiB | **missed** |",
		"| restore (dir) ≤ 1.0× pg_restore | 1.10× | **missed** |",
		"| restore (dir) peak RSS < 256 MiB | 300 MiB | **missed** |",
		"| snapshot (S3) peak RSS < 256 MiB | 100 MiB | met |",
		"| snapshot (S3) ≤ 1.3× snapshot (dir) | 1.50× | **missed** |",
		"- restore (dir): checked",
		"- S3: versitygw",
		"- date: 2026-01-02 03:04 UTC",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("results page lacks %q:\n%s", want, page)
		}
	}
	if strings.Contains(page, "restore (S3) ≤") {
		t.Errorf("a bar for the S3 restore, which did not run:\n%s", page)
	}
}
