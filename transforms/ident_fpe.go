package transforms

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"math/bits"
)

// identFPE is the format-preserving encryption behind the identifier rules (phone,
// credit_card, iban, national_id, digits, ipv4, ipv6, mac): a keyed permutation of each
// domain [0, size) — the n-digit strings, the n-digit strings without a leading zero, the
// b-bit numbers — so distinct inputs give distinct outputs of the same format, by
// construction.
//
// The permutation is a balanced Feistel network (halves of ⌊b/2⌋ and ⌈b/2⌉ bits over the b
// bits that hold size-1) of identRounds rounds whose round function is AES-128 of (round,
// domain kind, length, part, half) under a key derived from the rule's subkey, XORed with a
// per-call tweak. Values that land outside [0, size) are encrypted again (cycle-walking):
// they come back into the domain because the network permutes the 2^b values, and since
// size > 2^(b-1), fewer than two walks are needed on average.
//
// An identFPE is safe for concurrent use. Its methods take the 16-byte working block s from
// the caller (see identWork) so that no value allocates.
type identFPE struct {
	round cipher.Block // the Feistel round function
	mac   cipher.Block // CBC-MAC of the tweak, a separate key
	empty identTweak   // the tweak of the empty string
}

// identRounds is the number of Feistel rounds (FF1, NIST SP 800-38G, uses 10).
const identRounds = 10

// identMaxDigits is the longest digit string permuted as one number (10^36 < 2^120);
// longer runs are permuted in parts of at most this many digits.
const identMaxDigits = 36

// Domain kinds, part of every round input so that each kind and length has its own
// permutation.
const (
	identKindDecimal   = 1 // n-digit strings, leading zeros allowed
	identKindDecimalNZ = 2 // n-digit strings without a leading zero
	identKindBinary    = 3 // b-bit numbers
)

func newIdentFPE(subkey []byte) *identFPE {
	derive := func(label string) cipher.Block {
		m := hmac.New(sha256.New, subkey)
		m.Write([]byte("understudy/v1/ident-fpe/" + label))
		b, err := aes.NewCipher(m.Sum(nil)[:16])
		if err != nil {
			panic(err) // a 16-byte key is always valid
		}
		return b
	}
	f := &identFPE{round: derive("round"), mac: derive("tweak")}
	var s [16]byte
	f.empty = f.digest(&s, nil)
	return f
}

// identWork returns dst, grown so that out more bytes can be appended without moving it,
// and the 16-byte working block of the FPE, placed in dst's spare capacity past those out
// bytes. The block lives in the buffer the caller reuses from value to value (TextBatch's),
// so once that has grown no value allocates; a working block on the stack would escape to
// the heap through the cipher.Block interface on every call.
func identWork(dst []byte, out int) ([]byte, *[16]byte) {
	if need := out + 16; cap(dst)-len(dst) < need {
		grown := make([]byte, len(dst), 2*cap(dst)+need)
		copy(grown, dst)
		dst = grown
	}
	at := len(dst) + out
	return dst, (*[16]byte)(dst[at : at+16])
}

// identTweak is the 128-bit digest of a tweak string, XORed into every round input.
type identTweak struct{ hi, lo uint64 }

// tweak digests t (see digest); the empty tweak is precomputed.
func (f *identFPE) tweak(s *[16]byte, t []byte) identTweak {
	if len(t) == 0 {
		return f.empty
	}
	return f.digest(s, t)
}

// digest is a CBC-MAC of t whose first block carries t's length, so that no tweak's
// encoding is a prefix of another's. A tweak of up to 12 bytes costs one AES block.
func (f *identFPE) digest(s *[16]byte, t []byte) identTweak {
	*s = [16]byte{}
	binary.BigEndian.PutUint32(s[:4], uint32(len(t)))
	n := copy(s[4:], t)
	f.mac.Encrypt(s[:], s[:])
	for t = t[n:]; len(t) > 0; t = t[n:] {
		n = min(len(t), 16)
		for i := 0; i < n; i++ {
			s[i] ^= t[i]
		}
		f.mac.Encrypt(s[:], s[:])
	}
	return identTweak{binary.BigEndian.Uint64(s[:8]), binary.BigEndian.Uint64(s[8:])}
}

// identDomain is one set the FPE permutes: [0, size).
type identDomain struct {
	size   identU128 // unused when full
	full   bool      // size is 2^128
	bits   uint      // the Feistel network permutes [0, 2^bits)
	header uint64    // kind and length, in the round input
}

func newIdentDomain(kind byte, length int, size identU128, full bool) identDomain {
	b := uint(128)
	if !full {
		m := size.sub1()
		b = uint(128 - bits.LeadingZeros64(m.hi))
		if m.hi == 0 {
			b = uint(64 - bits.LeadingZeros64(m.lo))
		}
	}
	b = max(b, 2) // a network over one bit has an empty half
	return identDomain{size: size, full: full, bits: b,
		header: uint64(kind)<<48 | uint64(length)<<40}
}

// identBinaryDomain is the domain of the b-bit numbers, 0 ≤ b ≤ 128.
func identBinaryDomain(b int) identDomain {
	if b == 128 {
		return newIdentDomain(identKindBinary, b, identU128{}, true)
	}
	return newIdentDomain(identKindBinary, b, identU128{}.setBit(uint(b)), false)
}

// identDecimal[n] and identDecimalNZ[n] are the domains of the n-digit strings, with and
// without a leading zero (the latter shifted down by 10^(n-1)); identPow10[n] is 10^n.
var identDecimal, identDecimalNZ, identPow10 = identDecimalDomains()

