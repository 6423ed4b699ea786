package transforms

import (
	"strconv"
	"strings"
	"testing"
)

// identBrand names a card's network by its leading digits.
func identBrand(s string) string {
	d := strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, s)
	p := func(n int) int { v, _ := strconv.Atoi(d[:n]); return v }
	switch {
	case d[0] == '4':
		return "visa"
	case p(2) >= 51 && p(2) <= 55, p(4) >= 2221 && p(4) <= 2720:
		return "mastercard"
	case p(2) == 34 || p(2) == 37:
		return "amex"
	case p(4) == 6011 || p(2) == 65 || p(3) >= 644 && p(3) <= 649:
		return "discover"
	case p(4) >= 3528 && p(4) <= 3589:
		return "jcb"
	case p(2) == 36 || p(3) >= 300 && p(3) <= 305:
		return "diners"
	case p(2) == 62:
		return "unionpay"
	}
	return "other"
}

func TestCreditCardKeepsBrandLayoutAndLuhn(t *testing.T) {
	tr := identNew(t, newCreditCard, "", false)
	in := []string{"4111 1111 1111 1111", "5500-0000-0000-0004", "2223000048400011", "3782 822463 10005",
		"6011000990139424", "3530111333300000", "30569309025904", "6212345678901265", "4222222222222"}
	out := identApply(t, tr, in...)
	for i := range in {
		if !nationalIDLuhnValid(in[i]) {
			t.Fatalf("test input %q is not Luhn-valid", in[i])
		}
		switch {
		case !nationalIDLuhnValid(out[i]):
			t.Errorf("%q → %q: not Luhn-valid", in[i], out[i])
		case identBrand(out[i]) != identBrand(in[i]):
			t.Errorf("%q → %q: brand %s became %s", in[i], out[i], identBrand(in[i]), identBrand(out[i]))
		case identSkeleton(out[i]) != identSkeleton(in[i]) || out[i][:6] != in[i][:6]:
			t.Errorf("%q → %q: layout or issuer changed", in[i], out[i])
		case out[i] == in[i]:
			t.Errorf("%q unchanged", in[i])
		}
	}
	// A wrong check digit stays wrong, so that it cannot meet the valid number's output.
	bad := identApply(t, tr, "4111 1111 1111 1112", "4111 1111 1111 1111")
	if nationalIDLuhnValid(bad[0]) || bad[0] == bad[1] {
		t.Errorf("invalid number → %q, valid one → %q", bad[0], bad[1])
	}
	short := identApply(t, tr, "1234-567", "n/a")
	if identSkeleton(short[0]) != "####-###" || short[1] != "n/a" {
		t.Errorf("short values → %q", short)
	}
}

func TestCreditCardCommonContract(t *testing.T) {
	identCheckCommon(t, newCreditCard, "credit_card", "", "4111 1111 1111 1111", "5500000000000004", "378282246310005")
	identCheckRefusals(t, newCreditCard, "credit_card", nil)
}

func BenchmarkCreditCard(b *testing.B) {
	identBench(b, newCreditCard, "", func(i int) string {
		return nationalIDWithLuhn("411111" + strconv.Itoa(100000000+i*7919))
	})
}
