package when

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/understudy-dev/understudy/schemas/pgarrow"
)

const benchRows = 8192 // the transform path's batch size

// benchRecord is an 8192-row batch as a table's columns reach the pipeline: raw wire bytes.
func benchRecord(b *testing.B) (arrow.Record, []Column) {
	b.Helper()
	cols := []pgarrow.Column{
		{Name: "country", TypeOID: pgtype.VarcharOID, TypeName: "character varying(2)", Native: true},
		{Name: "age", TypeOID: pgtype.Int4OID, TypeName: "integer", Native: true},
		{Name: "amount", TypeOID: pgtype.NumericOID, TypeName: "numeric(12,2)", Native: true},
		{Name: "email", TypeOID: pgtype.TextOID, TypeName: "text", Native: true},
	}
	mem := memory.NewGoAllocator()
	rb := array.NewRecordBuilder(mem, pgarrow.Schema(cols))
	defer rb.Release()
	countries := []string{"DE", "FR", "AT", "NL", "PL", "IT", "ES"}
	for i := 0; i < benchRows; i++ {
		if i%17 == 0 {
			rb.Field(0).AppendNull()
		} else {
			rb.Field(0).(*array.StringBuilder).Append(countries[i%len(countries)])
		}
		rb.Field(1).(*array.Int32Builder).Append(int32(i % 90))
		rb.Field(2).(*array.StringBuilder).Append(fmt.Sprintf("%d.%02d", i*7%100000, i%100))
		rb.Field(3).(*array.StringBuilder).Append(fmt.Sprintf("user%d@example%d.com", i, i%5))
	}
	rec := rb.NewRecord()
	defer rec.Release()
	var buf bytes.Buffer
	enc := pgarrow.NewEncoder(&buf, cols)
	if err := enc.Write(rec); err != nil {
		b.Fatal(err)
	}
	if err := enc.Close(); err != nil {
		b.Fatal(err)
	}
	raw := make([]pgarrow.Column, len(cols))
	bind := make([]Column, len(cols))
	for i, c := range cols {
		c.Native = false
		raw[i] = c
		bind[i] = Column{Name: c.Name, Index: i, TypeName: c.TypeName, BaseOID: c.TypeOID}
	}
	dec := pgarrow.NewDecoder(&buf, raw, mem, pgarrow.DecoderOptions{BatchRows: benchRows, BatchBytes: 64 << 20})
	out, err := dec.Read()
	if err != nil {
		b.Fatal(err)
	}
	if out.NumRows() != benchRows {
		b.Fatalf("%d rows", out.NumRows())
	}
	return out, bind
}

// BenchmarkSelect evaluates conditions on one 8192-row batch of wire bytes.
func BenchmarkSelect(b *testing.B) {
	rec, cols := benchRecord(b)
	defer rec.Release()
	for _, cond := range []string{
		"country = 'DE'",
		"age >= 18",
		"amount > 5000.50",
		"email LIKE '%@example3.com'",
		"country IN ('DE', 'AT') AND age >= 18 OR amount < 100",
	} {
		b.Run(cond, func(b *testing.B) {
			e, err := Parse(cond)
			if err != nil {
				b.Fatal(err)
			}
			c, err := e.Bind(cols)
			if err != nil {
				b.Fatal(err)
			}
			sel := make(Selection, Words(benchRows))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if sel, err = c.Select(rec, sel); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/benchRows, "ns/row")
		})
	}
}
