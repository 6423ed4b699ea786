package pgdate

import (
	"testing"
	"time"
)

// Civil dates agree with the time package over a wide range, both ways.
func TestCivilDates(t *testing.T) {
	for _, days := range []int64{-800000, -719468, -1, 0, 1, 59, 60, 365, 10957, 11016, 2932896} {
		want := time.Unix(days*86400, 0).UTC()
		y, m, d := Civil(days)
		if y != int64(want.Year()) || m != int64(want.Month()) || d != int64(want.Day()) {
			t.Errorf("day %d: %d-%d-%d, want %s", days, y, m, d, want.Format("2006-01-02"))
		}
		if back := DaysFromCivil(y, m, d); back != days {
			t.Errorf("day %d: back to %d", days, back)
		}
	}
	for days := int64(-1000000); days < 1000000; days += 37 {
		y, m, d := Civil(days)
		if DaysFromCivil(y, m, d) != days {
			t.Fatalf("day %d does not round-trip", days)
		}
	}
}

// PostgreSQL's range ends are the days and instants it documents.
func TestRange(t *testing.T) {
	if y, m, d := Civil(MinDay); y != -4713 || m != 11 || d != 24 {
		t.Errorf("MinDay is %d-%d-%d, want -4713-11-24 (4714-11-24 BC)", y, m, d)
	}
	if y, m, d := Civil(MaxDay); y != 5874897 || m != 12 || d != 31 {
		t.Errorf("MaxDay is %d-%d-%d, want 5874897-12-31", y, m, d)
	}
	if MinMicros != MinDay*DayMicros {
		t.Errorf("MinMicros %d is not the start of MinDay", int64(MinMicros))
	}
}

// Day rounds down, so an instant before 1970 falls on its own day.
func TestDay(t *testing.T) {
	for _, tc := range []struct{ us, day int64 }{
		{0, 0}, {DayMicros - 1, 0}, {DayMicros, 1}, {-1, -1}, {-DayMicros, -1}, {-DayMicros - 1, -2},
	} {
		if got := Day(tc.us); got != tc.day {
			t.Errorf("Day(%d) = %d, want %d", tc.us, got, tc.day)
		}
	}
}

func TestIsLeap(t *testing.T) {
	for y, want := range map[int64]bool{2000: true, 1900: false, 2024: true, 2023: false, 0: true, -4: true, -100: false} {
		if IsLeap(y) != want {
			t.Errorf("IsLeap(%d) = %v", y, !want)
		}
	}
}
