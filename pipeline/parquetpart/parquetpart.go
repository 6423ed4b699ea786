// Package parquetpart converts one table chunk's COPY stream to snapshot part files and back:
// WriteParts reads the rows PostgreSQL sends for COPY … TO STDOUT and writes them as one or
// more Parquet files, ReadPart turns one such file back into the COPY stream that
// COPY … FROM STDIN loads. The round trip is lossless: the restored rows equal the copied ones
// byte for byte.
//
// It is for the snapshot sink and the restore source. It knows nothing of stores beyond the
// store.Writer each part is written to, nothing of part names or the manifest, and nothing
// of transforms: it stores the rows it is given.
//
// # Part layout (format version 1)
//
// Every part is a complete Parquet file, readable on its own by any Parquet reader (DuckDB,
// Spark, pandas, hyparquet). Pages are data pages v2, zstd-compressed at the default level;
// byte-array columns are dictionary-encoded (falling back to plain once a dictionary
// outgrows 1 MiB), other columns are plain, so that float bits (NaN payloads, -0) are stored
// exactly; statistics are on. A row group is cut at Options.RowGroupRows rows or once the
// Arrow data written to it reaches Options.RowGroupBytes, whichever comes first; a part is
// closed at the first row-group boundary at which its file holds Options.PartBytes bytes.
// The schema root is required and every column optional (nullable); a timestamp without time
// zone is a TIMESTAMP(MICROS) not adjusted to UTC, a timestamptz one adjusted to UTC, a uuid
// a FIXED_LEN_BYTE_ARRAY(16) annotated UUID.
//
// The file's key-value metadata holds MetaFormat = FormatVersion, MetaCopyFormat (binary or
// text) and, for text, MetaColumns, and ARROW:schema: the Arrow schema (Schema), serialized
// as pqarrow does, which carries the same keys and, per field, pgarrow's metadata: the
// PostgreSQL type, oid and encoding, and pg.infinity. ReadPart does not need it (it checks the
// Parquet schema against the columns) and does not read it.
//
// A table moved in binary COPY format has one Parquet column per table column, decoded by
// pgarrow with Native set: ints, floats, bool, text types, bytea, uuid, date, timestamp[tz],
// time are their Arrow types; numeric, json and jsonb are strings of their text form; every
// other type is Binary holding PostgreSQL's binary send form (pg.encoding "binary"). Date
// and timestamp infinities are the type's largest and smallest values (pg.infinity
// "sentinel").
//
// A table moved in text COPY format (types whose binary form does not round-trip, such as
// tsquery and xml) has a single non-null String column TextColumn: each row holds one line of
// the COPY text stream, exactly as PostgreSQL sent it (tab-separated, backslash-escaped,
// \N for NULL), without its newline. MetaColumns lists the table's columns as JSON:
// [{"name": …, "pg.type": …, "pg.oid": …, "pg.base_oid": …}], pg.base_oid only for a domain.
package parquetpart

import (
	"encoding/json"
	"errors"
	"slices"
	"strconv"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/memory"

	"github.com/understudy-dev/understudy/schemas/pgarrow"
)

// Schema metadata keys, stored in the Arrow schema and in the Parquet key-value metadata.
const (
	MetaFormat     = "understudy.part"        // FormatVersion
	MetaCopyFormat = "understudy.copy_format" // CopyBinary or CopyText
	MetaColumns    = "understudy.columns"     // text format only: the table's columns, JSON
)

// FormatVersion is the value of MetaFormat that this package writes and reads.
const FormatVersion = "1"

// Values of MetaCopyFormat.
const (
	CopyBinary = "binary"
	CopyText   = "text"
)

// TextColumn is the one column of a text-format part.
const TextColumn = "copy_text_line"

// Defaults of Options.
const (
	DefaultRowGroupRows  = 128 << 10
	DefaultRowGroupBytes = 32 << 20
	DefaultPartBytes     = 64 << 20
)

// batchRows and batchBytes bound the Arrow batches decoded from the COPY stream and read back
// from a part; a row group is cut at a batch boundary, so a smaller RowGroupBytes shrinks the
// batches too.
const (
	batchRows  = 8192
	batchBytes = 4 << 20
)

