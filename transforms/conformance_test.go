package transforms_test

import (
	"crypto/aes"
	"encoding/binary"
	"fmt"
	"math/big"
	"net/netip"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/understudy-dev/understudy/transforms"
	"github.com/understudy-dev/understudy/transforms/transformtest"
)

// Every built-in rule passes the conformance suite on its documented example.
func TestRulesConform(t *testing.T) {
	transformtest.Run(t, transforms.Default(), samples)
}

func col(typeName string, oid uint32) transforms.Column {
	return transforms.Column{Table: "public.conformance", TypeName: typeName, BaseOID: oid, Typmod: -1}
}

var (
	textCol = col("text", pgtype.TextOID)
	tsUTC   = &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}
)

// text is a sample of a text column whose i-th value is f(i).
func text(f func(i int) string) transformtest.Sample {
	return transformtest.Sample{Column: textCol, Value: func(i int) any { return f(i) }}
}

func pad(n, w int) string { s := strconv.Itoa(n); return strings.Repeat("0", max(0, w-len(s))) + s }

// scatter spreads i over n values, a bijection for i < n when gcd(7919, n) = 1.
func scatter(i, n int) int { return i * 7919 % n }

// ibanCheck is the check number (2–98) of an IBAN of country cc and bban, by ISO 13616.
func ibanCheck(cc, bban string) int {
	var digits strings.Builder
	for _, c := range bban + cc + "00" {
		if c >= 'A' && c <= 'Z' {
			digits.WriteString(strconv.Itoa(int(c-'A') + 10))
		} else {
			digits.WriteRune(c)
		}
	}
	n, _ := new(big.Int).SetString(digits.String(), 10)
	return 98 - int(new(big.Int).Mod(n, big.NewInt(97)).Int64())
}

// sameLayout is a Check: the output keeps the input's characters but for its digits.
func sameLayout(in, out string) string {
	if transforms.SkeletonForTest(in) != transforms.SkeletonForTest(out) {
		return "layout changed"
	}
	return ""
}

// uuidIsAES is a Check: the output is AES-128 of the input under the first 16 bytes of the
// uuid domain's subkey of transformtest.Key, computed here without the rule, in the input's
// layout.
func uuidIsAES(in, out string) string {
	k, _ := transforms.NewKey(transformtest.Key)
	c, err := aes.NewCipher(k.Derive("uuid")[:16])
	if err != nil {
		return err.Error()
	}
	a, _ := transforms.UUIDBytesForTest(in)
	b, err := transforms.UUIDBytesForTest(out)
	var want [16]byte
	c.Encrypt(want[:], a[:])
	if err != nil || b != want || transforms.UUIDLayoutForTest(in) != transforms.UUIDLayoutForTest(out) {
		return "not the AES image in the input's layout"
	}
	return ""
}

// textArray is the binary wire form of a one-dimensional text[] without NULLs.
func textArray(elems ...string) []byte {
	b := binary.BigEndian.AppendUint32(nil, 1) // dimensions
	b = binary.BigEndian.AppendUint32(b, 0)    // no NULLs
	b = binary.BigEndian.AppendUint32(b, pgtype.TextOID)
	b = binary.BigEndian.AppendUint32(b, uint32(len(elems)))
	b = binary.BigEndian.AppendUint32(b, 1) // lower bound
	for _, e := range elems {
		b = binary.BigEndian.AppendUint32(b, uint32(len(e)))
		b = append(b, e...)
	}
	return b
}

