package when

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Error is a condition that does not parse, or does not fit the columns it reads. Pos is the
// 1-based character position in the condition where the problem is.
type Error struct {
	Pos      int
	Expected string // what the grammar allowed there, e.g. "a literal"
	Found    string // what was there, e.g. `")"` or "end of condition"
	Msg      string // set instead of Expected/Found for a problem that is not a missing token
}

func (e *Error) Error() string {
	if e.Msg != "" {
		return fmt.Sprintf("at character %d: %s", e.Pos, e.Msg)
	}
	return fmt.Sprintf("at character %d: expected %s, found %s", e.Pos, e.Expected, e.Found)
}

// maxDepth bounds the nesting of parentheses and NOTs, so that no condition can exhaust the
// stack of the parser or the evaluator.
const maxDepth = 64

type tokKind uint8

const (
	tEOF tokKind = iota
	tIdent
	tQIdent
	tString
	tNumber
	tOp     // = <> != < <= > >=
	tLParen // (
	tRParen // )
	tComma
	tMinus
	tPlus
	// keywords
	tAnd
	tOr
	tNot
	tIs
	tNull
	tIn
	tLike
	tTrue
	tFalse
)

var keywords = map[string]tokKind{
	"and": tAnd, "or": tOr, "not": tNot, "is": tIs, "null": tNull, "in": tIn, "like": tLike,
	"true": tTrue, "false": tFalse,
}

type token struct {
	kind tokKind
	text string // identifier (folded for tIdent), string value, number, operator
	pos  int    // 1-based character position
	raw  string // as written, for messages
}

func (t token) describe() string {
	switch t.kind {
	case tEOF:
		return "end of condition"
	case tString:
		return "string " + quoteLiteral(t.text)
	case tNumber:
		return "number " + t.text
	case tIdent, tQIdent:
		return "column " + quoteIdent(t.text)
	}
	return fmt.Sprintf("%q", t.raw)
}

// lexer turns a condition into tokens. Positions count characters, not bytes.
type lexer struct {
	src  string
	off  int // byte offset
	char int // characters before off
}

func (l *lexer) next() (token, error) {
	for l.off < len(l.src) {
		r, w := utf8.DecodeRuneInString(l.src[l.off:])
		if !unicode.IsSpace(r) {
			break
		}
		l.off += w
		l.char++
	}
	start, pos := l.off, l.char+1
	tok := func(k tokKind, text string) (token, error) {
		return token{kind: k, text: text, pos: pos, raw: l.src[start:l.off]}, nil
	}
	if l.off >= len(l.src) {
		return token{kind: tEOF, pos: pos}, nil
	}
	c := l.src[l.off]
	advance := func(n int) { l.off += n; l.char += n } // ASCII only
	switch {
	case c == '(':
		advance(1)
		return tok(tLParen, "(")
	case c == ')':
		advance(1)
		return tok(tRParen, ")")
	case c == ',':
		advance(1)
		return tok(tComma, ",")
	case c == '-':
		advance(1)
		return tok(tMinus, "-")
	case c == '+':
		advance(1)
		return tok(tPlus, "+")
	case c == '=':
		advance(1)
		return tok(tOp, "=")
	case c == '<' || c == '>' || c == '!':
		two := ""
		if l.off+1 < len(l.src) {
			two = l.src[l.off : l.off+2]
		}
		switch two {
		case "<>", "<=", ">=", "!=":
			advance(2)
			if two == "!=" {
				two = "<>"
			}
			return tok(tOp, two)
		}
		if c == '!' {
			advance(1)
			return token{}, &Error{Pos: pos, Msg: `unexpected "!" (did you mean "!="?)`}
		}
		advance(1)
		return tok(tOp, string(c))
	case c == '\'':
		s, bad := l.quoted('\'')
		if bad != "" {
			return token{}, &Error{Pos: pos, Msg: bad}
		}
		return tok(tString, s)
	case c == '"':
		s, bad := l.quoted('"')
		if bad != "" {
			return token{}, &Error{Pos: pos, Msg: bad}
		}
		if s == "" {
			return token{}, &Error{Pos: pos, Msg: `empty quoted column name ""`}
		}
		return tok(tQIdent, s)
	case c >= '0' && c <= '9' || c == '.':
		digits := func() int {
			n := 0
			for l.off < len(l.src) && l.src[l.off] >= '0' && l.src[l.off] <= '9' {
				advance(1)
				n++
			}
			return n
		}
		n := digits()
		if l.off < len(l.src) && l.src[l.off] == '.' {
			advance(1)
			n += digits()
		}
		if n == 0 {
			return token{}, &Error{Pos: pos, Msg: `unexpected "."`}
		}
		if l.off < len(l.src) {
			if r, _ := utf8.DecodeRuneInString(l.src[l.off:]); isIdentChar(r) || r == '.' {
				return token{}, &Error{Pos: l.char + 1, Msg: fmt.Sprintf("unexpected %q after number %s", r, l.src[start:l.off])}
			}
		}
		return tok(tNumber, l.src[start:l.off])
	}
	r, w := utf8.DecodeRuneInString(l.src[l.off:])
	if !isIdentStart(r) {
		l.off += w
		l.char++
		if r == utf8.RuneError && w == 1 {
			return token{}, &Error{Pos: pos, Msg: "the condition is not valid UTF-8"}
		}
		return token{}, &Error{Pos: pos, Msg: fmt.Sprintf("unexpected %q", r)}
	}
	for l.off < len(l.src) {
		r, w := utf8.DecodeRuneInString(l.src[l.off:])
		if !isIdentChar(r) {
			break
		}
		l.off += w
		l.char++
	}
	// PostgreSQL folds unquoted names to lower case, ASCII letters only.
	word := asciiLower(l.src[start:l.off])
	if k, ok := keywords[word]; ok {
		return tok(k, word)
	}
	return tok(tIdent, word)
}

