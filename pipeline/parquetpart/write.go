package parquetpart

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/ipc"
	"github.com/apache/arrow/go/v15/parquet"
	"github.com/apache/arrow/go/v15/parquet/compress"
	"github.com/apache/arrow/go/v15/parquet/file"
	"github.com/apache/arrow/go/v15/parquet/metadata"
	"github.com/apache/arrow/go/v15/parquet/pqarrow"
	"github.com/apache/arrow/go/v15/parquet/schema"

	"github.com/understudy-dev/understudy/pipeline/store"
	"github.com/understudy-dev/understudy/schemas/pgarrow"
)

// WriteParts reads one COPY stream of cols from r — binary format, or text format when text
// is true — and writes it as zstd-compressed Parquet parts (see the package doc for the
// layout), each opened by next and closed by WriteParts. Every part is a complete,
// independently readable Parquet file. An empty stream still writes one part, with no rows,
// so that the table's schema is in the snapshot. It returns the parts in the order written.
//
// Memory is bounded by the row group being built (its Arrow batches: about RowGroupBytes,
// at most one batch of about 4 MiB more) plus the Parquet writer's buffers for one column
// chunk's pages, never by a part's or a table's size.
//
// On error the part being written is aborted (store.Writer.Abort) and the error returned;
// the parts closed before it are complete and are returned with the error, so that the caller
// can delete them. A stream pgarrow cannot decode losslessly gives its *pgarrow.Error
// (wrapped), naming the row and column; for a value out of its native type's range,
// OutOfRange names the column to put in Options.Raw.
func WriteParts(r io.Reader, cols []pgarrow.Column, text bool, next func() (store.Writer, error), o Options) ([]Part, error) {
	o = o.withDefaults()
	var src BatchReader
	if text {
		src = newLineReader(r, o)
	} else {
		src = pgarrow.NewDecoder(r, DecodeColumns(cols, o), o.Mem, pgarrow.DecoderOptions{
			BatchRows:  min(batchRows, o.RowGroupRows),
			BatchBytes: int(min(batchBytes, o.RowGroupBytes)),
		})
	}
	return writeParts(src, cols, text, "read COPY stream: ", next, o)
}

// WriteBatches is WriteParts for rows the caller has decoded already: batches of
// DecodeColumns(cols, o), in the binary format's layout, read from src until io.EOF (src's
// error is returned as it is, wrapped). It takes ownership of each batch src returns.
func WriteBatches(src BatchReader, cols []pgarrow.Column, next func() (store.Writer, error), o Options) ([]Part, error) {
	return writeParts(src, cols, false, "", next, o.withDefaults())
}

// DecodeColumns are the columns WriteParts decodes a binary COPY stream of cols into: each
// in its native Arrow type where it has one, unless o.Raw names it.
func DecodeColumns(cols []pgarrow.Column, o Options) []pgarrow.Column {
	return nativeColumns(cols, o.Raw)
}

// writeParts writes src's batches as parts; readErr prefixes src's errors.
func writeParts(src BatchReader, cols []pgarrow.Column, text bool, readErr string, next func() (store.Writer, error), o Options) ([]Part, error) {
	if !text && len(cols) == 0 {
		// Parquet counts rows by their columns' values: rows without columns would be lost.
		return nil, errors.New("write parts: a table without columns cannot be stored in binary format (copy it in text format)")
	}
	sc := Schema(cols, text, o.Raw...)
	pw, err := newPartWriter(sc, text, next, o)
	if err != nil {
		return nil, fmt.Errorf("write parts: %w", err)
	}
	for {
		rec, err := src.Read()
		if err == io.EOF {
			break
		}
		if err == nil {
			err = matchSchema(rec, sc)
		}
		if err != nil {
			pw.abort()
			return pw.parts, fmt.Errorf("%s%w", readErr, err)
		}
		// The decoder's batches carry pgarrow's schema; the part's adds the format keys.
		out := array.NewRecord(sc, rec.Columns(), rec.NumRows())
		rec.Release()
		err = pw.write(out)
		out.Release()
		if err != nil {
			pw.abort()
			return pw.parts, err
		}
	}
	if err := pw.finish(); err != nil {
		pw.abort()
		return pw.parts, err
	}
	return pw.parts, nil
}

// BatchReader yields Arrow batches, each the caller's to release, and io.EOF after the last:
// what the binary Decoder and the text lineReader share, and what WriteBatches reads.
type BatchReader interface {
	Read() (arrow.Record, error)
}

