package parquetpart

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/parquet"
	"github.com/apache/arrow/go/v15/parquet/file"
	"github.com/apache/arrow/go/v15/parquet/metadata"
	"github.com/apache/arrow/go/v15/parquet/pqarrow"

	"github.com/understudy-dev/understudy/schemas/pgarrow"
)

// ErrCorrupt is wrapped by the errors for a file that is not a part this package wrote for
// these columns: not Parquet, truncated, damaged, of another format version, or of another
// schema.
var ErrCorrupt = errors.New("not a valid snapshot part")

// readBufSize is the read buffer of each column chunk being read: a part is read column
// chunk by column chunk through these, never whole.
const readBufSize = 256 << 10

// ReadPart writes the rows of the part file held in ra (size bytes) to w as one COPY stream
// in the format WriteParts read: binary with header and trailer, or text lines when text is
// true, ready for COPY … FROM STDIN. cols must be the columns the part was written with: its
// schema is checked against them, and each column's encoding (native, or raw as
// Options.Raw asked) is the part's. It returns the number of rows written.
//
// A binary part is read column chunk by column chunk with the Parquet library's column
// readers, its values handed to the COPY encoder with no Arrow arrays between (readPacked);
// a text part goes through the Arrow reader. Memory is bounded by one batch of values (about
// 4 MiB, from the row groups' average row size), a page and a 256 KiB read buffer per
// column, never by the part's size. A damaged file gives
// an error wrapping ErrCorrupt, or the error of the Parquet or COPY codec; it never panics
// (the Parquet library's panics on some damaged files are recovered into ErrCorrupt; the
// Arrow memory of that read is then left to the garbage collector). Parquet pages carry no
// checksum: a flipped bit in a value may read back as a different value, so a restore checks
// the part's SHA-256 (Part.SHA256, in the manifest). Rows written to w before an error are
// not a complete stream: the caller aborts the COPY they feed.
func ReadPart(ra io.ReaderAt, size int64, cols []pgarrow.Column, text bool, w io.Writer, o Options) (rows int64, err error) {
	o = o.withDefaults()
	if !text && len(cols) == 0 {
		return 0, errors.New("read part: a table without columns has no binary part (copy it in text format)")
	}
	// The Parquet reader trusts the lengths and offsets inside the file; on some damaged files
	// it indexes out of range rather than failing. That is a corrupt part, not a crash.
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("read part: %w: %v", ErrCorrupt, p)
		}
	}()
	props := parquet.NewReaderProperties(o.Mem)
	props.BufferedStreamEnabled = true
	props.BufferSize = readBufSize
	pf, err := file.NewParquetReader(io.NewSectionReader(ra, 0, size), file.WithReadProps(props))
	if err != nil {
		return 0, fmt.Errorf("read part: %w: %w", ErrCorrupt, err)
	}
	defer pf.Close()
	md := pf.MetaData()
	if err := checkMetadata(md, size, text); err != nil {
		return 0, fmt.Errorf("read part: %w: %w", ErrCorrupt, err)
	}
	dropArrowSchema(md)
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: readBatchRows(md)}, o.Mem)
	if err != nil {
		return 0, fmt.Errorf("read part: %w: %w", ErrCorrupt, err)
	}
	got, err := fr.Schema()
	if err != nil {
		return 0, fmt.Errorf("read part: %w: %w", ErrCorrupt, err)
	}
	encCols, err := partColumns(got, cols, text)
	if err != nil {
		return 0, fmt.Errorf("read part: %w: %w", ErrCorrupt, err)
	}
	var closeOut func() error // flushes the stream; the COPY trailer for a binary one
	if !text {
		enc := pgarrow.NewEncoder(w, encCols)
		rows, err = readPacked(pf, encCols, readBatchRows(md), enc)
		closeOut = enc.Close
	} else {
		lines := &lineWriter{w: bufio.NewWriterSize(w, 256<<10)}
		rows, err = readLines(fr, lines)
		closeOut = lines.Close
	}
	if err != nil {
		return rows, err
	}
	if rows != md.NumRows {
		return rows, fmt.Errorf("read part: %w: read %d rows, the footer says %d", ErrCorrupt, rows, md.NumRows)
	}
	if err := closeOut(); err != nil {
		return rows, fmt.Errorf("read part: write COPY stream: %w", err)
	}
	return rows, nil
}

// readLines writes the lines of a text-format part to out.
func readLines(fr *pqarrow.FileReader, out *lineWriter) (rows int64, err error) {
	rr, err := fr.GetRecordReader(context.Background(), nil, nil)
	if err != nil {
		return 0, fmt.Errorf("read part: %w: %w", ErrCorrupt, err)
	}
	defer rr.Release()
	for rr.Next() {
		rec := rr.Record()
		if err := out.Write(rec); err != nil {
			return rows, fmt.Errorf("read part: write COPY stream: %w", err)
		}
		rows += rec.NumRows()
	}
	if err := rr.Err(); err != nil && err != io.EOF {
		return rows, fmt.Errorf("read part: %w: %w", ErrCorrupt, err)
	}
	return rows, nil
}

