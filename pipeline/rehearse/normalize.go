package rehearse

import (
	"strconv"
	"strings"
)

// maxSQL is how much of a statement's normalized text a report shows.
const maxSQL = 160

// Display returns sql as a report shows it: comments dropped, white space collapsed to one
// space, cut to maxSQL characters with "…".
func Display(sql string) string {
	return shorten(normalize(sql, false), maxSQL)
}

// Fingerprint returns the text statements are aggregated by, as pg_stat_statements does:
// comments and white space dropped, and in DML every literal replaced by $n (so 1,000 INSERTs
// of different rows are one entry). DDL keeps its literals: numeric(10,2) and numeric(12,4)
// are different migrations.
func Fingerprint(sql string) string {
	return normalize(sql, isDML(sql))
}

func normalize(sql string, constants bool) string {
	var b strings.Builder
	toks := lex(sql)
	n := 0 // literals become $n after the statement's own parameters (extended protocol)
	for _, t := range toks {
		if t.kind == tkParam {
			if p, err := strconv.Atoi(sql[t.start+1 : t.end]); err == nil {
				n = max(n, p)
			}
		}
	}
	prev, prevOp := "", -1 // prevOp: where the last operator character ended
	for _, t := range toks {
		if t.kind == tkComment {
			continue
		}
		text := sql[t.start:t.end]
		joined := t.kind == tkOp && prevOp == t.start && strings.ContainsAny(text, opChars) // "<=", "->>", "::" stay whole
		prevOp = -1
		if t.kind == tkOp && strings.ContainsAny(text, opChars) {
			prevOp = t.end
		}
		if constants && (t.kind == tkString || t.kind == tkNumber) {
			n++
			text = "$" + strconv.Itoa(n)
		} else if t.kind == tkString && strings.EqualFold(prev, "PASSWORD") {
			// CREATE/ALTER ROLE … PASSWORD '…': a secret, never shown (a migration tool may
			// fill it in at run time).
			text = "'***'"
		}
		if t.kind == tkWord {
			// keywords read the same in any case; unquoted identifiers fold to lower case
			text = strings.ToUpper(text)
			if !isKeyword(text) {
				text = strings.ToLower(text)
			}
		}
		if b.Len() > 0 && !joined && spaceBetween(prev, text) {
			b.WriteByte(' ')
		}
		b.WriteString(text)
		prev = text
	}
	return b.String()
}

// opChars are the characters PostgreSQL operators are made of.
const opChars = "+-*/<>=~!@#%^&|`?"

// spaceBetween keeps the text readable and stable: "t (a, b)", "x::int", "s.t".
func spaceBetween(prev, next string) bool {
	switch next {
	case ",", ")", ".", ":", "[", "]", ";":
		return false
	}
	switch prev {
	case "(", ".", ":", "[":
		return false
	}
	return true
}

func shorten(s string, n int) string {
	if len([]rune(s)) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// isDML reports whether sql reads or writes rows rather than changing the schema.
func isDML(sql string) bool {
	kw := keywords(sql, 1)
	if len(kw) == 0 {
		return false
	}
	switch kw[0] {
	case "SELECT", "INSERT", "UPDATE", "DELETE", "MERGE", "VALUES", "WITH", "COPY", "TABLE", "FETCH", "EXECUTE", "(":
		return true
	}
	return false
}

// isKeyword reports whether an upper-cased word is one of the SQL keywords a migration shows.
// Everything else is an identifier and is shown in lower case.
func isKeyword(w string) bool {
	_, ok := sqlKeywords[w]
	return ok
}

var sqlKeywords = func() map[string]struct{} {
	m := map[string]struct{}{}
	for _, w := range strings.Fields(`ABORT ADD ALL ALTER ALWAYS ANALYZE AND ANY ARRAY AS ASC ATOMIC ATTACH BEGIN BETWEEN
	BIGINT BOOLEAN BY CASCADE CASE CAST CHECK CLUSTER COLLATE COLUMN COMMENT COMMIT CONCURRENTLY CONFLICT
	CONSTRAINT COPY CREATE CROSS CURRENT_DATE CURRENT_TIMESTAMP DATA DEFAULT DEFERRABLE DEFERRED DELETE DESC DETACH
	DISTINCT DO DROP ELSE END ENUM EXCLUDE EXECUTE EXISTS EXTENSION FALSE FETCH FOR FOREIGN FROM FULL FUNCTION
	GENERATED GRANT GROUP HAVING IDENTITY IF ILIKE IN INCLUDE INDEX INITIALLY INNER INSERT INTEGER INTO IS JOIN KEY
	LANGUAGE LEFT LIKE LIMIT LOCK MATERIALIZED MERGE MODE NOT NOTHING NOWAIT NULL NULLS NUMERIC OF OFFSET ON ONLY
	OR ORDER OUTER OWNER PARTITION PRIMARY PROCEDURE REFERENCES REFRESH REINDEX RENAME REPLACE RESTRICT RETURNING
	RETURNS REVOKE RIGHT ROLLBACK SAVEPOINT SCHEMA SELECT SEQUENCE SET SHARE SMALLINT START STORED TABLE TEMP
	TEMPORARY TEXT THEN TIMESTAMP TO TRANSACTION TRIGGER TRUE TRUNCATE TYPE UNION UNIQUE UPDATE USING VACUUM
	VALID VALIDATE VALUE VALUES VARCHAR VIEW WHEN WHERE WITH WITHOUT`) {
		m[w] = struct{}{}
	}
	return m
}()
