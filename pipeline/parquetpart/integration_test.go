package parquetpart_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/understudy-dev/understudy/fixtures"
	"github.com/understudy-dev/understudy/fixtures/pgtest"
	"github.com/understudy-dev/understudy/pipeline/parquetpart"
	"github.com/understudy-dev/understudy/schemas"
	"github.com/understudy-dev/understudy/schemas/pgarrow"
)

// textOnlyTypes are the types whose tables move in COPY text format: their binary form does
// not round-trip. A copy of pipeline/plan.go's list (this package sits below pipeline).
var textOnlyTypes = map[uint32]bool{3615: true, 3645: true, pgtype.XMLOID: true, pgtype.XMLArrayOID: true}

// copyTable is one table as the snapshot path sees it.
type copyTable struct {
	name    schemas.Name
	cols    []pgarrow.Column
	colList string // quoted, for COPY
	text    bool
}

func (t copyTable) format() string {
	if t.text {
		return "(FORMAT text)"
	}
	return "(FORMAT binary)"
}

// zooTables lists the tables of the database that store rows, with their COPY columns.
func zooTables(t *testing.T, conn *pgx.Conn) []copyTable {
	t.Helper()
	cat, err := schemas.LoadCatalog(context.Background(), conn)
	if err != nil {
		t.Fatalf("load catalog: %v", err)
	}
	var out []copyTable
	for _, tb := range cat.Tables {
		if tb.Kind == 'p' {
			continue
		}
		ct := copyTable{name: tb.Name}
		var quoted []string
		for _, c := range tb.CopyColumns() {
			ct.cols = append(ct.cols, pgarrow.Column{Name: c.Name, TypeOID: c.TypeOID, BaseOID: c.BaseOID, TypeName: c.TypeName})
			quoted = append(quoted, schemas.QuoteIdent(c.Name))
			if textOnlyTypes[c.BaseOID] || c.NoBinary {
				ct.text = true
			}
		}
		if len(ct.cols) == 0 {
			ct.text = true // Parquet cannot count rows without columns; text lines can
		}
		ct.colList = strings.Join(quoted, ", ")
		out = append(out, ct)
	}
	return out
}

// restoreSchema creates src's schema in dst with pg_dump's pre-data section and returns a
// function that finishes it with the post-data section, as a restore does around the rows.
func restoreSchema(t *testing.T, src, dst string) (post func()) {
	t.Helper()
	ctx := context.Background()
	pd, err := schemas.FindPgDump("")
	if err != nil {
		t.Fatalf("pg_dump: %v", err)
	}
	ddl, err := pd.Dump(ctx, src, schemas.DumpOptions{})
	if err != nil {
		t.Fatalf("pg_dump: %v", err)
	}
	conn := pgtest.Connect(t, dst)
	pgtest.Exec(t, conn, ddl.PreData)
	return func() {
		if ddl.Preamble != "" {
			pgtest.Exec(t, conn, ddl.Preamble)
		}
		for _, e := range ddl.PostData {
			pgtest.Exec(t, conn, e.SQL)
		}
		cat, err := schemas.LoadCatalog(ctx, pgtest.Connect(t, src))
		if err != nil {
			t.Fatal(err)
		}
		for _, mv := range cat.MatViews {
			pgtest.Exec(t, conn, "REFRESH MATERIALIZED VIEW "+mv.Quoted())
		}
	}
}

// Every table of the type zoo goes COPY → Parquet parts → COPY into a database restored from
// the same schema, and comes out with the same rows.
func TestTypeZooRoundTrip(t *testing.T) {
	src := pgtest.NewDB(t)
	srcConn := pgtest.Connect(t, src)
	pgtest.Exec(t, srcConn, fixtures.TypeZooSQL)
	tables := zooTables(t, srcConn)

	for _, tc := range []struct {
		name string
		o    parquetpart.Options
	}{
		{"defaults", parquetpart.Options{}},
		// A part per row group of at most two rows (or 64 KiB): most tables in several parts.
		{"small parts and row groups", parquetpart.Options{RowGroupRows: 2, RowGroupBytes: 64 << 10, PartBytes: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			mem := checkedMem(t)
			tc.o.Mem = mem
			dst := pgtest.NewDB(t)
			post := restoreSchema(t, src, dst)
			dstConn := pgtest.Connect(t, dst)

			var parts, multi, textTables int
			var rows, streamBytes, partBytes int64
			var writeTime, readTime time.Duration
			var raws []string
			for _, tb := range tables {
				var stream bytes.Buffer
				if _, err := srcConn.PgConn().CopyTo(ctx, &stream, "COPY "+tb.name.Quoted()+" ("+tb.colList+") TO STDOUT "+tb.format()); err != nil {
					t.Fatalf("%s: copy out: %v", tb.name, err)
				}
				streamBytes += int64(stream.Len())
				var s memStore
				o := tc.o
				start := time.Now()
				ps, err := parquetpart.WriteParts(bytes.NewReader(stream.Bytes()), tb.cols, tb.text, s.next, o)
				for col, ok := parquetpart.OutOfRange(err); ok && len(o.Raw) < len(tb.cols); col, ok = parquetpart.OutOfRange(err) {
					// A value its native type cannot hold: write the stream again, that column raw.
					raws = append(raws, tb.name.String()+"."+col)
					o.Raw = append(o.Raw, col)
					s = memStore{}
					ps, err = parquetpart.WriteParts(bytes.NewReader(stream.Bytes()), tb.cols, tb.text, s.next, o)
				}
				writeTime += time.Since(start)
				if err != nil {
					t.Fatalf("%s: WriteParts: %v", tb.name, err)
				}
				if len(ps) > 1 {
					multi++
				}
				if tb.text {
					textTables++
				}
				parts += len(ps)
				for i, p := range ps {
					partBytes += p.Bytes
					var out bytes.Buffer
					start := time.Now()
					n, err := parquetpart.ReadPart(bytes.NewReader(s.writers[i].Bytes()), p.Bytes, tb.cols, tb.text, &out, tc.o)
					readTime += time.Since(start)
					if err != nil {
						t.Fatalf("%s part %d: ReadPart: %v", tb.name, i, err)
					}
					if n != p.Rows {
						t.Errorf("%s part %d: read %d rows, wrote %d", tb.name, i, n, p.Rows)
					}
					rows += n
					tag, err := dstConn.PgConn().CopyFrom(ctx, &out, "COPY "+tb.name.Quoted()+" ("+tb.colList+") FROM STDIN "+tb.format())
					if err != nil {
						t.Fatalf("%s part %d: copy in: %v", tb.name, i, err)
					}
					if tag.RowsAffected() != n {
						t.Errorf("%s part %d: loaded %d rows, read %d", tb.name, i, tag.RowsAffected(), n)
					}
				}
			}
			post()
			pgtest.AssertSameRows(t, src, dst)
			t.Logf("%d tables (%d in text format), %d rows, %d parts (%d tables in several); COPY %d bytes → Parquet %d bytes; write %v, read %v; raw for range: %v",
				len(tables), textTables, rows, parts, multi, streamBytes, partBytes, writeTime.Round(time.Millisecond), readTime.Round(time.Millisecond), raws)
			if textTables == 0 {
				t.Error("no table was copied in text format: the text path went untested")
			}
			if tc.o.PartBytes > 0 && multi < len(tables)/2 {
				t.Errorf("only %d tables were written in several parts", multi)
			}
		})
	}
}
