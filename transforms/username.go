package transforms

import "fmt"

// usernameRule writes a user name made of fake name parts, lower case ASCII: "john.smith",
// "jsmith", "smith_john1987", "mary42". On a unique column it carries no digits but ends
// with "_" and a 100-bit keyed discriminator of the input (20 base32 characters,
// "jsmith_k3xq…"), so distinct inputs get distinct names: the discriminator is always the
// last 20 characters, and on a varchar(n) column the name part is shortened to keep it whole.
type usernameRule struct {
	subkey []byte
	unique bool
	max    int // varchar(n)/char(n) length, 0 if none
}

var (
	_ TextRule   = (*usernameRule)(nil)
	_ UniqueSafe = (*usernameRule)(nil)
)

func newUsername(env Env) (Transformer, error) {
	var p fakeParams
	if err := env.Params.Decode(&p); err != nil {
		return nil, err
	}
	sk, err := fakeKeyed(env, "username", p.Domain, true)
	if err != nil {
		return nil, err
	}
	c := env.Column
	r := &usernameRule{subkey: sk, unique: c.Unique, max: fakeMaxChars(c)}
	if r.unique && r.max > 0 && r.max < fakeUniqueDiscLen {
		return nil, fmt.Errorf("username: column %s is unique and holds %d characters, too few for the %d-character discriminator that keeps it unique (use hash)",
			c, r.max, fakeUniqueDiscLen)
	}
	return TextBatch(r, c), nil
}

func (r *usernameRule) Subkey() []byte { return r.subkey }

// UniqueSafe: on a unique column every name ends with the input's 100-bit discriminator.
func (r *usernameRule) UniqueSafe() bool { return r.unique }

func (r *usernameRule) Text(k *Keyed, dst, _ []byte) ([]byte, error) {
	start := len(dst)
	dst = fakeAppendHandle(dst, k, !r.unique)
	room := r.max // characters for the name part; all of it is ASCII
	if r.unique && room > 0 {
		room -= 1 + fakeUniqueDiscLen
		if room < 1 {
			dst = dst[:start] // the discriminator alone
		}
	}
	if room > 0 && len(dst)-start > room {
		dst = fakeTrimSeparators(dst[:start+room], start)
	}
	if r.unique {
		if len(dst) > start {
			dst = append(dst, '_')
		}
		dst = fakeAppendDiscriminator(dst, k)
	}
	return dst, nil
}
