package transforms

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/jackc/pgx/v5/pgtype"
)

// templateRule builds a text value from other columns of the same row:
// "{first_name|lower}.{last_name|lower}@example.com". The pipeline runs it after the rules on
// the columns it reads, so it sees their new values. {#} inserts a keyed discriminator of the
// column's own input value: 12 base32 characters (60 bits), or 20 (100 bits) on a unique
// column, which then stays unique (a collision needs two 100-bit keyed hashes to agree).
// NULL stays NULL; a NULL column read renders as empty.
type templateRule struct {
	segs    []templateSeg
	reads   []string
	subkey  []byte
	discLen int // characters of {#}; 0 without it
	max     int // varchar(n)/char(n) length, 0 if none
	unique  bool
}

var (
	_ Transformer = (*templateRule)(nil)
	_ RowReader   = (*templateRule)(nil)
	_ UniqueSafe  = (*templateRule)(nil)
)

type templateSeg struct {
	kind   templateKind
	lit    string // templateLit
	col    int    // templateCol: index into reads
	filter byte   // templateCol: 0, 'l' (lower) or 'u' (upper)
}

type templateKind uint8

const (
	templateLit templateKind = iota
	templateCol
	templateDisc
)

type templateParams struct {
	Template string `yaml:"template"`
	Domain   string `yaml:"domain"`
}

const (
	templateDiscLen       = 12
	templateUniqueDiscLen = 20
)

func newTemplate(env Env) (Transformer, error) {
	var p templateParams
	if err := env.Params.Decode(&p); err != nil {
		return nil, err
	}
	c := env.Column
	if !IsTextType(c) {
		return nil, fmt.Errorf("template writes text; column type %s does not take it", c.TypeName)
	}
	if p.Template == "" {
		return nil, errors.New(`template needs template, e.g. {transform: template, template: "{first_name|lower}.{last_name|lower}@example.com"}`)
	}
	segs, reads, err := templateParse(p.Template)
	if err != nil {
		return nil, err
	}
	t := &templateRule{segs: segs, reads: reads, unique: c.Unique}
	for _, s := range segs {
		if s.kind == templateDisc {
			t.discLen = templateDiscLen
			if c.Unique {
				t.discLen = templateUniqueDiscLen
			}
		}
	}
	if c.Unique && t.discLen == 0 {
		return nil, fmt.Errorf("column %s is unique and two rows can build the same text; add {#}, a keyed discriminator, to the template (e.g. \"{first_name|lower}.{#}@example.com\")", c.Name)
	}
	if t.discLen > 0 {
		if t.subkey, err = shapeKeyed("template", env, p.Domain); err != nil {
			return nil, fmt.Errorf("{#}: %w", err)
		}
	}
	if (c.BaseOID == pgtype.VarcharOID || c.BaseOID == pgtype.BPCharOID) && c.Typmod > 4 {
		t.max = int(c.Typmod - 4)
		if c.Unique && t.max < templateUniqueDiscLen {
			return nil, fmt.Errorf("column %s is unique and holds %d characters, too few for the 20-character discriminator", c.Name, t.max)
		}
	}
	return t, nil
}

