package parquetpart_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/apache/arrow/go/v15/parquet"
	"github.com/apache/arrow/go/v15/parquet/compress"
	"github.com/apache/arrow/go/v15/parquet/file"
	"github.com/apache/arrow/go/v15/parquet/pqarrow"
	pqschema "github.com/apache/arrow/go/v15/parquet/schema"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/understudy-dev/understudy/pipeline/parquetpart"
	"github.com/understudy-dev/understudy/pipeline/store"
	"github.com/understudy-dev/understudy/schemas/pgarrow"
)

// A stream split into parts comes back, part by part, as the same rows, byte for byte.
func TestRoundTripSynthetic(t *testing.T) {
	stream := synthStream(t, 20000)
	for _, tc := range []struct {
		name      string
		o         parquetpart.Options
		manyParts bool
	}{
		{"defaults", parquetpart.Options{}, false},
		{"small row groups and parts", parquetpart.Options{RowGroupRows: 700, PartBytes: 64 << 10}, true},
		{"row groups cut by bytes", parquetpart.Options{RowGroupBytes: 100 << 10, PartBytes: 256 << 10}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mem := checkedMem(t)
			tc.o.Mem = mem
			parts, ws := writeParts(t, stream, synthCols, false, tc.o)
			if tc.manyParts != (len(parts) > 1) {
				t.Errorf("%d parts", len(parts))
			}
			var outs [][]byte
			var rows int64
			for i, p := range parts {
				out, n := readPart(t, ws[i].Bytes(), synthCols, false, tc.o)
				if n != p.Rows {
					t.Errorf("part %d: read %d rows, WriteParts reported %d", i, n, p.Rows)
				}
				if tc.o.RowGroupRows > 0 && p.RowGroups < int(p.Rows)/tc.o.RowGroupRows {
					t.Errorf("part %d: %d row groups for %d rows, at most %d a group", i, p.RowGroups, p.Rows, tc.o.RowGroupRows)
				}
				rows += n
				outs = append(outs, out)
			}
			if rows != 20000 {
				t.Errorf("parts hold %d rows, want 20000", rows)
			}
			if !bytes.Equal(joinStreams(outs), stream) {
				t.Errorf("the parts' rows differ from the stream's")
			}
		})
	}
}

// An empty stream still gives one part: the table's schema is in the snapshot.
func TestEmptyStreamWritesOneEmptyPart(t *testing.T) {
	mem := checkedMem(t)
	o := parquetpart.Options{Mem: mem}
	stream := synthStream(t, 0)
	parts, ws := writeParts(t, stream, synthCols, false, o)
	if len(parts) != 1 || parts[0].Rows != 0 || parts[0].RowGroups != 0 {
		t.Fatalf("parts %+v, want one with no rows", parts)
	}
	out, n := readPart(t, ws[0].Bytes(), synthCols, false, o)
	if n != 0 || !bytes.Equal(out, stream) {
		t.Errorf("read %d rows, %d bytes; want the empty stream back", n, len(out))
	}
	schema := readSchema(t, ws[0].Bytes())
	if schema.NumFields() != len(synthCols) {
		t.Errorf("empty part has %d columns, want %d", schema.NumFields(), len(synthCols))
	}

	text := []pgarrow.Column{{Name: "q", TypeOID: 3615, TypeName: "tsquery"}}
	parts, ws = writeParts(t, nil, text, true, o)
	if len(parts) != 1 || parts[0].Rows != 0 {
		t.Fatalf("text parts %+v, want one with no rows", parts)
	}
	if out, n := readPart(t, ws[0].Bytes(), text, true, o); n != 0 || len(out) != 0 {
		t.Errorf("text: read %d rows, %q", n, out)
	}
}

// Parts roll over at PartBytes: several parts, each a readable file of about that size.
func TestPartsRollAtPartBytes(t *testing.T) {
	mem := checkedMem(t)
	const partBytes = 100 << 10
	o := parquetpart.Options{Mem: mem, RowGroupRows: 1000, PartBytes: partBytes}
	stream := synthStream(t, 30000)
	parts, ws := writeParts(t, stream, synthCols, false, o)
	if len(parts) < 4 {
		t.Fatalf("%d parts, want several", len(parts))
	}
	var rows int64
	for i, p := range parts {
		if i < len(parts)-1 && (p.Bytes < partBytes/2 || p.Bytes > 3*partBytes) {
			t.Errorf("part %d is %d bytes, want about %d", i, p.Bytes, partBytes)
		}
		if p.RowGroups < 2 {
			t.Errorf("part %d has %d row groups", i, p.RowGroups)
		}
		_, n := readPart(t, ws[i].Bytes(), synthCols, false, o)
		if n != p.Rows {
			t.Errorf("part %d: read %d rows, want %d", i, n, p.Rows)
		}
		rows += n
	}
	if rows != 30000 {
		t.Errorf("parts hold %d rows, want 30000", rows)
	}
}