// matchSchema checks that rec has the columns of sc; it releases rec if not.
func matchSchema(rec arrow.Record, sc *arrow.Schema) error {
	if int(rec.NumCols()) != sc.NumFields() {
		rec.Release()
		return fmt.Errorf("a batch of %d columns for a table of %d", rec.NumCols(), sc.NumFields())
	}
	for i, f := range sc.Fields() {
		if t := rec.Column(i).DataType(); !arrow.TypeEqual(t, f.Type) {
			rec.Release()
			return fmt.Errorf("column %q: a batch of %s, the part holds %s", f.Name, t, f.Type)
		}
	}
	return nil
}

// partWriter writes batches into parts, cutting row groups and parts at their bounds.
//
// It holds the batches of the row group being built and writes them out column by column
// when the row group is full, through the Parquet writer's serial row groups: pages go to the
// store as they are compressed, so a part's size is known exactly at each row-group boundary.
// (pqarrow's FileWriter is not used: its buffered row groups leak a buffer per column chunk,
// and it marks timestamps without time zone as adjusted to UTC, which other readers take
// for instants.)
type partWriter struct {
	schema   *arrow.Schema
	pqschema *schema.GroupNode
	meta     metadata.KeyValueMetadata
	props    *parquet.WriterProperties
	ctx      context.Context // carries pqarrow's scratch buffers (no deadline: WriteParts ends with its reader)
	nullable []bool
	next     func() (store.Writer, error)
	o        Options
	parts    []Part

	// The part being written; fw is nil between parts.
	w         store.Writer
	hw        *hashWriter
	fw        *file.Writer
	rows      int64
	rowGroups int

	// The row group being built: batches (or slices of them) not yet written.
	pending        []arrow.Record
	rgRows, rgSize int64 // rows and Arrow bytes in pending
	levels         []int16
}

func newPartWriter(sc *arrow.Schema, text bool, next func() (store.Writer, error), o Options) (*partWriter, error) {
	opts := []parquet.WriterProperty{
		parquet.WithAllocator(o.Mem),
		parquet.WithCompression(compress.Codecs.Zstd),
		parquet.WithStats(true),
		// Dictionaries only for byte arrays: a float dictionary would merge -0 with 0 and
		// NaNs of different bits, and small fixed-width values gain little from one.
		parquet.WithDictionaryDefault(false),
		parquet.WithCreatedBy("understudy"),
		// Data pages v2: arrow-go v15 encodes v1 pages' definition levels into a buffer that
		// grows 64 bytes at a time, copying it each time; v2 pages do not, and write over
		// twice as fast. DuckDB, Spark, pyarrow and hyparquet read v2.
		parquet.WithDataPageVersion(parquet.DataPageV2),
		// The root of the schema is required, as the Parquet spec and parquet-mr have it.
		// arrow-go's default, repeated, gives every column a repetition level in readers that
		// count the root (hyparquet reads garbage then).
		parquet.WithRootRepetition(parquet.Repetitions.Required),
	}
	if !text { // COPY text lines are nearly all distinct
		for _, f := range sc.Fields() {
			if f.Type.ID() == arrow.STRING || f.Type.ID() == arrow.BINARY {
				opts = append(opts, parquet.WithDictionaryFor(f.Name, true))
			}
		}
	}
	props := parquet.NewWriterProperties(opts...)
	aprops := pqarrow.NewArrowWriterProperties(pqarrow.WithAllocator(o.Mem))
	root, err := parquetSchema(sc, props, aprops)
	if err != nil {
		return nil, err
	}
	meta := make(metadata.KeyValueMetadata, 0, sc.Metadata().Len()+1)
	for i, k := range sc.Metadata().Keys() {
		meta.Append(k, sc.Metadata().Values()[i])
	}
	// The Arrow schema, as pqarrow stores it, so that Arrow readers get the field metadata
	// (the PostgreSQL types) and the exact Arrow types back.
	var ipcSchema bytes.Buffer
	iw := ipc.NewWriter(&ipcSchema, ipc.WithSchema(sc), ipc.WithAllocator(o.Mem))
	if err := iw.Close(); err != nil {
		return nil, fmt.Errorf("serialize the Arrow schema: %w", err)
	}
	meta.Append("ARROW:schema", base64.StdEncoding.EncodeToString(ipcSchema.Bytes()))

	nullable := make([]bool, sc.NumFields())
	for i, f := range sc.Fields() {
		nullable[i] = f.Nullable
	}
	return &partWriter{
		schema:   sc,
		pqschema: root,
		meta:     meta,
		props:    props,
		ctx:      pqarrow.NewArrowWriteContext(context.Background(), &aprops),
		nullable: nullable,
		next:     next,
		o:        o,
	}, nil
}

