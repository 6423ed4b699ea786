package transforms

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
)

// MinKeyLength is the shortest key accepted, in bytes of key material: a key written in hex
// digits alone (what `openssl rand -hex N` prints) holds half as many bytes as it has
// digits, any other key as many bytes as its UTF-8 text. Either way the key is used as it
// is written (a hex key is not decoded), so no key's outputs depend on how it was counted.
const MinKeyLength = 16

// Key is the secret every deterministic transformer is keyed with. It prints as *** so it
// cannot reach a log by accident; only its fingerprint may be recorded.
type Key struct {
	secret []byte
}

// KeyTooShortError refuses a key of fewer than MinKeyLength bytes. It does not hold the key.
type KeyTooShortError struct {
	Bytes     int // bytes of key material
	HexDigits int // the key's length, when it is hex digits alone; else 0
}

func (e *KeyTooShortError) Error() string {
	if e.HexDigits > 0 {
		return fmt.Sprintf("the key is %d hex digits, %d bytes; a key must be at least %d bytes (%d hex digits)",
			e.HexDigits, e.Bytes, MinKeyLength, 2*MinKeyLength)
	}
	return fmt.Sprintf("the key is %d bytes; a key must be at least %d bytes", e.Bytes, MinKeyLength)
}

// KeyHint says how to make a good key.
const KeyHint = "make one with: openssl rand -hex 32"

// NewKey wraps a secret of at least MinKeyLength bytes; a shorter one is a
// *KeyTooShortError.
func NewKey(secret string) (*Key, error) {
	n, hexDigits := SecretBytes(secret)
	if n < MinKeyLength {
		return nil, &KeyTooShortError{Bytes: n, HexDigits: hexDigits}
	}
	return &Key{secret: []byte(secret)}, nil
}

// SecretBytes is how much key material secret holds, the rule every secret of understudy's
// is measured by (the key, the snapshot sign key): a secret of hex digits alone counts half a
// byte a digit (openssl rand -hex 32 is 32 bytes), any other its bytes. hexDigits is its
// length when it is hex, else 0.
func SecretBytes(secret string) (bytes, hexDigits int) {
	if isHex(secret) {
		return len(secret) / 2, len(secret)
	}
	return len(secret), 0
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return s != ""
}

// NewRandomKey draws a throwaway key for one run (--random): outputs are then consistent
// within the run (keys stay unique, references follow) but differ in every run, and nobody
// can reproduce them.
func NewRandomKey() *Key {
	secret := make([]byte, 32)
	rand.Read(secret) // never fails (crypto/rand panics rather than return short)
	return &Key{secret: []byte(hex.EncodeToString(secret))}
}

// NoKeyError is the error of a keyed rule's constructor when the run has no key.
func NoKeyError(rule string) error {
	return fmt.Errorf("%s is keyed: set UNDERSTUDY_KEY, key: in the config or --key-file (or --random for values that differ in every run)", rule)
}

// String hides the secret.
func (k *Key) String() string { return "***" }

// GoString hides the secret from %#v too.
func (k *Key) GoString() string { return "***" }

// Fingerprint identifies the key without revealing it: the first 8 bytes of
// HMAC-SHA256(key, "understudy/v1/fingerprint"), in hex.
func (k *Key) Fingerprint() string {
	m := hmac.New(sha256.New, k.secret)
	m.Write([]byte("understudy/v1/fingerprint"))
	return hex.EncodeToString(m.Sum(nil)[:8])
}

// Derive returns the sub-key of a rule domain: HMAC-SHA256(key, "understudy/v1/domain/" +
// domain). Values are then keyed with the sub-key, so the same input gives the same output
// wherever the same domain is used, and nothing else.
func (k *Key) Derive(domain string) []byte {
	m := hmac.New(sha256.New, k.secret)
	m.Write([]byte("understudy/v1/domain/"))
	m.Write([]byte(domain))
	return m.Sum(nil)
}

// ForCopy returns the key of copy i of a scaled run: HMAC-SHA256(key, "understudy/v1/copy/"
// + i), in hex. Copy 0 is the key itself, so a scaled run's first copy is what a plain run
// writes; every other copy gets values of its own, as reproducible as the first.
func (k *Key) ForCopy(i int) *Key {
	if i == 0 {
		return k
	}
	m := hmac.New(sha256.New, k.secret)
	fmt.Fprintf(m, "understudy/v1/copy/%d", i)
	return &Key{secret: []byte(hex.EncodeToString(m.Sum(nil)))}
}

// unkeyedScale keys what a scaled run derives (uuid keys, jitter) when the run has no key:
// no rule then hides anything, so a published constant is enough to make copies
// reproducible.
const unkeyedScale = "understudy/v1/unkeyed-scale"

// ScaleKey returns k, or without one the published constant key scaling uses.
func ScaleKey(k *Key) *Key {
	if k != nil {
		return k
	}
	return &Key{secret: []byte(unkeyedScale)}
}
