package parquetpart

import (
	"fmt"

	"github.com/apache/arrow/go/v15/parquet"
	"github.com/apache/arrow/go/v15/parquet/file"

	"github.com/understudy-dev/understudy/schemas/pgarrow"
)

// readPacked writes the rows of pf, whose columns are cols, through enc as one binary COPY
// stream, batch rows at a time. It reads each column chunk with the Parquet library's own
// column reader and hands the values to the encoder as they come (pgarrow.Packed), with no
// Arrow arrays between: restoring spends its CPU on the pages and the COPY fields, not on
// building arrays to be read once. Strings are copied once, out of the page they were read
// from (a page's buffer does not outlive the page).
func readPacked(pf *file.Reader, cols []pgarrow.Column, batch int64, enc *pgarrow.Encoder) (rows int64, err error) {
	cur := make([]packedColumn, len(cols))
	out := make([]pgarrow.Packed, len(cols))
	for i := range cur {
		cur[i].want = pgarrow.PackedValues(cols[i])
	}
	for g := 0; g < pf.NumRowGroups(); g++ {
		rg := pf.RowGroup(g)
		if rg.NumColumns() != len(cols) {
			return rows, fmt.Errorf("%w: row group %d has %d columns, want %d", ErrCorrupt, g, rg.NumColumns(), len(cols))
		}
		for i := range cur {
			cr, err := rg.Column(i)
			if err == nil {
				err = cur[i].bind(cr, batch)
			}
			if err != nil {
				return rows, fmt.Errorf("%w: row group %d column %q: %w", ErrCorrupt, g, cols[i].Name, err)
			}
		}
		for left := rg.NumRows(); left > 0; {
			n := min(left, batch)
			for i := range cur {
				got, err := cur[i].read(n, &out[i])
				if err == nil && got != n {
					err = fmt.Errorf("%d rows where the row group has %d more", got, left)
				}
				if err != nil {
					return rows, fmt.Errorf("%w: row group %d column %q: %w", ErrCorrupt, g, cols[i].Name, err)
				}
			}
			if err := enc.WritePacked(int(n), out); err != nil {
				return rows, fmt.Errorf("read part: write COPY stream: %w", err)
			}
			rows += n
			left -= n
		}
	}
	return rows, nil
}

// packedColumn reads one column's chunks, a batch at a time, into buffers it reuses.
type packedColumn struct {
	want     pgarrow.Values
	r        file.ColumnChunkReader
	optional bool

	defs  []int16
	b     []bool
	i32   []int32
	i64   []int64
	f32   []float32
	f64   []float64
	ba    []parquet.ByteArray
	flba  []parquet.FixedLenByteArray
	bytes [][]byte
	arena []byte
	ends  []int
}

// bind makes c read the chunk cr, checking it holds the flat column of the type c wants.
func (c *packedColumn) bind(cr file.ColumnChunkReader, batch int64) error {
	d := cr.Descriptor()
	if d.MaxRepetitionLevel() != 0 || d.MaxDefinitionLevel() > 1 {
		return fmt.Errorf("not a flat column (repetition level %d, definition level %d)", d.MaxRepetitionLevel(), d.MaxDefinitionLevel())
	}
	ok := false
	switch cr.(type) {
	case *file.BooleanColumnChunkReader:
		ok = c.want == pgarrow.BoolValues
	case *file.Int32ColumnChunkReader:
		ok = c.want == pgarrow.Int32Values
	case *file.Int64ColumnChunkReader:
		ok = c.want == pgarrow.Int64Values
	case *file.Float32ColumnChunkReader:
		ok = c.want == pgarrow.Float32Values
	case *file.Float64ColumnChunkReader:
		ok = c.want == pgarrow.Float64Values
	case *file.ByteArrayColumnChunkReader, *file.FixedLenByteArrayColumnChunkReader:
		ok = c.want == pgarrow.BytesValues
	}
	if !ok {
		return fmt.Errorf("its values are Parquet %s, not what the column's type is stored as", d.PhysicalType())
	}
	c.r, c.optional = cr, d.MaxDefinitionLevel() == 1
	c.defs = grow(c.defs, batch)
	return nil
}

// read reads the next n rows (fewer at the chunk's end) into out, whose slices stay valid
// until the next read.
func (c *packedColumn) read(n int64, out *pgarrow.Packed) (int64, error) {
	*out = pgarrow.Packed{}
	var defs []int16
	if c.optional {
		defs = c.defs[:n]
	}
	var rows int64
	var err error
	switch r := c.r.(type) {
	case *file.BooleanColumnChunkReader:
		out.Bool, rows, err = readBatch(r, &c.b, n, defs)
	case *file.Int32ColumnChunkReader:
		out.Int32, rows, err = readBatch(r, &c.i32, n, defs)
	case *file.Int64ColumnChunkReader:
		out.Int64, rows, err = readBatch(r, &c.i64, n, defs)
	case *file.Float32ColumnChunkReader:
		out.Float32, rows, err = readBatch(r, &c.f32, n, defs)
	case *file.Float64ColumnChunkReader:
		out.Float64, rows, err = readBatch(r, &c.f64, n, defs)
	case *file.ByteArrayColumnChunkReader:
		var vs []parquet.ByteArray
		vs, rows, err = readBatch(r, &c.ba, n, defs)
		out.Bytes = c.keep(len(vs), func(i int) []byte { return vs[i] })
	case *file.FixedLenByteArrayColumnChunkReader:
		var vs []parquet.FixedLenByteArray
		vs, rows, err = readBatch(r, &c.flba, n, defs)
		out.Bytes = c.keep(len(vs), func(i int) []byte { return vs[i] })
	}
	if err != nil {
		return rows, err
	}
	if c.optional {
		out.Defs = c.defs[:rows]
	}
	return rows, nil
}

// batchReader is what the Parquet library's typed column chunk readers share.
type batchReader[T any] interface {
	ReadBatch(batchSize int64, values []T, defLvls, repLvls []int16) (total int64, valuesRead int, err error)
}

// readBatch reads up to n rows of r into buf (grown as needed), returning the values read
// and the rows (values and NULLs) they came from.
func readBatch[T any](r batchReader[T], buf *[]T, n int64, defs []int16) ([]T, int64, error) {
	*buf = grow(*buf, n)
	rows, k, err := r.ReadBatch(n, *buf, defs, nil)
	return (*buf)[:k], rows, err
}

// keep copies the k values value(i) into c's arena and returns them from there.
func (c *packedColumn) keep(k int, value func(i int) []byte) [][]byte {
	c.arena, c.ends = c.arena[:0], c.ends[:0]
	for i := 0; i < k; i++ {
		c.arena = append(c.arena, value(i)...)
		c.ends = append(c.ends, len(c.arena))
	}
	c.bytes = grow(c.bytes, int64(k))[:k]
	start := 0
	for i, end := range c.ends {
		c.bytes[i] = c.arena[start:end:end]
		start = end
	}
	return c.bytes
}

// grow returns s with a length of at least n, its contents not kept.
func grow[T any](s []T, n int64) []T {
	if int64(len(s)) >= n {
		return s
	}
	return make([]T, n)
}
