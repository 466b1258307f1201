package store

import (
	"testing"
	"time"
)

func mustZone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func TestDailyNext(t *testing.T) {
	t.Parallel()
	paris := mustZone(t, "Europe/Paris")
	newYork := mustZone(t, "America/New_York")
	at := func(loc *time.Location, s string) time.Time {
		t.Helper()
		v, err := time.ParseInLocation("2006-01-02 15:04", s, loc)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	weekdays := Weekdays(0b0111110) // mon-fri
	tests := []struct {
		name  string
		daily Daily
		after time.Time
		want  time.Time
	}{
		{"LaterToday", Daily{7, 30, EveryDay, paris}, at(paris, "2026-11-27 06:00"), at(paris, "2026-11-27 07:30")},
		{"Tomorrow", Daily{7, 30, EveryDay, paris}, at(paris, "2026-11-27 07:30"), at(paris, "2026-11-28 07:30")},
		{"SkipsWeekend", Daily{7, 30, weekdays, paris}, at(paris, "2026-11-27 08:00"), at(paris, "2026-11-30 07:30")},
		{"OtherZone", Daily{7, 30, EveryDay, newYork}, at(paris, "2026-11-27 08:00"), at(newYork, "2026-11-27 07:30")},
		// 2026-03-29: Paris jumps from 02:00 to 03:00.
		{"SpringForwardGap", Daily{2, 30, EveryDay, paris}, at(paris, "2026-03-29 00:00"), time.Date(2026, 3, 29, 1, 0, 0, 0, time.UTC)},
		{"AfterSpringForwardGap", Daily{2, 30, EveryDay, paris}, time.Date(2026, 3, 29, 1, 0, 0, 0, time.UTC), at(paris, "2026-03-30 02:30")},
		// 2026-10-25: Paris goes from 03:00 back to 02:00; 02:30 happens
		// twice, and the slot is one of them (Go takes the second).
		{"FallBackOnce", Daily{2, 30, EveryDay, paris}, at(paris, "2026-10-25 00:00"), time.Date(2026, 10, 25, 1, 30, 0, 0, time.UTC)},
		{"FallBackNotTwice", Daily{2, 30, EveryDay, paris}, time.Date(2026, 10, 25, 1, 30, 0, 0, time.UTC), at(paris, "2026-10-26 02:30")},
		{"NoDays", Daily{7, 30, 0, paris}, at(paris, "2026-11-27 06:00"), time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.daily.Next(tt.after); !got.Equal(tt.want) {
				t.Errorf("Next(%v) = %v, want %v", tt.after, got, tt.want)
			}
		})
	}
}

// TestDailyOneSlotPerDay walks a year of minutes around both DST changes
// and checks that Next yields exactly one slot per local day.
func TestDailyOneSlotPerDay(t *testing.T) {
	t.Parallel()
	paris := mustZone(t, "Europe/Paris")
	for _, hm := range [][2]int{{2, 0}, {2, 30}, {2, 59}, {3, 0}, {1, 59}} {
		d := Daily{Hour: hm[0], Minute: hm[1], Weekdays: EveryDay, Location: paris}
		seen := map[string]int{}
		for s := d.Next(time.Date(2026, 1, 1, 0, 0, 0, 0, paris)); s.Year() == 2026; s = d.Next(s) {
			seen[s.In(paris).Format(time.DateOnly)]++
		}
		if len(seen) != 365 {
			t.Errorf("%02d:%02d: %d days with a slot in 2026, want 365", hm[0], hm[1], len(seen))
		}
		for day, n := range seen {
			if n != 1 {
				t.Errorf("%02d:%02d: %d slots on %s", hm[0], hm[1], n, day)
			}
		}
	}
}

func TestDailyPrev(t *testing.T) {
	t.Parallel()
	paris := mustZone(t, "Europe/Paris")
	d := Daily{Hour: 7, Minute: 30, Weekdays: Weekdays(0b0111110), Location: paris}
	sat := time.Date(2026, 11, 28, 12, 0, 0, 0, paris)
	if got, want := d.Prev(sat), time.Date(2026, 11, 27, 7, 30, 0, 0, paris); !got.Equal(want) {
		t.Errorf("Prev(saturday) = %v, want %v", got, want)
	}
	exact := time.Date(2026, 11, 27, 7, 30, 0, 0, paris)
	if got := d.Prev(exact); !got.Equal(exact) {
		t.Errorf("Prev(a slot) = %v, want the slot itself", got)
	}
}

func TestNextUnpaused(t *testing.T) {
	t.Parallel()
	paris := mustZone(t, "Europe/Paris")
	d := Daily{Hour: 7, Minute: 30, Weekdays: EveryDay, Location: paris}
	now := time.Date(2026, 11, 27, 6, 0, 0, 0, paris)
	tests := []struct {
		name   string
		paused time.Time
		want   time.Time
	}{
		{"NotPaused", time.Time{}, time.Date(2026, 11, 27, 7, 30, 0, 0, paris)},
		{"PausedTwoDays", time.Date(2026, 11, 29, 0, 0, 0, 0, paris), time.Date(2026, 11, 29, 7, 30, 0, 0, paris)},
		{"PausedUntilResume", time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC), time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := Subscription{PausedUntil: tt.paused}
			if got := s.NextUnpaused(d, now); !got.Equal(tt.want) {
				t.Errorf("NextUnpaused = %v, want %v", got, tt.want)
			}
		})
	}
}