// quoted reads a string or quoted identifier opened by q at l.off; a doubled q is one q. It
// returns what is wrong, or "".
func (l *lexer) quoted(q byte) (string, string) {
	l.off++
	l.char++
	var b strings.Builder
	for l.off < len(l.src) {
		r, w := utf8.DecodeRuneInString(l.src[l.off:])
		if r == utf8.RuneError && w == 1 {
			return "", "the condition is not valid UTF-8"
		}
		l.off += w
		l.char++
		if r == rune(q) {
			if l.off < len(l.src) && l.src[l.off] == q {
				l.off++
				l.char++
				b.WriteByte(q)
				continue
			}
			return b.String(), ""
		}
		b.WriteRune(r)
	}
	if q == '"' {
		return "", `unterminated quoted column name (a " inside it is written "")`
	}
	return "", "unterminated string (a quote inside a string is written '')"
}

func asciiLower(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if b[j] >= 'A' && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

func isIdentStart(r rune) bool { return r == '_' || unicode.IsLetter(r) }
func isIdentChar(r rune) bool {
	return r == '_' || r == '$' || unicode.IsLetter(r) || unicode.IsDigit(r)
}

// Expr is a parsed condition, not yet checked against a table's columns (see Bind).
type Expr struct {
	src  string
	root node
}

// String returns the condition in a canonical form: keywords in capitals, parentheses only
// where AND and OR mix.
func (e *Expr) String() string { return format(e.root, quoteIdentIfNeeded) }

// SQL returns the condition as a PostgreSQL boolean expression over the table's columns, to
// splice into a WHERE clause: the canonical form with every column name quoted, since a name
// the condition takes bare can be a word SQL reserves (user, order). It parses back as the
// same condition.
func (e *Expr) SQL() string {
	return format(e.root, func(c colRef) string { return quoteIdent(c.name) })
}

// Parse parses a condition. A *Error says where and what was expected.
func Parse(src string) (*Expr, error) {
	p := &parser{lx: lexer{src: src}}
	if err := p.advance(); err != nil {
		return nil, err
	}
	if p.tok.kind == tEOF {
		return nil, &Error{Pos: p.tok.pos, Msg: "the condition is empty"}
	}
	root, err := p.or(0)
	if err != nil {
		return nil, err
	}
	if p.tok.kind != tEOF {
		return nil, p.expected("AND, OR or the end of the condition")
	}
	return &Expr{src: src, root: root}, nil
}

// The syntax tree.
type (
	node interface{ isNode() }

	// boolNode is AND or OR over two or more operands.
	boolNode struct {
		or   bool
		args []node
	}
	notNode struct{ x node }
	// predNode is one test of one column.
	predNode struct {
		col  colRef
		kind predKind
		not  bool   // IS NOT NULL, NOT IN, NOT LIKE
		op   string // predCmp: = <> < <= > >=
		lits []lit  // predCmp and predLike: one; predIn: one or more
	}
)

func (*boolNode) isNode() {}
func (*notNode) isNode()  {}
func (*predNode) isNode() {}

type predKind uint8

const (
	predCmp predKind = iota
	predNull
	predIn
	predLike
)

type colRef struct {
	name   string
	quoted bool
	pos    int
}

type litKind uint8

const (
	litString litKind = iota
	litNumber         // text holds the digits, with a leading "-" when negative
	litBool
)

type lit struct {
	kind litKind
	text string
	b    bool
	pos  int
}

type parser struct {
	lx  lexer
	tok token
}

func (p *parser) advance() error {
	t, err := p.lx.next()
	if err != nil {
		return err
	}
	p.tok = t
	return nil
}

func (p *parser) expected(what string) error {
	return &Error{Pos: p.tok.pos, Expected: what, Found: p.tok.describe()}
}

func (p *parser) or(depth int) (node, error) {
	return p.list(depth, tOr, p.and)
}

func (p *parser) and(depth int) (node, error) {
	return p.list(depth, tAnd, p.not)
}

func (p *parser) list(depth int, sep tokKind, sub func(int) (node, error)) (node, error) {
	first, err := sub(depth)
	if err != nil {
		return nil, err
	}
	if p.tok.kind != sep {
		return first, nil
	}
	b := &boolNode{or: sep == tOr, args: []node{first}}
	for p.tok.kind == sep {
		if err := p.advance(); err != nil {
			return nil, err
		}
		x, err := sub(depth)
		if err != nil {
			return nil, err
		}
		b.args = append(b.args, x)
	}
	return b, nil
}

func (p *parser) not(depth int) (node, error) {
	if depth >= maxDepth {
		return nil, &Error{Pos: p.tok.pos, Msg: fmt.Sprintf("the condition nests more than %d levels deep", maxDepth)}
	}
	switch p.tok.kind {
	case tNot:
		if err := p.advance(); err != nil {
			return nil, err
		}
		x, err := p.not(depth + 1)
		if err != nil {
			return nil, err
		}
		return &notNode{x: x}, nil
	case tLParen:
		if err := p.advance(); err != nil {
			return nil, err
		}
		x, err := p.or(depth + 1)
		if err != nil {
			return nil, err
		}
		if p.tok.kind != tRParen {
			return nil, p.expected(`AND, OR or ")"`)
		}
		return x, p.advance()
	case tIdent, tQIdent:
		return p.predicate()
	case tString, tNumber, tTrue, tFalse, tMinus, tPlus:
		return nil, p.expected("a column name (a condition compares a column with a literal: column = 'value')")
	}
	return nil, p.expected(`a column name, NOT or "("`)
}

func (p *parser) predicate() (node, error) {
	pr := &predNode{col: colRef{name: p.tok.text, quoted: p.tok.kind == tQIdent, pos: p.tok.pos}}
	if err := p.advance(); err != nil {
		return nil, err
	}
	switch p.tok.kind {
	case tOp:
		pr.kind, pr.op = predCmp, p.tok.text
		if err := p.advance(); err != nil {
			return nil, err
		}
		if p.tok.kind == tNull {
			return nil, &Error{Pos: p.tok.pos, Msg: fmt.Sprintf("%s NULL is never true; write IS NULL or IS NOT NULL", pr.op)}
		}
		if p.tok.kind == tIdent || p.tok.kind == tQIdent {
			return nil, p.expected("a literal (comparing two columns is not supported)")
		}
		l, err := p.literal()
		if err != nil {
			return nil, err
		}
		pr.lits = []lit{l}
		return pr, nil
	case tIs:
		pr.kind = predNull
		if err := p.advance(); err != nil {
			return nil, err
		}
		if p.tok.kind == tNot {
			pr.not = true
			if err := p.advance(); err != nil {
				return nil, err
			}
		}
		if p.tok.kind != tNull {
			return nil, p.expected("NULL")
		}
		return pr, p.advance()
	case tNot:
		pr.not = true
		if err := p.advance(); err != nil {
			return nil, err
		}
		if p.tok.kind != tIn && p.tok.kind != tLike {
			return nil, p.expected("IN or LIKE after NOT")
		}
	}
	switch p.tok.kind {
	case tIn:
		pr.kind = predIn
		if err := p.advance(); err != nil {
			return nil, err
		}
		if p.tok.kind != tLParen {
			return nil, p.expected(`"(" after IN`)
		}
		for {
			if err := p.advance(); err != nil {
				return nil, err
			}
			if p.tok.kind == tNull {
				return nil, &Error{Pos: p.tok.pos, Msg: "NULL in an IN list selects nothing; test IS NULL separately"}
			}
			l, err := p.literal()
			if err != nil {
				return nil, err
			}
			pr.lits = append(pr.lits, l)
			if p.tok.kind == tRParen {
				return pr, p.advance()
			}
			if p.tok.kind != tComma {
				return nil, p.expected(`"," or ")"`)
			}
		}
	case tLike:
		pr.kind = predLike
		if err := p.advance(); err != nil {
			return nil, err
		}
		if p.tok.kind != tString {
			return nil, p.expected("a quoted pattern after LIKE")
		}
		l, err := p.literal()
		if err != nil {
			return nil, err
		}
		pr.lits = []lit{l}
		return pr, nil
	}
	if pr.not {
		return nil, p.expected("IN or LIKE after NOT")
	}
	return nil, p.expected("a comparison (=, <>, <, <=, >, >=), IS, IN, LIKE or NOT after column " + quoteIdent(pr.col.name))
}

// literal reads one literal and advances past it.
func (p *parser) literal() (lit, error) {
	l := lit{pos: p.tok.pos}
	switch p.tok.kind {
	case tString:
		l.kind, l.text = litString, p.tok.text
	case tTrue, tFalse:
		l.kind, l.b = litBool, p.tok.kind == tTrue
		l.text = p.tok.text
	case tMinus, tPlus:
		neg := p.tok.kind == tMinus
		if err := p.advance(); err != nil {
			return l, err
		}
		if p.tok.kind != tNumber {
			return l, p.expected("a number after the sign")
		}
		l.kind, l.text = litNumber, p.tok.text
		if neg {
			l.text = "-" + l.text
		}
	case tNumber:
		l.kind, l.text = litNumber, p.tok.text
	default:
		return l, p.expected("a literal: a 'string', a number, TRUE or FALSE")
	}
	return l, p.advance()
}

// format renders a tree as canonical text, column names written by ident.
func format(n node, ident func(colRef) string) string {
	var b strings.Builder
	formatTo(&b, n, 0, ident)
	return b.String()
}

// formatTo writes n; parent is 0 at the top, 1 under OR, 2 under AND, 3 under NOT.
func formatTo(b *strings.Builder, n node, parent int, ident func(colRef) string) {
	switch n := n.(type) {
	case *boolNode:
		level, sep := 2, " AND "
		if n.or {
			level, sep = 1, " OR "
		}
		paren := parent > level
		if paren {
			b.WriteByte('(')
		}
		for i, a := range n.args {
			if i > 0 {
				b.WriteString(sep)
			}
			formatTo(b, a, level, ident)
		}
		if paren {
			b.WriteByte(')')
		}
	case *notNode:
		b.WriteString("NOT ")
		formatTo(b, n.x, 3, ident)
	case *predNode:
		b.WriteString(ident(n.col))
		switch n.kind {
		case predCmp:
			b.WriteString(" " + n.op + " " + n.lits[0].String())
		case predNull:
			if n.not {
				b.WriteString(" IS NOT NULL")
			} else {
				b.WriteString(" IS NULL")
			}
		case predIn, predLike:
			if n.not {
				b.WriteString(" NOT")
			}
			if n.kind == predLike {
				b.WriteString(" LIKE " + n.lits[0].String())
				return
			}
			b.WriteString(" IN (")
			for i, l := range n.lits {
				if i > 0 {
					b.WriteString(", ")
				}
				b.WriteString(l.String())
			}
			b.WriteByte(')')
		}
	}
}

func (l lit) String() string {
	switch l.kind {
	case litString:
		return quoteLiteral(l.text)
	case litBool:
		if l.b {
			return "TRUE"
		}
		return "FALSE"
	}
	return l.text
}

func quoteLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
func quoteIdent(s string) string   { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// quoteIdentIfNeeded writes a column name as the user must: bare when it reads back as
// itself, quoted otherwise.
func quoteIdentIfNeeded(c colRef) string {
	s := c.name
	if s == "" {
		return quoteIdent(s)
	}
	if _, kw := keywords[asciiLower(s)]; kw {
		return quoteIdent(s)
	}
	for i, r := range s {
		if !(i == 0 && isIdentStart(r) || i > 0 && isIdentChar(r)) || r >= 'A' && r <= 'Z' {
			return quoteIdent(s)
		}
	}
	return s
}