func identDecimalDomains() (all, nz [identMaxDigits + 1]identDomain, pow [identMaxDigits + 1]identU128) {
	pow[0] = identU128{lo: 1}
	for n := 1; n <= identMaxDigits; n++ {
		pow[n] = pow[n-1].mul10Add(0)
		all[n] = newIdentDomain(identKindDecimal, n, pow[n], false)
		nz[n] = newIdentDomain(identKindDecimalNZ, n, pow[n].sub(pow[n-1]), false)
	}
	return all, nz, pow
}

// permute maps x, which must be in d, to its image in d under the tweak t; part tells apart
// the pieces of one value permuted separately.
func (f *identFPE) permute(s *[16]byte, d *identDomain, t identTweak, part int, x identU128) identU128 {
	if !d.full && (d.size.hi == 0 && d.size.lo <= 1 || !x.less(d.size)) {
		return x // a one-value domain; or x outside d, a caller's bug that must not hang the walk
	}
	hdr := d.header | uint64(part&0xffff)<<24
	for {
		x = f.feistel(s, d.bits, hdr, t, x)
		if d.full || x.less(d.size) {
			return x
		}
	}
}

// feistel is one pass of the network over [0, 2^b).
func (f *identFPE) feistel(s *[16]byte, b uint, hdr uint64, t identTweak, x identU128) identU128 {
	lBits, rBits := b/2, b-b/2
	l, r := x.split(rBits)
	for i := 0; i < identRounds; i++ {
		binary.BigEndian.PutUint64(s[:8], t.hi^hdr^uint64(i)<<56)
		binary.BigEndian.PutUint64(s[8:], t.lo^r)
		f.round.Encrypt(s[:], s[:])
		// (l, r) → (r, l ⊕ F(r)), the widths of the halves trading places.
		l, r = r, (l^binary.BigEndian.Uint64(s[:8]))&identMask(lBits)
		lBits, rBits = rBits, lBits
	}
	return identJoin(l, r, rBits)
}

// permuteDigits replaces the ASCII digits of b, read in order as one number, with their
// image (other bytes stay where they are). nonzero says the first digit is not 0, and keeps
// it so. More than identMaxDigits digits are permuted in parts, each its own domain.
func (f *identFPE) permuteDigits(s *[16]byte, b []byte, t identTweak, nonzero bool) {
	n := 0
	for _, c := range b {
		if identIsDigit(c) {
			n++
		}
	}
	if n == 0 {
		return
	}
	parts := (n + identMaxDigits - 1) / identMaxDigits
	pos := 0
	for p := 0; p < parts; p++ {
		m := n / parts
		if p < n%parts {
			m++
		}
		var x identU128
		end := pos
		for got := 0; got < m; end++ {
			if c := b[end]; identIsDigit(c) {
				x = x.mul10Add(uint64(c - '0'))
				got++
			}
		}
		if nonzero && p == 0 {
			low := identPow10[m-1]
			x = f.permute(s, &identDecimalNZ[m], t, p, x.sub(low)).add(low)
		} else {
			x = f.permute(s, &identDecimal[m], t, p, x)
		}
		for j := end - 1; j >= pos; j-- {
			if identIsDigit(b[j]) {
				var d uint64
				x, d = x.divmod10()
				b[j] = byte('0' + d)
			}
		}
		pos = end
	}
}

func identIsDigit(c byte) bool { return c >= '0' && c <= '9' }

// identU128 is an unsigned 128-bit integer.
type identU128 struct{ hi, lo uint64 }

func (x identU128) less(y identU128) bool {
	return x.hi < y.hi || x.hi == y.hi && x.lo < y.lo
}

func (x identU128) add(y identU128) identU128 {
	lo, c := bits.Add64(x.lo, y.lo, 0)
	return identU128{x.hi + y.hi + c, lo}
}

func (x identU128) sub(y identU128) identU128 {
	lo, b := bits.Sub64(x.lo, y.lo, 0)
	return identU128{x.hi - y.hi - b, lo}
}

func (x identU128) sub1() identU128 { return x.sub(identU128{lo: 1}) }

func (x identU128) setBit(i uint) identU128 {
	if i >= 64 {
		x.hi |= 1 << (i - 64)
	} else {
		x.lo |= 1 << i
	}
	return x
}

// mul10Add returns 10x + d.
func (x identU128) mul10Add(d uint64) identU128 {
	carry, lo := bits.Mul64(x.lo, 10)
	lo, c := bits.Add64(lo, d, 0)
	return identU128{x.hi*10 + carry + c, lo}
}

// divmod10 returns x / 10 and x % 10.
func (x identU128) divmod10() (identU128, uint64) {
	if x.hi == 0 {
		return identU128{lo: x.lo / 10}, x.lo % 10
	}
	qh, r := x.hi/10, x.hi%10
	ql, r := bits.Div64(r, x.lo, 10)
	return identU128{qh, ql}, r
}

// split cuts x < 2^(l+r) into its high l and low r bits, 1 ≤ r ≤ 64, l ≤ 64.
func (x identU128) split(r uint) (hi, lo uint64) {
	if r == 64 {
		return x.hi, x.lo
	}
	return x.hi<<(64-r) | x.lo>>r, x.lo & identMask(r)
}

// identJoin is the inverse of split.
func identJoin(hi, lo uint64, r uint) identU128 {
	if r == 64 {
		return identU128{hi, lo}
	}
	return identU128{hi >> (64 - r), hi<<r | lo}
}

func identMask(n uint) uint64 {
	if n >= 64 {
		return ^uint64(0)
	}
	return 1<<n - 1
}
