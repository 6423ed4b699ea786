package job

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"golang.org/x/sync/errgroup"

	"github.com/understudy-dev/understudy/pipeline"
	"github.com/understudy-dev/understudy/pipeline/config"
	"github.com/understudy-dev/understudy/pipeline/failure"
	"github.com/understudy-dev/understudy/pipeline/pgsource"
	"github.com/understudy-dev/understudy/pipeline/postgres"
	"github.com/understudy-dev/understudy/schemas"
)

// VerifyOptions configure Verify.
type VerifyOptions struct {
	Source, Target config.DSN
	// Rules the target was made with; Scale, above 0, is the factor the target was scaled
	// by (sync --scale), overriding the config's scale.factor.
	Rules
	Out io.Writer
}

// chanceRules may produce a real value by chance (a fake first name that is also a real one);
// every other rule must leave no source value in place.
var chanceRules = map[string]float64{
	"first_name": 0.2, "last_name": 0.2, "full_name": 0.05, "city": 0.3, "country": 0.5, "company": 0.1,
	"job_title": 0.5, "postal_code": 0.2, "street_address": 0.05, "weighted_choice": 1, "dictionary": 1,
	"constant": 1, "round": 1, "truncate": 1, "random_range": 1, "numeric_noise": 1, "date_noise": 1,
	"birthdate": 1, "null": 0, "keep": 1,
	// a handful of user names (jsmith42) are common; user agents are real browsers' strings
	"username": 0.05, "user_agent": 1,
}

// VerifyResult sums up a verification.
type VerifyResult struct {
	Failures int
}

