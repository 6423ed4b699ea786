package transforms

// The JSON rewriter under the json rule: a small JSONPath subset, and a walker that
// validates a document and rewrites the string values some paths reach, copying the rest
// byte for byte, with buffers reused from one document to the next.

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

type jsonPath struct {
	text     string
	segs     []jsonSeg
	rule     TextRule // nil for null
	maxChars int      // cut to this many characters, as the key column it follows is; 0 for no cut
}

// jsonSeg is one step of a path: a member by key, an element by index, or every member or
// element (wild).
type jsonSeg struct {
	key   string
	index int
	kind  jsonSegKind
}

type jsonSegKind uint8

const (
	jsonKey jsonSegKind = iota
	jsonIndex
	jsonWild
)

// jsonPathParse parses a path of the subset: $ then any of .key, .*, ["key"] or ['key']
// (backslash escapes the next character), [n] and [*].
func jsonPathParse(s string) ([]jsonSeg, error) {
	if !strings.HasPrefix(s, "$") {
		return nil, fmt.Errorf("path %q must start with $", s)
	}
	segs := []jsonSeg{}
	for i := 1; i < len(s); {
		switch s[i] {
		case '.':
			j := i + 1
			for j < len(s) && s[j] != '.' && s[j] != '[' {
				j++
			}
			key := s[i+1 : j]
			switch key {
			case "":
				return nil, fmt.Errorf("path %q: a key is missing after the . at byte %d", s, i)
			case "*":
				segs = append(segs, jsonSeg{kind: jsonWild})
			default:
				if strings.ContainsAny(key, `]"' `) {
					return nil, fmt.Errorf("path %q: write the key %q as [\"...\"]", s, key)
				}
				segs = append(segs, jsonSeg{kind: jsonKey, key: key})
			}
			i = j
		case '[':
			if i+1 >= len(s) {
				return nil, fmt.Errorf("path %q: [ is not closed", s)
			}
			switch q := s[i+1]; {
			case q == '"' || q == '\'':
				var key []byte
				j := i + 2
				for ; j < len(s) && s[j] != q; j++ {
					if s[j] == '\\' {
						j++
						if j == len(s) {
							break
						}
					}
					key = append(key, s[j])
				}
				if j+1 >= len(s) || s[j] != q || s[j+1] != ']' {
					return nil, fmt.Errorf("path %q: the quoted key at byte %d is not closed with %c]", s, i, q)
				}
				segs = append(segs, jsonSeg{kind: jsonKey, key: string(key)})
				i = j + 2
			case q == '*':
				if i+2 >= len(s) || s[i+2] != ']' {
					return nil, fmt.Errorf("path %q: [* is not closed", s)
				}
				segs = append(segs, jsonSeg{kind: jsonWild})
				i += 3
			default:
				j := i + 1
				for j < len(s) && s[j] >= '0' && s[j] <= '9' {
					j++
				}
				if j == i+1 || j >= len(s) || s[j] != ']' || j-i-1 > 9 {
					return nil, fmt.Errorf("path %q: at byte %d, use [n], [*] or [\"key\"]", s, i)
				}
				n, _ := strconv.Atoi(s[i+1 : j])
				segs = append(segs, jsonSeg{kind: jsonIndex, index: n})
				i = j + 1
			}
		default:
			return nil, fmt.Errorf("path %q: unexpected %q at byte %d (use .key, [n], [*] or [\"key\"])", s, s[i], i)
		}
	}
	return segs, nil
}