// Part.SHA256 and Part.Bytes describe exactly the bytes that reached the store.
func TestPartDigestIsOfTheBytesWritten(t *testing.T) {
	o := parquetpart.Options{Mem: checkedMem(t), RowGroupRows: 500, PartBytes: 32 << 10}
	parts, ws := writeParts(t, synthStream(t, 5000), synthCols, false, o)
	for i, p := range parts {
		sum := sha256.Sum256(ws[i].Bytes())
		if p.SHA256 != hex.EncodeToString(sum[:]) || p.Bytes != int64(ws[i].Len()) {
			t.Errorf("part %d: reported %d bytes, sha256 %s; wrote %d, %x", i, p.Bytes, p.SHA256, ws[i].Len(), sum)
		}
	}
}

// The layout the package doc promises: zstd everywhere, dictionaries for byte arrays only,
// statistics, the format keys, and the PostgreSQL types in the stored Arrow schema.
func TestPartLayout(t *testing.T) {
	o := parquetpart.Options{Mem: checkedMem(t), RowGroupRows: 1000}
	_, ws := writeParts(t, synthStream(t, 3000), synthCols, false, o)
	data := ws[0].Bytes()
	pf, err := file.NewParquetReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	defer pf.Close()
	md := pf.MetaData()
	kv := md.KeyValueMetadata()
	for k, want := range map[string]string{parquetpart.MetaFormat: "1", parquetpart.MetaCopyFormat: "binary"} {
		if v := kv.FindValue(k); v == nil || *v != want {
			t.Errorf("key-value metadata %s = %v, want %q", k, v, want)
		}
	}
	if kv.FindValue("ARROW:schema") == nil {
		t.Error("no ARROW:schema in the key-value metadata")
	}
	if len(md.RowGroups) != 3 {
		t.Errorf("%d row groups, want 3", len(md.RowGroups))
	}
	for i := range md.RowGroups {
		rg := md.RowGroup(i)
		for c := 0; c < rg.NumColumns(); c++ {
			cc, err := rg.ColumnChunk(c)
			if err != nil {
				t.Fatal(err)
			}
			name := cc.PathInSchema().String()
			if cc.Compression() != compress.Codecs.Zstd {
				t.Errorf("row group %d column %s: compression %s", i, name, cc.Compression())
			}
			if set, _ := cc.StatsSet(); !set {
				t.Errorf("row group %d column %s: no statistics", i, name)
			}
			pr, err := pf.RowGroup(i).GetColumnPageReader(c)
			if err != nil {
				t.Fatal(err)
			}
			for pr.Next() {
				if pt := pr.Page().Type().String(); pt != "DATA_PAGE_V2" && pt != "DICTIONARY_PAGE" {
					t.Errorf("row group %d column %s: a %s page, want data pages v2", i, name, pt)
				}
			}
			if err := pr.Err(); err != nil {
				t.Fatal(err)
			}
			byteArray := cc.Type() == parquet.Types.ByteArray
			if cc.HasDictionaryPage() != byteArray {
				t.Errorf("row group %d column %s (%s): dictionary %v", i, name, cc.Type(), cc.HasDictionaryPage())
			}
		}
	}

	schema := readSchema(t, data)
	if v, _ := schema.Metadata().GetValue(parquetpart.MetaFormat); v != "1" {
		t.Errorf("Arrow schema metadata %s = %q", parquetpart.MetaFormat, v)
	}
	want := parquetpart.Schema(synthCols, false)
	for i, f := range want.Fields() {
		g := schema.Field(i)
		if g.Name != f.Name || g.Type.String() != f.Type.String() && f.Name != "ts" {
			t.Errorf("column %d: %s %s, want %s %s", i, g.Name, g.Type, f.Name, f.Type)
		}
		for _, k := range f.Metadata.Keys() {
			wv, _ := f.Metadata.GetValue(k)
			if gv, ok := g.Metadata.GetValue(k); !ok || gv != wv {
				t.Errorf("column %s: metadata %s = %q, want %q", f.Name, k, gv, wv)
			}
		}
	}
	for name, want := range map[string]string{"d": "sentinel", "ts": "sentinel", "iv": ""} {
		f, _ := schema.FieldsByName(name)
		if got, _ := f[0].Metadata.GetValue(pgarrow.MetaInfinity); got != want {
			t.Errorf("column %s: %s = %q, want %q", name, pgarrow.MetaInfinity, got, want)
		}
	}
	if f, _ := schema.FieldsByName("iv"); len(f) != 1 || f[0].Type.ID() != arrow.BINARY {
		t.Errorf("interval column: %v, want raw wire bytes", f)
	} else if enc, _ := f[0].Metadata.GetValue(pgarrow.MetaEncoding); enc != pgarrow.EncodingBinary {
		t.Errorf("interval column: %s = %q, want %q", pgarrow.MetaEncoding, enc, pgarrow.EncodingBinary)
	}

	// timestamp is a wall-clock time, timestamptz an instant: other readers tell them apart
	// by isAdjustedToUTC.
	if _, ok := md.Schema.Column(md.Schema.ColumnIndexByName("u")).LogicalType().(pqschema.UUIDLogicalType); !ok {
		t.Errorf("column u: logical type %v, want UUID", md.Schema.Column(md.Schema.ColumnIndexByName("u")).LogicalType())
	}
	if md.Schema.Root().RepetitionType() != parquet.Repetitions.Required {
		t.Errorf("schema root is %s, want required", md.Schema.Root().RepetitionType())
	}
	for name, utc := range map[string]bool{"ts": false, "tstz": true} {
		col := md.Schema.ColumnIndexByName(name)
		lt, ok := md.Schema.Column(col).LogicalType().(*pqschema.TimestampLogicalType)
		if !ok || lt.IsAdjustedToUTC() != utc || lt.TimeUnit() != pqschema.TimeUnitMicros {
			t.Errorf("column %s: logical type %v, want a µs timestamp with isAdjustedToUTC=%v", name, md.Schema.Column(col).LogicalType(), utc)
		}
	}
}

