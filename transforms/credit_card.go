package transforms

// creditCardRule replaces a card number's account digits: the first 6 digits (the issuer
// identification number, so the brand and issuer stay) and every separator are kept, the
// digits between them and the check digit go through the FPE (tweaked by the IIN), and the
// Luhn check digit is recomputed. A valid number stays valid; a wrong check digit stays
// wrong by the same amount, which keeps the rule a bijection on every input.
type creditCardRule struct {
	fpe *identFPE
}

var _ TextRule = (*creditCardRule)(nil)

type creditCardParams struct {
	Domain string `yaml:"domain"`
}

// creditCardIIN is the length of the issuer identification number kept.
const creditCardIIN = 6

func newCreditCard(env Env) (Transformer, error) {
	var p creditCardParams
	if err := env.Params.Decode(&p); err != nil {
		return nil, err
	}
	fpe, err := identKeyedRule(env, "credit_card", p.Domain)
	if err != nil {
		return nil, err
	}
	return TextBatch(&creditCardRule{fpe: fpe}, env.Column), nil
}

// Subkey is nil: the rule draws nothing from the keyed stream; its FPE is keyed with the
// domain's subkey.
func (r *creditCardRule) Subkey() []byte { return nil }

// UniqueSafe: the IIN is kept, the account digits are a bijection, and the check digit
// keeps its distance from the correct one.
func (r *creditCardRule) UniqueSafe() bool { return true }

// Text handles a value of fewer than 8 digits, too short for an IIN, account digits and a
// check digit, as digits does: all its digits permuted.
func (r *creditCardRule) Text(_ *Keyed, dst, in []byte) ([]byte, error) {
	dst, s := identWork(dst, len(in))
	start := len(dst)
	dst = append(dst, in...)
	out := dst[start:]
	if identCountDigits(out) < creditCardIIN+2 {
		r.fpe.permuteDigits(s, out, r.fpe.empty, false)
		return dst, nil
	}
	iin := identAfterDigits(out, creditCardIIN)
	last := identLastDigit(out)
	before := identLuhn(out[:last])
	var tb [creditCardIIN]byte
	t := r.fpe.tweak(s, identDigitTweak(tb[:], out[:iin]))
	r.fpe.permuteDigits(s, out[iin:last], t, false)
	identLuhnRecheck(out, last, before)
	return dst, nil
}