// Options bound the output. Zero values mean the defaults.
type Options struct {
	RowGroupRows int // rows per row group; default DefaultRowGroupRows
	// RowGroupBytes bounds a row group's uncompressed size: the Arrow data written to it. A
	// row group is cut at whichever of RowGroupRows and RowGroupBytes comes first; it exceeds
	// RowGroupBytes by at most one batch (4 MiB or RowGroupBytes, plus one row).
	RowGroupBytes int64
	// PartBytes: a part is closed, and the next one started, at the first row-group boundary
	// at which the bytes written to it reach PartBytes; it exceeds PartBytes by less than a
	// row group (compressed) and its footer. Default DefaultPartBytes.
	PartBytes int64
	// Raw names columns to carry as raw wire bytes although pgarrow has a native type for
	// them: for a column holding a value its native type cannot (see OutOfRange). Parts
	// record each column's encoding; ReadPart follows the part.
	Raw []string
	Mem memory.Allocator // nil means memory.DefaultAllocator
}

func (o Options) withDefaults() Options {
	if o.RowGroupRows <= 0 {
		o.RowGroupRows = DefaultRowGroupRows
	}
	if o.RowGroupBytes <= 0 {
		o.RowGroupBytes = DefaultRowGroupBytes
	}
	if o.PartBytes <= 0 {
		o.PartBytes = DefaultPartBytes
	}
	if o.Mem == nil {
		o.Mem = memory.DefaultAllocator
	}
	return o
}

// Part describes one part file WriteParts wrote.
type Part struct {
	Rows      int64
	Bytes     int64  // the file's size
	SHA256    string // hex SHA-256 of the file
	RowGroups int
}

// Schema is the Arrow schema of the parts of a table with columns cols moved in binary COPY
// format or, when text is true, in text format: the schema WriteParts stores and the
// manifest records. Field metadata comes from pgarrow.Field, with every column native except
// those named in raw (Options.Raw).
func Schema(cols []pgarrow.Column, text bool, raw ...string) *arrow.Schema {
	if text {
		tcs := make([]textColumn, len(cols))
		for i, c := range cols {
			tcs[i] = textColumn{Name: c.Name, Type: c.TypeName, OID: strconv.FormatUint(uint64(c.TypeOID), 10)}
			if c.BaseOID != 0 && c.BaseOID != c.TypeOID {
				tcs[i].BaseOID = strconv.FormatUint(uint64(c.BaseOID), 10)
			}
		}
		js, err := json.Marshal(tcs)
		if err != nil {
			panic(err) // strings only: cannot fail
		}
		md := arrow.NewMetadata([]string{MetaFormat, MetaCopyFormat, MetaColumns}, []string{FormatVersion, CopyText, string(js)})
		return arrow.NewSchema([]arrow.Field{{Name: TextColumn, Type: arrow.BinaryTypes.String}}, &md)
	}
	fields := make([]arrow.Field, len(cols))
	for i, c := range nativeColumns(cols, raw) {
		fields[i] = pgarrow.Field(c)
	}
	md := arrow.NewMetadata([]string{MetaFormat, MetaCopyFormat}, []string{FormatVersion, CopyBinary})
	return arrow.NewSchema(fields, &md)
}

// textColumn is one entry of MetaColumns.
type textColumn struct {
	Name    string `json:"name"`
	Type    string `json:"pg.type"`
	OID     string `json:"pg.oid"`
	BaseOID string `json:"pg.base_oid,omitempty"`
}

// nativeColumns returns cols with Native set on each but those named in raw.
func nativeColumns(cols []pgarrow.Column, raw []string) []pgarrow.Column {
	out := make([]pgarrow.Column, len(cols))
	for i, c := range cols {
		c.Native = !slices.Contains(raw, c.Name)
		out[i] = c
	}
	return out
}

// OutOfRange reports whether err, from WriteParts, is a value that the native Arrow type of
// its column cannot hold (a timestamp after 294246 AD), and names the column. Writing the
// stream again with the column in Options.Raw stores it losslessly, as wire bytes.
func OutOfRange(err error) (column string, ok bool) {
	var pe *pgarrow.Error
	if errors.As(err, &pe) && pe.Column != "" && errors.Is(err, pgarrow.ErrOutOfRange) {
		return pe.Column, true
	}
	return "", false
}
