package transforms

import (
	"strconv"
	"strings"
	"testing"
)

// digitsRuns returns the runs of ASCII digits of s and s with each run replaced by "#"s of
// its length: what digits must keep is the second, byte for byte.
func digitsRuns(s string) (runs []string, layout string) {
	b := []byte(s)
	for i := 0; i < len(b); {
		if b[i] < '0' || b[i] > '9' {
			i++
			continue
		}
		j := i
		for j < len(b) && b[j] >= '0' && b[j] <= '9' {
			b[j] = '#'
			j++
		}
		runs = append(runs, s[i:j])
		i = j
	}
	return runs, string(b)
}

func TestDigitsKeepsEveryOtherByteAndEachRunsLength(t *testing.T) {
	tr := identNew(t, newDigits, "", false)
	in := []string{"ORD-2023-000123", "INV-2023-000123", "0", "a1b22c333d4444", "12.50 EUR", "tel:+1(212)555-0100",
		"ünïcødé 4242 €", "٣٤٥ and 345", strings.Repeat("9", 80), "x" + strings.Repeat("0123456789", 5) + "y",
		"no digits", "", "2023-2023"}
	out := identApply(t, tr, in...)
	for i := range in {
		inRuns, inLayout := digitsRuns(in[i])
		outRuns, outLayout := digitsRuns(out[i])
		if outLayout != inLayout {
			t.Errorf("%q → %q: the non-digit bytes or a run's length changed", in[i], out[i])
			continue
		}
		changed := 0
		for j := range inRuns {
			if outRuns[j] != inRuns[j] {
				changed++
			}
		}
		if identCountDigits([]byte(in[i])) >= 4 && changed == 0 {
			t.Errorf("%q unchanged", in[i])
		}
	}
	// A run's image depends on the run alone, wherever it stands.
	if out[0][4:] != out[1][4:] {
		t.Errorf("one run, two images: %q, %q", out[0], out[1])
	}
	if last := out[len(out)-1]; last[:4] != last[5:] {
		t.Errorf("2023-2023 → %q", last)
	}
	// Leading zeros are digits like any other: the images of 0…99 as 2-digit runs are the
	// 100 2-digit strings.
	seen := map[string]bool{}
	vals := make([]string, 100)
	for i := range vals {
		vals[i] = "#" + strconv.Itoa(100 + i)[1:]
	}
	for _, o := range identApply(t, tr, vals...) {
		if len(o) != 3 || o[0] != '#' || seen[o] {
			t.Fatalf("2-digit runs: %q is not a new #dd", o)
		}
		seen[o] = true
	}
	if !identUniqueClaim(tr) {
		t.Error("digits does not claim uniqueness")
	}
}

// identUniqueClaim reports whether a transformer says it keeps distinct values distinct,
// as plan asks it before it passes a rule on a unique column.
func identUniqueClaim(tr Transformer) bool {
	u, ok := tr.(UniqueSafe)
	return ok && u.UniqueSafe()
}

func TestDigitsCommonContract(t *testing.T) {
	identCheckCommon(t, newDigits, "digits", "", "ORD-2023-000123", "4111 1111 1111 1111", "invoice 7 of 12", "x"+strings.Repeat("5", 60))
	identCheckRefusals(t, newDigits, "digits", nil)
}

func BenchmarkDigits(b *testing.B) {
	identBench(b, newDigits, "", func(i int) string { return "ORD-2023-" + strconv.Itoa(100000+i) })
}
