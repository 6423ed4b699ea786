package transforms

// urlRule writes a URL at a fake host under a reserved name (example.com, .example, .test),
// keeping the input's scheme ("https://", "ftp://"; none if it has none): "https://www.kuhn-
// schmidt.example.com/lamp/river". An input with a path gets up to three fake segments (as
// many as it had), one whose path is "/" keeps it, and the query, fragment, port and user
// are dropped: they are where URLs carry personal data.
type urlRule struct {
	subkey []byte
}

var _ TextRule = (*urlRule)(nil)

func newURL(env Env) (Transformer, error) {
	return fakeNewSimple(env, "url", func(sk []byte) TextRule { return &urlRule{subkey: sk} })
}

func (r *urlRule) Subkey() []byte { return r.subkey }

func (r *urlRule) Text(k *Keyed, dst, in []byte) ([]byte, error) {
	rest := in
	if n := urlSchemeLen(in); n > 0 {
		dst = append(dst, in[:n+3]...) // the scheme and "://"
		rest = in[n+3:]
	} else if len(in) >= 2 && in[0] == '/' && in[1] == '/' {
		dst = append(dst, "//"...)
		rest = in[2:]
	}
	if k.IntN(3) == 0 {
		dst = append(dst, "www."...)
	}
	dst = fakeAppendHost(dst, k)
	// The path: after the authority, up to a query or fragment.
	i := 0
	for i < len(rest) && rest[i] != '/' && rest[i] != '?' && rest[i] != '#' {
		i++
	}
	segs, slash := 0, false
	for ; i < len(rest) && rest[i] != '?' && rest[i] != '#'; i++ {
		if rest[i] == '/' {
			slash = true
			if i+1 < len(rest) && rest[i+1] != '/' && rest[i+1] != '?' && rest[i+1] != '#' {
				segs++
			}
		}
	}
	if slash && segs == 0 {
		return append(dst, '/'), nil
	}
	for s := 0; s < min(segs, 3); s++ {
		dst = append(append(dst, '/'), Pick(k, fakeNouns)...)
	}
	return dst, nil
}

// urlSchemeLen is the length of the scheme of an input that starts with scheme "://"
// (RFC 3986: a letter, then letters, digits, +, - or .), else 0.
func urlSchemeLen(in []byte) int {
	for i, c := range in {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
		case i > 0 && ('0' <= c && c <= '9' || c == '+' || c == '-' || c == '.'):
		case i > 0 && c == ':':
			if len(in) >= i+3 && in[i+1] == '/' && in[i+2] == '/' {
				return i
			}
			return 0
		default:
			return 0
		}
	}
	return 0
}
