package rehearse

import (
	"fmt"
	"strings"
	"time"

	"github.com/understudy-dev/understudy/pipeline"
)

// Budget is what a rehearsal may cost before it fails (exit 6). Zero means no limit.
type Budget struct {
	MaxLockWait   time.Duration // the longest any traffic query waited for a lock
	MaxStatement  time.Duration // one statement's time
	MaxMigration  time.Duration // one migration's time
	NoRewriteOver int64         // bytes: no table or index bigger than this may be rewritten
	// Origin says where a limit was set, by budget name (max-lock-wait, …), for messages:
	// "max_statement 30s (rehearse.yaml:4)". A limit without one was set by its flag.
	Origin map[string]string
}

// describe names a limit as the user set it: "--max-statement 30s", or the config's key
// and place.
func (b Budget) describe(name, limit string) string {
	if o := b.Origin[name]; o != "" {
		return fmt.Sprintf("%s %s (%s)", strings.ReplaceAll(name, "-", "_"), limit, o)
	}
	return "--" + name + " " + limit
}

// judge fills the budget verdict and each statement's advice.
func judge(rep *Report, b Budget) {
	rep.Budget = BudgetResult{OK: true, Violations: []Violation{}}
	add := func(v Violation) {
		rep.Budget.OK = false
		rep.Budget.Violations = append(rep.Budget.Violations, v)
	}
	for _, m := range rep.Migrations {
		if b.MaxMigration > 0 && m.Seconds > b.MaxMigration.Seconds() {
			add(Violation{Budget: "max-migration", Migration: m.Name, Measured: secs(m.Seconds), Limit: b.MaxMigration.String(),
				Message: fmt.Sprintf("%s took %s (budget %s)", m.Name, secs(m.Seconds), b.describe("max-migration", b.MaxMigration.String()))})
		}
		for _, st := range m.Statements {
			st.Advice = advise(st)
			if b.MaxStatement > 0 && st.Seconds > b.MaxStatement.Seconds() {
				add(Violation{Budget: "max-statement", Migration: m.Name, SQL: st.SQL, Measured: secs(st.Seconds), Limit: b.MaxStatement.String(),
					Message: fmt.Sprintf("%s: %s took %s (budget %s)", m.Name, st.SQL, secs(st.Seconds), b.describe("max-statement", b.MaxStatement.String()))})
			}
			if tr := st.Traffic; b.MaxLockWait > 0 && tr != nil && tr.MaxWaitSeconds > b.MaxLockWait.Seconds() {
				add(Violation{Budget: "max-lock-wait", Migration: m.Name, SQL: st.SQL, Measured: secs(tr.MaxWaitSeconds), Limit: b.MaxLockWait.String(),
					Message: fmt.Sprintf("%s: during %s, traffic on %s waited up to %s for a lock (budget %s)",
						m.Name, st.SQL, strings.Join(tr.BlockedTables, ", "), secs(tr.MaxWaitSeconds), b.describe("max-lock-wait", b.MaxLockWait.String()))})
			}
			for _, rw := range st.Rewrites {
				if b.NoRewriteOver > 0 && rw.BytesBefore > b.NoRewriteOver {
					add(Violation{Budget: "no-rewrite-over", Migration: m.Name, SQL: st.SQL, Measured: pipeline.HumanBytes(rw.BytesBefore), Limit: pipeline.HumanBytes(b.NoRewriteOver),
						Message: fmt.Sprintf("%s: %s rewrote %s %s of %s (budget %s)", m.Name, st.SQL, rw.Kind, rw.Relation,
							pipeline.HumanBytes(rw.BytesBefore), b.describe("no-rewrite-over", pipeline.HumanBytes(b.NoRewriteOver)))})
				}
			}
		}
	}
}

