package transforms

import (
	"math"
	"testing"

	"github.com/jackc/pgx/v5/pgtype"
)

// The one classifier the shape rules and scaling share: each base type has one kind, and
// the types neither works on have none (bpchar and name are not text: scaling cannot
// append a copy suffix to them).
func TestKindOf(t *testing.T) {
	for _, c := range []struct {
		oid          uint32
		want         Kind
		number, time bool
		int, float   bool
		lo, hi       int64
	}{
		{pgtype.Int2OID, KindInt2, true, false, true, false, math.MinInt16, math.MaxInt16},
		{pgtype.Int4OID, KindInt4, true, false, true, false, math.MinInt32, math.MaxInt32},
		{pgtype.Int8OID, KindInt8, true, false, true, false, math.MinInt64, math.MaxInt64},
		{pgtype.Float4OID, KindFloat4, true, false, false, true, math.MinInt64, math.MaxInt64},
		{pgtype.Float8OID, KindFloat8, true, false, false, true, math.MinInt64, math.MaxInt64},
		{pgtype.NumericOID, KindNumeric, true, false, false, false, math.MinInt64, math.MaxInt64},
		{pgtype.DateOID, KindDate, false, true, false, false, math.MinInt64, math.MaxInt64},
		{pgtype.TimestampOID, KindTimestamp, false, true, false, false, math.MinInt64, math.MaxInt64},
		{pgtype.TimestamptzOID, KindTimestamptz, false, true, false, false, math.MinInt64, math.MaxInt64},
		{pgtype.UUIDOID, KindUUID, false, false, false, false, math.MinInt64, math.MaxInt64},
		{pgtype.TextOID, KindText, false, false, false, false, math.MinInt64, math.MaxInt64},
		{pgtype.VarcharOID, KindText, false, false, false, false, math.MinInt64, math.MaxInt64},
		{pgtype.BPCharOID, KindNone, false, false, false, false, math.MinInt64, math.MaxInt64},
		{pgtype.NameOID, KindNone, false, false, false, false, math.MinInt64, math.MaxInt64},
		{pgtype.BoolOID, KindNone, false, false, false, false, math.MinInt64, math.MaxInt64},
		{pgtype.TimeOID, KindNone, false, false, false, false, math.MinInt64, math.MaxInt64},
	} {
		k := KindOf(c.oid)
		lo, hi := k.IntRange()
		if k != c.want || k.IsNumber() != c.number || k.IsTime() != c.time || k.IsInt() != c.int || k.IsFloat() != c.float || lo != c.lo || hi != c.hi {
			t.Errorf("oid %d: kind %d number %v time %v int %v float %v range [%d, %d]; want kind %d %+v",
				c.oid, k, k.IsNumber(), k.IsTime(), k.IsInt(), k.IsFloat(), lo, hi, c.want, c)
		}
	}
}
