package when

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
)

// Selection is a set of rows of one batch: row i is selected when bit i%64 of word i/64 is
// set. Bits past the batch's last row are zero.
type Selection []uint64

// Words is the length of a Selection for n rows.
func Words(n int) int { return (n + 63) / 64 }

// Has reports whether row i is selected.
func (s Selection) Has(i int) bool { return s[i>>6]>>(i&63)&1 != 0 }

// Count returns the number of rows selected.
func (s Selection) Count() int {
	n := 0
	for _, w := range s {
		n += bits.OnesCount64(w)
	}
	return n
}

// Select evaluates the condition on every row of rec and returns the rows where it is true
// (not false, not unknown). It reuses sel's storage when it is large enough, so a caller that
// keeps the result between batches allocates nothing in steady state. rec is neither retained
// nor released. An error means a value that PostgreSQL cannot have sent, or a column whose
// Arrow type does not match its PostgreSQL type.
func (c *Cond) Select(rec arrow.Record, sel Selection) (Selection, error) {
	n := int(rec.NumRows())
	words := Words(n)
	if cap(sel) < words {
		sel = make(Selection, words)
	}
	sel = sel[:words]
	st, _ := c.pool.Get().(*state)
	if st == nil {
		st = &state{}
	}
	st.reset(rec, n, c.depth)
	err := c.root.eval(st, 1, sel, st.f(0))
	if err != nil {
		clear(sel)
	}
	st.rec = nil
	c.pool.Put(st)
	return sel, err
}

// state is the scratch space of one evaluation: bitmap pairs for the operands of AND and OR
// (one per level of nesting), and value buffers for the leaves.
type state struct {
	rec    arrow.Record
	n      int
	words  int
	bufs   []uint64 // 2 × (depth+1) bitmaps of words each
	ints   []int64
	floats []float64
}

func (st *state) reset(rec arrow.Record, n, depth int) {
	st.rec, st.n, st.words = rec, n, Words(n)
	need := 2 * (depth + 1) * st.words
	if cap(st.bufs) < need {
		st.bufs = make([]uint64, need)
	}
	st.bufs = st.bufs[:need]
}

// t and f return the bitmap pair of a level of nesting. The root writes its true rows into the
// caller's selection and its false rows into f(0); an AND or OR at level L evaluates its
// second and later operands into pair L, and they use the levels above it.
func (st *state) t(level int) []uint64 { return st.bufs[2*level*st.words : (2*level+1)*st.words] }
func (st *state) f(level int) []uint64 { return st.bufs[(2*level+1)*st.words : (2*level+2)*st.words] }

// evalNode computes, for every row, whether it is true (bit set in t) or false (bit set in
// f); a row in neither is unknown. level is the first free bitmap pair of st.
type evalNode interface {
	eval(st *state, level int, t, f []uint64) error
}

type boolEval struct {
	or   bool
	args []evalNode
}

type notEval struct{ x evalNode }

func (b *boolEval) eval(st *state, level int, t, f []uint64) error {
	if err := b.args[0].eval(st, level, t, f); err != nil {
		return err
	}
	t2, f2 := st.t(level), st.f(level)
	for _, a := range b.args[1:] {
		if err := a.eval(st, level+1, t2, f2); err != nil {
			return err
		}
		// Three-valued logic on (true, false) bitmaps: AND is true where both are, false
		// where either is; OR the other way round.
		if b.or {
			for i := range t {
				t[i] |= t2[i]
				f[i] &= f2[i]
			}
		} else {
			for i := range t {
				t[i] &= t2[i]
				f[i] |= f2[i]
			}
		}
	}
	return nil
}

func (x *notEval) eval(st *state, level int, t, f []uint64) error {
	return x.x.eval(st, level, f, t)
}

// leaf is one predicate on one column, with its literals in the forms the column's values can
// arrive in.
type leaf struct {
	col      int
	name     string
	typ      string
	cls      class
	kind     predKind
	not      bool  // IS NOT NULL, NOT IN, NOT LIKE
	mask     uint8 // predCmp: accepted outcomes, see cmpMasks
	width    int   // wire size of fixed-size values
	unsigned bool  // oid

	ints       []int64 // integer-like classes, wire form
	intsNative []int64 // the same, as schemas/pgarrow's native Arrow values
	floats     []float64
	nums       []numLit
	bytes      [][]byte // text (char(n): without trailing blanks), uuid
	like       *likePattern
}