func readSchema(t *testing.T, data []byte) *arrow.Schema {
	t.Helper()
	pf, err := file.NewParquetReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	defer pf.Close()
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	s, err := fr.Schema()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Text-format parts hold the COPY lines and give them back exactly, however long.
func TestTextLinesRoundTrip(t *testing.T) {
	mem := checkedMem(t)
	cols := []pgarrow.Column{
		{Name: "id", TypeOID: pgtype.Int4OID, TypeName: "integer"},
		{Name: "q", TypeOID: 3615, TypeName: "tsquery"},
		{Name: "x", TypeOID: pgtype.XMLOID, TypeName: "xml"},
		{Name: "d", TypeOID: 99999, BaseOID: pgtype.XMLOID, TypeName: "doc"},
	}
	var b strings.Builder
	for i := 0; i < 3000; i++ {
		switch i % 5 {
		case 0:
			b.WriteString("1\t\\N\t\\N\t\\N\n")
		case 1:
			b.WriteString("2\t'a' & 'b'\t<?xml version=\"1.0\"?><a>é ☃</a>\t\\N\n")
		case 2:
			b.WriteString("3\t\t\\t\\n\\\\\t\n") // empty values and escapes
		case 3:
			b.WriteString("4\t" + noise(i, 100<<10) + "\t\\N\t\\N\n") // longer than the read buffer
		default:
			b.WriteString("\n") // what a row of no columns looks like
		}
	}
	stream := []byte(b.String())
	o := parquetpart.Options{Mem: mem, RowGroupRows: 400, PartBytes: 200 << 10}
	parts, ws := writeParts(t, stream, cols, true, o)
	if len(parts) < 2 {
		t.Errorf("%d parts, want several", len(parts))
	}
	var all []byte
	var rows int64
	for i := range parts {
		out, n := readPart(t, ws[i].Bytes(), cols, true, o)
		all = append(all, out...)
		rows += n
	}
	if rows != 3000 || !bytes.Equal(all, stream) {
		t.Errorf("read %d rows, %d bytes; want 3000 rows, %d bytes, the same", rows, len(all), len(stream))
	}

	schema := readSchema(t, ws[0].Bytes())
	if schema.NumFields() != 1 || schema.Field(0).Name != parquetpart.TextColumn {
		t.Fatalf("text part schema %s", schema)
	}
	js, _ := schema.Metadata().GetValue(parquetpart.MetaColumns)
	var listed []map[string]string
	if err := json.Unmarshal([]byte(js), &listed); err != nil {
		t.Fatalf("%s: %v (%q)", parquetpart.MetaColumns, err, js)
	}
	want := []map[string]string{
		{"name": "id", "pg.type": "integer", "pg.oid": "23"},
		{"name": "q", "pg.type": "tsquery", "pg.oid": "3615"},
		{"name": "x", "pg.type": "xml", "pg.oid": "142"},
		{"name": "d", "pg.type": "doc", "pg.oid": "99999", "pg.base_oid": "142"},
	}
	if got, _ := json.Marshal(listed); string(got) != mustJSON(want) {
		t.Errorf("%s = %s, want %s", parquetpart.MetaColumns, got, mustJSON(want))
	}

	// A last line without its newline would come back with one: refused.
	var s memStore
	_, err := parquetpart.WriteParts(strings.NewReader("1\tx\n2\ty"), cols, true, s.next, o)
	if err == nil || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("stream without a final newline: %v", err)
	}
	for i, w := range s.writers {
		if !w.aborted {
			t.Errorf("part %d was not aborted", i)
		}
	}
}

