package pgarrow

import (
	"strconv"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/jackc/pgx/v5/pgtype"
)

// Column describes one column of a COPY stream.
type Column struct {
	Name string
	// TypeOID is the pg_type oid of the column's declared type (a domain's own oid for a
	// domain column).
	TypeOID uint32
	// BaseOID is, for a domain, its base type's oid; otherwise it equals TypeOID. Zero means
	// the same as TypeOID. It alone decides the native mapping.
	BaseOID uint32
	// TypeName is format_type(atttypid, atttypmod), e.g. "character varying(50)"; it is
	// recorded in the field's metadata.
	TypeName string
	// Native asks for a native Arrow type when a lossless mapping for BaseOID exists; false
	// carries the wire bytes raw.
	Native bool
}

// Field metadata keys.
const (
	MetaType     = "pg.type"     // the column's TypeName
	MetaOID      = "pg.oid"      // the column's TypeOID, in decimal
	MetaBaseOID  = "pg.base_oid" // a domain's base type oid, in decimal; absent for other types
	MetaEncoding = "pg.encoding" // EncodingNative or EncodingBinary
	// MetaInfinity is set to "sentinel" on date and timestamp fields: PostgreSQL's infinity
	// and -infinity are carried as the largest and smallest values of the Arrow type.
	MetaInfinity = "pg.infinity"
)

// Values of MetaEncoding.
const (
	// EncodingNative: the field holds values as an Arrow type (see Field).
	EncodingNative = "native"
	// EncodingBinary: the field is Binary and holds each value's PostgreSQL binary send form,
	// exactly as COPY (FORMAT binary) carries it.
	EncodingBinary = "binary"
)

// kind is a column's decode/encode plan, chosen once per column.
type kind uint8

const (
	kindRaw kind = iota
	kindBool
	kindInt2
	kindInt4
	kindInt8
	kindOID
	kindFloat4
	kindFloat8
	kindText // text, varchar, bpchar, name
	kindBytea
	kindUUID
	kindDate
	kindTimestamp
	kindTimestamptz
	kindTime
	kindJSON
	kindJSONB
	kindNumeric
)

var nativeKinds = map[uint32]kind{
	pgtype.BoolOID:        kindBool,
	pgtype.ByteaOID:       kindBytea,
	pgtype.NameOID:        kindText,
	pgtype.Int8OID:        kindInt8,
	pgtype.Int2OID:        kindInt2,
	pgtype.Int4OID:        kindInt4,
	pgtype.TextOID:        kindText,
	pgtype.OIDOID:         kindOID,
	pgtype.JSONOID:        kindJSON,
	pgtype.Float4OID:      kindFloat4,
	pgtype.Float8OID:      kindFloat8,
	pgtype.BPCharOID:      kindText,
	pgtype.VarcharOID:     kindText,
	pgtype.DateOID:        kindDate,
	pgtype.TimeOID:        kindTime,
	pgtype.TimestampOID:   kindTimestamp,
	pgtype.TimestamptzOID: kindTimestamptz,
	pgtype.NumericOID:     kindNumeric,
	pgtype.UUIDOID:        kindUUID,
	pgtype.JSONBOID:       kindJSONB,
}

var (
	timestampType   = &arrow.TimestampType{Unit: arrow.Microsecond}
	timestamptzType = &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}
	uuidType        = &arrow.FixedSizeBinaryType{ByteWidth: 16}
)

func (k kind) arrowType() arrow.DataType {
	switch k {
	case kindBool:
		return arrow.FixedWidthTypes.Boolean
	case kindInt2:
		return arrow.PrimitiveTypes.Int16
	case kindInt4:
		return arrow.PrimitiveTypes.Int32
	case kindInt8:
		return arrow.PrimitiveTypes.Int64
	case kindOID:
		return arrow.PrimitiveTypes.Uint32
	case kindFloat4:
		return arrow.PrimitiveTypes.Float32
	case kindFloat8:
		return arrow.PrimitiveTypes.Float64
	case kindText, kindJSON, kindJSONB, kindNumeric:
		return arrow.BinaryTypes.String
	case kindUUID:
		return uuidType
	case kindDate:
		return arrow.FixedWidthTypes.Date32
	case kindTimestamp:
		return timestampType
	case kindTimestamptz:
		return timestamptzType
	case kindTime:
		return arrow.FixedWidthTypes.Time64us
	default: // kindRaw, kindBytea
		return arrow.BinaryTypes.Binary
	}
}

func (c Column) baseOID() uint32 {
	if c.BaseOID == 0 {
		return c.TypeOID
	}
	return c.BaseOID
}

// kind returns the plan for c: a native kind when c asks for one and one exists.
func (c Column) kind() kind {
	if !c.Native {
		return kindRaw
	}
	return nativeKinds[c.baseOID()] // kindRaw when absent
}

// SameBytes reports whether c's native type holds its wire bytes unchanged (text, varchar,
// bpchar, name, json): its raw Binary array and its native String array then differ in
// their type only, and one can be read as the other without a copy.
func SameBytes(c Column) bool {
	k := nativeKinds[c.baseOID()]
	return k == kindText || k == kindJSON
}

// IsNative reports whether Field(c) is a native mapping rather than raw wire bytes.
func IsNative(c Column) bool { return c.kind() != kindRaw }

// Field returns the Arrow field that carries c. It is always nullable.
//
// With Native set, the type is chosen by BaseOID: bool→Boolean; int2→Int16; int4→Int32;
// int8→Int64; oid→Uint32; float4→Float32; float8→Float64; text, varchar, bpchar (padding
// kept) and name→String; bytea→Binary; uuid→FixedSizeBinary(16); date→Date32;
// timestamp→Timestamp(µs); timestamptz→Timestamp(µs, "UTC"); time→Time64(µs); json and
// jsonb→String holding the JSON text; numeric→String holding PostgreSQL's text form
// ("-12.3400", "NaN", "Infinity"). Date and timestamp infinities are the Arrow type's maximum
// and minimum values (see MetaInfinity). Every other type, and every column without Native, is
// Binary holding the wire bytes (MetaEncoding "binary").
func Field(c Column) arrow.Field {
	k := c.kind()
	enc := EncodingNative
	if k == kindRaw {
		enc = EncodingBinary
	}
	keys := []string{MetaType, MetaOID, MetaEncoding}
	vals := []string{c.TypeName, strconv.FormatUint(uint64(c.TypeOID), 10), enc}
	if b := c.baseOID(); b != c.TypeOID {
		keys = append(keys, MetaBaseOID)
		vals = append(vals, strconv.FormatUint(uint64(b), 10))
	}
	if k == kindDate || k == kindTimestamp || k == kindTimestamptz {
		keys = append(keys, MetaInfinity)
		vals = append(vals, "sentinel")
	}
	return arrow.Field{
		Name:     c.Name,
		Type:     k.arrowType(),
		Nullable: true,
		Metadata: arrow.NewMetadata(keys, vals),
	}
}

// Schema returns the Arrow schema of a stream of cols: one Field per column, in order.
func Schema(cols []Column) *arrow.Schema {
	fields := make([]arrow.Field, len(cols))
	for i, c := range cols {
		fields[i] = Field(c)
	}
	return arrow.NewSchema(fields, nil)
}