func (lf *leaf) errorf(format string, args ...any) error {
	return fmt.Errorf("condition on column %s (%s): %s", quoteIdent(lf.name), lf.typ, fmt.Sprintf(format, args...))
}

func (lf *leaf) eval(st *state, _ int, t, f []uint64) error {
	if lf.col >= int(st.rec.NumCols()) {
		return lf.errorf("the batch has only %d columns", st.rec.NumCols())
	}
	arr := st.rec.Column(lf.col)
	if arr.Len() != st.n {
		return lf.errorf("column has %d values for %d rows", arr.Len(), st.n)
	}
	loadValid(arr, f, st.n)
	if lf.kind == predNull {
		// IS NULL is never unknown.
		for i := range t {
			t[i] = ^f[i]
		}
		maskTail(t, st.n)
		if lf.not {
			copy(t, f)
			for i := range f {
				f[i] = ^f[i]
			}
			maskTail(f, st.n)
		}
		return nil
	}
	var err error
	switch lf.cls {
	case clInt, clBool, clDate, clTimestamp, clTimestamptz, clTime:
		err = lf.evalInts(st, arr, t, f)
	case clFloat:
		err = lf.evalFloats(st, arr, t, f)
	default:
		err = lf.evalBytes(arr, t, f)
	}
	if err != nil {
		return err
	}
	// Every valid row is true or false; f held the valid rows.
	for i := range f {
		f[i] &^= t[i]
	}
	return nil
}

// decide turns the outcome of comparing a value with the literal(s) into true or false.
// For a comparison, c is the comparison with the single literal; for IN, c is 0 when any
// literal matched.
func (lf *leaf) decide(c int) bool {
	if lf.kind == predCmp {
		return lf.mask>>(c+1)&1 != 0
	}
	return (c == 0) != lf.not
}

// varCol reads the values of a Binary or String array without a method call per row.
type varCol struct {
	offs []int32
	data []byte
}

func newVarCol(arr arrow.Array) varCol {
	data, offs := varLayout(arr)
	return varCol{offs: offs, data: data}
}

func (c *varCol) value(i int) []byte { return c.data[c.offs[i]:c.offs[i+1]] }

// loadWireInts decodes fixed-size big-endian wire values of the valid rows into vals. It
// reports false if a value does not have w bytes.
func loadWireInts(col varCol, valid []uint64, vals []int64, w int, unsigned bool) bool {
	for wi, word := range valid {
		for m := word; m != 0; m &= m - 1 {
			i := wi<<6 + bits.TrailingZeros64(m)
			lo, hi := col.offs[i], col.offs[i+1]
			if int(hi-lo) != w {
				return false
			}
			v := col.data[lo:hi]
			switch w {
			case 1:
				vals[i] = int64(v[0])
			case 2:
				vals[i] = int64(int16(binary.BigEndian.Uint16(v)))
			case 4:
				if unsigned {
					vals[i] = int64(binary.BigEndian.Uint32(v))
				} else {
					vals[i] = int64(int32(binary.BigEndian.Uint32(v)))
				}
			default:
				vals[i] = int64(binary.BigEndian.Uint64(v))
			}
		}
	}
	return true
}

