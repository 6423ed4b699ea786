package transforms

import (
	"math"

	"github.com/jackc/pgx/v5/pgtype"
)

// Kind is the native type of a column, by its base type, for code that works on native
// values: the shape rules here (numeric_noise, date_noise, ...) and the scaled copies' key
// moves and jitter in pipeline. It is the one place that says which base types those are.
type Kind uint8

const (
	KindNone Kind = iota
	KindInt2
	KindInt4
	KindInt8
	KindFloat4
	KindFloat8
	KindNumeric
	KindDate
	KindTimestamp
	KindTimestamptz
	KindUUID
	KindText // text and varchar
)

// KindOf returns the kind of a column whose base type (a domain's, or its own) is baseOID;
// KindNone for every other type.
func KindOf(baseOID uint32) Kind {
	switch baseOID {
	case pgtype.Int2OID:
		return KindInt2
	case pgtype.Int4OID:
		return KindInt4
	case pgtype.Int8OID:
		return KindInt8
	case pgtype.Float4OID:
		return KindFloat4
	case pgtype.Float8OID:
		return KindFloat8
	case pgtype.NumericOID:
		return KindNumeric
	case pgtype.DateOID:
		return KindDate
	case pgtype.TimestampOID:
		return KindTimestamp
	case pgtype.TimestamptzOID:
		return KindTimestamptz
	case pgtype.UUIDOID:
		return KindUUID
	case pgtype.TextOID, pgtype.VarcharOID:
		return KindText
	}
	return KindNone
}

func (k Kind) IsInt() bool   { return k == KindInt2 || k == KindInt4 || k == KindInt8 }
func (k Kind) IsFloat() bool { return k == KindFloat4 || k == KindFloat8 }

// IsNumber: integers, floats and numeric.
func (k Kind) IsNumber() bool {
	return k.IsInt() || k.IsFloat() || k == KindNumeric
}

// IsTime: dates and timestamps, with or without time zone.
func (k Kind) IsTime() bool {
	return k == KindDate || k == KindTimestamp || k == KindTimestamptz
}

// IntRange is the range of an integer kind (int8's for any other kind).
func (k Kind) IntRange() (lo, hi int64) {
	switch k {
	case KindInt2:
		return math.MinInt16, math.MaxInt16
	case KindInt4:
		return math.MinInt32, math.MaxInt32
	}
	return math.MinInt64, math.MaxInt64
}