// noise returns n letters that do not compress much.
func noise(seed, n int) string {
	b := make([]byte, n)
	x := uint32(seed)*2654435761 + 1
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = 'a' + byte(x%26)
	}
	return string(b)
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// A store that fails: the part is aborted, the error is the store's, and nothing leaks.
func TestFailingWriterAbortsThePart(t *testing.T) {
	stream := synthStream(t, 20000)
	boom := errors.New("disk on fire")
	for _, tc := range []struct {
		name      string
		failAfter int // bytes into the second part
	}{
		{"at the magic", 1},
		{"in a row group", 10 << 10},
		{"in the footer", 0}, // set below from a clean run
	} {
		t.Run(tc.name, func(t *testing.T) {
			mem := checkedMem(t)
			o := parquetpart.Options{Mem: mem, RowGroupRows: 1000, PartBytes: 100 << 10}
			failAfter := tc.failAfter
			if failAfter == 0 {
				_, ws := writeParts(t, stream, synthCols, false, o)
				failAfter = ws[1].Len() - 10
			}
			s := memStore{newWriter: func(i int) (*memWriter, error) {
				if i == 1 {
					return &memWriter{failAfter: failAfter, failErr: boom}, nil
				}
				return &memWriter{}, nil
			}}
			parts, err := parquetpart.WriteParts(bytes.NewReader(stream), synthCols, false, s.next, o)
			if !errors.Is(err, boom) {
				t.Fatalf("WriteParts: %v, want the store's error", err)
			}
			if len(parts) != 1 || len(s.writers) != 2 {
				t.Fatalf("%d parts returned, %d opened; want 1 and 2", len(parts), len(s.writers))
			}
			if !s.writers[0].closed || !s.writers[1].aborted || s.writers[1].closed {
				t.Errorf("first part closed %v; failed part aborted %v, closed %v", s.writers[0].closed, s.writers[1].aborted, s.writers[1].closed)
			}
			if s.writers[1].Len() > failAfter {
				t.Errorf("%d bytes reached the failed writer, past its failure at %d", s.writers[1].Len(), failAfter)
			}
		})
	}

	t.Run("next fails", func(t *testing.T) {
		s := memStore{newWriter: func(i int) (*memWriter, error) { return nil, boom }}
		_, err := parquetpart.WriteParts(bytes.NewReader(stream), synthCols, false, s.next, parquetpart.Options{Mem: checkedMem(t)})
		if !errors.Is(err, boom) {
			t.Errorf("WriteParts: %v, want next's error", err)
		}
	})

	t.Run("close fails", func(t *testing.T) {
		var s memStore
		next := func() (store.Writer, error) {
			w, _ := s.next()
			return failClose{w, boom}, nil
		}
		_, err := parquetpart.WriteParts(bytes.NewReader(stream), synthCols, false, next, parquetpart.Options{Mem: checkedMem(t)})
		if !errors.Is(err, boom) {
			t.Errorf("WriteParts: %v, want Close's error", err)
		}
	})
}

type failClose struct {
	store.Writer
	err error
}

func (f failClose) Close() error { f.Writer.Close(); return f.err }

