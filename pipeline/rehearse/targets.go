package rehearse

import "strings"

// Targets lists the tables a statement names as what it changes or reads by position in
// its grammar (ALTER TABLE t, CREATE INDEX … ON t, REFERENCES t, INSERT INTO t, UPDATE t,
// DELETE FROM t, TRUNCATE t, LOCK t, VACUUM t, CLUSTER t, REINDEX TABLE t, COPY t), as
// written (schema-qualified or not, quoted or not), for the server to resolve.
func Targets(sql string) []string {
	var toks []token
	for _, t := range lex(sql) {
		if t.kind != tkComment {
			toks = append(toks, t)
		}
	}
	word := func(i int) string {
		if i < len(toks) && toks[i].kind == tkWord {
			return strings.ToUpper(sql[toks[i].start:toks[i].end])
		}
		return ""
	}
	// name reads a (possibly qualified) name at i, skipping the listed noise words.
	name := func(i int, skip ...string) string {
		for i < len(toks) {
			w := word(i)
			found := false
			for _, s := range skip {
				if w == s {
					found = true
				}
			}
			if !found {
				break
			}
			i++
		}
		var b strings.Builder
		for i < len(toks) && (toks[i].kind == tkWord || toks[i].kind == tkQuoted) {
			b.WriteString(sql[toks[i].start:toks[i].end])
			if i+1 < len(toks) && sql[toks[i+1].start:toks[i+1].end] == "." {
				b.WriteByte('.')
				i += 2
				continue
			}
			break
		}
		return b.String()
	}
	var out []string
	add := func(n string) {
		if n == "" {
			return
		}
		for _, o := range out {
			if o == n {
				return
			}
		}
		out = append(out, n)
	}
	first := word(0)
	for i := range toks {
		switch word(i) {
		case "TABLE":
			if i > 0 && (word(i-1) == "ALTER" || word(i-1) == "TRUNCATE" || word(i-1) == "LOCK" || word(i-1) == "REINDEX") {
				add(name(i+1, "IF", "EXISTS", "ONLY"))
			}
		case "ON":
			if first == "CREATE" && strings.Contains(strings.ToUpper(sql[toks[0].start:toks[i].start]), "INDEX") {
				add(name(i+1, "ONLY"))
			}
		case "REFERENCES":
			add(name(i + 1))
		case "INTO":
			if i > 0 && word(i-1) == "INSERT" {
				add(name(i + 1))
			}
		case "UPDATE":
			if i == 0 {
				add(name(i+1, "ONLY"))
			}
		case "FROM":
			if i > 0 && word(i-1) == "DELETE" {
				add(name(i+1, "ONLY"))
			}
		case "TRUNCATE", "LOCK", "CLUSTER", "COPY":
			if i == 0 && word(1) != "TABLE" {
				add(name(i+1, "ONLY", "VERBOSE"))
			}
		case "VACUUM", "ANALYZE":
			if i == 0 {
				j := i + 1
				if j < len(toks) && sql[toks[j].start:toks[j].end] == "(" {
					for j < len(toks) && sql[toks[j].start:toks[j].end] != ")" {
						j++
					}
					j++
				}
				add(name(j, "FULL", "FREEZE", "VERBOSE", "ANALYZE"))
			}
		}
	}
	return out
}