// parquetSchema is pqarrow's Parquet schema for sc, with two logical types set as the
// Parquet spec means them, which pqarrow v15 does not: a timestamp without time zone is not
// adjusted to UTC (it is a wall-clock time; readers that honour the flag, such as DuckDB
// and Spark, would shift it into their session's time zone), and a uuid is a UUID rather than
// 16 anonymous bytes. Both read back into the same Arrow types.
func parquetSchema(sc *arrow.Schema, props *parquet.WriterProperties, aprops pqarrow.ArrowWriterProperties) (*schema.GroupNode, error) {
	pq, err := pqarrow.ToParquet(sc, props, aprops)
	if err != nil {
		return nil, fmt.Errorf("Parquet schema: %w", err)
	}
	root := pq.Root()
	fields := make(schema.FieldList, root.NumFields())
	for i := range fields {
		fields[i] = root.Field(i)
		var logical schema.LogicalType
		switch t := sc.Field(i).Type.(type) {
		case *arrow.TimestampType:
			if t.TimeZone == "" {
				logical = schema.NewTimestampLogicalType(false, timeUnit[t.Unit])
			}
		case *arrow.FixedSizeBinaryType:
			if t.ByteWidth == 16 { // pgarrow's only fixed-size binary: uuid
				logical = schema.UUIDLogicalType{}
			}
		}
		if logical == nil {
			continue
		}
		n, ok := fields[i].(*schema.PrimitiveNode)
		if !ok {
			return nil, fmt.Errorf("Parquet schema: column %q is not a primitive", sc.Field(i).Name)
		}
		fields[i], err = schema.NewPrimitiveNodeLogical(n.Name(), n.RepetitionType(), logical, n.PhysicalType(), n.TypeLength(), n.FieldID())
		if err != nil {
			return nil, fmt.Errorf("Parquet schema: column %q: %w", sc.Field(i).Name, err)
		}
	}
	return schema.NewGroupNode(root.Name(), root.RepetitionType(), fields, root.FieldID())
}

var timeUnit = map[arrow.TimeUnit]schema.TimeUnitType{
	arrow.Millisecond: schema.TimeUnitMillis,
	arrow.Microsecond: schema.TimeUnitMicros,
	arrow.Nanosecond:  schema.TimeUnitNanos,
}

func (p *partWriter) open() error {
	w, err := p.next()
	if err != nil {
		return fmt.Errorf("create part %d: %w", len(p.parts), err)
	}
	p.w, p.hw = w, &hashWriter{w: w, h: sha256.New()}
	p.fw = file.NewParquetWriter(p.hw, p.pqschema, file.WithWriterProps(p.props), file.WithWriteMetadata(p.meta))
	p.rows, p.rowGroups = 0, 0
	if p.hw.err != nil {
		err := p.writeErr(p.hw.err)
		p.abort()
		return err
	}
	return nil
}

