package when

import (
	"bytes"
	"errors"
	"unicode"
	"unicode/utf8"
)

// likePattern is a compiled LIKE pattern: % matches any run of characters, _ exactly one
// character, \ makes the next character literal (PostgreSQL's default ESCAPE).
type likePattern struct {
	elems []likeElem
	fold  bool // citext: letters match regardless of case
	// A pattern without _ (and not folding case) is literal segments between %s: segs, and
	// whether the value must start with the first and end with the last. It is matched by
	// finding the segments in order, the common 'abc%', '%@example.com' and '%x%' with
	// bytes.HasPrefix, HasSuffix and Index.
	simple       bool
	segs         [][]byte
	anyStart     bool // the pattern starts with %
	anyEnd       bool // the pattern ends with %
	hasAnyInside bool // the pattern has a % at all
}

type likeElem struct {
	kind uint8 // likeLit, likeOne, likeAny
	r    rune
	lit  []byte // r's UTF-8 bytes
}

const (
	likeLit uint8 = iota
	likeOne
	likeAny
)

func compileLike(pat string, fold bool) (*likePattern, error) {
	p := &likePattern{fold: fold}
	for i := 0; i < len(pat); {
		r, w := utf8.DecodeRuneInString(pat[i:])
		i += w
		switch r {
		case '%':
			if n := len(p.elems); n > 0 && p.elems[n-1].kind == likeAny {
				continue // %% is %
			}
			p.elems = append(p.elems, likeElem{kind: likeAny})
			continue
		case '_':
			p.elems = append(p.elems, likeElem{kind: likeOne})
			continue
		case '\\':
			if i >= len(pat) {
				return nil, errors.New("a LIKE pattern must not end with the escape character \\")
			}
			r, w = utf8.DecodeRuneInString(pat[i:])
			i += w
		}
		p.elems = append(p.elems, likeElem{kind: likeLit, r: r, lit: []byte(string(r))})
	}
	p.simple = !fold
	var seg []byte
	for i, e := range p.elems {
		switch e.kind {
		case likeOne:
			p.simple = false
		case likeLit:
			seg = append(seg, e.lit...)
		case likeAny:
			p.hasAnyInside = true
			if i == 0 {
				p.anyStart = true
			} else {
				p.segs = append(p.segs, seg)
			}
			seg = nil
			p.anyEnd = i == len(p.elems)-1
		}
	}
	if !p.anyEnd {
		p.segs = append(p.segs, seg)
	}
	return p, nil
}

// matchSimple matches a pattern of literal segments and %s.
func (p *likePattern) matchSimple(s []byte) bool {
	if !p.hasAnyInside {
		return bytes.Equal(s, p.segs[0])
	}
	segs := p.segs
	if !p.anyStart {
		if !bytes.HasPrefix(s, segs[0]) {
			return false
		}
		s, segs = s[len(segs[0]):], segs[1:]
	}
	if !p.anyEnd {
		last := segs[len(segs)-1]
		if len(s) < len(last) || !bytes.HasSuffix(s, last) {
			return false
		}
		s, segs = s[:len(s)-len(last)], segs[:len(segs)-1]
	}
	// Leftmost matches leave the most room for the segments after them.
	for _, seg := range segs {
		i := bytes.Index(s, seg)
		if i < 0 {
			return false
		}
		s = s[i+len(seg):]
	}
	return true
}

// match reports whether s matches the whole pattern. It backtracks only to the last %, so it
// runs in O(len(s) × len(pattern)) at worst and allocates nothing.
func (p *likePattern) match(s []byte) bool {
	if p.simple {
		return p.matchSimple(s)
	}
	pi, si := 0, 0
	star, starS := -1, 0
	for si < len(s) {
		if pi < len(p.elems) {
			e := &p.elems[pi]
			if e.kind == likeAny {
				star, starS = pi, si
				pi++
				continue
			}
			if w := p.step(e, s[si:]); w > 0 {
				pi++
				si += w
				continue
			}
		}
		if star < 0 {
			return false
		}
		// Let the last % swallow one more character and try again from there.
		_, w := utf8.DecodeRune(s[starS:])
		starS += w
		pi, si = star+1, starS
	}
	for pi < len(p.elems) && p.elems[pi].kind == likeAny {
		pi++
	}
	return pi == len(p.elems)
}

// step matches element e (a literal or _) at the start of s and returns the bytes it took,
// 0 for no match.
func (p *likePattern) step(e *likeElem, s []byte) int {
	if e.kind == likeOne {
		_, w := utf8.DecodeRune(s)
		return w
	}
	if !p.fold {
		if bytes.HasPrefix(s, e.lit) {
			return len(e.lit)
		}
		return 0
	}
	r, w := utf8.DecodeRune(s)
	if r == e.r || unicode.ToLower(r) == unicode.ToLower(e.r) {
		if r == utf8.RuneError && w == 1 {
			return 0 // an invalid byte matches no literal
		}
		return w
	}
	return 0
}
