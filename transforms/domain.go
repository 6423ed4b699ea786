package transforms

// domainRule writes a fake domain name under a reserved one (example.com, .org, .net, the
// TLDs .example and .test), so no output names a real site: "kuhn.example.com",
// "abbott-schmidt.test", "lamp-river.example". An input starting with "www." keeps it.
type domainRule struct {
	subkey []byte
}

var _ TextRule = (*domainRule)(nil)

func newDomain(env Env) (Transformer, error) {
	return fakeNewSimple(env, "domain", func(sk []byte) TextRule { return &domainRule{subkey: sk} })
}

func (r *domainRule) Subkey() []byte { return r.subkey }

func (r *domainRule) Text(k *Keyed, dst, in []byte) ([]byte, error) {
	if len(in) > 4 && (string(in[:4]) == "www." || string(in[:4]) == "WWW.") {
		dst = append(dst, in[:4]...)
	}
	return fakeAppendHost(dst, k), nil
}
