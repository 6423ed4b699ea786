package rehearse

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Statement is one SQL statement of a migration file.
type Statement struct {
	SQL    string // the statement's text as written, without the closing semicolon
	Line   int    // 1-based line of its first character in the file
	Column int    // 1-based column (in characters) of its first character
	Offset int    // byte offset of its first character in the file
}

// token kinds of the lexer.
const (
	tkWord    = iota // identifier or keyword
	tkQuoted         // "quoted identifier"
	tkString         // '…', E'…', $tag$…$tag$, B'…', X'…', U&'…'
	tkNumber         // 42, 1.5e3, 0x1F
	tkParam          // $1
	tkOp             // any other character run (operators, punctuation)
	tkSemi           // ;
	tkComment        // -- … or /* … */
)

type token struct {
	kind       int
	start, end int // byte offsets in the source
}

// lex cuts src into tokens, skipping white space. It never fails: an unterminated string or
// comment runs to the end of src (PostgreSQL reports the error when the statement runs).
func lex(src string) []token {
	var toks []token
	i := 0
	for i < len(src) {
		c := src[i]
		start := i
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			i++
			continue
		case c == '-' && i+1 < len(src) && src[i+1] == '-':
			for i < len(src) && src[i] != '\n' {
				i++
			}
			toks = append(toks, token{tkComment, start, i})
			continue
		case c == '/' && i+1 < len(src) && src[i+1] == '*':
			// block comments nest in PostgreSQL
			depth := 0
			for i < len(src) {
				if src[i] == '/' && i+1 < len(src) && src[i+1] == '*' {
					depth++
					i += 2
				} else if src[i] == '*' && i+1 < len(src) && src[i+1] == '/' {
					depth--
					i += 2
					if depth == 0 {
						break
					}
				} else {
					i++
				}
			}
			toks = append(toks, token{tkComment, start, i})
			continue
		case c == ';':
			i++
			toks = append(toks, token{tkSemi, start, i})
			continue
		case c == '\'':
			i = endQuote(src, i, false)
			toks = append(toks, token{tkString, start, i})
			continue
		case c == '"':
			i++
			for i < len(src) {
				if src[i] == '"' {
					if i+1 < len(src) && src[i+1] == '"' {
						i += 2
						continue
					}
					i++
					break
				}
				i++
			}
			toks = append(toks, token{tkQuoted, start, i})
			continue
		case c == '$':
			if j := dollarTag(src, i); j > 0 {
				tag := src[i:j]
				k := strings.Index(src[j:], tag)
				if k < 0 {
					i = len(src)
				} else {
					i = j + k + len(tag)
				}
				toks = append(toks, token{tkString, start, i})
				continue
			}
			i++
			for i < len(src) && src[i] >= '0' && src[i] <= '9' {
				i++
			}
			toks = append(toks, token{tkParam, start, i})
			continue
		case c >= '0' && c <= '9' || c == '.' && i+1 < len(src) && src[i+1] >= '0' && src[i+1] <= '9':
			i++
			for i < len(src) {
				d := src[i]
				if d >= '0' && d <= '9' || d == '.' || d == '_' || d >= 'a' && d <= 'z' || d >= 'A' && d <= 'Z' {
					// exponent sign
					if (d == 'e' || d == 'E') && i+1 < len(src) && (src[i+1] == '+' || src[i+1] == '-') {
						i++
					}
					i++
					continue
				}
				break
			}
			toks = append(toks, token{tkNumber, start, i})
			continue
		case isIdentStart(src, i):
			// E'…' (escape string), B'…', X'…', N'…', U&'…' are strings, not words
			if (c == 'e' || c == 'E') && i+1 < len(src) && src[i+1] == '\'' {
				i = endQuote(src, i+1, true)
				toks = append(toks, token{tkString, start, i})
				continue
			}
			if (c == 'b' || c == 'B' || c == 'x' || c == 'X' || c == 'n' || c == 'N') && i+1 < len(src) && src[i+1] == '\'' {
				i = endQuote(src, i+1, false)
				toks = append(toks, token{tkString, start, i})
				continue
			}
			if (c == 'u' || c == 'U') && i+2 < len(src) && src[i+1] == '&' && (src[i+2] == '\'' || src[i+2] == '"') {
				if src[i+2] == '\'' {
					i = endQuote(src, i+2, false)
					toks = append(toks, token{tkString, start, i})
					continue
				}
			}
			for i < len(src) && isIdentPart(src, i) {
				_, n := utf8.DecodeRuneInString(src[i:])
				i += n
			}
			toks = append(toks, token{tkWord, start, i})
			continue
		default:
			_, n := utf8.DecodeRuneInString(src[i:])
			i += n
			toks = append(toks, token{tkOp, start, i})
		}
	}
	return toks
}

