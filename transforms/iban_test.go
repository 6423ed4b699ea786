package transforms

import (
	"math/big"
	"strconv"
	"strings"
	"testing"
)

// identIBANValid checks an IBAN the way a validator does, independently of the rule's code:
// the length of its country, and the rearranged number mod 97 is 1.
func identIBANValid(s string) bool {
	s = strings.ToUpper(strings.ReplaceAll(s, " ", ""))
	if len(s) < 5 || identIBANLengths[s[:2]] != len(s) {
		return false
	}
	var num strings.Builder
	for _, c := range s[4:] + s[:4] {
		switch {
		case c >= '0' && c <= '9':
			num.WriteRune(c)
		case c >= 'A' && c <= 'Z':
			num.WriteString(strconv.Itoa(int(c-'A') + 10))
		default:
			return false
		}
	}
	n, _ := new(big.Int).SetString(num.String(), 10)
	return new(big.Int).Mod(n, big.NewInt(97)).Int64() == 1
}

func TestIBANValidatesAndKeepsCountryLettersAndSpaces(t *testing.T) {
	tr := identNew(t, newIBAN, "", false)
	in := []string{"GB82 WEST 1234 5698 7654 32", "DE89370400440532013000", "FR14 2004 1010 0505 0001 3M02 606",
		"NL91ABNA0417164300", "BE68 5390 0754 7034", "CH93 0076 2011 6238 5295 7", "NO93 8601 1117 947",
		"IT60 X054 2811 1010 0000 0123 456", "ES91 2100 0418 4502 0005 1332", "MT84 MALT 0110 0001 2345 MTLC AST0 01S",
		"de89 3704 0044 0532 0130 00"}
	out := identApply(t, tr, in...)
	letters := func(s string) string {
		return strings.Map(func(r rune) rune {
			if r >= '0' && r <= '9' {
				return '#'
			}
			return r
		}, s[4:])
	}
	for i := range in {
		if !identIBANValid(in[i]) {
			t.Fatalf("test input %q is not a valid IBAN", in[i])
		}
		switch {
		case !identIBANValid(out[i]):
			t.Errorf("%q → %q: not a valid IBAN", in[i], out[i])
		case out[i][:2] != in[i][:2] || len(out[i]) != len(in[i]) || letters(out[i]) != letters(in[i]):
			t.Errorf("%q → %q: country, length, letters or spaces changed", in[i], out[i])
		case out[i] == in[i]:
			t.Errorf("%q unchanged", in[i])
		}
	}
	// Not an IBAN of a known country and length: its digits are replaced as by digits.
	other := identApply(t, tr, "XX12 3456", "DE89 3704", "n/a", "")
	if identSkeleton(other[0]) != "XX## ####" || other[0] == "XX12 3456" || identSkeleton(other[1]) != "DE## ####" || other[2] != "n/a" || other[3] != "" {
		t.Errorf("other values → %q", other)
	}
	// A wrong check stays wrong by as much.
	bad := identApply(t, tr, "GB83 WEST 1234 5698 7654 32", "GB82 WEST 1234 5698 7654 32")
	if identIBANValid(bad[0]) || bad[0] == bad[1] {
		t.Errorf("invalid IBAN → %q, valid one → %q", bad[0], bad[1])
	}
}

func TestIBANCommonContract(t *testing.T) {
	identCheckCommon(t, newIBAN, "iban", "", "GB82 WEST 1234 5698 7654 32", "DE89370400440532013000", "FR1420041010050500013M02606")
	identCheckRefusals(t, newIBAN, "iban", nil)
}

func BenchmarkIBAN(b *testing.B) {
	identBench(b, newIBAN, "", func(i int) string {
		bban := []byte("37040044" + strconv.Itoa(1000000000+i*7919))
		chk := identIBANCheck([]byte("DE"), bban)
		return "DE" + string(rune('0'+chk/10)) + string(rune('0'+chk%10)) + string(bban)
	})
}