// A stream pgarrow cannot decode aborts the part being written and names the row.
func TestBadStreamAbortsThePart(t *testing.T) {
	mem := checkedMem(t)
	stream := synthStream(t, 20000)
	cut := stream[:len(stream)/2] // no trailer
	var s memStore
	o := parquetpart.Options{Mem: mem, RowGroupRows: 1000, PartBytes: 100 << 10}
	parts, err := parquetpart.WriteParts(bytes.NewReader(cut), synthCols, false, s.next, o)
	var pe *pgarrow.Error
	if !errors.As(err, &pe) || pe.Row == 0 {
		t.Fatalf("WriteParts: %v, want a *pgarrow.Error naming the row", err)
	}
	last := s.writers[len(s.writers)-1]
	if !last.aborted || len(parts) != len(s.writers)-1 {
		t.Errorf("%d parts, %d writers, last aborted %v", len(parts), len(s.writers), last.aborted)
	}
}

// A damaged part fails with an error, never a panic or a wrong stream.
func TestCorruptPartFails(t *testing.T) {
	mem := checkedMem(t)
	o := parquetpart.Options{Mem: mem, RowGroupRows: 300}
	stream := synthStream(t, 1000)
	_, ws := writeParts(t, stream, synthCols, false, o)
	good := ws[0].Bytes()

	for _, n := range []int{0, 3, 4, 12, len(good) / 3, len(good) / 2, len(good) - 9, len(good) - 8, len(good) - 1} {
		_, err := parquetpart.ReadPart(bytes.NewReader(good[:n]), int64(n), synthCols, false, io.Discard, o)
		if !errors.Is(err, parquetpart.ErrCorrupt) {
			t.Errorf("truncated to %d bytes: %v, want ErrCorrupt", n, err)
		}
	}
	// Flip bytes all over the file: every read fails or gives the right rows.
	for i := 4; i < len(good)-8; i += len(good) / 97 {
		bad := bytes.Clone(good)
		bad[i] ^= 0x5A
		// Parquet pages carry no checksum, so a flipped bit in a value is read as written:
		// the part's SHA-256 in the manifest is what catches that. Here only the shape counts.
		n, err := parquetpart.ReadPart(bytes.NewReader(bad), int64(len(bad)), synthCols, false, io.Discard, parquetpart.Options{})
		if err == nil && n != 1000 {
			t.Errorf("byte %d flipped: read %d rows without error, want 1000", i, n)
		}
	}
	// The wrong columns, or the wrong format.
	other := append([]pgarrow.Column{}, synthCols...)
	other[1].TypeOID = pgtype.Int8OID
	if _, err := parquetpart.ReadPart(bytes.NewReader(good), int64(len(good)), other, false, io.Discard, o); !errors.Is(err, parquetpart.ErrCorrupt) {
		t.Errorf("read with other column types: %v, want ErrCorrupt", err)
	}
	if _, err := parquetpart.ReadPart(bytes.NewReader(good), int64(len(good)), synthCols[:3], false, io.Discard, o); !errors.Is(err, parquetpart.ErrCorrupt) {
		t.Errorf("read with fewer columns: %v, want ErrCorrupt", err)
	}
	if _, err := parquetpart.ReadPart(bytes.NewReader(good), int64(len(good)), synthCols, true, io.Discard, o); !errors.Is(err, parquetpart.ErrCorrupt) {
		t.Errorf("read a binary part as text: %v, want ErrCorrupt", err)
	}
}

// Zero columns: Parquet would lose the row count, so binary format refuses; text keeps it.
func TestNoColumns(t *testing.T) {
	var s memStore
	if _, err := parquetpart.WriteParts(bytes.NewReader(nil), nil, false, s.next, parquetpart.Options{}); err == nil {
		t.Error("WriteParts accepted a binary stream of no columns")
	}
}

