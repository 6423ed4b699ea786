package snapshot

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"

	"github.com/understudy-dev/understudy/pipeline/store"
	"github.com/understudy-dev/understudy/transforms"
)

// A snapshot is code that restore runs (its schema SQL): whoever can write the location could
// otherwise run SQL on every database restored from it. A signed snapshot carries, beside its
// manifest, an HMAC-SHA256 of the manifest's exact bytes under a key shared by the writer and
// the restorers; since the manifest holds the SHA-256 of every other file, the signature
// covers them all. See docs/snapshot-format.md for the threat model.
const (
	SignatureName = "manifest.json.sig"
	// MinSignKeyBytes is the shortest sign key accepted.
	MinSignKeyBytes = 16
	signAlgorithm   = "HMAC-SHA256"
	// maxManifestBytes bounds what ReadManifest reads: far more than the manifest of any real
	// database (its catalog included), far less than memory.
	maxManifestBytes = 1 << 30
)

// SignKey is the secret that signs and verifies manifests. It prints as ***.
type SignKey struct{ secret []byte }

// NewSignKey returns the key secret, refusing one shorter than MinSignKeyBytes. Its errors
// never repeat the secret.
func NewSignKey(secret []byte) (*SignKey, error) {
	if n, hexDigits := transforms.SecretBytes(string(secret)); n < MinSignKeyBytes {
		if hexDigits > 0 {
			return nil, fmt.Errorf("a sign key needs at least %d bytes (%d hex digits), this one is %d hex digits, %d bytes", MinSignKeyBytes, 2*MinSignKeyBytes, hexDigits, n)
		}
		return nil, fmt.Errorf("a sign key needs at least %d bytes, this one has %d", MinSignKeyBytes, n)
	}
	return &SignKey{secret: append([]byte(nil), secret...)}, nil
}

func (k *SignKey) String() string   { return "***" }
func (k *SignKey) GoString() string { return "***" }

// Fingerprint identifies the key without revealing it: the first 8 bytes of
// HMAC-SHA256(key, "understudy/v1/sign-key-fingerprint"), in hex.
func (k *SignKey) Fingerprint() string {
	m := hmac.New(sha256.New, k.secret)
	m.Write([]byte("understudy/v1/sign-key-fingerprint"))
	return hex.EncodeToString(m.Sum(nil)[:8])
}

func (k *SignKey) mac(manifest []byte) []byte {
	m := hmac.New(sha256.New, k.secret)
	m.Write(manifest)
	return m.Sum(nil)
}

// Signature is the content of manifest.json.sig.
type Signature struct {
	Algorithm      string `json:"algorithm"`       // HMAC-SHA256
	KeyFingerprint string `json:"key_fingerprint"` // SignKey.Fingerprint of the key that signed
	MAC            string `json:"mac"`             // hex HMAC-SHA256(key, manifest.json's bytes)
}

// SignatureError says a snapshot's signature is missing or does not verify.
type SignatureError struct{ Location, Problem string }

func (e *SignatureError) Error() string { return e.Location + ": " + e.Problem }

// ReadSignature reads the snapshot's signature; nil when it is unsigned.
func ReadSignature(ctx context.Context, s store.Store) (*Signature, error) {
	r, err := s.Open(ctx, SignatureName)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer r.Close()
	data, err := io.ReadAll(io.LimitReader(r, 1<<16))
	if err != nil {
		return nil, fmt.Errorf("read %s/%s: %w", s, SignatureName, err)
	}
	var sig Signature
	if err := json.Unmarshal(data, &sig); err != nil {
		return nil, &SignatureError{s.String(), fmt.Sprintf("%s is not a signature: %v", SignatureName, err)}
	}
	return &sig, nil
}

// verify checks sig against the manifest's bytes.
func (k *SignKey) verify(loc string, manifest []byte, sig *Signature) error {
	if sig == nil {
		return &SignatureError{loc, "the snapshot is not signed (no " + SignatureName + "), and a sign key was given: refusing to restore it"}
	}
	got, err := hex.DecodeString(sig.MAC)
	if sig.Algorithm != signAlgorithm || err != nil || !hmac.Equal(got, k.mac(manifest)) {
		why := "the manifest was changed after it was signed"
		if sig.KeyFingerprint != k.Fingerprint() {
			why = fmt.Sprintf("it was signed with another key (fingerprint %s; the given key's is %s), or the manifest was changed", sig.KeyFingerprint, k.Fingerprint())
		}
		return &SignatureError{loc, "the signature of " + ManifestName + " does not verify: " + why + "; refusing to restore it"}
	}
	return nil
}