// evalInts loads the column as int64s (any integer-like Arrow type, or fixed-size big-endian
// wire values) and compares them.
func (lf *leaf) evalInts(st *state, arr arrow.Array, t, valid []uint64) error {
	if cap(st.ints) < st.n {
		st.ints = make([]int64, st.n)
	}
	vals := st.ints[:st.n]
	lits := lf.intsNative
	switch a := arr.(type) {
	case *array.Binary:
		lits = lf.ints
		if !loadWireInts(newVarCol(a), valid, vals, lf.width, lf.unsigned) {
			return lf.errorf("a wire value is not %d bytes", lf.width)
		}
	case *array.Int16:
		for i, v := range a.Int16Values() {
			vals[i] = int64(v)
		}
	case *array.Int32:
		for i, v := range a.Int32Values() {
			vals[i] = int64(v)
		}
	case *array.Int64:
		copy(vals, a.Int64Values())
	case *array.Uint32:
		for i, v := range a.Uint32Values() {
			vals[i] = int64(v)
		}
	case *array.Date32:
		for i, v := range a.Date32Values() {
			vals[i] = int64(v)
		}
	case *array.Timestamp:
		for i, v := range a.TimestampValues() {
			vals[i] = int64(v)
		}
	case *array.Time64:
		for i, v := range a.Time64Values() {
			vals[i] = int64(v)
		}
	case *array.Boolean:
		forEach(valid, func(i int) {
			if a.Value(i) {
				vals[i] = 1
			} else {
				vals[i] = 0
			}
		})
	default:
		return lf.errorf("unexpected Arrow type %s", arr.DataType())
	}
	if lf.kind == predCmp {
		lit, mask := lits[0], lf.mask
		for w, bitsValid := range valid {
			var out uint64
			base := w << 6
			for m := bitsValid; m != 0; m &= m - 1 {
				b := bits.TrailingZeros64(m)
				v := vals[base+b]
				c := 1 // index into mask: 0 less, 1 equal, 2 greater
				if v < lit {
					c = 0
				} else if v > lit {
					c = 2
				}
				out |= uint64(mask>>c&1) << b
			}
			t[w] = out
		}
		return nil
	}
	for w, bitsValid := range valid {
		var out uint64
		base := w << 6
		for m := bitsValid; m != 0; m &= m - 1 {
			b := bits.TrailingZeros64(m)
			v := vals[base+b]
			hit := false
			for _, l := range lits {
				if v == l {
					hit = true
					break
				}
			}
			if hit != lf.not {
				out |= 1 << b
			}
		}
		t[w] = out
	}
	return nil
}

// cmpFloat orders as PostgreSQL does: NaN equals NaN and is above every other value.
func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	case a == b:
		return 0
	}
	an, bn := math.IsNaN(a), math.IsNaN(b)
	switch {
	case an && bn:
		return 0
	case an:
		return 1
	}
	return -1
}

func (lf *leaf) evalFloats(st *state, arr arrow.Array, t, valid []uint64) error {
	if cap(st.floats) < st.n {
		st.floats = make([]float64, st.n)
	}
	vals := st.floats[:st.n]
	switch a := arr.(type) {
	case *array.Binary:
		col := newVarCol(a)
		ok := true
		w := lf.width
		forEach(valid, func(i int) {
			v := col.value(i)
			if len(v) != w {
				ok = false
				return
			}
			if w == 4 {
				vals[i] = float64(math.Float32frombits(binary.BigEndian.Uint32(v)))
			} else {
				vals[i] = math.Float64frombits(binary.BigEndian.Uint64(v))
			}
		})
		if !ok {
			return lf.errorf("a wire value is not %d bytes", w)
		}
	case *array.Float32:
		for i, v := range a.Float32Values() {
			vals[i] = float64(v)
		}
	case *array.Float64:
		copy(vals, a.Float64Values())
	default:
		return lf.errorf("unexpected Arrow type %s", arr.DataType())
	}
	fillWhere(t, valid, func(i int) bool {
		if lf.kind == predCmp {
			return lf.decide(cmpFloat(vals[i], lf.floats[0]))
		}
		for _, l := range lf.floats {
			if cmpFloat(vals[i], l) == 0 {
				return lf.decide(0)
			}
		}
		return lf.decide(1)
	})
	return nil
}