// checkMetadata checks what the Parquet reader would otherwise trust: the format keys, and
// that every column chunk lies inside the file (a damaged length would have it read, or
// allocate, past the end).
func checkMetadata(md *metadata.FileMetaData, size int64, text bool) error {
	kv := md.KeyValueMetadata()
	if v := kv.FindValue(MetaFormat); v == nil || *v != FormatVersion {
		return fmt.Errorf("no %s=%s in the file's metadata", MetaFormat, FormatVersion)
	}
	want := CopyBinary
	if text {
		want = CopyText
	}
	if v := kv.FindValue(MetaCopyFormat); v == nil || *v != want {
		got := "none"
		if v != nil {
			got = *v
		}
		return fmt.Errorf("the part holds COPY format %q, want %q", got, want)
	}
	var rows int64
	for i := 0; i < len(md.RowGroups); i++ {
		rg := md.RowGroup(i)
		if rg.NumRows() < 0 {
			return fmt.Errorf("row group %d has %d rows", i, rg.NumRows())
		}
		rows += rg.NumRows()
		for c := 0; c < rg.NumColumns(); c++ {
			cc, err := rg.ColumnChunk(c)
			if err != nil {
				return fmt.Errorf("row group %d: %w", i, err)
			}
			start := cc.DataPageOffset()
			if cc.HasDictionaryPage() && cc.DictionaryPageOffset() > 0 && cc.DictionaryPageOffset() < start {
				start = cc.DictionaryPageOffset()
			}
			n := cc.TotalCompressedSize()
			if start < 4 || n < 0 || start > size || n > size-start {
				return fmt.Errorf("row group %d column %d: chunk at %d of %d bytes is outside the file (%d bytes)", i, c, start, n, size)
			}
		}
	}
	if rows != md.NumRows {
		return fmt.Errorf("the row groups hold %d rows, the footer says %d", rows, md.NumRows)
	}
	return nil
}

// dropArrowSchema removes ARROW:schema from md's key-value metadata before pqarrow reads it.
// pqarrow decodes it as flatbuffers without verifying them, and a damaged length there makes
// it allocate hundreds of gigabytes: a fatal out-of-memory, not an error. Reading a part needs
// none of it: the Arrow types follow from the Parquet schema and are checked against the
// columns' (checkSchema), and the field metadata is known from the columns.
func dropArrowSchema(md *metadata.FileMetaData) {
	kv := md.KeyValueMetadata()
	kept := make(metadata.KeyValueMetadata, 0, len(kv))
	for _, e := range kv {
		if e != nil && e.Key != "ARROW:schema" {
			kept = append(kept, e)
		}
	}
	md.FileMetaData.KeyValueMetadata = kept
}

// partColumns matches the part's schema, as the Parquet reader maps it to Arrow, to cols:
// the same names, and for each column the type of its native mapping or, for a column
// written raw (Options.Raw), Binary. It returns the columns with Native set as the part has
// them (none for a text part, checked to be its one String column).
func partColumns(got *arrow.Schema, cols []pgarrow.Column, text bool) ([]pgarrow.Column, error) {
	if text {
		if got.NumFields() != 1 || got.Field(0).Name != TextColumn || !arrow.TypeEqual(got.Field(0).Type, arrow.BinaryTypes.String) {
			return nil, fmt.Errorf("a text part has the one String column %q, this has %s", TextColumn, got)
		}
		return nil, nil
	}
	if got.NumFields() != len(cols) {
		return nil, fmt.Errorf("the part has %d columns, want %d", got.NumFields(), len(cols))
	}
	enc := nativeColumns(cols, nil)
	for i := range enc {
		g := got.Field(i)
		want := pgarrow.Field(enc[i]).Type
		same := sameType(g.Type, want)
		if !same && pgarrow.IsNative(enc[i]) && g.Type.ID() == arrow.BINARY {
			enc[i].Native = false // written raw
			want, same = pgarrow.Field(enc[i]).Type, true
		}
		if g.Name != enc[i].Name || !same {
			return nil, fmt.Errorf("column %d is %q %s, want %q %s", i+1, g.Name, g.Type, enc[i].Name, want)
		}
	}
	return enc, nil
}

// sameType reports whether a column the Parquet reader maps to got holds values of type
// want. It gives every timestamp column the time zone UTC, also those written without one
// (it ignores isAdjustedToUTC=false); the values are the same.
func sameType(got, want arrow.DataType) bool {
	if arrow.TypeEqual(got, want) {
		return true
	}
	gt, ok1 := got.(*arrow.TimestampType)
	wt, ok2 := want.(*arrow.TimestampType)
	return ok1 && ok2 && gt.Unit == wt.Unit && gt.TimeZone == "UTC" && wt.TimeZone == ""
}

// readBatchRows picks the batch size for reading md: about batchBytes of uncompressed data by
// the largest average row of its row groups, and at most batchRows rows, so that a part of
// wide rows is not read 8192 rows at a time.
func readBatchRows(md *metadata.FileMetaData) int64 {
	n := int64(batchRows)
	for i := 0; i < len(md.RowGroups); i++ {
		rg := md.RowGroup(i)
		if rg.NumRows() <= 0 || rg.TotalByteSize() <= 0 {
			continue
		}
		perRow := max(rg.TotalByteSize()/rg.NumRows(), 1)
		n = min(n, max(batchBytes/perRow, 1))
	}
	return n
}

// lineWriter writes a text-format part's lines back as a COPY text stream.
type lineWriter struct {
	w *bufio.Writer
}

func (l *lineWriter) Write(rec arrow.Record) error {
	col, ok := rec.Column(0).(*array.String)
	if !ok || rec.NumCols() != 1 {
		return fmt.Errorf("%w: text part batch is not one String column", ErrCorrupt)
	}
	if col.NullN() > 0 {
		return fmt.Errorf("%w: %w", ErrCorrupt, errTextNull)
	}
	for i := 0; i < col.Len(); i++ {
		l.w.WriteString(col.Value(i))
		if err := l.w.WriteByte('\n'); err != nil {
			return err
		}
	}
	return nil
}

func (l *lineWriter) Close() error { return l.w.Flush() }
