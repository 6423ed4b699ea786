package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"

	"github.com/understudy-dev/understudy/schemas"
	"github.com/understudy-dev/understudy/schemas/pgarrow"
)

// StreamStats reads what scaling needs by streaming the key's table from a Source that has
// no query language (a snapshot being restored): one read of each key table, decoding only
// the key column.
type StreamStats struct {
	Src  Source
	Plan *Plan
}

// scan hands visit every batch of column col over the units of t (all its partitions).
func (s StreamStats) scan(ctx context.Context, t *schemas.Table, col string, visit func(arrow.Array)) error {
	r, err := s.Src.NewReader(ctx)
	if err != nil {
		return err
	}
	defer r.Close()
	mem := memory.NewGoAllocator()
	for _, u := range s.Plan.Units {
		if u.Table.Table != t && u.Table.Root() != t {
			continue
		}
		cols := ArrowColumns(&TablePlan{Table: u.Table.Table, Columns: u.Table.Columns})
		idx := -1
		for i := range cols {
			if cols[i].Name == col {
				idx = i
				cols[i].Native = true
			}
		}
		if idx < 0 {
			return fmt.Errorf("%s has no column %s", u.Table.Name, col)
		}
		pr, pw := io.Pipe()
		done := make(chan error, 1)
		go func() {
			_, err := r.CopyOut(ctx, u, pw)
			pw.CloseWithError(err)
			done <- err
		}()
		dec := pgarrow.NewDecoder(pr, cols, mem, pgarrow.DecoderOptions{})
		for {
			rec, err := dec.Read()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				pr.CloseWithError(err)
				<-done
				return fmt.Errorf("read %s: %w", u, err)
			}
			visit(rec.Column(idx))
			rec.Release()
		}
		if err := <-done; err != nil {
			return fmt.Errorf("read %s: %w", u, err)
		}
	}
	return nil
}

func (s StreamStats) IntRange(ctx context.Context, t *schemas.Table, col string) (lo, hi int64, ok bool, err error) {
	see := func(v int64) {
		if !ok || v < lo {
			lo = v
		}
		if !ok || v > hi {
			hi = v
		}
		ok = true
	}
	err = s.scan(ctx, t, col, func(a arrow.Array) {
		for j := 0; j < a.Len(); j++ {
			if a.IsNull(j) {
				continue
			}
			switch a := a.(type) {
			case *array.Int16:
				see(int64(a.Value(j)))
			case *array.Int32:
				see(int64(a.Value(j)))
			case *array.Int64:
				see(a.Value(j))
			}
		}
	})
	return lo, hi, ok, err
}

func (s StreamStats) TextStats(ctx context.Context, t *schemas.Table, col string, seps []string) (clash []bool, longest int, err error) {
	clash = make([]bool, len(seps))
	err = s.scan(ctx, t, col, func(a arrow.Array) {
		str, isStr := a.(*array.String)
		if !isStr {
			return
		}
		for j := 0; j < str.Len(); j++ {
			if str.IsNull(j) {
				continue
			}
			v := str.Value(j)
			longest = max(longest, utf8.RuneCountInString(v))
			head := strings.TrimRight(v, "0123456789")
			for i, sep := range seps {
				clash[i] = clash[i] || len(head) < len(v) && strings.HasSuffix(head, sep)
			}
		}
	})
	return clash, longest, err
}
