package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/understudy-dev/understudy/fixtures"
	"github.com/understudy-dev/understudy/fixtures/pgtest"
)

// Peak memory must not grow with table size: the engine holds at most workers × (batch +
// pipe buffers), never a table. Two fixture sizes an order of magnitude apart, both paths
// (rules decode the customers table; every other table passes through).
func TestPeakMemoryIsIndependentOfTableSize(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and two fixture databases")
	}
	bin := filepath.Join(t.TempDir(), "understudy")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		t.Fatalf("build: %v", err)
	}
	cfg := writeFile(t, t.TempDir(), "rules.yaml", "tables:\n  public.customers:\n    columns:\n      email: hash\n      notes: null\n      country: {transform: constant, value: \"US\"}\n")
	peak := func(rows int64) (mib float64) {
		src, dst := pgtest.NewDB(t), pgtest.NewDB(t)
		if err := fixtures.CreateShop(context.Background(), src, rows, 3); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(bin, "sync", "--source", src, "--target", dst, "--config", cfg, "--jobs", "2", "--chunk-mib", "4")
		cmd.Env = append(os.Environ(), "UNDERSTUDY_KEY=memory-test-key-0123456789")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("sync of %d rows: %v\n%s", rows, err, out)
		}
		return float64(cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss) / 1024
	}
	small, large := peak(40_000), peak(400_000)
	t.Logf("peak RSS: %.1f MiB at 40k rows, %.1f MiB at 400k rows", small, large)
	if large > 256 || small > 256 {
		t.Errorf("peak RSS over 256 MiB")
	}
	if large > small*1.5+16 {
		t.Errorf("peak RSS grew with the data: %.1f MiB → %.1f MiB for 10× the rows", small, large)
	}
}
