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

// ScaleStats reads what scaling needs to know of a key column's values, over every row of
// the table (and of all its partitions).
type ScaleStats interface {
	// IntRange returns an integer column's smallest and largest value; ok is false when it
	// has none.
	IntRange(ctx context.Context, t *schemas.Table, col string) (lo, hi int64, ok bool, err error)
	// TextStats reports, for each separator, whether a text column has a value ending in it
	// followed by digits, and the column's longest value in characters.
	TextStats(ctx context.Context, t *schemas.Table, col string, seps []string) (clash []bool, longest int, err error)
}

// SQLStats reads them with queries, in the source's snapshot (or, after a load, in the
// target).
type SQLStats struct {
	Q    schemas.Querier
	Side string // the database Q reads, for errors; empty: "source"
}

func (s SQLStats) side() string {
	if s.Side == "" {
		return "source"
	}
	return s.Side
}

func (s SQLStats) IntRange(ctx context.Context, t *schemas.Table, col string) (int64, int64, bool, error) {
	var lo, hi *int64
	c := schemas.QuoteIdent(col)
	if err := s.Q.QueryRow(ctx, "SELECT min("+c+")::int8, max("+c+")::int8 FROM "+t.Name.Quoted()).Scan(&lo, &hi); err != nil {
		return 0, 0, false, fmt.Errorf("%s: range of %s.%s: %w", s.side(), t.Name, col, err)
	}
	if lo == nil {
		return 0, 0, false, nil
	}
	return *lo, *hi, true, nil
}

func (s SQLStats) TextStats(ctx context.Context, t *schemas.Table, col string, seps []string) ([]bool, int, error) {
	c := schemas.QuoteIdent(col)
	q := "SELECT max(char_length(" + c + "))"
	args := make([]any, len(seps))
	for i, sep := range seps {
		q += fmt.Sprintf(", coalesce(bool_or(%s ~ $%d), false)", c, i+1)
		args[i] = "^.*" + regexpQuote(sep) + "[0-9]+$"
	}
	var longest *int
	clash := make([]bool, len(seps))
	dst := []any{&longest}
	for i := range clash {
		dst = append(dst, &clash[i])
	}
	if err := s.Q.QueryRow(ctx, q+" FROM "+t.Name.Quoted(), args...).Scan(dst...); err != nil {
		return nil, 0, fmt.Errorf("%s: values of %s.%s: %w", s.side(), t.Name, col, err)
	}
	if longest == nil {
		return clash, 0, nil
	}
	return clash, *longest, nil
}

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
