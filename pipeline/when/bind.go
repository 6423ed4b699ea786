package when

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/understudy-dev/understudy/transforms"
)

// Column is a column a condition may read.
type Column struct {
	Name string
	// Index is the column's position in the batches the condition runs on; -1 for a column
	// the batches do not carry (a generated column, which is never copied).
	Index    int
	TypeName string // format_type, for messages: "character varying(20)"
	BaseOID  uint32 // the type, or a domain's base type
	TypType  byte   // pg_type.typtype of the base type: 'e' for an enum
	// Check, if set, validates a string literal compared with the column; the planner uses it
	// to have the server check enum labels, so a misspelt label is an error, not a condition
	// that silently selects nothing.
	Check func(text string) error
}

// class is how a condition reads and compares a column's values.
type class uint8

const (
	clOther       class = iota // IS [NOT] NULL only
	clText                     // text, varchar, name: bytes
	clBPChar                   // char(n): bytes, trailing blanks ignored by = and IN
	clCitext                   // case-insensitive text
	clEnum                     // label text; = <> IN only
	clInt                      // int2, int4, int8, oid
	clFloat                    // float4, float8
	clNumeric                  // exact
	clBool                     //
	clDate                     // days
	clTimestamp                // µs, no zone
	clTimestamptz              // µs UTC
	clTime                     // µs since midnight
	clUUID                     // 16 bytes
)

func classify(c Column) class {
	switch c.BaseOID {
	case pgtype.TextOID, pgtype.VarcharOID, pgtype.NameOID:
		return clText
	case pgtype.BPCharOID:
		return clBPChar
	case pgtype.Int2OID, pgtype.Int4OID, pgtype.Int8OID, pgtype.OIDOID:
		return clInt
	case pgtype.Float4OID, pgtype.Float8OID:
		return clFloat
	case pgtype.NumericOID:
		return clNumeric
	case pgtype.BoolOID:
		return clBool
	case pgtype.DateOID:
		return clDate
	case pgtype.TimestampOID:
		return clTimestamp
	case pgtype.TimestamptzOID:
		return clTimestamptz
	case pgtype.TimeOID:
		return clTime
	case pgtype.UUIDOID:
		return clUUID
	}
	if c.TypeName == "citext" || strings.HasSuffix(c.TypeName, ".citext") {
		return clCitext
	}
	if c.TypType == 'e' {
		return clEnum
	}
	return clOther
}

// what names, for messages, what a class is compared with.
func (k class) what() string {
	switch k {
	case clText, clBPChar, clCitext, clEnum:
		return "a quoted string"
	case clInt:
		return "an integer"
	case clFloat, clNumeric:
		return "a number"
	case clBool:
		return "TRUE or FALSE"
	case clDate:
		return "a quoted date, e.g. '2024-01-31'"
	case clTimestamp:
		return "a quoted timestamp, e.g. '2024-01-31 12:00:00'"
	case clTimestamptz:
		return "a quoted timestamp with its UTC offset, e.g. '2024-01-31 12:00:00+00'"
	case clTime:
		return "a quoted time, e.g. '12:30:00'"
	case clUUID:
		return "a quoted uuid"
	}
	return ""
}

// wireWidth is the size of a fixed-size wire value of the class (0: variable), for the
// column's base type.
func wireWidth(k class, oid uint32) int {
	switch k {
	case clInt:
		switch oid {
		case pgtype.Int2OID:
			return 2
		case pgtype.Int8OID:
			return 8
		}
		return 4
	case clFloat:
		if oid == pgtype.Float4OID {
			return 4
		}
		return 8
	case clBool:
		return 1
	case clDate:
		return 4
	case clTimestamp, clTimestamptz, clTime:
		return 8
	case clUUID:
		return 16
	}
	return 0
}

// Cond is a condition bound to a table's columns, ready to run on its batches. It is safe for
// concurrent use: the workers of a run share it.
type Cond struct {
	expr  *Expr
	root  evalNode
	cols  []string
	depth int       // bitmap pairs the evaluation needs at most
	pool  sync.Pool // *state
}

// String is the condition in canonical form (see Expr.String).
func (c *Cond) String() string { return c.expr.String() }

// SQL is the condition as a PostgreSQL boolean expression (see Expr.SQL).
func (c *Cond) SQL() string { return c.expr.SQL() }

// Columns lists the columns the condition reads, in order of first mention.
func (c *Cond) Columns() []string { return c.cols }

