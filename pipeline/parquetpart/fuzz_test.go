package parquetpart_test

import (
	"bytes"
	"io"
	"testing"

	"github.com/apache/arrow/go/v15/arrow/memory"

	"github.com/understudy-dev/understudy/pipeline/parquetpart"
	"github.com/understudy-dev/understudy/schemas/pgarrow"
)

// FuzzReadPart feeds ReadPart damaged parts: it must return an error or a well-formed COPY
// stream of the rows it counts, and never panic, hang or allocate without bound.
//
//	go test ./pipeline/parquetpart -run '^$' -fuzz FuzzReadPart -fuzztime 1m
func FuzzReadPart(f *testing.F) {
	o := parquetpart.Options{RowGroupRows: 16}
	_, ws := writeParts(f, synthStream(f, 40), synthCols, false, o)
	f.Add(ws[0].Bytes(), false)
	_, ws = writeParts(f, synthStream(f, 0), synthCols, false, o)
	f.Add(ws[0].Bytes(), false)
	textCols := []pgarrow.Column{{Name: "q", TypeOID: 3615, TypeName: "tsquery"}}
	_, ws = writeParts(f, []byte("'a' & 'b'\n\\N\n\n"), textCols, true, o)
	f.Add(ws[0].Bytes(), true)

	f.Fuzz(func(t *testing.T, data []byte, text bool) {
		cols := synthCols
		if text {
			cols = textCols
		}
		var out bytes.Buffer
		n, err := parquetpart.ReadPart(bytes.NewReader(data), int64(len(data)), cols, text, &out, parquetpart.Options{})
		if err != nil || text {
			return
		}
		// What ReadPart wrote is a COPY stream of exactly n rows.
		d := pgarrow.NewDecoder(&out, nativeCopy(cols), memory.NewGoAllocator(), pgarrow.DecoderOptions{})
		var rows int64
		for {
			rec, err := d.Read()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("ReadPart succeeded with %d rows, but wrote a stream that does not decode: %v", n, err)
			}
			rows += rec.NumRows()
			rec.Release()
		}
		if rows != n {
			t.Fatalf("ReadPart reported %d rows, wrote %d", n, rows)
		}
	})
}

func nativeCopy(cols []pgarrow.Column) []pgarrow.Column {
	out := make([]pgarrow.Column, len(cols))
	for i, c := range cols {
		c.Native = true
		out[i] = c
	}
	return out
}
