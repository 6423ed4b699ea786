package transforms

import (
	"fmt"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/jackc/pgx/v5/pgtype"
)

// TextRule is a transformer defined by what it does to one non-NULL text value. TextBatch
// adapts it to whole batches; the json and array rules apply it inside documents and
// array elements. Most built-ins are TextRules.
type TextRule interface {
	// Subkey is the key of the rule's keyed stream (Key.Derive of its domain), or nil for a
	// rule that draws nothing.
	Subkey() []byte
	// Text appends the output for in to dst and returns it. k, when the rule is keyed, has
	// just been seeded with in. Text must not keep in, dst or k.
	Text(k *Keyed, dst, in []byte) ([]byte, error)
}

// TextBatch turns a TextRule into a Transformer over text columns (raw wire bytes or
// String arrays; the wire form of text, varchar, char and citext is the UTF-8 text itself).
// NULL stays NULL. Output longer than a varchar(n)/char(n) column allows is cut to n
// characters, so a load never fails on length.
func TextBatch(r TextRule, c Column) Transformer {
	t := textBatch{r: r}
	if (c.BaseOID == pgtype.VarcharOID || c.BaseOID == pgtype.BPCharOID) && c.Typmod > 4 {
		t.maxChars = int(c.Typmod - 4)
	}
	return t
}

type textBatch struct {
	r        TextRule
	maxChars int
}

// UniqueSafe passes on the rule's own claim, so plan sees that a bijective text rule keeps
// a unique column unique.
func (t textBatch) UniqueSafe() bool {
	u, ok := t.r.(UniqueSafe)
	return ok && u.UniqueSafe()
}

// Passthrough passes on the rule's own declaration.
func (t textBatch) Passthrough() string {
	p, ok := t.r.(Passthrough)
	if !ok {
		return ""
	}
	return p.Passthrough()
}

// AsTextRule returns the TextRule behind a transformer made by TextBatch.
func AsTextRule(t Transformer) (TextRule, bool) {
	tb, ok := t.(textBatch)
	return tb.r, ok
}

func (t textBatch) Transform(rec arrow.Record, col int, mem memory.Allocator) (arrow.Array, error) {
	arr := rec.Column(col)
	in, err := asBytes(arr)
	if err != nil {
		return nil, err
	}
	n := arr.Len()
	b := newByteBuilder(mem, arr.DataType(), n, dataLen(arr))
	var k *Keyed
	if sk := t.r.Subkey(); sk != nil {
		k = NewKeyed(sk)
	}
	var buf []byte
	for i := 0; i < n; i++ {
		if arr.IsNull(i) {
			b.appendNull()
			continue
		}
		v := in.value(i)
		if k != nil {
			k.Seed(v)
		}
		buf, err = t.r.Text(k, buf[:0], v)
		if err != nil {
			b.finish().Release()
			return nil, fmt.Errorf("row %d of the batch: %w", i, err)
		}
		if t.maxChars > 0 {
			buf = cutChars(buf, t.maxChars)
		}
		b.append(buf)
	}
	return b.finish(), nil
}

// cutChars keeps the first n UTF-8 characters of s.
func cutChars(s []byte, n int) []byte {
	if len(s) <= n {
		return s
	}
	for i := range string(s) {
		if n == 0 {
			return s[:i]
		}
		n--
	}
	return s
}

// dataLen is the byte size of a text column's values, to reserve about as much for output.
func dataLen(a arrow.Array) int {
	if d := a.Data(); len(d.Buffers()) > 2 && d.Buffers()[2] != nil {
		return d.Buffers()[2].Len()
	}
	return 0
}

// IsTextType reports whether a column holds text (so a TextRule fits it).
func IsTextType(c Column) bool {
	switch c.BaseOID {
	case pgtype.TextOID, pgtype.VarcharOID, pgtype.BPCharOID, pgtype.NameOID:
		return true
	}
	return isCitext(c.TypeName)
}
