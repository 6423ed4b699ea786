//go:build unix

package benchmarks

import (
	"context"
	"fmt"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"
)

// meter adds up what one approach's subprocesses cost the client side: CPU time (user+sys)
// summed over every process, and the largest resident set any of them reached. The
// numbers come from wait4's rusage, which on Linux covers the process and every descendant
// it waited for, so a `bash -c 'a | b'` pipeline counts a and b, and pg_restore -j counts
// its forked workers. Safe for concurrent use.
type meter struct {
	mu        sync.Mutex
	cpu       time.Duration
	maxRSSKiB int64
	steps     []step
}

// step is one finished subprocess, for the log.
type step struct {
	label string
	wall  time.Duration
}

// run runs cmd to completion and charges it to the meter, whether or not it succeeds. On
// failure the error carries the end of the command's stderr.
func (m *meter) run(label string, cmd *exec.Cmd) error {
	_, _, err := m.runLogged(label, cmd)
	return err
}

// runLogged is run that also returns what the command wrote to stderr (understudy's log,
// bounded as tailBuffer is) and when it started.
func (m *meter) runLogged(label string, cmd *exec.Cmd) (string, time.Time, error) {
	var stderr tailBuffer
	cmd.Stderr = &stderr
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	if ps := cmd.ProcessState; ps != nil {
		if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
			m.add(label, wall, ru)
		}
	}
	if err != nil {
		return "", start, fmt.Errorf("%s: %w\n%s", label, err, strings.TrimSpace(stderr.String()))
	}
	return stderr.String(), start, nil
}

func (m *meter) add(label string, wall time.Duration, ru *syscall.Rusage) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.cpu += time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	m.maxRSSKiB = max(m.maxRSSKiB, rssKiB(int64(ru.Maxrss)))
	m.steps = append(m.steps, step{label, wall})
}

// rssKiB converts ru_maxrss to KiB: Linux and the BSDs report KiB, macOS bytes.
func rssKiB(maxrss int64) int64 {
	if runtime.GOOS == "darwin" {
		return maxrss / 1024
	}
	return maxrss
}

// tailBuffer keeps the last 8 KiB written to it: enough for an error message, bounded
// however chatty the command is.
type tailBuffer struct {
	b []byte
}

const tailLimit = 8 << 10

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.b = append(t.b, p...)
	if len(t.b) > 2*tailLimit {
		t.b = append(t.b[:0], t.b[len(t.b)-tailLimit:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	if len(t.b) > tailLimit {
		return "…" + string(t.b[len(t.b)-tailLimit:])
	}
	return string(t.b)
}

// commandContext is exec.CommandContext with env added to the inherited environment.
func commandContext(ctx context.Context, env []string, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(cmd.Environ(), env...)
	return cmd
}