// templateParse reads a template: text with {column}, {column|lower}, {column|upper}, {#};
// {{ and }} stand for braces. It returns the segments and the columns read, each once.
func templateParse(s string) ([]templateSeg, []string, error) {
	var segs []templateSeg
	var reads []string
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			segs = append(segs, templateSeg{kind: templateLit, lit: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(s); i++ {
		switch ch := s[i]; {
		case ch == '{' && i+1 < len(s) && s[i+1] == '{', ch == '}' && i+1 < len(s) && s[i+1] == '}':
			lit.WriteByte(ch)
			i++
		case ch == '}':
			return nil, nil, fmt.Errorf("template %q: a } at byte %d closes nothing (write }} for a brace)", s, i)
		case ch == '{':
			end := strings.IndexAny(s[i+1:], "{}")
			if end < 0 || s[i+1+end] != '}' {
				return nil, nil, fmt.Errorf("template %q: the { at byte %d is not closed (write {{ for a brace)", s, i)
			}
			inner := s[i+1 : i+1+end]
			i += 1 + end
			flush()
			name, filter, _ := strings.Cut(inner, "|")
			name, filter = strings.TrimSpace(name), strings.TrimSpace(filter)
			if name == "#" {
				if filter != "" {
					return nil, nil, fmt.Errorf("template %q: {#} takes no filter", s)
				}
				segs = append(segs, templateSeg{kind: templateDisc})
				continue
			}
			if name == "" {
				return nil, nil, fmt.Errorf("template %q: {} names no column", s)
			}
			seg := templateSeg{kind: templateCol, col: -1}
			switch filter {
			case "":
			case "lower":
				seg.filter = 'l'
			case "upper":
				seg.filter = 'u'
			default:
				return nil, nil, fmt.Errorf("template %q: unknown filter %q (use lower or upper)", s, filter)
			}
			for j, r := range reads {
				if r == name {
					seg.col = j
				}
			}
			if seg.col < 0 {
				seg.col = len(reads)
				reads = append(reads, name)
			}
			segs = append(segs, seg)
		default:
			lit.WriteByte(ch)
		}
	}
	flush()
	return segs, reads, nil
}

// Reads lists the columns the template reads.
func (t *templateRule) Reads() []string { return t.reads }

// UniqueSafe: on a unique column the template carries a 100-bit keyed discriminator.
func (t *templateRule) UniqueSafe() bool { return t.discLen >= templateUniqueDiscLen }

// templateSource renders one column's values as text.
type templateSource struct {
	bytes byteColumn
	trim  bool // char(n): drop the padding
	ints  arrow.Array
	wire  int // raw big-endian integers of 2, 4 or 8 bytes; 16 for a raw uuid
	uuid  *array.FixedSizeBinary
}

// Field metadata the codec (schemas/pgarrow) records on every column.
const (
	templateMetaOID     = "pg.oid"
	templateMetaBaseOID = "pg.base_oid"
	templateMetaType    = "pg.type"
)

func templateSourceOf(f arrow.Field, a arrow.Array) (templateSource, error) {
	oid := uint64(0)
	for _, key := range []string{templateMetaBaseOID, templateMetaOID} {
		if i := f.Metadata.FindKey(key); i >= 0 && oid == 0 {
			oid, _ = strconv.ParseUint(f.Metadata.Values()[i], 10, 32)
		}
	}
	typeName := ""
	if i := f.Metadata.FindKey(templateMetaType); i >= 0 {
		typeName = f.Metadata.Values()[i]
	}
	var s templateSource
	switch a := a.(type) {
	case *array.Int16, *array.Int32, *array.Int64:
		s.ints = a
		return s, nil
	case *array.FixedSizeBinary:
		if a.DataType().(*arrow.FixedSizeBinaryType).ByteWidth == 16 {
			s.uuid = a
			return s, nil
		}
	case *array.String, *array.Binary:
		s.bytes, _ = asBytes(a)
		s.trim = oid == pgtype.BPCharOID
		if _, raw := a.(*array.Binary); raw {
			switch uint32(oid) {
			case pgtype.Int2OID:
				s.wire = 2
			case pgtype.Int4OID:
				s.wire = 4
			case pgtype.Int8OID:
				s.wire = 8
			case pgtype.UUIDOID:
				s.wire = 16
			case 0, pgtype.TextOID, pgtype.VarcharOID, pgtype.BPCharOID, pgtype.NameOID:
			default:
				if !isCitext(typeName) {
					return s, fmt.Errorf("column %s is %s: a template reads text, integer and uuid columns", f.Name, typeName)
				}
			}
		}
		return s, nil
	}
	return s, fmt.Errorf("column %s is %s: a template reads text, integer and uuid columns", f.Name, a.DataType())
}

// appendValue renders row i (non-NULL) with filter applied.
func (s *templateSource) appendValue(dst []byte, i int, filter byte) ([]byte, error) {
	switch {
	case s.ints != nil:
		var v int64
		switch a := s.ints.(type) {
		case *array.Int16:
			v = int64(a.Value(i))
		case *array.Int32:
			v = int64(a.Value(i))
		case *array.Int64:
			v = a.Value(i)
		}
		return strconv.AppendInt(dst, v, 10), nil
	case s.uuid != nil:
		return templateAppendUUID(dst, s.uuid.Value(i)), nil
	}
	v := s.bytes.value(i)
	switch s.wire {
	case 2, 4, 8:
		if len(v) != s.wire {
			return dst, fmt.Errorf("an integer of %d bytes, want %d", len(v), s.wire)
		}
		var n int64
		switch s.wire {
		case 2:
			n = int64(int16(binary.BigEndian.Uint16(v)))
		case 4:
			n = int64(int32(binary.BigEndian.Uint32(v)))
		case 8:
			n = int64(binary.BigEndian.Uint64(v))
		}
		return strconv.AppendInt(dst, n, 10), nil
	case 16:
		if len(v) != 16 {
			return dst, fmt.Errorf("a uuid of %d bytes", len(v))
		}
		return templateAppendUUID(dst, v), nil
	}
	if s.trim {
		for len(v) > 0 && v[len(v)-1] == ' ' {
			v = v[:len(v)-1]
		}
	}
	return shapeAppendCase(dst, v, filter), nil
}

func templateAppendUUID(dst, u []byte) []byte {
	var buf [36]byte
	hex.Encode(buf[0:8], u[0:4])
	buf[8] = '-'
	hex.Encode(buf[9:13], u[4:6])
	buf[13] = '-'
	hex.Encode(buf[14:18], u[6:8])
	buf[18] = '-'
	hex.Encode(buf[19:23], u[8:10])
	buf[23] = '-'
	hex.Encode(buf[24:], u[10:16])
	return append(dst, buf[:]...)
}

// shapeAppendCase appends v lower-cased ('l'), upper-cased ('u') or as is (0), rune by rune,
// without allocating.
func shapeAppendCase(dst, v []byte, filter byte) []byte {
	if filter == 0 {
		return append(dst, v...)
	}
	for len(v) > 0 {
		if c := v[0]; c < utf8.RuneSelf {
			if filter == 'l' && 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			} else if filter == 'u' && 'a' <= c && c <= 'z' {
				c -= 'a' - 'A'
			}
			dst = append(dst, c)
			v = v[1:]
			continue
		}
		r, n := utf8.DecodeRune(v)
		if r == utf8.RuneError && n == 1 {
			dst = append(dst, v[0]) // not UTF-8: pass the byte through
		} else if filter == 'l' {
			dst = utf8.AppendRune(dst, unicode.ToLower(r))
		} else {
			dst = utf8.AppendRune(dst, unicode.ToUpper(r))
		}
		v = v[n:]
	}
	return dst
}

func (t *templateRule) Transform(rec arrow.Record, col int, mem memory.Allocator) (arrow.Array, error) {
	arr := rec.Column(col)
	own, err := asBytes(arr)
	if err != nil {
		return nil, fmt.Errorf("template: %w", err)
	}
	srcs := make([]templateSource, len(t.reads))
	cols := make([]arrow.Array, len(t.reads))
	for i, name := range t.reads {
		idx := rec.Schema().FieldIndices(name)
		if len(idx) == 0 {
			return nil, fmt.Errorf("template: the batch has no column %q", name)
		}
		cols[i] = rec.Column(idx[0])
		if srcs[i], err = templateSourceOf(rec.Schema().Field(idx[0]), cols[i]); err != nil {
			return nil, fmt.Errorf("template: %w", err)
		}
	}
	var k *Keyed
	if t.subkey != nil {
		k = NewKeyed(t.subkey)
	}
	n := arr.Len()
	b := newByteBuilder(mem, arr.DataType(), n, dataLen(arr)+n*16)
	var buf []byte
	for i := 0; i < n; i++ {
		if arr.IsNull(i) {
			b.appendNull()
			continue
		}
		buf = buf[:0]
		for _, s := range t.segs {
			switch s.kind {
			case templateLit:
				buf = append(buf, s.lit...)
			case templateCol:
				if cols[s.col].IsNull(i) {
					continue
				}
				if buf, err = srcs[s.col].appendValue(buf, i, s.filter); err != nil {
					b.finish().Release()
					return nil, fmt.Errorf("template: row %d of the batch, column %s: %w", i, t.reads[s.col], err)
				}
			case templateDisc:
				k.Seed(own.value(i))
				buf = shapeAppendDiscriminator(buf, k.Digest(), t.discLen)
			}
		}
		if t.max > 0 && utf8.RuneCount(buf) > t.max {
			if t.unique {
				b.finish().Release()
				return nil, fmt.Errorf("template: row %d of the batch: the value is %d characters, more than the column's %d; cutting it could cut the discriminator and break uniqueness (shorten the template)", i, utf8.RuneCount(buf), t.max)
			}
			buf = cutChars(buf, t.max)
		}
		b.append(buf)
	}
	return b.finish(), nil
}
