package transforms

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"hash"
	"math/bits"
	"math/rand/v2"
	"unsafe"
)

// Keyed is a deterministic random stream seeded from (domain sub-key, input value): after
// Seed(v), every draw is a pure function of the key, the rule domain and v, the same in every
// table, run, process and machine. The draw functions are our own, on top of PCG's specified
// output, so no library or Go release can change them.
//
// A Keyed is not safe for concurrent use: a transformer makes one per Transform call.
type Keyed struct {
	mac hash.Hash
	sum [sha256.Size]byte
	pcg rand.PCG
}

// NewKeyed returns a stream keyed with subkey (see Key.Derive).
func NewKeyed(subkey []byte) *Keyed {
	return &Keyed{mac: hmac.New(sha256.New, subkey)}
}

// Seed positions the stream at the value's HMAC-SHA256: the first 16 bytes seed PCG.
func (k *Keyed) Seed(value []byte) {
	k.mac.Reset()
	k.mac.Write(value)
	k.mac.Sum(k.sum[:0])
	k.pcg.Seed(binary.LittleEndian.Uint64(k.sum[0:8]), binary.LittleEndian.Uint64(k.sum[8:16]))
}

// SeedString is Seed for a string, without copying it: []byte(value) would escape through
// the hash.Hash interface and allocate for every value.
func (k *Keyed) SeedString(value string) {
	k.mac.Reset()
	k.mac.Write(unsafe.Slice(unsafe.StringData(value), len(value))) // read, never kept or written
	k.mac.Sum(k.sum[:0])
	k.pcg.Seed(binary.LittleEndian.Uint64(k.sum[0:8]), binary.LittleEndian.Uint64(k.sum[8:16]))
}

// Digest is the full HMAC of the last seeded value (32 bytes; do not modify).
func (k *Keyed) Digest() []byte { return k.sum[:] }

// Uint64 draws 64 random bits.
func (k *Keyed) Uint64() uint64 { return k.pcg.Uint64() }

// IntN draws from [0, n); n must be positive. (Multiply-shift: the bias is below 2^-32 for
// any n a transformer uses.)
func (k *Keyed) IntN(n int) int {
	hi, _ := bits.Mul64(k.pcg.Uint64(), uint64(n))
	return int(hi)
}

// Range draws from [lo, hi] inclusive.
func (k *Keyed) Range(lo, hi int64) int64 {
	span := uint64(hi-lo) + 1
	if span == 0 { // the whole int64 range
		return int64(k.pcg.Uint64())
	}
	h, _ := bits.Mul64(k.pcg.Uint64(), span)
	return lo + int64(h)
}

// Float64 draws from [0, 1) with 53 bits of precision.
func (k *Keyed) Float64() float64 { return float64(k.pcg.Uint64()>>11) / (1 << 53) }

// Pick draws one element of list.
func Pick[T any](k *Keyed, list []T) T { return list[k.IntN(len(list))] }

// shapeKeyed checks that a keyed rule has a key and returns the sub-key of its domain (the
// rule's own name by default).
func shapeKeyed(name string, env Env, domain string) ([]byte, error) {
	if env.Key == nil {
		return nil, NoKeyError(name)
	}
	if domain == "" {
		domain = name
	}
	return env.Key.Derive(domain), nil
}
