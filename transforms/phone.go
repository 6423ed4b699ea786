package transforms

// phoneRule replaces the digits of a phone number, keeping its layout: the international
// prefix (+ or 00) and country calling code, a trunk 0, keep_prefix more digits, and every
// non-digit character stay where they are; the remaining digits go through the FPE as one
// number whose first digit stays non-zero. The same number written "+44 20 7946 0000",
// "0044 20-7946-0000" or "020 7946 0000" gets the same new digits.
type phoneRule struct {
	fpe        *identFPE
	keepPrefix int
}

var _ TextRule = (*phoneRule)(nil)

type phoneParams struct {
	Domain     string `yaml:"domain"`
	KeepPrefix int    `yaml:"keep_prefix"`
}

func newPhone(env Env) (Transformer, error) {
	var p phoneParams
	if err := env.Params.Decode(&p); err != nil {
		return nil, err
	}
	fpe, err := identKeyedRule(env, "phone", p.Domain)
	if err != nil {
		return nil, err
	}
	if err := identNotNegative("keep_prefix", p.KeepPrefix); err != nil {
		return nil, err
	}
	return TextBatch(&phoneRule{fpe: fpe, keepPrefix: p.KeepPrefix}, env.Column), nil
}

// Subkey is nil: the rule draws nothing from the keyed stream; its FPE is keyed with the
// domain's subkey.
func (r *phoneRule) Subkey() []byte { return nil }

// UniqueSafe: what is kept is read back from the output, and the rest is a bijection.
func (r *phoneRule) UniqueSafe() bool { return true }

func (r *phoneRule) Text(_ *Keyed, dst, in []byte) ([]byte, error) {
	dst, s := identWork(dst, len(in))
	start := len(dst)
	dst = append(dst, in...)
	out := dst[start:]
	_, zeros, prefix, rest := identPhoneSplit(out, r.keepPrefix)
	var tb [32]byte
	t := r.fpe.tweak(s, identDigitTweak(tb[:], out[identAfterDigits(out, zeros):identAfterDigits(out, prefix)]))
	r.fpe.permuteDigits(s, out[identAfterDigits(out, rest):], t, true)
	return dst, nil
}
