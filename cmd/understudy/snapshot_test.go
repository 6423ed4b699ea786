package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/understudy-dev/understudy/fixtures"
	"github.com/understudy-dev/understudy/fixtures/pgtest"
	"github.com/understudy-dev/understudy/pipeline/failure"
)

// The snapshot commands end to end, as a user runs them: a snapshot killed part-way leaves
// no manifest, so list does not show it and restore refuses it; --resume finishes it; list
// and show then describe it; restore loads it; a second snapshot to the same place is
// refused without --replace.
func TestSnapshotCommands(t *testing.T) {
	bin := buildBinary(t)
	src := pgtest.NewDB(t)
	if err := fixtures.CreateShop(context.Background(), src, 300_000, 4); err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	snap := filepath.Join(root, "shop", "nightly")
	cmd := exec.Command(bin, "snapshot", "--source", src, "--to", snap, "--jobs", "1", "--chunk-mib", "2", "--allow-unmasked")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Kill it (no chance to clean up) once some chunks are finished.
	deadline := time.Now().Add(60 * time.Second)
	for {
		done, _ := filepath.Glob(filepath.Join(snap, "_progress", "*", "unit-*.json"))
		if len(done) >= 2 {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatal("no finished chunk was seen")
		}
		time.Sleep(5 * time.Millisecond)
	}
	cmd.Process.Kill()
	cmd.Wait()
	if _, err := os.Stat(filepath.Join(snap, "manifest.json")); !os.IsNotExist(err) {
		t.Fatalf("a killed snapshot left a manifest (%v)", err)
	}
	if code, out, stderr := runCLI(t, "snapshots", "list", root); code != 0 || strings.Contains(out, "nightly") {
		t.Errorf("list of an unfinished snapshot: exit %d\n%s%s", code, out, stderr)
	}
	dst := pgtest.NewDB(t)
	if code, _, stderr := runCLI(t, "restore", "--from", snap, "--target", dst); code != failure.ExitUnsafe || !strings.Contains(stderr, "no finished snapshot") {
		t.Errorf("restore of an unfinished snapshot: exit %d\n%s", code, stderr)
	}

	if code, _, stderr := runCLI(t, "snapshot", "--source", src, "--to", snap, "--jobs", "2", "--chunk-mib", "2", "--allow-unmasked", "--resume"); code != 0 {
		t.Fatalf("--resume: exit %d\n%s", code, stderr)
	}
	code, out, stderr := runCLI(t, "snapshots", "list", root)
	if code != 0 || !strings.Contains(out, "shop/nightly") || !strings.Contains(out, "300000") {
		t.Errorf("list: exit %d\n%s%s", code, out, stderr)
	}
	code, out, stderr = runCLI(t, "snapshots", "show", snap)
	if code != 0 || !strings.Contains(out, "public.order_items") || !strings.Contains(out, "resumed") {
		t.Errorf("show: exit %d\n%s%s", code, out, stderr)
	}
	if code, _, stderr := runCLI(t, "snapshot", "--source", src, "--to", snap, "--allow-unmasked"); code != failure.ExitUnsafe || !strings.Contains(stderr, "already holds a finished snapshot") {
		t.Errorf("snapshot over a finished one: exit %d\n%s", code, stderr)
	}
	if code, _, stderr := runCLI(t, "restore", "--from", snap, "--target", dst, "--jobs", "2"); code != 0 {
		t.Fatalf("restore: exit %d\n%s", code, stderr)
	}
	pgtest.AssertSameRows(t, src, dst)
}

// Snapshot and restore hold a bounded amount, never a table or a whole snapshot: peak RSS
// stays flat across two fixture sizes an order of magnitude apart, and below the README's
// 200 MiB, run as shipped (its own heap limit, no GOMEMLIMIT or GOGC from outside).
func TestSnapshotPeakMemoryIsIndependentOfTableSize(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and two fixture databases")
	}
	bin := buildBinary(t)
	peak := func(rows int64) (snap, restore float64) {
		src, dst := pgtest.NewDB(t), pgtest.NewDB(t)
		if err := fixtures.CreateShop(context.Background(), src, rows, 3); err != nil {
			t.Fatal(err)
		}
		dir := filepath.Join(t.TempDir(), "snap")
		for i, args := range [][]string{
			{"snapshot", "--source", src, "--to", dir, "--jobs", "2", "--chunk-mib", "1", "--allow-unmasked"},
			{"restore", "--from", dir, "--target", dst, "--jobs", "2"},
		} {
			cmd := exec.Command(bin, args...)
			cmd.Env = shippedEnv()
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("%s of %d rows: %v\n%s", args[0], rows, err, out)
			}
			mib := float64(cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss) / 1024
			if i == 0 {
				snap = mib
			} else {
				restore = mib
			}
		}
		return snap, restore
	}
	s1, r1 := peak(40_000)
	s2, r2 := peak(400_000)
	t.Logf("peak RSS: snapshot %.1f → %.1f MiB, restore %.1f → %.1f MiB for 10× the rows", s1, s2, r1, r2)
	for _, v := range []float64{s1, s2, r1, r2} {
		if v >= readmePeakRSSMiB {
			t.Errorf("peak RSS %.1f MiB is not below %d MiB, the README's bound", v, readmePeakRSSMiB)
		}
	}
	if s2 > s1*1.5+32 || r2 > r1*1.5+32 {
		t.Errorf("peak RSS grew with the data: snapshot %.1f → %.1f MiB, restore %.1f → %.1f MiB", s1, s2, r1, r2)
	}
}
