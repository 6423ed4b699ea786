package transforms

import (
	"errors"
	"strings"
	"testing"
)

// A key must hold at least 16 bytes of key material: a key of hex digits alone (as openssl
// rand -hex prints) counts half a byte per digit, any other key a byte per byte.
func TestNewKeyCountsHexKeysByTheirBytes(t *testing.T) {
	cases := []struct {
		key       string
		ok        bool
		bytes     int
		hexDigits int
	}{
		{"0123456789abcdef", false, 8, 16}, // openssl rand -hex 8
		{"0123456789ABCDEF0123456789abcde", false, 15, 31},
		{"0123456789abcdef0123456789abcdef", true, 0, 0}, // openssl rand -hex 16
		{"sixteen byte key", true, 0, 0},
		{"0123456789abcdef-key", true, 0, 0},
		{"short", false, 5, 0},
		{"0123456789abcdeg", true, 0, 0}, // not hex: 16 bytes of text
		{"\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x10\x11\x12\x13\x14\x15", true, 0, 0},
		{"ключ-ключ", true, 0, 0}, // 17 bytes of UTF-8
	}
	for _, c := range cases {
		k, err := NewKey(c.key)
		if c.ok {
			if err != nil || k == nil {
				t.Errorf("NewKey(%q): %v", c.key, err)
			}
			continue
		}
		var short *KeyTooShortError
		if !errors.As(err, &short) || short.Bytes != c.bytes || short.HexDigits != c.hexDigits {
			t.Errorf("NewKey(%q) = %v, want %d bytes, %d hex digits", c.key, err, c.bytes, c.hexDigits)
			continue
		}
		if strings.Contains(err.Error(), c.key) || !strings.Contains(err.Error(), "at least 16 bytes") {
			t.Errorf("NewKey(%q): %v", c.key, err)
		}
	}
}
