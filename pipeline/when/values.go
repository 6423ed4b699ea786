package when

import (
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// PostgreSQL counts dates and timestamps from 2000-01-01; Arrow (and Unix) from 1970-01-01.
const (
	pgEpochDays   = 10957
	pgEpochMicros = pgEpochDays * 86400 * 1_000_000
)

// parseDate reads 'YYYY-MM-DD' or ±infinity, as days since 1970 (±infinity: the int32
// extremes, as both PostgreSQL and schemas/pgarrow carry them).
func parseDate(s string) (int64, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "infinity", "+infinity":
		return math.MaxInt32, nil
	case "-infinity":
		return math.MinInt32, nil
	}
	d, rest, err := parseYMD(strings.TrimSpace(s))
	if err != nil {
		return 0, err
	}
	if rest != "" {
		return 0, fmt.Errorf("a date is written 'YYYY-MM-DD'")
	}
	return d.Unix() / 86400, nil
}

func parseYMD(s string) (time.Time, string, error) {
	bad := fmt.Errorf("a date is written 'YYYY-MM-DD'")
	if len(s) < 10 || s[4] != '-' || s[7] != '-' {
		return time.Time{}, "", bad
	}
	y, err1 := strconv.Atoi(s[0:4])
	m, err2 := strconv.Atoi(s[5:7])
	d, err3 := strconv.Atoi(s[8:10])
	if err1 != nil || err2 != nil || err3 != nil || !allDigits([]byte(s[0:4]+s[5:7]+s[8:10])) {
		return time.Time{}, "", bad
	}
	t := time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC)
	if y < 1 || t.Year() != y || int(t.Month()) != m || t.Day() != d {
		return time.Time{}, "", fmt.Errorf("%s is not a date", s[:10])
	}
	return t, s[10:], nil
}

// parseClock reads HH:MM[:SS[.ffffff]] as microseconds since midnight; 24:00:00 is allowed,
// as in PostgreSQL.
func parseClock(s string) (int64, string, error) {
	bad := fmt.Errorf("a time is written 'HH:MM[:SS[.ffffff]]'")
	num := func(t string) (int64, bool) {
		if len(t) != 2 || !allDigits([]byte(t)) {
			return 0, false
		}
		n, _ := strconv.Atoi(t)
		return int64(n), true
	}
	if len(s) < 5 || s[2] != ':' {
		return 0, "", bad
	}
	h, ok1 := num(s[0:2])
	m, ok2 := num(s[3:5])
	if !ok1 || !ok2 {
		return 0, "", bad
	}
	s = s[5:]
	var sec, frac int64
	if len(s) > 0 && s[0] == ':' {
		var ok bool
		if len(s) < 3 {
			return 0, "", bad
		}
		if sec, ok = num(s[1:3]); !ok {
			return 0, "", bad
		}
		s = s[3:]
		if len(s) > 0 && s[0] == '.' {
			i := 1
			for i < len(s) && s[i] >= '0' && s[i] <= '9' {
				i++
			}
			digits := s[1:i]
			if digits == "" || len(digits) > 6 {
				return 0, "", fmt.Errorf("fractional seconds take 1 to 6 digits")
			}
			f, _ := strconv.Atoi(digits + strings.Repeat("0", 6-len(digits)))
			frac, s = int64(f), s[i:]
		}
	}
	if m > 59 || sec > 59 || h > 24 || h == 24 && (m != 0 || sec != 0 || frac != 0) {
		return 0, "", fmt.Errorf("the time is out of range")
	}
	return ((h*60+m)*60+sec)*1_000_000 + frac, s, nil
}

// parseTimestamp reads 'YYYY-MM-DD[( |T)HH:MM[:SS[.ffffff]]][zone]' or ±infinity, as
// microseconds since 1970 UTC (±infinity: the int64 extremes). withZone says whether the
// literal must have a UTC offset (timestamptz) or must not (timestamp).
func parseTimestamp(s string, withZone bool) (int64, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "infinity", "+infinity":
		return math.MaxInt64, nil
	case "-infinity":
		return math.MinInt64, nil
	}
	d, rest, err := parseYMD(strings.TrimSpace(s))
	if err != nil {
		return 0, err
	}
	us := d.Unix() * 1_000_000
	if len(rest) > 0 && (rest[0] == ' ' || rest[0] == 'T') {
		var clock int64
		clock, rest, err = parseClock(strings.TrimLeft(rest[1:], " "))
		if err != nil {
			return 0, err
		}
		us += clock
	}
	rest = strings.TrimSpace(rest)
	if rest == "" {
		if withZone {
			return 0, errors.New("a timestamptz literal needs its UTC offset, e.g. '2024-01-31 12:00:00+00' (the session time zone is not known here)")
		}
		return us, nil
	}
	if !withZone {
		return 0, fmt.Errorf("a timestamp without time zone takes no UTC offset (%q); PostgreSQL would ignore it", rest)
	}
	off, err := parseOffset(rest)
	if err != nil {
		return 0, err
	}
	return us - off*1_000_000, nil
}

// parseOffset reads Z, UTC, ±HH, ±HH:MM or ±HHMM as seconds east of UTC.
func parseOffset(s string) (int64, error) {
	if strings.EqualFold(s, "z") || strings.EqualFold(s, "utc") {
		return 0, nil
	}
	bad := fmt.Errorf("%q is not a UTC offset (write Z, +HH, +HH:MM or -HHMM)", s)
	if len(s) < 3 || s[0] != '+' && s[0] != '-' {
		return 0, bad
	}
	sign := int64(1)
	if s[0] == '-' {
		sign = -1
	}
	digits := strings.Replace(s[1:], ":", "", 1)
	if len(digits) != 2 && len(digits) != 4 || !allDigits([]byte(digits)) {
		return 0, bad
	}
	h, _ := strconv.Atoi(digits[:2])
	m := 0
	if len(digits) == 4 {
		m, _ = strconv.Atoi(digits[2:])
	}
	if h > 15 || m > 59 {
		return 0, bad
	}
	return sign * int64(h*3600+m*60), nil
}

// parseTime reads a time of day as microseconds since midnight.
func parseTime(s string) (int64, error) {
	us, rest, err := parseClock(strings.TrimSpace(s))
	if err != nil {
		return 0, err
	}
	if rest != "" {
		return 0, fmt.Errorf("a time is written 'HH:MM[:SS[.ffffff]]'")
	}
	return us, nil
}

// parseUUID reads 32 hex digits, with or without hyphens and braces.
func parseUUID(s string) ([]byte, error) {
	t := strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(s), "{"), "}")
	t = strings.ReplaceAll(t, "-", "")
	b, err := hex.DecodeString(t)
	if err != nil || len(b) != 16 {
		return nil, fmt.Errorf("a uuid is written as 32 hex digits, e.g. 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'")
	}
	return b, nil
}

func allDigits(b []byte) bool {
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
