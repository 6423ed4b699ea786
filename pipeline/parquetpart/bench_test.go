package parquetpart_test

import (
	"bytes"
	"context"
	"io"
	"testing"

	"github.com/understudy-dev/understudy/fixtures"
	"github.com/understudy-dev/understudy/fixtures/pgtest"
	"github.com/understudy-dev/understudy/pipeline/parquetpart"
	"github.com/understudy-dev/understudy/schemas/pgarrow"
)

// MB/s is of the COPY stream: bytes read by WriteParts, or written by ReadPart.
//
//	go test ./pipeline/parquetpart -run '^$' -bench . -benchtime 5x
//	UNDERSTUDY_TEST_PG=... go test ./pipeline/parquetpart -run '^$' -bench Shop -benchtime 3x

// BenchmarkWide: a 42-column table (three copies of every kind synthCols has), 100k rows.
func BenchmarkWide(b *testing.B) {
	cols := wideColumns(3)
	benchTable(b, wideStream(b, 100_000, cols), cols)
}

// BenchmarkShop: the shop fixture's widest tables, as PostgreSQL sends them.
func BenchmarkShop(b *testing.B) {
	dsn := pgtest.NewDB(b)
	if err := fixtures.CreateShop(context.Background(), dsn, 400_000, 7); err != nil {
		b.Fatal(err)
	}
	conn := pgtest.Connect(b, dsn)
	for _, table := range []string{"customers", "orders"} {
		var stream bytes.Buffer
		if _, err := conn.PgConn().CopyTo(context.Background(), &stream, "COPY "+table+" TO STDOUT (FORMAT binary)"); err != nil {
			b.Fatal(err)
		}
		cols := tableColumns(b, conn, table)
		b.Run(table, func(b *testing.B) { benchTable(b, stream.Bytes(), cols) })
	}
}

func benchTable(b *testing.B, stream []byte, cols []pgarrow.Column) {
	o := parquetpart.Options{PartBytes: 16 << 20}
	var parts []parquetpart.Part
	var files [][]byte
	write := func(b *testing.B) {
		var s memStore
		ps, err := parquetpart.WriteParts(bytes.NewReader(stream), cols, false, s.next, o)
		if err != nil {
			b.Fatal(err)
		}
		parts, files = ps, nil
		for _, w := range s.writers {
			files = append(files, w.Bytes())
		}
	}
	b.Run("write", func(b *testing.B) {
		b.SetBytes(int64(len(stream)))
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			write(b)
		}
		var size int64
		for _, p := range parts {
			size += p.Bytes
		}
		b.ReportMetric(float64(size)/float64(len(stream)), "parquet/copy")
		b.ReportMetric(float64(len(parts)), "parts")
	})
	b.Run("read", func(b *testing.B) {
		if files == nil { // -bench …/read alone: the parts to read, untimed
			write(b)
			b.ResetTimer()
		}
		b.SetBytes(int64(len(stream)))
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			for _, f := range files {
				if _, err := parquetpart.ReadPart(bytes.NewReader(f), int64(len(f)), cols, false, io.Discard, o); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
}