// endQuote returns the offset after the string literal that opens at src[i] == '\”.
// backslash: an E” string, where \' does not close it.
func endQuote(src string, i int, backslash bool) int {
	i++
	for i < len(src) {
		switch src[i] {
		case '\\':
			if backslash {
				i += 2
				continue
			}
		case '\'':
			if i+1 < len(src) && src[i+1] == '\'' {
				i += 2
				continue
			}
			return i + 1
		}
		i++
	}
	return len(src)
}

// dollarTag returns the end of a dollar-quote opening tag ($$ or $tag$) at src[i], or 0.
func dollarTag(src string, i int) int {
	j := i + 1
	if j < len(src) && src[j] == '$' {
		return j + 1
	}
	if j >= len(src) || !isIdentStart(src, j) {
		return 0
	}
	for j < len(src) && src[j] != '$' {
		if !isIdentPart(src, j) || src[j] == '$' {
			return 0
		}
		_, n := utf8.DecodeRuneInString(src[j:])
		j += n
	}
	if j >= len(src) {
		return 0
	}
	return j + 1
}

func isIdentStart(src string, i int) bool {
	c := src[i]
	if c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' {
		return true
	}
	if c < utf8.RuneSelf {
		return false
	}
	r, _ := utf8.DecodeRuneInString(src[i:])
	return unicode.IsLetter(r)
}

func isIdentPart(src string, i int) bool {
	c := src[i]
	return isIdentStart(src, i) || c >= '0' && c <= '9' || c == '$'
}

// Split cuts a file into statements at the semicolons the lexer sees outside strings, quoted
// identifiers, dollar quotes and comments. A CREATE FUNCTION or PROCEDURE with a SQL-standard
// body (BEGIN ATOMIC … END) is kept whole, as psql does. Statements that hold only comments
// are dropped.
func Split(src string) []Statement {
	toks := lex(src)
	var out []Statement
	first := -1 // index of the statement's first non-comment token
	depth := 0  // BEGIN/CASE … END nesting inside a routine body
	routine := false
	words := 0
	emit := func(endTok int) {
		if first < 0 {
			return
		}
		s := toks[first].start
		e := toks[endTok-1].end
		col := 1 + utf8.RuneCountInString(src[strings.LastIndexByte(src[:s], '\n')+1:s])
		out = append(out, Statement{SQL: src[s:e], Line: 1 + strings.Count(src[:s], "\n"), Column: col, Offset: s})
	}
	for i, t := range toks {
		switch t.kind {
		case tkComment:
			continue
		case tkSemi:
			if depth > 0 {
				continue
			}
			emit(lastNonComment(toks, i))
			first, routine, words = -1, false, 0
			continue
		}
		if first < 0 {
			first = i
		}
		if t.kind == tkWord {
			w := strings.ToUpper(src[t.start:t.end])
			words++
			if words <= 4 && (w == "FUNCTION" || w == "PROCEDURE") && strings.EqualFold(src[toks[first].start:toks[first].end], "CREATE") {
				routine = true
			}
			if routine {
				switch w {
				case "BEGIN", "CASE":
					depth++
				case "END":
					if depth > 0 {
						depth--
					}
				}
			}
		}
	}
	if first >= 0 {
		emit(lastNonComment(toks, len(toks)))
	}
	return out
}

// lastNonComment returns the index after the last non-comment token before end.
func lastNonComment(toks []token, end int) int {
	for end > 0 && (toks[end-1].kind == tkComment || toks[end-1].kind == tkSemi) {
		end--
	}
	return end
}

// keywords returns the first n words of sql, upper-cased, skipping comments; quoted
// identifiers and other tokens appear as they are written.
func keywords(sql string, n int) []string {
	var out []string
	for _, t := range lex(sql) {
		if len(out) >= n {
			break
		}
		switch t.kind {
		case tkComment:
			continue
		case tkWord:
			out = append(out, strings.ToUpper(sql[t.start:t.end]))
		default:
			out = append(out, sql[t.start:t.end])
		}
	}
	return out
}
