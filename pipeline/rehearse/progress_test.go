package rehearse

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"
)

// terminal stands in for a terminal: it keeps what was written to it.
type terminal struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (t *terminal) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.buf.Write(p)
}

func (t *terminal) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.buf.String()
}

// The live line is redrawn in place (carriage return, clear to end of line) with the
// migration, the statement and its time, and cleared when the rehearsal ends.
func TestProgressDrawsAndClears(t *testing.T) {
	for _, c := range []struct {
		name  string
		setup func(p *progress)
		want  string
	}{
		{"directory", func(p *progress) {
			p.migration(2, 5, "0002_index.sql", 3)
			p.statement(1, "CREATE INDEX orders_code ON orders (code)")
		}, "[2/5] 0002_index.sql  statement 1/3"},
		{"command", func(p *progress) {
			p.migration(0, 0, "goose up", 0)
			p.statement(0, "ALTER TABLE orders ADD COLUMN gift boolean")
		}, "goose up"},
	} {
		term := &terminal{}
		p := newProgress(term)
		c.setup(p)
		stop := make(chan struct{})
		done := make(chan struct{})
		go func() { p.run(context.Background(), stop); close(done) }()
		deadline := time.Now().Add(5 * time.Second)
		for strings.Count(term.String(), "\r\x1b[K") < 2 && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		close(stop)
		<-done
		out := term.String()
		lines := strings.Split(out, "\r\x1b[K")
		if len(lines) < 3 || lines[0] != "" {
			t.Fatalf("%s: want at least two lines drawn in place, got %q", c.name, out)
		}
		for _, l := range lines[1 : len(lines)-1] {
			if !strings.HasPrefix(l, c.want) || !strings.Contains(l, "s  ") || strings.Contains(l, "\n") {
				t.Errorf("%s: line %q: want %q, the time, and no newline", c.name, l, c.want)
			}
		}
		if !strings.Contains(lines[1], strings.Fields(c.want)[0]) || !strings.Contains(out, "ALTER TABLE orders ADD COLUMN gift") && !strings.Contains(out, "CREATE INDEX orders_code") {
			t.Errorf("%s: the statement is not shown: %q", c.name, out)
		}
		if !strings.HasSuffix(out, "\r\x1b[K") {
			t.Errorf("%s: the line must be cleared at the end: %q", c.name, out)
		}
	}
}
