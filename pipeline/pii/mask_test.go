package pii

import (
	"strings"
	"testing"
)

// Mask shows at most a first letter, a domain's first letter and a top-level domain: never a
// digit, never a value's length, never a short value whole.
func TestMaskRevealsAtMostFirstLettersAndTLD(t *testing.T) {
	for in, want := range map[string]string{
		"john@acme.test":                "j***@a***.test",
		"john.doe@acme.example.test":    "j***@a***.test",
		"Mary.Smith@sakilacustomer.org": "M***@s***.org",
		"jo@acme.test":                  "***@a***.test", // a local part of two letters is hidden whole
		"john@ab.test":                  "j***@***.test",
		"Johnson":                       "J***",
		"Zoë Quartermain":               "Z***",
		"Élodie":                        "É***",
		"Ann":                           "***",
		"M":                             "***",
		"":                              "***",
		"1961-07-04":                    "***",
		"1961-07-04 00:00:00":           "***",
		"+1 (555) 123-4567":             "***",
		"123457.50":                     "***",
		"-42":                           "***",
		"'; DROP TABLE x":               "***",
	} {
		if got := Mask(in); got != want {
			t.Errorf("Mask(%q) = %q, want %q", in, got, want)
		}
		if got := Mask(in); strings.ContainsAny(got, "0123456789") {
			t.Errorf("Mask(%q) = %q shows a digit", in, got)
		}
	}
	// The same mask for values of different lengths.
	if Mask("Bob Smithers") != Mask("Bartholomew Jones") {
		t.Error("masks differ by length")
	}
}