// jsonPathString writes segs back as a path that jsonPathParse reads as segs.
func jsonPathString(segs []jsonSeg) string {
	var b strings.Builder
	b.WriteByte('$')
	for _, s := range segs {
		switch s.kind {
		case jsonWild:
			b.WriteString("[*]")
		case jsonIndex:
			b.WriteString("[" + strconv.Itoa(s.index) + "]")
		default:
			if s.key != "" && s.key != "*" && !strings.ContainsAny(s.key, `.[]"' \`) {
				b.WriteString("." + s.key)
				continue
			}
			b.WriteString(`["`)
			for i := 0; i < len(s.key); i++ {
				if s.key[i] == '"' || s.key[i] == '\\' {
					b.WriteByte('\\')
				}
				b.WriteByte(s.key[i])
			}
			b.WriteString(`"]`)
		}
	}
	return b.String()
}

// jsonWalker rewrites documents, reusing its buffers from one to the next. It validates
// the whole document as RFC 8259 JSON (without checking UTF-8, as PostgreSQL's json does
// not either), descending recursively only as deep as some path still matches and
// skipping everything else with an explicit stack, so no nesting depth can exhaust it.
type jsonWalker struct {
	paths  []jsonPath
	keyed  []*Keyed
	in     []byte
	out    []byte
	copied int // in[:copied] has been dealt with (copied to out, or replaced)
	stack  []byte
	text   []byte // a decoded string
	key    []byte // a decoded key
	res    []byte // a rule's output
}

var errJSONEnd = errors.New("unexpected end of JSON")

func jsonSyntax(pos int, what string) error {
	return fmt.Errorf("invalid JSON at byte %d: %s", pos, what)
}

// document rewrites doc, appending the result to w.out.
func (w *jsonWalker) document(doc []byte) error {
	w.in, w.copied = doc, 0
	var all uint64
	for i := range w.paths {
		all |= 1 << i
	}
	pos := w.ws(0)
	end, err := w.value(pos, 0, all)
	if err != nil {
		return err
	}
	if end = w.ws(end); end != len(doc) {
		return jsonSyntax(end, "data after the document")
	}
	w.out = append(w.out, doc[w.copied:]...)
	w.in = nil
	return nil
}

func (w *jsonWalker) ws(pos int) int {
	for pos < len(w.in) {
		switch w.in[pos] {
		case ' ', '\t', '\n', '\r':
			pos++
		default:
			return pos
		}
	}
	return pos
}

// value handles the value at pos, reached by the paths in mask (depth steps down), and
// returns the position after it.
func (w *jsonWalker) value(pos, depth int, mask uint64) (int, error) {
	if mask == 0 {
		return w.skip(pos)
	}
	if pos >= len(w.in) {
		return pos, errJSONEnd
	}
	var deeper uint64
	for i := range w.paths {
		if mask&(1<<i) == 0 {
			continue
		}
		if len(w.paths[i].segs) > depth {
			deeper |= 1 << i
			continue
		}
		// The first path, in the config's order, that ends here and takes the value decides: a
		// text rule does not take a number or an object, so a later null still reaches it.
		if end, done, err := w.apply(pos, i); err != nil || done {
			return end, err
		}
	}
	switch w.in[pos] {
	case '{':
		return w.object(pos, depth, deeper)
	case '[':
		return w.array(pos, depth, deeper)
	}
	return w.skip(pos)
}

// apply rewrites the value at pos with path i's rule when it takes it (any value for null,
// strings for text rules); done says whether it did.
func (w *jsonWalker) apply(pos, i int) (end int, done bool, err error) {
	p := &w.paths[i]
	if p.rule == nil {
		if end, err = w.skip(pos); err != nil {
			return end, false, err
		}
		w.replace(pos, end, []byte("null"))
		return end, true, nil
	}
	if w.in[pos] != '"' {
		return pos, false, nil
	}
	end, esc, err := w.scanString(pos)
	if err != nil {
		return end, false, err
	}
	s := w.in[pos+1 : end-1]
	if esc {
		w.text = jsonUnescape(w.text[:0], s)
		s = w.text
	}
	if k := w.keyed[i]; k != nil {
		k.Seed(s)
	}
	if w.res, err = p.rule.Text(w.keyed[i], w.res[:0], s); err != nil {
		return end, false, fmt.Errorf("%s: %w", p.text, err)
	}
	if p.maxChars > 0 {
		w.res = cutChars(w.res, p.maxChars)
	}
	w.out = append(w.out, w.in[w.copied:pos]...)
	w.out = jsonQuote(w.out, w.res)
	w.copied = end
	return end, true, nil
}

func (w *jsonWalker) replace(from, to int, with []byte) {
	w.out = append(w.out, w.in[w.copied:from]...)
	w.out = append(w.out, with...)
	w.copied = to
}

func (w *jsonWalker) object(pos, depth int, mask uint64) (int, error) {
	pos = w.ws(pos + 1)
	if pos < len(w.in) && w.in[pos] == '}' {
		return pos + 1, nil
	}
	for {
		if pos >= len(w.in) {
			return pos, errJSONEnd
		}
		if w.in[pos] != '"' {
			return pos, jsonSyntax(pos, "expected a key")
		}
		end, esc, err := w.scanString(pos)
		if err != nil {
			return end, err
		}
		key := w.in[pos+1 : end-1]
		if esc {
			w.key = jsonUnescape(w.key[:0], key)
			key = w.key
		}
		var child uint64
		for i := range w.paths {
			if mask&(1<<i) != 0 {
				if s := w.paths[i].segs[depth]; s.kind == jsonWild || s.kind == jsonKey && s.key == string(key) {
					child |= 1 << i
				}
			}
		}
		pos = w.ws(end)
		if pos >= len(w.in) || w.in[pos] != ':' {
			return pos, jsonSyntax(pos, "expected :")
		}
		if pos, err = w.value(w.ws(pos+1), depth+1, child); err != nil {
			return pos, err
		}
		pos = w.ws(pos)
		if pos >= len(w.in) {
			return pos, errJSONEnd
		}
		switch w.in[pos] {
		case ',':
			pos = w.ws(pos + 1)
		case '}':
			return pos + 1, nil
		default:
			return pos, jsonSyntax(pos, "expected , or }")
		}
	}
}

func (w *jsonWalker) array(pos, depth int, mask uint64) (int, error) {
	pos = w.ws(pos + 1)
	if pos < len(w.in) && w.in[pos] == ']' {
		return pos + 1, nil
	}
	for idx := 0; ; idx++ {
		var child uint64
		for i := range w.paths {
			if mask&(1<<i) != 0 {
				if s := w.paths[i].segs[depth]; s.kind == jsonWild || s.kind == jsonIndex && s.index == idx {
					child |= 1 << i
				}
			}
		}
		var err error
		if pos, err = w.value(pos, depth+1, child); err != nil {
			return pos, err
		}
		pos = w.ws(pos)
		if pos >= len(w.in) {
			return pos, errJSONEnd
		}
		switch w.in[pos] {
		case ',':
			pos = w.ws(pos + 1)
		case ']':
			return pos + 1, nil
		default:
			return pos, jsonSyntax(pos, "expected , or ]")
		}
	}
}

// skip validates the value at pos without rewriting anything, iteratively.
func (w *jsonWalker) skip(pos int) (int, error) {
	in := w.in
	stack := w.stack[:0]
	defer func() { w.stack = stack[:0] }()
	for {
		// A value starts at pos.
		pos = w.ws(pos)
		if pos >= len(in) {
			return pos, errJSONEnd
		}
		var err error
		switch c := in[pos]; {
		case c == '{' || c == '[':
			pos = w.ws(pos + 1)
			if pos < len(in) && in[pos] == c+2 { // '}' is '{'+2, ']' is '['+2
				pos++
				break
			}
			stack = append(stack, c)
			if c == '{' {
				if pos, err = w.memberKey(pos); err != nil {
					return pos, err
				}
			}
			continue
		case c == '"':
			if pos, _, err = w.scanString(pos); err != nil {
				return pos, err
			}
		case c == 't':
			pos, err = w.literal(pos, "true")
		case c == 'f':
			pos, err = w.literal(pos, "false")
		case c == 'n':
			pos, err = w.literal(pos, "null")
		default:
			pos, err = w.number(pos)
		}
		if err != nil {
			return pos, err
		}
		// A value ended: close containers until one continues.
		for {
			if len(stack) == 0 {
				return pos, nil
			}
			pos = w.ws(pos)
			if pos >= len(in) {
				return pos, errJSONEnd
			}
			top := stack[len(stack)-1]
			if in[pos] == top+2 {
				stack = stack[:len(stack)-1]
				pos++
				continue
			}
			if in[pos] != ',' {
				return pos, jsonSyntax(pos, "expected , or a closing bracket")
			}
			pos++
			if top == '{' {
				if pos, err = w.memberKey(w.ws(pos)); err != nil {
					return pos, err
				}
			}
			break
		}
	}
}

// memberKey reads `"key" :` at pos.
func (w *jsonWalker) memberKey(pos int) (int, error) {
	if pos >= len(w.in) {
		return pos, errJSONEnd
	}
	if w.in[pos] != '"' {
		return pos, jsonSyntax(pos, "expected a key")
	}
	pos, _, err := w.scanString(pos)
	if err != nil {
		return pos, err
	}
	pos = w.ws(pos)
	if pos >= len(w.in) || w.in[pos] != ':' {
		return pos, jsonSyntax(pos, "expected :")
	}
	return pos + 1, nil
}

func (w *jsonWalker) literal(pos int, lit string) (int, error) {
	if len(w.in)-pos < len(lit) || string(w.in[pos:pos+len(lit)]) != lit {
		return pos, jsonSyntax(pos, "expected "+lit)
	}
	return pos + len(lit), nil
}

// number reads -?(0|[1-9]d*)(.d+)?([eE][+-]?d+)?
func (w *jsonWalker) number(pos int) (int, error) {
	in, start := w.in, pos
	digits := func() int {
		n := 0
		for pos < len(in) && in[pos] >= '0' && in[pos] <= '9' {
			pos++
			n++
		}
		return n
	}
	if pos < len(in) && in[pos] == '-' {
		pos++
	}
	if pos < len(in) && in[pos] == '0' {
		pos++
	} else if digits() == 0 {
		return start, jsonSyntax(start, "expected a value")
	}
	if pos < len(in) && in[pos] == '.' {
		pos++
		if digits() == 0 {
			return pos, jsonSyntax(pos, "expected a digit")
		}
	}
	if pos < len(in) && (in[pos] == 'e' || in[pos] == 'E') {
		pos++
		if pos < len(in) && (in[pos] == '+' || in[pos] == '-') {
			pos++
		}
		if digits() == 0 {
			return pos, jsonSyntax(pos, "expected a digit")
		}
	}
	return pos, nil
}

// scanString reads the string starting with the quote at pos and returns the position after
// its closing quote, and whether it holds escapes.
func (w *jsonWalker) scanString(pos int) (end int, esc bool, err error) {
	in := w.in
	for i := pos + 1; i < len(in); i++ {
		switch c := in[i]; {
		case c == '"':
			return i + 1, esc, nil
		case c < 0x20:
			return i, false, jsonSyntax(i, "control character in a string")
		case c == '\\':
			esc = true
			i++
			if i >= len(in) {
				return i, false, errJSONEnd
			}
			switch in[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if i+4 >= len(in) {
					return i, false, errJSONEnd
				}
				for _, h := range in[i+1 : i+5] {
					if !jsonIsHex(h) {
						return i, false, jsonSyntax(i, "bad \\u escape")
					}
				}
				i += 4
			default:
				return i, false, jsonSyntax(i, "bad escape")
			}
		}
	}
	return len(in), false, errJSONEnd
}

func jsonIsHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func jsonHex4(s []byte) rune {
	var r rune
	for _, c := range s[:4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		default:
			c -= 'A' - 10
		}
		r = r<<4 | rune(c)
	}
	return r
}

// jsonUnescape appends the text of a scanned string's contents s (escapes valid). A lone
// surrogate becomes U+FFFD, as encoding/json does.
func jsonUnescape(dst, s []byte) []byte {
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' {
			dst = append(dst, s[i])
			continue
		}
		i++
		switch s[i] {
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r := jsonHex4(s[i+1:])
			i += 4
			if utf16.IsSurrogate(r) {
				if i+6 < len(s) && s[i+1] == '\\' && s[i+2] == 'u' {
					if r2 := utf16.DecodeRune(r, jsonHex4(s[i+3:])); r2 != utf8.RuneError {
						dst = utf8.AppendRune(dst, r2)
						i += 6
						continue
					}
				}
				r = utf8.RuneError
			}
			dst = utf8.AppendRune(dst, r)
		default: // " \ /
			dst = append(dst, s[i])
		}
	}
	return dst
}

// jsonQuote appends s as a JSON string.
func jsonQuote(dst, s []byte) []byte {
	const hexDigits = "0123456789abcdef"
	dst = append(dst, '"')
	for _, c := range s {
		switch {
		case c == '"' || c == '\\':
			dst = append(dst, '\\', c)
		case c >= 0x20:
			dst = append(dst, c)
		case c == '\n':
			dst = append(dst, '\\', 'n')
		case c == '\r':
			dst = append(dst, '\\', 'r')
		case c == '\t':
			dst = append(dst, '\\', 't')
		default:
			dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&15])
		}
	}
	return append(dst, '"')
}
