package review

import (
	"testing"
	"time"
	_ "time/tzdata" // the zone tests must not depend on the host's zoneinfo
)

func mustZone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatalf("load zone %s: %v", name, err)
	}
	return loc
}

func TestDayString(t *testing.T) {
	tests := []struct {
		day  Day
		want string
	}{
		{0, "1970-01-01"},
		{-1, "1969-12-31"},
		{DateOf(2026, time.March, 29), "2026-03-29"},
		{DateOf(2024, time.February, 29), "2024-02-29"},
	}
	for _, tt := range tests {
		if got := tt.day.String(); got != tt.want {
			t.Errorf("Day(%d).String() = %q, want %q", tt.day, got, tt.want)
		}
		back, err := ParseDay(tt.want)
		if err != nil || back != tt.day {
			t.Errorf("ParseDay(%q) = %d, %v; want %d", tt.want, back, err, tt.day)
		}
	}
	if DateOf(2026, time.March, 1)-DateOf(2026, time.February, 28) != 1 {
		t.Error("the day after 2026-02-28 is not 2026-03-01")
	}
}

func TestParseDayErrors(t *testing.T) {
	for _, s := range []string{"", "2026-3-1", "2026-02-30", "29/03/2026", "2026-03-29T10:00:00Z", " 2026-03-29"} {
		t.Run("ErrBadDay", func(t *testing.T) {
			if d, err := ParseDay(s); err == nil {
				t.Errorf("ParseDay(%q) = %v, want an error", s, d)
			}
		})
	}
}

func TestDayOf(t *testing.T) {
	paris := mustZone(t, "Europe/Paris")
	march28, march29 := DateOf(2026, time.March, 28), DateOf(2026, time.March, 29)
	tests := []struct {
		name string
		at   time.Time
		loc  *time.Location
		want Day
	}{
		{"LateEveningIsThatDay", time.Date(2026, 3, 28, 23, 59, 0, 0, paris), paris, march28},
		{"AfterMidnightIsStillThatDay", time.Date(2026, 3, 29, 0, 30, 0, 0, paris), paris, march28},
		{"JustBeforeFourIsStillThatDay", time.Date(2026, 3, 29, 3, 59, 59, 0, paris), paris, march28},
		{"FourStartsTheNextDay", time.Date(2026, 3, 29, 4, 0, 0, 0, paris), paris, march29},
		// 2026-03-29 is the last Sunday of March: Paris jumps from 02:00
		// CET to 03:00 CEST. 04:30 CEST is only 3½ hours after 00:00 of
		// wall time, but the day starts at 04:00 on the clock.
		{"SpringForwardUsesWallClock", time.Date(2026, 3, 29, 2, 30, 0, 0, time.UTC), paris, march29},
		{"NilZoneIsUTC", time.Date(2026, 3, 29, 3, 0, 0, 0, time.UTC), nil, march28},
		{"SameInstantOtherZone", time.Date(2026, 3, 29, 3, 0, 0, 0, time.UTC), mustZone(t, "Asia/Tokyo"), march29},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := DayOf(tt.at, tt.loc); got != tt.want {
				t.Errorf("DayOf(%v) = %v, want %v", tt.at, got, tt.want)
			}
		})
	}
}