// advise ties advice to what the statement was measured doing: a lock held long enough to
// block, a rewrite, a scan under a strong lock. A statement that blocked nothing and
// rewrote nothing gets none.
func advise(st *StmtResult) []string {
	var out []string
	kw := strings.Join(st.kw, " ")
	blocked := 0
	if st.Traffic != nil {
		blocked = st.Traffic.Waited
	}
	lockOn := func(mode string) (Lock, bool) {
		var best Lock
		found := false
		for _, l := range st.Locks {
			if l.Mode == mode && (!found || l.HeldSeconds > best.HeldSeconds) {
				best, found = l, true
			}
		}
		return best, found
	}
	impact := func(l Lock) string {
		s := fmt.Sprintf("held %s on %s for %s", l.Mode, l.Relation, secs(l.HeldSeconds))
		if blocked > 0 {
			s += fmt.Sprintf(" and blocked %d queries", blocked)
			if st.Traffic.BlockedWrites > 0 {
				s += fmt.Sprintf(" (%d writes)", st.Traffic.BlockedWrites)
			}
			s += fmt.Sprintf(", the longest for %s", secs(st.Traffic.MaxWaitSeconds))
		}
		return s
	}
	significant := func(l Lock) bool { return l.HeldSeconds >= 0.1 || blocked > 0 }
	switch {
	case strings.HasPrefix(kw, "CREATE INDEX") || strings.HasPrefix(kw, "CREATE UNIQUE INDEX"):
		if l, ok := lockOn("ShareLock"); ok && significant(l) && !strings.Contains(kw, "CONCURRENTLY") {
			out = append(out, fmt.Sprintf("CREATE INDEX %s → CREATE INDEX CONCURRENTLY (in its own migration, outside a transaction): writes go on while it builds", impact(l)))
		}
	case strings.HasPrefix(kw, "ALTER TABLE"):
		sql := strings.ToUpper(st.SQL)
		switch {
		case strings.Contains(sql, "FOREIGN KEY") && !strings.Contains(sql, "NOT VALID"):
			if l, ok := lockOn("ShareRowExclusiveLock"); ok && significant(l) {
				out = append(out, fmt.Sprintf("ADD FOREIGN KEY %s while it checked every row → ADD CONSTRAINT … NOT VALID, then ALTER TABLE … VALIDATE CONSTRAINT in a later transaction (it takes only ShareUpdateExclusiveLock)", impact(l)))
			}
		case strings.Contains(sql, "SET NOT NULL"):
			if l, ok := lockOn("AccessExclusiveLock"); ok && significant(l) {
				out = append(out, fmt.Sprintf("SET NOT NULL %s while it scanned the table → first ADD CONSTRAINT … CHECK (col IS NOT NULL) NOT VALID and VALIDATE it; SET NOT NULL then skips the scan (PostgreSQL 12+)", impact(l)))
			}
		case strings.Contains(sql, " CHECK ") && !strings.Contains(sql, "NOT VALID"):
			if l, ok := lockOn("AccessExclusiveLock"); ok && significant(l) {
				out = append(out, fmt.Sprintf("ADD CHECK %s while it checked every row → ADD CONSTRAINT … NOT VALID, then VALIDATE CONSTRAINT in a later transaction", impact(l)))
			}
		case (strings.Contains(sql, "PRIMARY KEY") || strings.Contains(sql, "UNIQUE")) && !strings.Contains(sql, "USING INDEX"):
			if l, ok := lockOn("AccessExclusiveLock"); ok && significant(l) {
				out = append(out, fmt.Sprintf("ADD PRIMARY KEY/UNIQUE %s while it built the index → CREATE UNIQUE INDEX CONCURRENTLY first, then ADD CONSTRAINT … USING INDEX", impact(l)))
			}
		}
		for _, rw := range st.Rewrites {
			if rw.Kind != "table" {
				continue
			}
			l, _ := lockOn("AccessExclusiveLock")
			why := "the table"
			switch {
			case strings.Contains(sql, " TYPE "):
				why = "a column type change"
			case strings.Contains(sql, "ADD COLUMN") || strings.Contains(sql, " ADD "):
				why = "a new column's volatile default (or a stored generated column)"
			}
			out = append(out, fmt.Sprintf("%s rewrote %s (%s → %s) under %s → avoid the rewrite: add a new column, backfill it in batches, switch readers over, then drop the old one (or pick a change PostgreSQL makes in place, e.g. a larger varchar, a constant default)",
				why, rw.Relation, pipeline.HumanBytes(rw.BytesBefore), pipeline.HumanBytes(rw.BytesAfter), impact(l)))
			break
		}
	}
	if len(out) == 0 {
		// any other statement that held the strongest lock long enough to block
		if l, ok := lockOn("AccessExclusiveLock"); ok && blocked > 0 && l.HeldSeconds >= 1 {
			out = append(out, fmt.Sprintf("%s %s → keep statements under AccessExclusiveLock short, and set lock_timeout in the migration so a queue behind it cannot form", st.SQL, impact(l)))
		}
	}
	if st.Traffic != nil && st.Traffic.Deadlocks > 0 {
		out = append(out, fmt.Sprintf("%d deadlocks with the traffic → take the locks in the order the application does, or lock the tables up front (LOCK TABLE … IN … MODE)", st.Traffic.Deadlocks))
	}
	return out
}

func secs(s float64) string {
	switch {
	case s >= 100:
		return fmt.Sprintf("%.0f s", s)
	case s >= 1:
		return fmt.Sprintf("%.1f s", s)
	case s >= 0.001:
		return fmt.Sprintf("%.0f ms", s*1000)
	}
	return fmt.Sprintf("%.2f ms", s*1000)
}
