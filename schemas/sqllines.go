package schemas

import "strings"

// sqlLine is one line of SQL text as pg_dump writes it.
type sqlLine struct {
	text    string // without its newline
	outside bool   // it begins outside every literal, quoted identifier and block comment
}

// sqlLines cuts SQL text into lines and says of each whether it begins outside every string
// literal ('…' where a doubled quote is a quote; E'…' also with backslash escapes),
// dollar-quoted body ($tag$…$tag$), quoted identifier ("…") and block comment (/* … */,
// nested). Only such a line can be one of pg_dump's own lines — its "--" framing, its
// "-- Name: …" headers, psql's \restrict — since the same text inside a policy's string, an
// index predicate or a function body is data.
//
// Joined with "\n", the texts give back the input exactly.
func sqlLines(sql string) []sqlLine {
	const (
		normal = iota
		lineComment
		quoted  // '…', standard: only '' escapes
		escaped // E'…': '' and backslash escapes
		dollar  // $tag$…$tag$
		ident   // "…"
		block   // /* … */
	)
	lines := make([]sqlLine, 0, strings.Count(sql, "\n")+1)
	state, depth, tag := normal, 0, ""
	start, outside := 0, true
	backslash := false // in an E'…' string, the previous byte was an unescaped backslash
	for i := 0; i < len(sql); i++ {
		c := sql[i]
		if c == '\n' {
			lines = append(lines, sqlLine{sql[start:i], outside})
			if state == lineComment {
				state = normal
			}
			backslash = false
			start, outside = i+1, state == normal
			continue
		}
		switch state {
		case normal:
			switch {
			case c == '-' && strings.HasPrefix(sql[i:], "--"):
				state, i = lineComment, i+1
			case c == '/' && strings.HasPrefix(sql[i:], "/*"):
				state, depth, i = block, 1, i+1
			case c == '\'':
				state = quoted
				if i > 0 && (sql[i-1] == 'E' || sql[i-1] == 'e') && (i < 2 || !identByte(sql[i-2])) {
					state = escaped
				}
			case c == '"':
				state = ident
			case c == '$' && (i == 0 || !identByte(sql[i-1])):
				if t := dollarTag(sql[i:]); t != "" {
					state, tag, i = dollar, t, i+len(t)-1
				}
			}
		case quoted, escaped:
			switch {
			case backslash:
				backslash = false
			case c == '\\' && state == escaped:
				backslash = true
			case c == '\'' && strings.HasPrefix(sql[i:], "''"):
				i++
			case c == '\'':
				state = normal
			}
		case ident:
			if c == '"' {
				if strings.HasPrefix(sql[i:], `""`) {
					i++
				} else {
					state = normal
				}
			}
		case dollar:
			if c == '$' && strings.HasPrefix(sql[i:], tag) {
				state, i = normal, i+len(tag)-1
			}
		case block:
			switch {
			case c == '/' && strings.HasPrefix(sql[i:], "/*"):
				depth, i = depth+1, i+1
			case c == '*' && strings.HasPrefix(sql[i:], "*/"):
				depth, i = depth-1, i+1
				if depth == 0 {
					state = normal
				}
			}
		}
	}
	return append(lines, sqlLine{sql[start:], outside})
}

// dollarTag returns the dollar-quote delimiter ($$ or $tag$) s begins with, or "".
func dollarTag(s string) string {
	for i := 1; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '$':
			return s[:i+1]
		case c == '_' || c >= 0x80 || c|0x20 >= 'a' && c|0x20 <= 'z':
		case c >= '0' && c <= '9' && i > 1: // a tag does not begin with a digit ($1 is a parameter)
		default:
			return ""
		}
	}
	return ""
}

// identByte says whether c can continue an identifier or a number, so that a quote or
// dollar sign right after it is not the start of a literal.
func identByte(c byte) bool {
	return c == '_' || c == '$' || c >= 0x80 || c >= '0' && c <= '9' || c|0x20 >= 'a' && c|0x20 <= 'z'
}