// Verify compares a finished target with its source under the config: row counts per table
// (a plain copy holds the source's rows; a subset, the rows the subset plan keeps; a scaled
// table, factor × those, a shared one, them once),
// the target's constraints all validated, and for every transformed column how many values
// survived. Where the table's primary key carries no rule, rows are matched by key and a
// survivor is a row whose value did not change; otherwise a survivor is a distinct target
// value that also occurs in the source column. Both are computed by streaming sorted
// digests from the two servers and merging them, so memory stays bounded on any table size.
// Identifier rules (hash, permute, email, phone, card, IBAN, ...) must leave none; rules
// that can coincide with real values by chance have the documented rates in chanceRules.
func Verify(ctx context.Context, o VerifyOptions) (*VerifyResult, error) {
	src, err := pgsource.Open(ctx, o.Source.Value())
	if err != nil {
		return nil, err
	}
	defer src.Close(context.WithoutCancel(ctx))
	plan, err := pipeline.BuildPlan(src.Catalog(), o.Config, pipeline.PlanOptions{Registry: o.Registry, Key: o.Key,
		Literal: func(col schemas.Column, text string) ([]byte, error) { return src.Literal(ctx, col, text) }})
	if err != nil {
		return nil, err
	}
	if err := postgres.CheckSource(ctx, src.Querier(), postgres.SourceNeeds{Read: planned(plan)}); err != nil {
		return nil, err
	}
	// The rows the config asked for: its subset and its scale, planned as sync plans them.
	if err := shapeRows(ctx, src, plan, o.Rules); err != nil {
		return nil, err
	}
	sc, err := postgres.Connect(ctx, o.Source.Value(), "source")
	if err != nil {
		return nil, err
	}
	defer sc.Close(context.WithoutCancel(ctx))
	tc, err := postgres.Connect(ctx, o.Target.Value(), "target")
	if err != nil {
		return nil, err
	}
	defer tc.Close(context.WithoutCancel(ctx))

	res := &VerifyResult{}
	tw := tabwriter.NewWriter(o.Out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TABLE\tCOLUMN\tRULE\tCOMPARED\tSURVIVED\tALLOWED\tRESULT")
	for _, tp := range plan.Tables {
		var sn, tn int64
		if err := sc.QueryRow(ctx, "SELECT count(*) FROM ONLY "+tp.Name.Quoted()).Scan(&sn); err != nil {
			return nil, fmt.Errorf("source: count %s: %w", tp.Name, err)
		}
		if err := tc.QueryRow(ctx, "SELECT count(*) FROM ONLY "+tp.Name.Quoted()).Scan(&tn); err != nil {
			return nil, fmt.Errorf("target: count %s: %w", tp.Name, err)
		}
		if want, how, why := expectedRows(tp, sn); tn != want || how != "" {
			verdict := "ok"
			if tn != want {
				verdict = "FAIL"
				res.Failures++
			}
			if why != "" {
				verdict += ": " + why
			}
			fmt.Fprintf(tw, "%s\t(rows)\t%s\t%d\t%d in target\t\t%s\n", tp.Name, how, want, tn, verdict)
		}
		for _, r := range tp.Rules {
			compared, survived, judged, err := survivors(ctx, o, tp, r)
			if err != nil {
				return nil, err
			}
			if !judged {
				fmt.Fprintf(tw, "%s\t%s\t%s\t\t\t\tnot judged: the condition reads a transformed column and no untransformed key pairs the rows\n", tp.Name, r.Column.Name, r.Rule)
				continue
			}
			allowed, chance := chanceRules[r.Rule]
			if !chance {
				allowed = 0
			}
			verdict := "ok"
			if compared > 0 && float64(survived) > allowed*float64(compared) {
				verdict = "FAIL"
				res.Failures++
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%.0f%%\t%s\n", tp.Name, r.Column.Name, r.Rule, compared, survived, allowed*100, verdict)
		}
	}
	tw.Flush()
	var invalid int
	if err := tc.QueryRow(ctx, "SELECT count(*) FROM pg_constraint WHERE NOT convalidated").Scan(&invalid); err != nil {
		return nil, fmt.Errorf("target: %w", err)
	}
	var sCons, tCons int
	q := `SELECT count(*) FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')`
	if err := sc.QueryRow(ctx, q).Scan(&sCons); err != nil {
		return nil, fmt.Errorf("source: %w", err)
	}
	if err := tc.QueryRow(ctx, q).Scan(&tCons); err != nil {
		return nil, fmt.Errorf("target: %w", err)
	}
	fmt.Fprintf(o.Out, "\nconstraints: %d in the source, %d in the target, %d not validated\n", sCons, tCons, invalid)
	if invalid > 0 || sCons != tCons {
		res.Failures++
	}
	if res.Failures > 0 {
		return res, failure.Errorf(failure.ExitFailed, "", "verify: %d check(s) failed", res.Failures)
	}
	fmt.Fprintln(o.Out, "verify: every check passed")
	return res, nil
}

// expectedRows is how many rows the target's copy of a table must hold, given the source's
// count: what the subset plan keeps (computed again, as sync computed it, from the source
// and the config's seeds), times the copies scaling writes. how names what shaped the count
// (empty for a plain copy), why says where the number comes from.
func expectedRows(tp *pipeline.TablePlan, source int64) (want int64, how, why string) {
	want, why = source, ""
	if tp.Subset {
		want, how = tp.KeptRows, "subset"
		why = fmt.Sprintf("the subset plan keeps %d of %d source rows", tp.KeptRows, source)
	}
	if tp.Copies > 1 {
		if how != "" {
			how += ", "
			why = fmt.Sprintf("%d × the %d of %d source rows the subset plan keeps", tp.Copies, tp.KeptRows, source)
		} else {
			why = fmt.Sprintf("%d × %d source rows", tp.Copies, source)
		}
		how += fmt.Sprintf("scale ×%d", tp.Copies)
		want *= int64(tp.Copies)
	}
	return want, how, why
}

// survivors counts, for one rule's column, the values compared and the values that
// survived. A rule with a condition is judged on the rows it selects: where an untransformed
// key pairs the rows, the source side keeps only the selected rows; otherwise both sides are
// filtered by the condition, which works only when it reads no transformed column (judged
// is false then).
func survivors(ctx context.Context, o VerifyOptions, tp *pipeline.TablePlan, r pipeline.ColumnRule) (compared, survived int64, judged bool, err error) {
	col := r.Column
	c := schemas.QuoteIdent(col.Name) + "::text"
	// A value without a letter or digit (NULL, '', ' ', '-') tells nothing about anyone: an
	// empty phone that stays empty is no survivor.
	worth := c + " ~ '[[:alnum:]]'"
	var q string
	keyed := len(tp.PrimaryKey) > 0
	for _, k := range tp.PrimaryKey {
		if tp.Covered(k) && !tp.Kept[k] {
			keyed = false // the key itself was transformed: rows cannot be matched
		}
	}
	srcQ := func(q string) string { return q }
	if r.When != nil {
		cond := " AND (" + r.When.SQL() + ")"
		if keyed {
			srcQ = func(q string) string { return strings.Replace(q, worth, worth+cond, 1) }
		} else {
			for _, cc := range r.When.Columns() {
				if tp.Covered(cc) && !tp.Kept[cc] {
					return 0, 0, false, nil
				}
			}
			worth += cond
		}
	}
	if keyed {
		var pk []string
		for _, k := range tp.PrimaryKey {
			pk = append(pk, schemas.QuoteIdent(k)+"::text")
		}
		key := "md5(concat_ws(',', " + strings.Join(pk, ", ") + "))"
		q = fmt.Sprintf("COPY (SELECT %s || ' ' || md5(%s) FROM ONLY %s WHERE %s ORDER BY 1) TO STDOUT",
			key, c, tp.Name.Quoted(), worth)
	} else {
		q = fmt.Sprintf("COPY (SELECT DISTINCT md5(%s) FROM ONLY %s WHERE %s ORDER BY 1) TO STDOUT",
			c, tp.Name.Quoted(), worth)
	}
	// Both servers sort; the two streams are merged line by line: bounded memory.
	g, gctx := errgroup.WithContext(ctx)
	sr, sw := io.Pipe()
	tr, tw := io.Pipe()
	for _, side := range []struct {
		dsn, role string
		w         *io.PipeWriter
		q         string
	}{{o.Source.Value(), "source", sw, srcQ(q)}, {o.Target.Value(), "target", tw, q}} {
		g.Go(func() error {
			// Both sides print values the same way (postgres.Connect pins the settings that
			// shape text output), or equal values would not digest alike.
			conn, err := postgres.Connect(gctx, side.dsn, side.role)
			if err != nil {
				side.w.CloseWithError(err)
				return err
			}
			defer conn.Close(context.WithoutCancel(gctx))
			_, err = conn.PgConn().CopyTo(gctx, side.w, side.q)
			side.w.CloseWithError(err)
			return err
		})
	}
	g.Go(func() error {
		a, b := bufio.NewScanner(sr), bufio.NewScanner(tr)
		okA, okB := a.Scan(), b.Scan()
		for okB {
			k := keyPart(b.Text(), keyed)
			for okA && a.Text() < k {
				okA = a.Scan()
			}
			// Keyed, a target row counts where the source has its row (all of them, but for
			// the rows a condition left alone); otherwise every distinct target value counts.
			if !keyed || okA && strings.HasPrefix(a.Text(), k) {
				compared++
			}
			if okA && a.Text() == b.Text() { // same value (and, keyed, the same row)
				survived++
			}
			okB = b.Scan()
		}
		for okA { // drain, so the source's COPY can finish
			okA = a.Scan()
		}
		sr.Close()
		tr.Close()
		return nil
	})
	if err := g.Wait(); err != nil {
		return 0, 0, false, fmt.Errorf("compare %s.%s: %w", tp.Name, col.Name, err)
	}
	return compared, survived, true, nil
}

// keyPart is what the merge orders by: the row key, or the whole value digest.
func keyPart(line string, keyed bool) string {
	if keyed {
		return line[:strings.IndexByte(line, ' ')] + " "
	}
	return line
}