// A value its native type cannot hold (a timestamp past 294246 AD) fails the write, naming
// the column; written again with that column raw, the stream round-trips, and ReadPart takes
// the column's encoding from the part.
func TestRawColumnForValuesOutOfRange(t *testing.T) {
	mem := checkedMem(t)
	cols := []pgarrow.Column{
		{Name: "id", TypeOID: pgtype.Int8OID, TypeName: "bigint"},
		{Name: "at", TypeOID: pgtype.TimestampOID, TypeName: "timestamp without time zone"},
	}
	// Built from wire bytes: the Encoder's raw columns take any value.
	var stream bytes.Buffer
	enc := pgarrow.NewEncoder(&stream, cols)
	b := array.NewRecordBuilder(mem, pgarrow.Schema(cols))
	for i, at := range []int64{0, 9223000000000000000 /* 294247 AD */, -1} {
		var v [8]byte
		binary.BigEndian.PutUint64(v[:], uint64(i))
		b.Field(0).(*array.BinaryBuilder).Append(v[:])
		binary.BigEndian.PutUint64(v[:], uint64(at))
		b.Field(1).(*array.BinaryBuilder).Append(v[:])
	}
	rec := b.NewRecord()
	b.Release()
	if err := enc.Write(rec); err != nil {
		t.Fatal(err)
	}
	rec.Release()
	if err := enc.Close(); err != nil {
		t.Fatal(err)
	}

	var s memStore
	_, err := parquetpart.WriteParts(bytes.NewReader(stream.Bytes()), cols, false, s.next, parquetpart.Options{Mem: mem})
	col, ok := parquetpart.OutOfRange(err)
	if !ok || col != "at" {
		t.Fatalf("WriteParts: %v; OutOfRange gives %q, %v; want column at", err, col, ok)
	}
	if _, ok := parquetpart.OutOfRange(errors.New("other")); ok {
		t.Error("OutOfRange claims an unrelated error")
	}

	o := parquetpart.Options{Mem: mem, Raw: []string{"at"}}
	_, ws := writeParts(t, stream.Bytes(), cols, false, o)
	out, n := readPart(t, ws[0].Bytes(), cols, false, parquetpart.Options{Mem: mem}) // no Raw: the part says
	if n != 3 || !bytes.Equal(out, stream.Bytes()) {
		t.Errorf("read %d rows, %d bytes; want the stream back", n, len(out))
	}
	schema := readSchema(t, ws[0].Bytes())
	if schema.Field(0).Type.ID() != arrow.INT64 || schema.Field(1).Type.ID() != arrow.BINARY {
		t.Errorf("part schema %s: want id native, at raw", schema)
	}
	if want := parquetpart.Schema(cols, false, "at"); !arrow.TypeEqual(want.Field(1).Type, arrow.BinaryTypes.Binary) {
		t.Errorf("Schema with at raw: %s", want)
	}
}

// peakAllocator tracks the most Arrow memory held at once.
type peakAllocator struct {
	memory.Allocator
	mu        sync.Mutex
	cur, peak int
}

func (a *peakAllocator) add(n int) {
	a.mu.Lock()
	a.cur += n
	a.peak = max(a.peak, a.cur)
	a.mu.Unlock()
}
func (a *peakAllocator) Allocate(n int) []byte { a.add(n); return a.Allocator.Allocate(n) }
func (a *peakAllocator) Reallocate(n int, b []byte) []byte {
	a.add(n - len(b))
	return a.Allocator.Reallocate(n, b)
}
func (a *peakAllocator) Free(b []byte) { a.add(-len(b)); a.Allocator.Free(b) }

// Memory is bounded by a row group, not by the part or the table: a part of many row
// groups is written and read holding about one row group's Arrow data at a time.
func TestMemoryIsBoundedByARowGroup(t *testing.T) {
	cols := wideColumns(2)
	stream := wideStream(t, 100_000, cols)
	const rowGroupBytes = 2 << 20
	mem := &peakAllocator{Allocator: checkedMem(t)}
	o := parquetpart.Options{Mem: mem, RowGroupBytes: rowGroupBytes, PartBytes: 1 << 40}
	parts, ws := writeParts(t, stream, cols, false, o)
	if len(parts) != 1 || parts[0].RowGroups < 10 {
		t.Fatalf("parts %+v: want one part of many row groups", parts)
	}
	writePeak := mem.peak
	mem.peak = mem.cur
	_, n := readPart(t, ws[0].Bytes(), cols, false, o)
	readPeak := mem.peak
	t.Logf("COPY stream %d bytes, part %d bytes in %d row groups; peak Arrow memory: write %d, read %d",
		len(stream), parts[0].Bytes, parts[0].RowGroups, writePeak, readPeak)
	if n != 100_000 {
		t.Errorf("read %d rows", n)
	}
	// A row group (2 MiB of values, plus up to one 2 MiB batch), the batch being decoded,
	// and the writer's page and dictionary buffers.
	if limit := 6 * rowGroupBytes; writePeak > limit {
		t.Errorf("writing held %d bytes of Arrow memory at once, want at most %d (the stream is %d)", writePeak, limit, len(stream))
	}
	if limit := 4 * rowGroupBytes; readPeak > limit {
		t.Errorf("reading held %d bytes of Arrow memory at once, want at most %d (the part is %d)", readPeak, limit, parts[0].Bytes)
	}
}
