package subset

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/understudy-dev/understudy/fixtures/pgtest"
	"github.com/understudy-dev/understudy/schemas"
	"github.com/understudy-dev/understudy/transforms"
)

// snapshot opens the kind of transaction Compute runs in: REPEATABLE READ READ ONLY, the
// catalog read inside it.
func snapshot(t *testing.T, dsn string) (pgx.Tx, *schemas.Catalog) {
	t.Helper()
	ctx := context.Background()
	conn := pgtest.Connect(t, dsn)
	tx, err := conn.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tx.Rollback(context.Background()) })
	cat, err := schemas.LoadCatalog(ctx, tx)
	if err != nil {
		t.Fatal(err)
	}
	return tx, cat
}

func compute(t *testing.T, tx pgx.Tx, cat *schemas.Catalog, key *transforms.Key, seeds ...Seed) *Result {
	t.Helper()
	res, err := Compute(context.Background(), tx, cat.Tables, seeds, key)
	if err != nil {
		t.Fatal(err)
	}
	checkForeignKeys(t, tx, cat, res)
	return res
}

func name(s string) schemas.Name {
	schema, table, _ := strings.Cut(s, ".")
	return schemas.Name{Schema: schema, Name: table}
}

// ids returns the sorted values of column col over the rows of table kept by res (all rows
// if the table is whole).
func ids(t *testing.T, tx pgx.Tx, res *Result, table, col string) []int64 {
	t.Helper()
	sql := "SELECT " + col + "::bigint FROM ONLY " + name(table).Quoted()
	if tids, restricted := res.Rows(name(table)); restricted {
		sql += " WHERE " + TIDCondition(tids)
	}
	rows, err := tx.Query(context.Background(), sql+" ORDER BY 1")
	if err != nil {
		t.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// query returns the sorted bigints a query yields.
func query(t *testing.T, tx pgx.Tx, sql string) []int64 {
	t.Helper()
	rows, err := tx.Query(context.Background(), sql)
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	slices.Sort(out)
	return out
}

func wantIDs(t *testing.T, table string, got, want []int64) {
	t.Helper()
	if got == nil {
		got = []int64{}
	}
	if want == nil {
		want = []int64{}
	}
	if !slices.Equal(got, want) {
		t.Errorf("%s: kept %v, want %v", table, got, want)
	}
}

// checkForeignKeys asserts the invariant, with SQL against the source: for every foreign key
// of every copied table, every kept row whose key columns are all non-NULL references a kept
// row.
func checkForeignKeys(t *testing.T, tx pgx.Tx, cat *schemas.Catalog, res *Result) {
	t.Helper()
	for _, child := range cat.Tables {
		if child.Kind != 'r' {
			continue
		}
		from := "(SELECT * FROM ONLY " + child.Name.Quoted() + ")"
		if tids, restricted := res.Rows(child.Name); restricted {
			from = "(SELECT * FROM ONLY " + child.Name.Quoted() + " WHERE " + TIDCondition(tids) + ")"
		}
		for _, fk := range child.ForeignKeys {
			if partitionClone(cat, child, fk) {
				continue
			}
			ref := cat.Table(fk.Ref)
			target := "ONLY " + fk.Ref.Quoted()
			if ref.Kind == 'p' {
				target = fk.Ref.Quoted()
			}
			var kept, on, notNull []string
			for _, leaf := range cat.Tables {
				if leaf.Kind == 'r' && under(leaf, fk.Ref) {
					c := "p.tableoid = " + strconv.FormatUint(uint64(leaf.OID), 10)
					if tids, restricted := res.Rows(leaf.Name); restricted {
						c += " AND " + TIDCondition(tids)
					}
					kept = append(kept, "("+c+")")
				}
			}
			for i := range fk.Columns {
				on = append(on, "p."+schemas.QuoteIdent(fk.RefColumns[i])+" = c."+schemas.QuoteIdent(fk.Columns[i]))
				notNull = append(notNull, "c."+schemas.QuoteIdent(fk.Columns[i])+" IS NOT NULL")
			}
			sql := "SELECT count(*) FROM " + from + " c WHERE " + strings.Join(notNull, " AND ") +
				" AND NOT EXISTS (SELECT 1 FROM " + target + " p WHERE " + strings.Join(on, " AND ") +
				" AND (" + strings.Join(kept, " OR ") + "))"
			var broken int64
			if err := tx.QueryRow(context.Background(), sql).Scan(&broken); err != nil {
				t.Fatalf("check %s.%s: %v", child.Name, fk.Name, err)
			}
			if broken > 0 {
				t.Errorf("%s: %d kept rows of %s reference a row of %s that is not kept", fk.Name, broken, child.Name, fk.Ref)
			}
		}
	}
}

// partitionClone reports whether fk is the copy PostgreSQL makes, for one partition, of a
// foreign key to a partitioned table: not a constraint of its own.
func partitionClone(cat *schemas.Catalog, child *schemas.Table, fk schemas.ForeignKey) bool {
	ref := cat.Table(fk.Ref)
	if ref == nil || !ref.IsPartition {
		return false
	}
	for _, o := range child.ForeignKeys {
		if o.Ref != fk.Ref && slices.Equal(o.Columns, fk.Columns) && under(ref, o.Ref) {
			return true
		}
	}
	return false
}

func under(t *schemas.Table, n schemas.Name) bool {
	for ; t != nil; t = t.Parent {
		if t.Name == n {
			return true
		}
	}
	return false
}
