// Package pgdate is PostgreSQL's calendar in the units Arrow counts in: dates as days and
// timestamps as microseconds since 1970-01-01, proleptic Gregorian with a year 0 (1 BC), as
// PostgreSQL counts years, and within the range PostgreSQL stores.
//
// It is for code that does arithmetic on dates (rules that move, truncate or age them,
// generators of sample data). It does not parse or print dates: the wire and text forms
// are schemas/pgarrow's.
package pgdate

import "math"

// PostgreSQL's date and timestamp ranges, in days and microseconds since 1970-01-01:
// 4714-11-24 BC to 5874897-12-31 for dates; from 4714-11-24 BC for timestamps, whose upper
// end (294276 AD) lies beyond what Arrow's int64 holds below the infinity sentinel
// (math.MaxInt64). A value moved outside them would fail the load.
const (
	MinDay    = -2440588
	MaxDay    = 2145042905
	MinMicros = -210866803200000000
	MaxMicros = math.MaxInt64 - 1

	// DayMicros is the length of a day in microseconds (PostgreSQL has no leap seconds).
	DayMicros = 86400 * 1000000
)

// DaysFromCivil returns the day, counted from 1970-01-01, of year y, month m (1 to 12) and
// day d (H. Hinnant's days_from_civil). y is PostgreSQL's year: 0 is 1 BC, -1 is 2 BC.
func DaysFromCivil(y, m, d int64) int64 {
	if m <= 2 {
		y--
	}
	era := floorDiv(y, 400)
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}

// Civil returns the year, month (1 to 12) and day of the month of day z, counted from
// 1970-01-01 (H. Hinnant's civil_from_days): DaysFromCivil's inverse.
func Civil(z int64) (y, m, d int64) {
	z += 719468
	era := floorDiv(z, 146097)
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	y = yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d = doy - (153*mp+2)/5 + 1
	if mp < 10 {
		m = mp + 3
	} else {
		m = mp - 9
	}
	if m <= 2 {
		y++
	}
	return y, m, d
}

// IsLeap says whether year y has a 29 February.
func IsLeap(y int64) bool { return y%4 == 0 && (y%100 != 0 || y%400 == 0) }

// Day is the day, counted from 1970-01-01, of the timestamp us (microseconds since
// 1970-01-01 00:00): before 1970 too, the day it falls on, not the one after.
func Day(us int64) int64 { return floorDiv(us, DayMicros) }

func floorDiv(a, b int64) int64 {
	if q := a / b; a%b == 0 || (a < 0) == (b < 0) {
		return q
	}
	return a/b - 1
}