// Bind checks e against the columns a table's batches carry: every column exists, and every
// literal is of its column's type. An *Error says where the problem is.
func (e *Expr) Bind(cols []Column) (*Cond, error) {
	b := binder{cols: cols}
	root, depth, err := b.bind(e.root)
	if err != nil {
		return nil, err
	}
	return &Cond{expr: e, root: root, cols: b.used, depth: depth}, nil
}

type binder struct {
	cols []Column
	used []string
}

func (b *binder) column(r colRef) (*Column, error) {
	var names []string
	for i := range b.cols {
		if b.cols[i].Name == r.name {
			c := &b.cols[i]
			if c.Index < 0 {
				return nil, &Error{Pos: r.pos, Msg: fmt.Sprintf("column %s is generated: it is not copied, so a condition cannot read it", quoteIdent(r.name))}
			}
			if !contains(b.used, c.Name) {
				b.used = append(b.used, c.Name)
			}
			return c, nil
		}
		names = append(names, b.cols[i].Name)
	}
	msg := "unknown column " + quoteIdent(r.name)
	if n := transforms.Nearest(r.name, names); n != "" {
		msg += fmt.Sprintf(" (did you mean %s?", quoteIdent(n))
		if !r.quoted && strings.EqualFold(n, r.name) {
			msg += " names with capitals must be written in double quotes"
		}
		msg += ")"
	} else if len(names) > 0 && len(names) <= 12 {
		sort.Strings(names)
		msg += " (there are: " + strings.Join(names, ", ") + ")"
	}
	return nil, &Error{Pos: r.pos, Msg: msg}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// bind turns a syntax node into an evaluation node; depth is the bitmap pairs it needs.
func (b *binder) bind(n node) (evalNode, int, error) {
	switch n := n.(type) {
	case *boolNode:
		out := &boolEval{or: n.or}
		depth := 0
		for i, a := range n.args {
			x, d, err := b.bind(a)
			if err != nil {
				return nil, 0, err
			}
			out.args = append(out.args, x)
			// The first operand writes into the node's own pair; the others each need one
			// more while they run.
			if i > 0 {
				d++
			}
			depth = max(depth, d)
		}
		return out, depth, nil
	case *notNode:
		x, d, err := b.bind(n.x)
		return &notEval{x: x}, d, err
	case *predNode:
		lf, err := b.leaf(n)
		return lf, 0, err
	}
	panic("when: unknown node")
}

// cmpMasks maps an operator to the outcomes of (value compared with literal) it accepts: bit 0
// less, bit 1 equal, bit 2 greater.
var cmpMasks = map[string]uint8{"=": maskEq, "<>": 5, "<": 1, "<=": 3, ">": 4, ">=": 6}

const maskEq = 2

func (b *binder) leaf(p *predNode) (*leaf, error) {
	c, err := b.column(p.col)
	if err != nil {
		return nil, err
	}
	k := classify(*c)
	lf := &leaf{col: c.Index, name: c.Name, typ: c.TypeName, cls: k, kind: p.kind, not: p.not, width: wireWidth(k, c.BaseOID), unsigned: c.BaseOID == pgtype.OIDOID}
	if p.kind == predNull {
		return lf, nil
	}
	if k == clOther {
		return nil, &Error{Pos: p.col.pos, Msg: fmt.Sprintf("column %s is of type %s, which a condition can only test with IS NULL or IS NOT NULL", quoteIdent(c.Name), c.TypeName)}
	}
	switch p.kind {
	case predCmp:
		lf.mask = cmpMasks[p.op]
		if p.op != "=" && p.op != "<>" {
			switch k {
			case clText, clBPChar, clCitext:
				return nil, &Error{Pos: p.col.pos, Msg: fmt.Sprintf("column %s is of type %s: ordering text (%s) depends on the database's collation, which a condition does not reproduce; use =, <>, IN or LIKE", quoteIdent(c.Name), c.TypeName, p.op)}
			case clEnum:
				return nil, &Error{Pos: p.col.pos, Msg: fmt.Sprintf("column %s is of enum type %s, whose order (%s) is its declaration order, which a condition does not know; use =, <> or IN", quoteIdent(c.Name), c.TypeName, p.op)}
			}
		}
	case predLike:
		if k != clText && k != clBPChar && k != clCitext {
			return nil, &Error{Pos: p.col.pos, Msg: fmt.Sprintf("column %s is of type %s; LIKE matches text columns only", quoteIdent(c.Name), c.TypeName)}
		}
		lf.like, err = compileLike(p.lits[0].text, k == clCitext)
		if err != nil {
			return nil, &Error{Pos: p.lits[0].pos, Msg: err.Error()}
		}
		return lf, nil
	}
	for _, l := range p.lits {
		if err := lf.addLiteral(c, l); err != nil {
			return nil, err
		}
	}
	if k == clFloat && lf.width == 4 && p.kind == predIn && len(p.lits) > 1 {
		// PostgreSQL resolves a list of two or more numbers against a real column to real, so
		// it compares in single precision (0.1::real IN (0.1, 0.5) is true), though a single
		// one is compared in double precision (0.1::real = 0.1 is false). Do the same.
		for i, v := range lf.floats {
			f := float32(v)
			if math.IsInf(float64(f), 0) {
				return nil, &Error{Pos: p.lits[i].pos, Msg: fmt.Sprintf("%s is out of range for type real", p.lits[i].text)}
			}
			lf.floats[i] = float64(f)
		}
	}
	return lf, nil
}

// addLiteral converts l to the column's type, in every form the column's values can arrive in.
func (lf *leaf) addLiteral(c *Column, l lit) error {
	k := lf.cls
	mismatch := func() error {
		return &Error{Pos: l.pos, Msg: fmt.Sprintf("column %s is of type %s; compare it with %s, not %s", quoteIdent(c.Name), c.TypeName, k.what(), l.describe())}
	}
	invalid := func(err error) error {
		return &Error{Pos: l.pos, Msg: fmt.Sprintf("%s for column %s (%s): %v", l.String(), quoteIdent(c.Name), c.TypeName, err)}
	}
	wantString := k == clText || k == clBPChar || k == clCitext || k == clEnum || k == clDate || k == clTimestamp || k == clTimestamptz || k == clTime || k == clUUID
	switch {
	case wantString && l.kind != litString,
		k == clBool && l.kind != litBool,
		(k == clInt || k == clFloat || k == clNumeric) && l.kind != litNumber:
		return mismatch()
	}
	addInt := func(wire, native int64) {
		lf.ints = append(lf.ints, wire)
		lf.intsNative = append(lf.intsNative, native)
	}
	switch k {
	case clText, clEnum, clCitext:
		if c.Check != nil {
			if err := c.Check(l.text); err != nil {
				return &Error{Pos: l.pos, Msg: fmt.Sprintf("column %s (%s): %v", quoteIdent(c.Name), c.TypeName, err)}
			}
		}
		lf.bytes = append(lf.bytes, []byte(l.text))
	case clBPChar:
		lf.bytes = append(lf.bytes, []byte(strings.TrimRight(l.text, " ")))
	case clUUID:
		u, err := parseUUID(l.text)
		if err != nil {
			return invalid(err)
		}
		lf.bytes = append(lf.bytes, u)
	case clInt:
		if strings.Contains(l.text, ".") {
			return &Error{Pos: l.pos, Msg: fmt.Sprintf("column %s is of type %s; compare it with an integer, not %s", quoteIdent(c.Name), c.TypeName, l.text)}
		}
		v, err := strconv.ParseInt(l.text, 10, 64)
		if err != nil {
			return invalid(fmt.Errorf("out of range for bigint"))
		}
		addInt(v, v)
	case clFloat:
		v, err := strconv.ParseFloat(l.text, 64)
		if err != nil || math.IsInf(v, 0) {
			return invalid(fmt.Errorf("out of range for double precision"))
		}
		lf.floats = append(lf.floats, v)
	case clNumeric:
		lf.nums = append(lf.nums, parseNumLit(l.text))
	case clBool:
		v := int64(0)
		if l.b {
			v = 1
		}
		addInt(v, v)
	case clDate:
		d, err := parseDate(l.text)
		if err != nil {
			return invalid(err)
		}
		if d == math.MaxInt32 || d == math.MinInt32 {
			addInt(d, d)
		} else {
			addInt(d-pgEpochDays, d)
		}
	case clTimestamp, clTimestamptz:
		us, err := parseTimestamp(l.text, k == clTimestamptz)
		if err != nil {
			return invalid(err)
		}
		if us == math.MaxInt64 || us == math.MinInt64 {
			addInt(us, us)
		} else {
			addInt(us-pgEpochMicros, us)
		}
	case clTime:
		us, err := parseTime(l.text)
		if err != nil {
			return invalid(err)
		}
		addInt(us, us)
	}
	return nil
}

func (l lit) describe() string {
	switch l.kind {
	case litString:
		return "the string " + l.String()
	case litBool:
		return l.String()
	}
	return "the number " + l.text
}
