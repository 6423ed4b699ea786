package transforms

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
)

// MinKeyLength is the shortest key accepted, in bytes.
const MinKeyLength = 16

// Key is the secret every deterministic transformer is keyed with. It prints as *** so it
// cannot reach a log by accident; only its fingerprint may be recorded.
type Key struct {
	secret []byte
}

// NewKey wraps a secret of at least MinKeyLength bytes.
func NewKey(secret string) (*Key, error) {
	if len(secret) < MinKeyLength {
		return nil, errors.New("the key must be at least 16 bytes long (use e.g. 'openssl rand -hex 32')")
	}
	return &Key{secret: []byte(secret)}, nil
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
