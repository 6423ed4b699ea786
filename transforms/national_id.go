package transforms

// nationalIDRule replaces the digits of an identifier of any national format (a US SSN
// "123-45-6789", a German tax id, a Swedish personnummer): every non-digit character and the
// first keep_prefix digits stay, the other digits go through the FPE as one number (tweaked
// by the kept digits), and with luhn: true the last digit is a Luhn check digit, recomputed.
type nationalIDRule struct {
	fpe        *identFPE
	keepPrefix int
	luhn       bool
}

var _ TextRule = (*nationalIDRule)(nil)

type nationalIDParams struct {
	Domain     string `yaml:"domain"`
	KeepPrefix int    `yaml:"keep_prefix"`
	Luhn       bool   `yaml:"luhn"`
}

func newNationalID(env Env) (Transformer, error) {
	var p nationalIDParams
	if err := env.Params.Decode(&p); err != nil {
		return nil, err
	}
	fpe, err := identKeyedRule(env, "national_id", p.Domain)
	if err != nil {
		return nil, err
	}
	if err := identNotNegative("keep_prefix", p.KeepPrefix); err != nil {
		return nil, err
	}
	return TextBatch(&nationalIDRule{fpe: fpe, keepPrefix: p.KeepPrefix, luhn: p.Luhn}, env.Column), nil
}

// Subkey is nil: the rule draws nothing from the keyed stream; its FPE is keyed with the
// domain's subkey.
func (r *nationalIDRule) Subkey() []byte { return nil }

// UniqueSafe: the kept digits and layout stay, the rest is a bijection.
func (r *nationalIDRule) UniqueSafe() bool { return true }

// Text keeps a check digit's distance from the correct one, like credit_card, so a valid
// identifier stays valid and the rule stays a bijection.
func (r *nationalIDRule) Text(_ *Keyed, dst, in []byte) ([]byte, error) {
	dst, s := identWork(dst, len(in))
	start := len(dst)
	dst = append(dst, in...)
	out := dst[start:]
	kept := identAfterDigits(out, r.keepPrefix)
	var tb [32]byte
	t := r.fpe.tweak(s, identDigitTweak(tb[:], out[:kept]))
	if !r.luhn {
		r.fpe.permuteDigits(s, out[kept:], t, false)
		return dst, nil
	}
	last := identLastDigit(out)
	if last < kept {
		return dst, nil // only kept digits
	}
	before := identLuhn(out[:last])
	r.fpe.permuteDigits(s, out[kept:last], t, false)
	identLuhnRecheck(out, last, before)
	return dst, nil
}
