package pgarrow

import (
	"bytes"
	"fmt"
	"io"
	"runtime"
	"testing"

	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/jackc/pgx/v5/pgtype"
)

// benchStream is a table of the shape the copy path sees most: keys, a few scalars, short
// strings, a numeric, timestamps, a uuid, a small jsonb and one raw interval.
func benchStream(rows int) ([]Column, []byte) {
	cols := []Column{
		{Name: "id", TypeOID: pgtype.Int8OID},
		{Name: "account_id", TypeOID: pgtype.Int4OID},
		{Name: "active", TypeOID: pgtype.BoolOID},
		{Name: "score", TypeOID: pgtype.Float8OID},
		{Name: "email", TypeOID: pgtype.VarcharOID},
		{Name: "name", TypeOID: pgtype.TextOID},
		{Name: "balance", TypeOID: pgtype.NumericOID},
		{Name: "created_at", TypeOID: pgtype.TimestamptzOID},
		{Name: "born", TypeOID: pgtype.DateOID},
		{Name: "token", TypeOID: pgtype.UUIDOID},
		{Name: "prefs", TypeOID: pgtype.JSONBOID},
		{Name: "ttl", TypeOID: 1186},
	}
	var p numParser
	s := newStream()
	for i := 0; i < rows; i++ {
		bal, _ := p.appendBinary(nil, fmt.Sprintf("%d.%02d", i*37%100000, i%100))
		var name []byte
		if i%10 != 0 {
			name = []byte(fmt.Sprintf("Customer Number %d", i))
		}
		s.row(be64(int64(i)), be32(int32(i/10)), []byte{byte(i % 2)}, f64(float64(i)/3),
			[]byte(fmt.Sprintf("user%d@example.com", i)), name, bal,
			be64(int64(i)*1_000_000), be32(int32(i%20000)), bytes.Repeat([]byte{byte(i)}, 16),
			[]byte(fmt.Sprintf("\x01{\"theme\": \"dark\", \"n\": %d}", i)),
			mustHex("00000000000f42400000000100000002"))
	}
	return cols, s.end()
}

// BenchmarkDecodeEncode decodes a stream into batches and encodes them back, as the transform
// path does for a table with no column changed.
func BenchmarkDecodeEncode(b *testing.B) {
	const rows = 100_000
	cols, data := benchStream(rows)
	for _, native := range []bool{true, false} {
		cs := make([]Column, len(cols))
		for i, c := range cols {
			c.Native = native
			cs[i] = c
		}
		b.Run(fmt.Sprintf("native=%v", native), func(b *testing.B) {
			mem := memory.NewGoAllocator()
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			var ms0, ms1 runtime.MemStats
			runtime.ReadMemStats(&ms0)
			b.ResetTimer()
			for n := 0; n < b.N; n++ {
				d := NewDecoder(bytes.NewReader(data), cs, mem, DecoderOptions{})
				e := NewEncoder(io.Discard, cs)
				for {
					rec, err := d.Read()
					if err == io.EOF {
						break
					}
					if err != nil {
						b.Fatal(err)
					}
					if err := e.Write(rec); err != nil {
						b.Fatal(err)
					}
					rec.Release()
				}
				if err := e.Close(); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			runtime.ReadMemStats(&ms1)
			total := float64(rows) * float64(b.N)
			b.ReportMetric(total/b.Elapsed().Seconds(), "rows/s")
			b.ReportMetric(float64(ms1.Mallocs-ms0.Mallocs)/total, "allocs/row")
		})
	}
}
