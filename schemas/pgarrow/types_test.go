package pgarrow

import (
	"testing"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/jackc/pgx/v5/pgtype"
)

func TestField(t *testing.T) {
	tests := []struct {
		col    Column
		typ    arrow.DataType
		native bool
		meta   map[string]string
	}{
		{
			Column{Name: "a", TypeOID: pgtype.VarcharOID, TypeName: "character varying(50)", Native: true},
			arrow.BinaryTypes.String, true,
			map[string]string{MetaType: "character varying(50)", MetaOID: "1043", MetaEncoding: "native"},
		},
		{
			Column{Name: "a", TypeOID: pgtype.VarcharOID, TypeName: "character varying(50)"},
			arrow.BinaryTypes.Binary, false,
			map[string]string{MetaType: "character varying(50)", MetaOID: "1043", MetaEncoding: "binary"},
		},
		{
			Column{Name: "a", TypeOID: pgtype.ByteaOID, TypeName: "bytea", Native: true},
			arrow.BinaryTypes.Binary, true,
			map[string]string{MetaType: "bytea", MetaOID: "17", MetaEncoding: "native"},
		},
		{
			Column{Name: "a", TypeOID: 16500, BaseOID: pgtype.TimestamptzOID, TypeName: "audit_ts", Native: true},
			timestamptzType, true,
			map[string]string{MetaType: "audit_ts", MetaOID: "16500", MetaBaseOID: "1184", MetaEncoding: "native", MetaInfinity: "sentinel"},
		},
		{
			Column{Name: "a", TypeOID: pgtype.DateOID, BaseOID: pgtype.DateOID, TypeName: "date", Native: true},
			arrow.FixedWidthTypes.Date32, true,
			map[string]string{MetaType: "date", MetaOID: "1082", MetaEncoding: "native", MetaInfinity: "sentinel"},
		},
		{
			Column{Name: "a", TypeOID: 1007, TypeName: "integer[]", Native: true},
			arrow.BinaryTypes.Binary, false,
			map[string]string{MetaType: "integer[]", MetaOID: "1007", MetaEncoding: "binary"},
		},
		{
			Column{Name: "a", TypeOID: 16501, BaseOID: 1186, TypeName: "span", Native: true},
			arrow.BinaryTypes.Binary, false,
			map[string]string{MetaType: "span", MetaOID: "16501", MetaBaseOID: "1186", MetaEncoding: "binary"},
		},
	}
	for _, tc := range tests {
		f := Field(tc.col)
		if f.Name != tc.col.Name || !f.Nullable || !arrow.TypeEqual(f.Type, tc.typ) {
			t.Errorf("%+v: field %v, want nullable %s", tc.col, f, tc.typ)
		}
		if IsNative(tc.col) != tc.native {
			t.Errorf("%+v: IsNative %v, want %v", tc.col, IsNative(tc.col), tc.native)
		}
		if f.Metadata.Len() != len(tc.meta) {
			t.Errorf("%+v: metadata %v, want %v", tc.col, f.Metadata, tc.meta)
		}
		for k, v := range tc.meta {
			if got, ok := f.Metadata.GetValue(k); !ok || got != v {
				t.Errorf("%+v: metadata %s = %q, want %q", tc.col, k, got, v)
			}
		}
	}
	s := Schema([]Column{tests[0].col, tests[1].col})
	if s.NumFields() != 2 || !s.Field(1).Equal(Field(tests[1].col)) {
		t.Errorf("Schema: %v", s)
	}
}
