package transforms

// digitsRule replaces every run of ASCII digits in a text with an FPE image of the same
// length and keeps everything else: "ORD-2023-000123" becomes "ORD-8141-592604". Equal runs
// become equal runs, wherever they appear.
type digitsRule struct {
	fpe *identFPE
}

var _ TextRule = (*digitsRule)(nil)

type digitsParams struct {
	Domain string `yaml:"domain"`
}

func newDigits(env Env) (Transformer, error) {
	var p digitsParams
	if err := env.Params.Decode(&p); err != nil {
		return nil, err
	}
	fpe, err := identKeyedRule(env, "digits", p.Domain)
	if err != nil {
		return nil, err
	}
	return TextBatch(&digitsRule{fpe: fpe}, env.Column), nil
}

// Subkey is nil: the rule draws nothing from the keyed stream; its FPE is keyed with the
// domain's subkey.
func (r *digitsRule) Subkey() []byte { return nil }

// UniqueSafe: each run of digits is a bijection of its length; the rest is kept.
func (r *digitsRule) UniqueSafe() bool { return true }

func (r *digitsRule) Text(_ *Keyed, dst, in []byte) ([]byte, error) {
	dst, s := identWork(dst, len(in))
	start := len(dst)
	dst = append(dst, in...)
	identPermuteRuns(r.fpe, s, dst[start:])
	return dst, nil
}

// identPermuteRuns replaces each run of digits of b in place by its FPE image.
func identPermuteRuns(f *identFPE, s *[16]byte, b []byte) {
	for i := 0; i < len(b); {
		if !identIsDigit(b[i]) {
			i++
			continue
		}
		j := i
		for j < len(b) && identIsDigit(b[j]) {
			j++
		}
		f.permuteDigits(s, b[i:j], f.empty, false)
		i = j
	}
}
