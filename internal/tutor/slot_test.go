package tutor

import (
	"testing"
	"time"

	"github.com/lessonbot/lessonbot/internal/store"
)

// slotAfter is the next delivery moment of sub after after, as the tutor
// computes it for its "Next lesson" line: in the chat's zone, on its
// days, not paused.
func slotAfter(sub store.Subscription, after time.Time) time.Time {
	return sub.NextUnpaused(daily(sub), after)
}

// slots returns the delivery moments of sub after from and up to to, by
// calling slotAfter from each slot found, as a scheduler would.
func slots(t *testing.T, sub store.Subscription, from, to time.Time) []time.Time {
	t.Helper()
	var out []time.Time
	for at := from; ; {
		next := slotAfter(sub, at)
		if next.IsZero() || next.After(to) {
			return out
		}
		if !next.After(at) {
			t.Fatalf("slotAfter(%v) = %v, not after it", at, next)
		}
		out = append(out, next)
		at = next
		if len(out) > 400 {
			t.Fatal("too many slots")
		}
	}
}

// localClocks writes slots as local "2006-01-02 15:04 MST" strings.
func localClocks(ts []time.Time, loc *time.Location) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.In(loc).Format("2006-01-02 15:04 MST")
	}
	return out
}

func TestNextSlotDST(t *testing.T) {
	newYork := mustZone("America/New_York")
	tests := []struct {
		name         string
		zone         string
		hour, minute int
		from, to     time.Time
		want         []string
	}{
		{"OKSpringForwardInGap", "Europe/Paris", 2, 30,
			time.Date(2026, 3, 27, 12, 0, 0, 0, paris), time.Date(2026, 3, 31, 0, 0, 0, 0, paris),
			[]string{"2026-03-28 02:30 CET", "2026-03-29 03:00 CEST", "2026-03-30 02:30 CEST"}},
		{"OKSpringForwardGapStart", "Europe/Paris", 2, 0,
			time.Date(2026, 3, 28, 12, 0, 0, 0, paris), time.Date(2026, 3, 30, 12, 0, 0, 0, paris),
			[]string{"2026-03-29 03:00 CEST", "2026-03-30 02:00 CEST"}},
		{"OKSpringForwardGapEnd", "Europe/Paris", 2, 59,
			time.Date(2026, 3, 28, 12, 0, 0, 0, paris), time.Date(2026, 3, 30, 12, 0, 0, 0, paris),
			[]string{"2026-03-29 03:00 CEST", "2026-03-30 02:59 CEST"}},
		{"OKSpringForwardJustAfterGap", "Europe/Paris", 3, 0,
			time.Date(2026, 3, 28, 12, 0, 0, 0, paris), time.Date(2026, 3, 30, 12, 0, 0, 0, paris),
			[]string{"2026-03-29 03:00 CEST", "2026-03-30 03:00 CEST"}},
		{"OKSpringForwardJustBeforeGap", "Europe/Paris", 1, 59,
			time.Date(2026, 3, 28, 12, 0, 0, 0, paris), time.Date(2026, 3, 30, 12, 0, 0, 0, paris),
			[]string{"2026-03-29 01:59 CET", "2026-03-30 01:59 CEST"}},
		{"OKSpringForwardNewYork", "America/New_York", 2, 30,
			time.Date(2026, 3, 7, 12, 0, 0, 0, newYork), time.Date(2026, 3, 9, 12, 0, 0, 0, newYork),
			[]string{"2026-03-08 03:00 EDT", "2026-03-09 02:30 EDT"}},
		{"OKFallBackNewYork", "America/New_York", 1, 30,
			time.Date(2026, 10, 31, 12, 0, 0, 0, newYork), time.Date(2026, 11, 2, 12, 0, 0, 0, newYork),
			nil}, // checked below: one slot a day
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sub := store.Subscription{Hour: tt.hour, Minute: tt.minute, Zone: tt.zone, Weekdays: store.EveryDay, Active: true}
			loc := mustZone(tt.zone)
			got := localClocks(slots(t, sub, tt.from, tt.to), loc)
			if tt.want == nil {
				checkOnePerDay(t, got, 2)
				return
			}
			if !equalStrings(got, tt.want) {
				t.Errorf("slots\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

// TestNextSlotFallBack checks that on 25 October 2026 in Paris, when 02:30
// happens twice, a 02:30 subscription gets one slot that day, whatever
// moment of the night the search starts from.
func TestNextSlotFallBack(t *testing.T) {
	sub := store.Subscription{Hour: 2, Minute: 30, Zone: "Europe/Paris", Weekdays: store.EveryDay, Active: true}
	// 00:30 UTC is the first 02:30 (CEST), 01:30 UTC the second (CET).
	starts := []struct {
		name string
		from time.Time
	}{
		{"OKFromTheDayBefore", time.Date(2026, 10, 24, 12, 0, 0, 0, time.UTC)},
		{"OKFromMidnight", time.Date(2026, 10, 24, 22, 0, 0, 0, time.UTC)},
	}
	for _, s := range starts {
		t.Run(s.name, func(t *testing.T) {
			got := slots(t, sub, s.from, time.Date(2026, 10, 27, 12, 0, 0, 0, time.UTC))
			clocks := localClocks(got, paris)
			if len(got) != 3 {
				t.Fatalf("slots %q, want one on each of the 25th, 26th and 27th", clocks)
			}
			checkOnePerDay(t, clocks, 3)
			for _, g := range got {
				if l := g.In(paris); l.Hour() != 2 || l.Minute() != 30 {
					t.Errorf("slot %v is not at 02:30 local", l)
				}
			}
			if want := time.Date(2026, 10, 26, 1, 30, 0, 0, time.UTC); !got[1].Equal(want) {
				t.Errorf("second slot %v, want %v", got[1], want)
			}
		})
	}
	// Starting between the two 02:30s, the day's slot is either the
	// second one or already past; never both.
	t.Run("OKFromBetweenTheTwo", func(t *testing.T) {
		first := slotAfter(sub, time.Date(2026, 10, 24, 12, 0, 0, 0, time.UTC))
		between := time.Date(2026, 10, 25, 1, 0, 0, 0, time.UTC)
		next := slotAfter(sub, between)
		if first.Before(between) && next.In(paris).Day() == 25 {
			t.Errorf("two slots on the 25th: %v and %v", first, next)
		}
	})
}

func checkOnePerDay(t *testing.T, clocks []string, days int) {
	t.Helper()
	perDay := map[string]int{}
	for _, c := range clocks {
		perDay[c[:10]]++
	}
	if len(perDay) != days {
		t.Errorf("slots on %d days, want %d: %q", len(perDay), days, clocks)
	}
	for day, n := range perDay {
		if n != 1 {
			t.Errorf("%d slots on %s: %q", n, day, clocks)
		}
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestNextSlotDaysAndPause(t *testing.T) {
	weekdays := store.Weekdays(0x3e)
	friday := time.Date(2026, 3, 6, 12, 0, 0, 0, paris)
	tests := []struct {
		name   string
		days   store.Weekdays
		paused time.Time
		after  time.Time
		want   string // local, or "" for none
	}{
		{"OKSameDay", store.EveryDay, time.Time{}, time.Date(2026, 3, 2, 6, 0, 0, 0, paris), "2026-03-02 07:30 CET"},
		{"OKAtTheSlotIsNext", store.EveryDay, time.Time{}, time.Date(2026, 3, 2, 7, 30, 0, 0, paris), "2026-03-03 07:30 CET"},
		{"OKWeekdaysSkipWeekend", weekdays, time.Time{}, friday, "2026-03-09 07:30 CET"},
		{"OKWeekendOnly", 1<<time.Saturday | 1<<time.Sunday, time.Time{}, time.Date(2026, 3, 2, 12, 0, 0, 0, paris), "2026-03-07 07:30 CET"},
		{"OKOneDayAWeek", 1 << time.Monday, time.Time{}, time.Date(2026, 3, 2, 8, 0, 0, 0, paris), "2026-03-09 07:30 CET"},
		{"OKPausedUntil", store.EveryDay, time.Date(2026, 3, 5, 0, 0, 0, 0, paris), time.Date(2026, 3, 2, 12, 0, 0, 0, paris), "2026-03-05 07:30 CET"},
		{"OKPauseEndsAtTheSlot", store.EveryDay, time.Date(2026, 3, 5, 7, 30, 0, 0, paris), time.Date(2026, 3, 2, 12, 0, 0, 0, paris), "2026-03-05 07:30 CET"},
		{"OKPauseAndWeekdays", weekdays, time.Date(2026, 3, 7, 0, 0, 0, 0, paris), time.Date(2026, 3, 2, 12, 0, 0, 0, paris), "2026-03-09 07:30 CET"},
		{"OKPauseOver", store.EveryDay, time.Date(2026, 3, 1, 0, 0, 0, 0, paris), time.Date(2026, 3, 2, 6, 0, 0, 0, paris), "2026-03-02 07:30 CET"},
		{"OKPausedForever", store.EveryDay, forever, time.Date(2026, 3, 2, 6, 0, 0, 0, paris), ""},
		{"OKNoDays", 0, time.Time{}, time.Date(2026, 3, 2, 6, 0, 0, 0, paris), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sub := store.Subscription{Hour: 7, Minute: 30, Zone: "Europe/Paris", Weekdays: tt.days, PausedUntil: tt.paused, Active: true}
			got := slotAfter(sub, tt.after)
			if tt.want == "" {
				if !got.IsZero() {
					t.Errorf("slotAfter = %v, want none", got)
				}
				return
			}
			if s := got.In(paris).Format("2006-01-02 15:04 MST"); s != tt.want {
				t.Errorf("slotAfter = %s, want %s", s, tt.want)
			}
		})
	}
	// Over a fortnight, a weekday subscription gets exactly ten slots,
	// none on a weekend.
	t.Run("OKFortnight", func(t *testing.T) {
		sub := store.Subscription{Hour: 7, Minute: 30, Zone: "Europe/Paris", Weekdays: weekdays, Active: true}
		got := slots(t, sub, time.Date(2026, 3, 1, 0, 0, 0, 0, paris), time.Date(2026, 3, 15, 0, 0, 0, 0, paris))
		if len(got) != 10 {
			t.Errorf("%d slots, want 10: %q", len(got), localClocks(got, paris))
		}
		for _, g := range got {
			if d := g.In(paris).Weekday(); d == time.Saturday || d == time.Sunday {
				t.Errorf("slot on a %s: %v", d, g)
			}
		}
	})
}
