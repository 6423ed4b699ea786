package rehearse

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"
)

// progress is the live line on a terminal: which migration and statement runs, for how long.
type progress struct {
	w  io.Writer
	mu sync.Mutex

	mig, migs, stmt, stmts int
	name, sql              string
	since                  time.Time
}

func newProgress(w io.Writer) *progress { return &progress{w: w, since: time.Now()} }

func (p *progress) migration(i, n int, name string, stmts int) {
	p.mu.Lock()
	p.mig, p.migs, p.name, p.stmts, p.stmt = i, n, name, stmts, 0
	p.mu.Unlock()
}

func (p *progress) statement(i int, sql string) {
	p.mu.Lock()
	p.stmt, p.sql, p.since = i, sql, time.Now()
	p.mu.Unlock()
}

func (p *progress) run(ctx context.Context, stop <-chan struct{}) {
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
		case <-stop:
		case <-t.C:
			p.mu.Lock()
			line := fmt.Sprintf("[%d/%d] %s  statement %d/%d  %5.1fs  %s", p.mig, p.migs, p.name, p.stmt, p.stmts,
				time.Since(p.since).Seconds(), shorten(p.sql, 60))
			if p.migs == 0 {
				line = fmt.Sprintf("%s  %5.1fs  %s", p.name, time.Since(p.since).Seconds(), shorten(p.sql, 60))
			}
			p.mu.Unlock()
			fmt.Fprintf(p.w, "\r\x1b[K%s", line)
			continue
		}
		fmt.Fprint(p.w, "\r\x1b[K")
		return
	}
}