// write adds rec's rows to the row group being built, writing the row group out (and, past
// PartBytes, closing the part) each time it fills. It keeps a reference to rec (or to
// slices of it) until then.
func (p *partWriter) write(rec arrow.Record) error {
	n := rec.NumRows()
	for off := int64(0); off < n; {
		take := min(n-off, int64(p.o.RowGroupRows)-p.rgRows)
		s := rec
		if take != n {
			s = rec.NewSlice(off, off+take)
		} else {
			s.Retain()
		}
		p.pending = append(p.pending, s)
		p.rgRows += take
		p.rgSize += recordBytes(s)
		off += take
		if p.rgRows >= int64(p.o.RowGroupRows) || p.rgSize >= p.o.RowGroupBytes {
			if err := p.flushRowGroup(); err != nil {
				return err
			}
			if p.hw.n >= p.o.PartBytes {
				if err := p.closePart(); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// flushRowGroup writes the pending batches as one row group of the current part, opening
// the part first if needed.
func (p *partWriter) flushRowGroup() error {
	defer p.releasePending()
	if p.fw == nil {
		if err := p.open(); err != nil {
			return err
		}
	}
	rgw := p.fw.AppendRowGroup()
	for c := range p.nullable {
		cw, err := rgw.NextColumn()
		if err != nil {
			return p.writeErr(err)
		}
		for _, rec := range p.pending {
			arr := rec.Column(c)
			if err := pqarrow.WriteArrowToColumn(p.ctx, cw, arr, p.defLevels(c, arr), nil, p.nullable[c]); err != nil {
				return p.writeErr(fmt.Errorf("column %q: %w", p.schema.Field(c).Name, err))
			}
		}
		if p.hw.err != nil {
			return p.writeErr(p.hw.err)
		}
	}
	if err := rgw.Close(); err != nil {
		return p.writeErr(err)
	}
	if p.hw.err != nil {
		return p.writeErr(p.hw.err)
	}
	p.rows += p.rgRows
	p.rowGroups++
	return nil
}

// defLevels returns the Parquet definition levels of a flat column: 1 for a value, 0 for a
// NULL; nil for a column that cannot hold NULLs. Valid until the next call.
func (p *partWriter) defLevels(c int, arr arrow.Array) []int16 {
	if !p.nullable[c] {
		return nil
	}
	n := arr.Len()
	if cap(p.levels) < n {
		p.levels = make([]int16, n)
	}
	lv := p.levels[:n]
	if arr.NullN() == 0 {
		for i := range lv {
			lv[i] = 1
		}
		return lv
	}
	for i := range lv {
		if arr.IsValid(i) {
			lv[i] = 1
		} else {
			lv[i] = 0
		}
	}
	return lv
}

func (p *partWriter) releasePending() {
	for _, r := range p.pending {
		r.Release()
	}
	clear(p.pending)
	p.pending = p.pending[:0]
	p.rgRows, p.rgSize = 0, 0
}

// finish writes what is pending and closes the last part; a stream that gave no rows at
// all still gets one, empty, part.
func (p *partWriter) finish() error {
	if p.rgRows > 0 {
		if err := p.flushRowGroup(); err != nil {
			return err
		}
	}
	if p.fw == nil && len(p.parts) == 0 {
		if err := p.open(); err != nil {
			return err
		}
	}
	if p.fw != nil {
		return p.closePart()
	}
	return nil
}

func (p *partWriter) writeErr(err error) error {
	return fmt.Errorf("write part %d: %w", len(p.parts), err)
}

// closePart finishes the current part: the Parquet footer, then the store object.
func (p *partWriter) closePart() error {
	err := p.fw.Close()
	p.fw = nil
	if err == nil {
		err = p.hw.err
	}
	if err != nil {
		err = p.writeErr(err)
		p.abort()
		return err
	}
	if err := p.w.Close(); err != nil {
		p.w, p.hw = nil, nil
		return fmt.Errorf("close part %d: %w", len(p.parts), err)
	}
	p.parts = append(p.parts, Part{Rows: p.rows, Bytes: p.hw.n, SHA256: hex.EncodeToString(p.hw.h.Sum(nil)), RowGroups: p.rowGroups})
	p.w, p.hw = nil, nil
	return nil
}

// abort discards the current part, if any, and the pending batches.
func (p *partWriter) abort() {
	p.releasePending()
	if p.hw != nil && p.hw.err == nil {
		p.hw.err = errAborted // from here on nothing reaches the store
	}
	if p.fw != nil {
		p.closeDiscarding()
		p.fw = nil
	}
	if p.w != nil {
		_ = p.w.Abort() // the error that made us abort is the one to report
		p.w = nil
	}
	p.hw = nil
}

// closeDiscarding closes the Parquet writer into the discarding hashWriter, to release its
// buffers. After a failure half-way through a row group the writer's state is inconsistent;
// a panic from closing it then is swallowed, since nothing of the part is kept anyway.
func (p *partWriter) closeDiscarding() {
	defer func() { _ = recover() }()
	_ = p.fw.Close()
}

var errAborted = errors.New("part aborted")

// hashWriter counts and hashes what reaches the store. It never fails a Write: the first
// error is kept in err, and every byte after it is dropped. The Parquet writer ignores some
// write errors (the magic, a row group closed by the next) and stops half-way, holding its
// buffers, on others; so it always sees success, and the caller checks err after each call.
type hashWriter struct {
	w   io.Writer
	h   hash.Hash
	n   int64
	err error
}

func (hw *hashWriter) Write(b []byte) (int, error) {
	if hw.err != nil {
		return len(b), nil
	}
	n, err := hw.w.Write(b)
	hw.h.Write(b[:n])
	hw.n += int64(n)
	if err == nil && n < len(b) {
		err = io.ErrShortWrite
	}
	hw.err = err
	return len(b), nil
}

// recordBytes is the size of rec's values as Arrow holds them: validity bitmaps, fixed-width
// values, offsets and variable-width data, for the rows of rec only (rec may be a slice).
func recordBytes(rec arrow.Record) int64 {
	n := rec.NumRows()
	var size int64
	for _, c := range rec.Columns() {
		size += (n + 7) / 8
		switch a := c.(type) {
		case *array.String:
			offs := a.ValueOffsets()
			size += 4*n + int64(offs[n]-offs[0])
		case *array.Binary:
			offs := a.ValueOffsets()
			size += 4*n + int64(offs[n]-offs[0])
		default:
			if fw, ok := c.DataType().(arrow.FixedWidthDataType); ok {
				size += n * int64(max(fw.BitWidth()/8, 1))
			}
		}
	}
	return size
}
