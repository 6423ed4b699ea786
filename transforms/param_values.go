package transforms

// Values written in a rule's parameters: decimal numbers, dates, timestamps and durations.

import (
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/understudy-dev/understudy/schemas/pgdate"
)

// shapeRat parses a decimal number written in the config ("12", "-0.5", "1e3").
func shapeRat(what, s string) (*big.Rat, error) {
	r, ok := new(big.Rat).SetString(strings.TrimSpace(s))
	if !ok || strings.ContainsAny(s, "/") {
		return nil, fmt.Errorf("%s %q is not a number", what, s)
	}
	return r, nil
}

// shapeParseDate parses a config date, "2020-01-31", to days since 1970.
func shapeParseDate(what, s string) (int64, error) {
	t, err := time.Parse("2006-01-02", strings.TrimSpace(s))
	if err != nil {
		return 0, fmt.Errorf("%s %q is not a date like 2020-01-31", what, s)
	}
	return floorDiv(t.Unix(), 86400), nil
}

// shapeParseTimestamp parses a config timestamp ("2020-01-31", "2020-01-31 08:30:00",
// "2020-01-31T08:30:00.5Z", "2020-01-31T08:30:00+02:00") to microseconds since 1970;
// without a zone it is UTC.
func shapeParseTimestamp(what, s string) (int64, error) {
	s = strings.TrimSpace(s)
	for _, layout := range []string{"2006-01-02", "2006-01-02 15:04:05.999999999", "2006-01-02T15:04:05.999999999",
		time.RFC3339Nano, "2006-01-02 15:04:05.999999999Z07:00"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.Unix()*1000000 + int64(t.Nanosecond()/1000), nil
		}
	}
	return 0, fmt.Errorf("%s %q is not a timestamp like 2020-01-31 or 2020-01-31 08:30:00", what, s)
}

// shapeParseDuration parses a duration written with days: one or more <integer><unit>,
// units d, h, m, s from largest to smallest, each at most once ("365d", "12h", "1d12h",
// "90m", "1d2h3m4s"). It returns microseconds; at most 10,000,000 days.
func shapeParseDuration(s string) (int64, error) {
	const maxMicros = 10_000_000 * pgdate.DayMicros
	in := s
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, errors.New("empty duration: write e.g. 30d, 12h or 1d12h")
	}
	units := "dhms"
	scale := [...]int64{pgdate.DayMicros, 3600 * 1000000, 60 * 1000000, 1000000}
	var total int64
	next := 0 // the first unit still allowed
	for len(s) > 0 {
		i := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == 0 {
			return 0, fmt.Errorf("duration %q: expected a number at %q", in, s)
		}
		if i > 12 {
			return 0, fmt.Errorf("duration %q is too long", in)
		}
		n, _ := strconv.ParseInt(s[:i], 10, 64)
		if i == len(s) {
			return 0, fmt.Errorf("duration %q: %s needs a unit (d, h, m or s), e.g. %sd", in, s, s)
		}
		u := strings.IndexByte(units, s[i])
		if u < 0 {
			return 0, fmt.Errorf("duration %q: unknown unit %q (use d, h, m or s)", in, s[i])
		}
		if u < next {
			return 0, fmt.Errorf("duration %q: units go from days to seconds, each once (e.g. 1d12h)", in)
		}
		next = u + 1
		if n > maxMicros/scale[u] {
			return 0, fmt.Errorf("duration %q is over 10000000 days", in)
		}
		total += n * scale[u]
		if total > maxMicros {
			return 0, fmt.Errorf("duration %q is over 10000000 days", in)
		}
		s = s[i+1:]
	}
	return total, nil
}

// shapeFormatDuration writes microseconds (whole seconds) the way shapeParseDuration reads them.
func shapeFormatDuration(us int64) string {
	if us == 0 {
		return "0s"
	}
	var b []byte
	for i, sc := range [...]int64{pgdate.DayMicros, 3600 * 1000000, 60 * 1000000, 1000000} {
		if q := us / sc; q > 0 {
			b = strconv.AppendInt(b, q, 10)
			b = append(b, "dhms"[i])
			us -= q * sc
		}
	}
	return string(b)
}
