package transforms

import (
	"fmt"
	"math"
	"testing"
)

// The stream is fixed by (key, domain, value): these numbers must never change, or every
// anonymized database stops matching the one made before (golden values).
func TestKeyedStreamIsStableAndKeyed(t *testing.T) {
	key := testKey(t, "0123456789abcdef-golden")
	k := NewKeyed(key.Derive("golden"))
	k.Seed([]byte("alice@example.com"))
	got := []uint64{k.Uint64(), k.Uint64(), uint64(k.IntN(1000)), uint64(k.Range(-5, 5) + 5)}
	if want := []uint64{11602318360562396143, 6445546570602687421, 465, 2}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("the keyed stream changed: %v, was %v; every earlier anonymized copy would stop matching", got, want)
	}
	k.SeedString("alice@example.com")
	again := []uint64{k.Uint64(), k.Uint64(), uint64(k.IntN(1000)), uint64(k.Range(-5, 5) + 5)}
	for i := range got {
		if got[i] != again[i] {
			t.Fatalf("draw %d: %d then %d for the same value", i, got[i], again[i])
		}
	}
	other := NewKeyed(testKey(t, "0123456789abcdef-other!").Derive("golden"))
	other.Seed([]byte("alice@example.com"))
	if other.Uint64() == got[0] {
		t.Error("another key gave the same stream")
	}
	domain := NewKeyed(key.Derive("other-domain"))
	domain.Seed([]byte("alice@example.com"))
	if domain.Uint64() == got[0] {
		t.Error("another domain gave the same stream")
	}
}

func TestKeyedDrawsStayInRange(t *testing.T) {
	k := NewKeyed([]byte("k"))
	counts := make([]int, 10)
	for i := 0; i < 100000; i++ {
		k.Seed([]byte{byte(i), byte(i >> 8), byte(i >> 16)})
		n := k.IntN(10)
		counts[n]++
		if r := k.Range(-3, 3); r < -3 || r > 3 {
			t.Fatalf("Range(-3, 3) = %d", r)
		}
		if f := k.Float64(); f < 0 || f >= 1 {
			t.Fatalf("Float64 = %v", f)
		}
	}
	for d, c := range counts {
		if math.Abs(float64(c)-10000) > 600 {
			t.Errorf("IntN(10) drew %d %d times of 100000: not uniform", d, c)
		}
	}
}
