package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/understudy-dev/understudy/fixtures"
	"github.com/understudy-dev/understudy/fixtures/pgtest"
)

// Peak memory must not grow with table size: the engine holds at most workers × (batch +
// pipe buffers), never a table. Two fixture sizes an order of magnitude apart, both paths
// (rules decode the customers table; every other table passes through), run as shipped
// (its own heap limit, no GOMEMLIMIT or GOGC from outside) and under the README's bound.
func TestPeakMemoryIsIndependentOfTableSize(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and two fixture databases")
	}
	bin := buildBinary(t)
	cfg := writeFile(t, t.TempDir(), "rules.yaml", "tables:\n  public.customers:\n    columns:\n      email: hash\n      notes: null\n      country: {transform: constant, value: \"US\"}\n")
	peak := func(rows int64) (mib float64) {
		src, dst := pgtest.NewDB(t), pgtest.NewDB(t)
		if err := fixtures.CreateShop(context.Background(), src, rows, 3); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(bin, "sync", "--source", src, "--target", dst, "--config", cfg, "--jobs", "2", "--chunk-mib", "4", "--allow-unmasked")
		cmd.Env = shippedEnv("UNDERSTUDY_KEY=memory-test-key-0123456789")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("sync of %d rows: %v\n%s", rows, err, out)
		}
		return float64(cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss) / 1024
	}
	small, large := peak(40_000), peak(400_000)
	t.Logf("peak RSS: %.1f MiB at 40k rows, %.1f MiB at 400k rows", small, large)
	if large >= readmePeakRSSMiB || small >= readmePeakRSSMiB {
		t.Errorf("peak RSS not below %d MiB, the README's bound", readmePeakRSSMiB)
	}
	if large > small*1.5+16 {
		t.Errorf("peak RSS grew with the data: %.1f MiB → %.1f MiB for 10× the rows", small, large)
	}
}

// readmePeakRSSMiB is the peak resident set the README promises ("measured peaks ... are
// below 200 MiB"); the memory tests hold sync, snapshot and restore to it.
const readmePeakRSSMiB = 200

// shippedEnv is the environment of an understudy process run as shipped: the inherited one
// without GOMEMLIMIT and GOGC, so the binary's own heap limit (memoryLimit) applies, plus
// extra.
func shippedEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GOMEMLIMIT=") && !strings.HasPrefix(kv, "GOGC=") {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

var (
	buildOnce sync.Once
	builtBin  string
	buildErr  error
)

// buildBinary builds the understudy command once per test process.
func buildBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "understudy-bin")
		if err != nil {
			buildErr = err
			return
		}
		builtBin = filepath.Join(dir, "understudy")
		out, err := exec.Command("go", "build", "-o", builtBin, ".").CombinedOutput()
		if err != nil {
			buildErr = err
			t.Logf("%s", out)
		}
	})
	if buildErr != nil {
		t.Fatalf("build: %v", buildErr)
	}
	return builtBin
}

// A process killed mid-copy (SIGKILL: no chance to clean up) leaves a target that the next
// run recognises as unfinished and refuses, until --replace.
func TestKilledProcessLeavesTargetMarkedIncomplete(t *testing.T) {
	bin := buildBinary(t)
	src, dst := pgtest.NewDB(t), pgtest.NewDB(t)
	if err := fixtures.CreateShop(context.Background(), src, 300_000, 4); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "sync", "--source", src, "--target", dst, "--jobs", "1", "--allow-unmasked")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Kill it once rows are flowing into the target.
	conn := pgtest.Connect(t, dst)
	deadline := time.Now().Add(60 * time.Second)
	for {
		var n int
		pgtest.Scan(t, conn.QueryRow(context.Background(), `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()
AND application_name = 'understudy' AND query LIKE 'COPY %FROM STDIN%' AND state = 'active'`), &n)
		if n > 0 {
			break
		}
		if time.Now().After(deadline) || cmd.ProcessState != nil {
			cmd.Process.Kill()
			t.Fatal("no COPY into the target was seen")
		}
		time.Sleep(2 * time.Millisecond)
	}
	cmd.Process.Kill()
	cmd.Wait()

	code, _, stderr := runCLI(t, "sync", "--source", src, "--target", dst, "--allow-unmasked")
	if code != 4 || !strings.Contains(stderr, "unfinished copy") || !strings.Contains(stderr, "--replace") {
		t.Fatalf("second run: exit %d\n%s", code, stderr)
	}
	if code, _, stderr := runCLI(t, "sync", "--source", src, "--target", dst, "--replace", "--allow-unmasked"); code != 0 {
		t.Fatalf("--replace: exit %d\n%s", code, stderr)
	}
	pgtest.AssertSameRows(t, src, dst)
}
