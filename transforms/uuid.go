package transforms

import (
	"crypto/aes"
	"crypto/cipher"
	"errors"
	"fmt"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/jackc/pgx/v5/pgtype"
)

// uuidRule encrypts UUIDs with AES-128 under the first 16 bytes of the domain's subkey: a
// permutation of all 16-byte values, so distinct UUIDs stay distinct, in uuid columns (16
// raw bytes) and in text columns alike (where the hyphen layout, braces and letter case of
// the input are kept), and a UUID gets the same image in both. v4: true then sets the
// version 4 and variant bits, for consumers that check them — at the price of the bijection,
// so it is refused on unique columns.
type uuidRule struct {
	block cipher.Block
	v4    bool
}

var (
	_ TextRule    = (*uuidRule)(nil)
	_ Transformer = (*uuidColumn)(nil)
)

type uuidParams struct {
	Domain string `yaml:"domain"`
	V4     bool   `yaml:"v4"`
}

var errUUIDSyntax = errors.New("uuid: a value is not a UUID (32 hex digits, hyphens and braces allowed)")

func newUUID(env Env) (Transformer, error) {
	var p uuidParams
	if err := env.Params.Decode(&p); err != nil {
		return nil, err
	}
	if env.Key == nil {
		return nil, NoKeyError("uuid")
	}
	isUUID := env.Column.BaseOID == pgtype.UUIDOID
	if !isUUID && !IsTextType(env.Column) {
		return nil, fmt.Errorf("uuid writes uuid or text; column type %s does not take it", env.Column.TypeName)
	}
	if p.V4 && env.Column.Unique {
		return nil, fmt.Errorf("the column is unique and v4: true can give distinct UUIDs one output (it overwrites 6 bits); drop v4")
	}
	if p.Domain == "" {
		p.Domain = "uuid"
	}
	block, err := aes.NewCipher(env.Key.Derive(p.Domain)[:16])
	if err != nil {
		return nil, err
	}
	r := &uuidRule{block: block, v4: p.V4}
	if isUUID {
		return &uuidColumn{r}, nil
	}
	return TextBatch(r, env.Column), nil
}

// Subkey is nil: the rule draws nothing from the keyed stream; it encrypts with the
// domain's subkey.
func (r *uuidRule) Subkey() []byte { return nil }

// UniqueSafe: AES is a permutation of 16-byte values, unless v4 overwrites bits. (In text,
// one UUID spelled in two letter cases counts as one: the case follows the input's.)
func (r *uuidRule) UniqueSafe() bool { return !r.v4 }

// encrypt maps the 16 bytes of b in place.
func (r *uuidRule) encrypt(b []byte) {
	r.block.Encrypt(b, b)
	if r.v4 {
		b[6] = b[6]&0x0f | 0x40
		b[8] = b[8]&0x3f | 0x80
	}
}

func (r *uuidRule) Text(_ *Keyed, dst, in []byte) ([]byte, error) {
	if len(in) == 0 {
		return dst, nil
	}
	dst, s := identWork(dst, len(in))
	got, upper, lower := 0, false, false
	for _, c := range in {
		h, isHex := identHexValue(c)
		switch {
		case !isHex && !identIn(c, "-{}"), isHex && got == 32:
			return dst, errUUIDSyntax
		case isHex:
			if got%2 == 0 {
				s[got/2] = h << 4
			} else {
				s[got/2] |= h
			}
			got++
			upper = upper || c >= 'A' && c <= 'F'
			lower = lower || c >= 'a' && c <= 'f'
		}
	}
	if got != 32 {
		return dst, errUUIDSyntax
	}
	r.encrypt(s[:])
	digits := "0123456789abcdef"
	if upper && !lower {
		digits = "0123456789ABCDEF"
	}
	start := len(dst)
	dst = append(dst, in...)
	i := 0
	for j, c := range dst[start:] {
		if _, isHex := identHexValue(c); isHex {
			d := s[i/2] >> 4
			if i%2 == 1 {
				d = s[i/2] & 15
			}
			dst[start+j] = digits[d]
			i++
		}
	}
	return dst, nil
}

// uuidColumn applies the rule to a uuid column, whose values are 16 raw bytes.
type uuidColumn struct{ r *uuidRule }

// UniqueSafe: see uuidRule.
func (t *uuidColumn) UniqueSafe() bool { return t.r.UniqueSafe() }

func (t *uuidColumn) Transform(rec arrow.Record, col int, mem memory.Allocator) (arrow.Array, error) {
	arr := rec.Column(col)
	in, err := asBytes(arr)
	if err != nil {
		return nil, fmt.Errorf("uuid: %w", err)
	}
	n := arr.Len()
	b := newByteBuilder(mem, arr.DataType(), n, n*16)
	buf := make([]byte, 0, 64)
	for i := 0; i < n; i++ {
		if arr.IsNull(i) {
			b.appendNull()
			continue
		}
		v := in.value(i)
		if len(v) == 16 {
			buf = append(buf[:0], v...)
			t.r.encrypt(buf)
		} else if buf, err = t.r.Text(nil, buf[:0], v); err != nil {
			// A uuid column read as text (36 characters) works too.
			b.finish().Release()
			return nil, fmt.Errorf("row %d of the batch: %w", i, err)
		}
		b.append(buf)
	}
	return b.finish(), nil
}