// samples gives each built-in rule the column its example is tried on and values it holds:
// a new rule adds one line here.
var samples = map[string]transformtest.Sample{
	"null": text(func(i int) string { return "note " + strconv.Itoa(i) }),
	"constant": {Column: textCol, Value: func(i int) any { return "country " + strconv.Itoa(i) },
		Literal: func(s string) ([]byte, error) { return []byte(s), nil }},
	"hash": text(func(i int) string { return "user" + strconv.Itoa(i) + "@example.com" }),

	"permute": {Column: col("bigint", pgtype.Int8OID), Value: func(i int) any {
		return binary.BigEndian.AppendUint64(nil, uint64(i)*0x9e3779b97f4a7c15)
	}},
	"uuid": {Column: textCol, Value: func(i int) any {
		h := fmt.Sprintf("%016x%016x", uint64(i)*0x9e3779b97f4a7c15, uint64(i))
		switch i % 3 {
		case 0:
			return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
		case 1:
			return "{" + strings.ToUpper(h) + "}"
		}
		return h
	}, Check: uuidIsAES},
	"digits": {Column: textCol, Value: func(i int) any {
		// Fixed-width runs with leading zeros, bare numbers of every length up to 6 digits,
		// and two runs in one value.
		switch i % 3 {
		case 0:
			return "ORD-" + pad(scatter(i, 1_000_000), 6)
		case 1:
			return strconv.Itoa(i)
		}
		return "A" + pad(i/1000, 3) + "-" + pad(i%1000, 3)
	}, Check: func(in, out string) string {
		if transforms.DigitsLayoutForTest(in) != transforms.DigitsLayoutForTest(out) {
			return "layout changed"
		}
		return ""
	}},
	"phone": {Column: textCol, Value: func(i int) any {
		// Scrambled 9-digit strings, with + or without, reach every calling code, 00, trunk
		// zeros and zeros after the kept prefix, all in one layout.
		// (i+1 and 1000000+i: numbers of zeros only keep them, which the rule leaves alone.)
		switch i % 3 {
		case 0:
			return "+" + pad(scatter(i+1, 1_000_000_000), 9)
		case 1:
			return pad(scatter(i+1, 1_000_000_000), 9)
		}
		layouts := []string{"+44 20 %s", "+1 (212) %s", "0049 30 %s", "030 %s", "+33 (0)1 %s", "%s"}
		return strings.Replace(layouts[i%len(layouts)], "%s", pad(1_000_000+i, 7), 1)
	}, Check: sameLayout},
	"phone_e164": {Column: textCol, Value: func(i int) any {
		// E.164 already: a unique column takes nothing else.
		return "+" + strconv.Itoa(1+i%9) + pad(scatter(i, 1_000_000_000), 9)
	}, Check: func(in, out string) string {
		if len(out) != len(in) || out[0] != '+' || strings.Trim(out[1:], "0123456789") != "" {
			return "not E.164 of the same length"
		}
		return ""
	}},
	"credit_card": {Column: textCol, Value: func(i int) any {
		return transforms.LuhnAppendForTest([]string{"411111", "550000", "222300", "378282"}[i%4] + strconv.Itoa(100000000+scatter(i/4, 900000000)))
	}, Check: func(in, out string) string {
		if !transforms.LuhnValidForTest(out) || out[:6] != in[:6] || len(out) != len(in) {
			return "not a valid number of the same issuer"
		}
		return ""
	}},
	"iban": {Column: textCol, Value: func(i int) any {
		cc, bban := "DE", "37040044"+strconv.Itoa(1000000000+i*7919)
		if i%2 == 1 {
			cc, bban = "GB", "WEST"+strconv.Itoa(10000000000000+i)
		}
		return cc + pad(ibanCheck(cc, bban), 2) + bban
	}, Check: func(in, out string) string {
		if !transforms.IBANValidForTest(in) || !transforms.IBANValidForTest(out) || out[:2] != in[:2] || len(out) != len(in) {
			return "not a valid IBAN of the same country and length"
		}
		return ""
	}},
	"national_id": text(func(i int) string {
		d := pad(scatter(i, 1_000_000_000), 9)
		return d[:3] + "-" + d[3:5] + "-" + d[5:]
	}),
	"ipv4": {Column: textCol, Value: func(i int) any {
		// Four /8s, each spread over its 256 /16s.
		a := []uint32{10, 172, 192, 100}[i%4]<<24 | uint32(i/4)*2654435761%(1<<24)
		var b [4]byte
		binary.BigEndian.PutUint32(b[:], a)
		s := netip.AddrFrom4(b).String()
		if i%5 == 0 {
			s += "/" + strconv.Itoa(16+i%17)
		}
		return s
	}, Check: func(in, out string) string {
		a, sa, _ := transforms.IPv4SplitForTest(in)
		b, sb, err := transforms.IPv4SplitForTest(out)
		if err != nil || a>>16 != b>>16 || sa != sb {
			return "the /16 or the suffix changed, or not an address"
		}
		return ""
	}},
	"ipv6": text(func(i int) string {
		var b [16]byte
		binary.BigEndian.PutUint32(b[:], 0x20010db8)
		binary.BigEndian.PutUint16(b[4:], uint16(i%8))
		binary.BigEndian.PutUint64(b[8:], uint64(i)*0x9e3779b97f4a7c15)
		return netip.AddrFrom16(b).String()
	}),
	"mac": text(func(i int) string {
		v := uint64(i) * 0x9e3779b97f4a7c15 & (1<<24 - 1)
		return fmt.Sprintf("00:1A:2B:%02X:%02X:%02X", v>>16, v>>8&255, v&255)
	}),
	"mask":           text(func(i int) string { return "4111 1111 " + pad(i, 8) }),
	"regexp_replace": text(func(i int) string { return "call 0" + strconv.Itoa(30000000+i) + " after " + strconv.Itoa(i%24) }),

	"numeric_noise": {Column: col("integer", pgtype.Int4OID), Type: arrow.PrimitiveTypes.Int32,
		Value: func(i int) any { return int64(30000 + i*37) }},
	"random_range": {Column: col("integer", pgtype.Int4OID), Type: arrow.PrimitiveTypes.Int32,
		Value: func(i int) any { return int64(i) }},
	"round": {Column: col("bigint", pgtype.Int8OID), Type: arrow.PrimitiveTypes.Int64,
		Value: func(i int) any { return int64(i) * 1234 }},
	"date_noise": {Column: col("timestamp with time zone", pgtype.TimestamptzOID), Type: tsUTC,
		Value: func(i int) any { return int64(1_577_836_800_000_000) + int64(i)*3_600_000_123 }},
	"truncate": {Column: col("date", pgtype.DateOID), Type: arrow.FixedWidthTypes.Date32,
		Value: func(i int) any { return int64(10000 + i) }},
	"birthdate": {Column: col("date", pgtype.DateOID), Type: arrow.FixedWidthTypes.Date32,
		Value: func(i int) any { return int64(-7300 + i) }},

	"weighted_choice": text(func(i int) string { return "customer " + strconv.Itoa(i) }),
	"dictionary":      text(func(i int) string { return []string{"Paris", "Berlin", "Rome " + strconv.Itoa(i)}[i%3] }),
	"template": {Column: textCol, Value: func(i int) any { return "user" + strconv.Itoa(i) + "@corp.example" },
		Other: func(column string, i int) any {
			if i%11 == 5 {
				return nil
			}
			return []string{"Anne", "Bob", "Carla", "Dan", "Eve"}[i%5] + " " + column
		}},
	"json": {Column: col("jsonb", pgtype.JSONBOID), Type: arrow.BinaryTypes.String, Value: func(i int) any {
		return fmt.Sprintf(`{"email": "u%d@shop.example", "phones": ["+44 20 7946 %04d", "+1 212 555 %04d"], "n": %d}`, i, i%10000, i/10000, i)
	}},
	"array": {Column: col("text[]", pgtype.TextArrayOID), Value: func(i int) any {
		return textArray("tag"+strconv.Itoa(i), "red", "group "+strconv.Itoa(i%7))
	}},

	"first_name":     text(func(i int) string { return []string{"Anne", "JOHN", "mary"}[i%3] + strconv.Itoa(i) }),
	"last_name":      text(func(i int) string { return "Smith" + strconv.Itoa(i) }),
	"full_name":      text(func(i int) string { return "Anne Smith " + strconv.Itoa(i) }),
	"username":       text(func(i int) string { return "user" + strconv.Itoa(i) }),
	"email":          text(func(i int) string { return "customer" + strconv.Itoa(i) + "@shop.example" }),
	"street_address": text(func(i int) string { return strconv.Itoa(i) + " Main Street" }),
	"city":           text(func(i int) string { return "Springfield " + strconv.Itoa(i) }),
	"postal_code":    text(func(i int) string { return "SW1A " + pad(i, 6) }),
	"country":        text(func(i int) string { return []string{"DE", "FR", "Germany", "USA"}[i%4] }),
	"company":        text(func(i int) string { return "Acme " + strconv.Itoa(i) + " Ltd" }),
	"job_title":      text(func(i int) string { return "Engineer " + strconv.Itoa(i) }),
	"url":            text(func(i int) string { return "https://shop" + strconv.Itoa(i) + ".com/a/b?q=" + strconv.Itoa(i) }),
	"domain":         text(func(i int) string { return "www.shop" + strconv.Itoa(i) + ".com" }),
	"user_agent":     text(func(i int) string { return "Mozilla/5.0 (X11; Linux x86_64) Firefox/" + strconv.Itoa(i) }),
	"lorem":          text(func(i int) string { return "Call me back about order " + strconv.Itoa(i) + " please." }),
}