// evalBytes compares variable-length values: text of any kind and numerics, as wire bytes or
// native strings, and uuids.
func (lf *leaf) evalBytes(arr arrow.Array, t, valid []uint64) error {
	var col varCol
	native := false
	switch a := arr.(type) {
	case *array.Binary:
		col = newVarCol(a)
	case *array.String:
		col, native = newVarCol(a), true
	case *array.FixedSizeBinary:
		if lf.cls != clUUID || lf.kind == predLike {
			return lf.errorf("unexpected Arrow type %s", arr.DataType())
		}
		return lf.evalUUID(a.Value, t, valid)
	default:
		return lf.errorf("unexpected Arrow type %s", arr.DataType())
	}
	switch {
	case lf.kind == predLike:
		fillWhere(t, valid, func(i int) bool { return lf.like.match(col.value(i)) != lf.not })
	case lf.cls == clNumeric:
		cmp := cmpNumWire
		if native {
			cmp = cmpNumText
		}
		bad := false
		fillWhere(t, valid, func(i int) bool {
			v := col.value(i)
			if lf.kind == predCmp {
				c, ok := cmp(v, &lf.nums[0])
				bad = bad || !ok
				return lf.decide(c)
			}
			for j := range lf.nums {
				c, ok := cmp(v, &lf.nums[j])
				bad = bad || !ok
				if c == 0 {
					return lf.decide(0)
				}
			}
			return lf.decide(1)
		})
		if bad {
			return lf.errorf("a value is not a numeric")
		}
	case lf.cls == clUUID:
		// The wire form of a uuid is its 16 bytes, as the native form.
		return lf.evalUUID(col.value, t, valid)
	default:
		// Text is compared for equality only: =, <>, IN.
		eq := bytes.Equal
		switch lf.cls {
		case clBPChar:
			eq = func(a, b []byte) bool { return bytes.Equal(bytes.TrimRight(a, " "), b) }
		case clCitext:
			eq = bytes.EqualFold
		}
		if len(lf.bytes) == 1 {
			lit := lf.bytes[0]
			want := lf.kind == predCmp && lf.mask == maskEq || lf.kind == predIn && !lf.not
			fillWhere(t, valid, func(i int) bool { return eq(col.value(i), lit) == want })
			return nil
		}
		fillWhere(t, valid, func(i int) bool {
			v := col.value(i)
			for _, l := range lf.bytes {
				if eq(v, l) {
					return !lf.not
				}
			}
			return lf.not
		})
	}
	return nil
}

func (lf *leaf) evalUUID(get func(int) []byte, t, valid []uint64) error {
	bad := false
	fillWhere(t, valid, func(i int) bool {
		v := get(i)
		if len(v) != 16 {
			bad = true
			return false
		}
		if lf.kind == predCmp {
			return lf.decide(bytes.Compare(v, lf.bytes[0]))
		}
		for _, l := range lf.bytes {
			if bytes.Equal(v, l) {
				return lf.decide(0)
			}
		}
		return lf.decide(1)
	})
	if bad {
		return lf.errorf("a value is not 16 bytes")
	}
	return nil
}

// forEach calls fn for every row set in m.
func forEach(m []uint64, fn func(i int)) {
	for w, word := range m {
		for ; word != 0; word &= word - 1 {
			fn(w<<6 + bits.TrailingZeros64(word))
		}
	}
}

// fillWhere sets t to the rows of valid for which fn is true.
func fillWhere(t, valid []uint64, fn func(i int) bool) {
	for w, word := range valid {
		var out uint64
		for m := word; m != 0; m &= m - 1 {
			b := bits.TrailingZeros64(m)
			if fn(w<<6 + b) {
				out |= 1 << b
			}
		}
		t[w] = out
	}
}

// loadValid sets dst to the rows of arr that are not NULL.
func loadValid(arr arrow.Array, dst []uint64, n int) {
	if arr.NullN() == 0 {
		for i := range dst {
			dst[i] = math.MaxUint64
		}
		maskTail(dst, n)
		return
	}
	bm, off := arr.NullBitmapBytes(), arr.Data().Offset()
	if off%8 == 0 {
		bm = bm[off/8:]
		for w := range dst {
			var buf [8]byte
			copy(buf[:], bm[min(w*8, len(bm)):])
			dst[w] = binary.LittleEndian.Uint64(buf[:])
		}
		maskTail(dst, n)
		return
	}
	clear(dst)
	for i := 0; i < n; i++ {
		if arr.IsValid(i) {
			dst[i>>6] |= 1 << (i & 63)
		}
	}
}

// maskTail clears the bits past row n.
func maskTail(m []uint64, n int) {
	if r := n & 63; r != 0 && len(m) > 0 {
		m[len(m)-1] &= 1<<r - 1
	}
}
