package review

import (
	"slices"
	"testing"
	"time"
)

// record applies answers in order and returns the final state and every
// day frozen on the way.
func record(s Streak, loc *time.Location, at ...time.Time) (Streak, []Day) {
	var all []Day
	for _, t := range at {
		var frozen []Day
		s, frozen = s.Record(t, loc)
		all = append(all, frozen...)
	}
	return s, all
}

// evenings returns 20:00 local on n consecutive dates from the given one.
func evenings(loc *time.Location, y int, m time.Month, d, n int) []time.Time {
	var out []time.Time
	for i := range n {
		out = append(out, time.Date(y, m, d+i, 20, 0, 0, 0, loc))
	}
	return out
}

func TestStreakDayBoundary(t *testing.T) {
	paris := mustZone(t, "Europe/Paris")
	tests := []struct {
		name        string
		at          []time.Time
		wantCurrent int
		wantLast    Day
	}{
		{
			"MidnightAnswersShareADay",
			[]time.Time{time.Date(2026, 5, 4, 23, 59, 0, 0, paris), time.Date(2026, 5, 5, 0, 30, 0, 0, paris)},
			1, DateOf(2026, 5, 4),
		},
		{
			"LatePressAt0405CountsForTheNewDay",
			// The quiz went out on the 4th; the button press is received
			// at 04:05 on the 5th, and its receipt time decides the day.
			[]time.Time{time.Date(2026, 5, 4, 9, 0, 0, 0, paris), time.Date(2026, 5, 5, 4, 5, 0, 0, paris)},
			2, DateOf(2026, 5, 5),
		},
		{
			"PressAt0355StillCountsForThePreviousDay",
			[]time.Time{time.Date(2026, 5, 4, 9, 0, 0, 0, paris), time.Date(2026, 5, 5, 3, 55, 0, 0, paris)},
			1, DateOf(2026, 5, 4),
		},
		{
			// 2026-03-29 is the last Sunday of March, a 23-hour day in
			// Paris; 04:30 CEST on it starts the 29th on the wall clock.
			"SpringForwardDayIsOneDay",
			[]time.Time{
				time.Date(2026, 3, 28, 21, 0, 0, 0, paris),
				time.Date(2026, 3, 29, 1, 30, 0, 0, time.UTC), // 03:30 CEST: still the 28th
				time.Date(2026, 3, 29, 2, 30, 0, 0, time.UTC), // 04:30 CEST: the 29th
				time.Date(2026, 3, 30, 21, 0, 0, 0, paris),
			},
			3, DateOf(2026, 3, 30),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, frozen := record(Streak{}, paris, tt.at...)
			if s.Current != tt.wantCurrent || s.Last != tt.wantLast {
				t.Errorf("streak = %d ending %v, want %d ending %v", s.Current, s.Last, tt.wantCurrent, tt.wantLast)
			}
			if len(frozen) != 0 {
				t.Errorf("froze %v, want none", frozen)
			}
		})
	}
}

func TestStreakFreezes(t *testing.T) {
	utc := time.UTC
	day := DateOf(2026, 6, 1)
	base := Streak{Current: 5, Best: 9, Last: day, Progress: 5, EverHeldFreeze: true, Zone: "UTC"}
	withFreezes := func(n int) Streak { s := base; s.Freezes = n; return s }
	// An answer three days after the last active one: two days missed.
	back := time.Date(2026, 6, 4, 12, 0, 0, 0, utc)
	tests := []struct {
		name         string
		start        Streak
		wantCurrent  int
		wantFreezes  int
		wantProgress int
		wantFrozen   []Day
	}{
		{"TwoMissedOneFreezeResets", withFreezes(1), 1, 0, 1, []Day{day + 1}},
		{"TwoMissedTwoFreezesKept", withFreezes(2), 5 + 2 + 1, 0, 6, []Day{day + 1, day + 2}},
		{"TwoMissedNoFreezeResets", withFreezes(0), 1, 0, 1, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := tt.start
			s, frozen := tt.start.Record(back, utc)
			if s.Current != tt.wantCurrent || s.Freezes != tt.wantFreezes || s.Progress != tt.wantProgress {
				t.Errorf("got current %d, freezes %d, progress %d; want %d, %d, %d",
					s.Current, s.Freezes, s.Progress, tt.wantCurrent, tt.wantFreezes, tt.wantProgress)
			}
			if !slices.Equal(frozen, tt.wantFrozen) {
				t.Errorf("frozen %v, want %v", frozen, tt.wantFrozen)
			}
			if s.Last != day+3 || s.Best != max(9, tt.wantCurrent) {
				t.Errorf("last %v best %d, want %v and %d", s.Last, s.Best, day+3, max(9, tt.wantCurrent))
			}
			if tt.start != before {
				t.Error("Record changed its receiver")
			}
		})
	}
}

func TestStreakEarning(t *testing.T) {
	utc := time.UTC
	t.Run("FreeFreezeAfterThirdDay", func(t *testing.T) {
		s, _ := record(Streak{}, utc, evenings(utc, 2026, 6, 1, 2)...)
		if s.Freezes != 0 {
			t.Fatalf("after 2 days: %d freezes, want 0", s.Freezes)
		}
		s, _ = record(s, utc, evenings(utc, 2026, 6, 3, 1)...)
		if s.Freezes != 1 || !s.EverHeldFreeze {
			t.Fatalf("after 3 days: %d freezes (ever held %v), want 1", s.Freezes, s.EverHeldFreeze)
		}
	})
	t.Run("FreeFreezeOnlyOnce", func(t *testing.T) {
		// Days 1–3 active (free freeze), 4th missed and frozen, 5th–6th
		// active, then a two-day gap breaks the streak; a new run of 3 gets
		// nothing more.
		at := append(evenings(utc, 2026, 6, 1, 3), evenings(utc, 2026, 6, 5, 2)...)
		at = append(at, evenings(utc, 2026, 6, 9, 3)...)
		s, frozen := record(Streak{}, utc, at...)
		if !slices.Equal(frozen, []Day{DateOf(2026, 6, 4)}) {
			t.Errorf("frozen %v, want [2026-06-04]", frozen)
		}
		if s.Current != 3 || s.Freezes != 0 || s.Best != 6 {
			t.Errorf("current %d freezes %d best %d, want 3, 0, 6", s.Current, s.Freezes, s.Best)
		}
	})
	t.Run("EarnedOnSeventhActiveDayAcrossAFrozenDay", func(t *testing.T) {
		// 3 active days (free freeze), one frozen day, 4 active days: the
		// 7th active day earns a freeze; the frozen day counts in the
		// streak but not towards earning.
		at := append(evenings(utc, 2026, 6, 1, 3), evenings(utc, 2026, 6, 5, 4)...)
		s, _ := record(Streak{}, utc, at...)
		if s.Current != 8 || s.Freezes != 1 || s.Progress != 0 {
			t.Errorf("current %d freezes %d progress %d, want 8, 1, 0", s.Current, s.Freezes, s.Progress)
		}
		// One day short of the 7th active day: nothing earned yet.
		s, _ = record(Streak{}, utc, at[:len(at)-1]...)
		if s.Freezes != 0 || s.Progress != 6 {
			t.Errorf("before the 7th active day: freezes %d progress %d, want 0, 6", s.Freezes, s.Progress)
		}
	})
	t.Run("CapHoldsAtTwo", func(t *testing.T) {
		s := Streak{}
		for i, at := range evenings(utc, 2026, 6, 1, 29) {
			s, _ = s.Record(at, utc)
			if s.Freezes > MaxFreezes {
				t.Fatalf("day %d: %d freezes held", i+1, s.Freezes)
			}
		}
		if s.Current != 29 || s.Freezes != MaxFreezes {
			t.Errorf("after 29 days: current %d freezes %d, want 29, %d", s.Current, s.Freezes, MaxFreezes)
		}
	})
}

func TestStreakZoneChange(t *testing.T) {
	paris, tokyo, newYork := mustZone(t, "Europe/Paris"), mustZone(t, "Asia/Tokyo"), mustZone(t, "America/New_York")
	// Five evenings in Paris, 6–10 January 2026, the last at 22:00.
	atParis := evenings(paris, 2026, 1, 6, 4)
	atParis = append(atParis, time.Date(2026, 1, 10, 22, 0, 0, 0, paris))
	start, _ := record(Streak{}, paris, atParis...)
	if start.Current != 5 || start.Freezes != 1 {
		t.Fatalf("setup: current %d freezes %d, want 5, 1", start.Current, start.Freezes)
	}

	t.Run("ParisToTokyoSkippedDateIsContiguous", func(t *testing.T) {
		// Landed: 07:00 on the 12th in Tokyo is 23:00 on the 11th in
		// Paris, 25 hours after the last answer; the 11th never happened
		// on the learner's clock.
		s, frozen := start.Record(time.Date(2026, 1, 12, 7, 0, 0, 0, tokyo), tokyo)
		if s.Current != 6 || s.Freezes != 1 || len(frozen) != 0 || s.Last != DateOf(2026, 1, 12) {
			t.Errorf("current %d freezes %d frozen %v last %v; want 6, 1, none, 2026-01-12", s.Current, s.Freezes, frozen, s.Last)
		}
		if s.Zone != "Asia/Tokyo" || s.ZoneOffset != 9*3600 {
			t.Errorf("zone %q offset %d, want Asia/Tokyo +32400", s.Zone, s.ZoneOffset)
		}
		if days, _ := start.At(time.Date(2026, 1, 12, 7, 0, 0, 0, tokyo), tokyo); days != 5 {
			t.Errorf("At before the first Tokyo answer = %d, want 5 (not broken)", days)
		}
	})
	t.Run("RealMissAfterZoneChangeSpendsFreeze", func(t *testing.T) {
		// 20:00 on the 12th in Tokyo is noon on the 12th in Paris: the
		// 11th was missed in either zone.
		s, frozen := start.Record(time.Date(2026, 1, 12, 20, 0, 0, 0, tokyo), tokyo)
		if s.Current != 7 || s.Freezes != 0 || !slices.Equal(frozen, []Day{DateOf(2026, 1, 11)}) {
			t.Errorf("current %d freezes %d frozen %v; want 7, 0, [2026-01-11]", s.Current, s.Freezes, frozen)
		}
	})
	t.Run("SecondChangeWithin24hIsNotForgiven", func(t *testing.T) {
		recent := start
		recent.ZoneChangedAt = time.Date(2026, 1, 11, 12, 0, 0, 0, time.UTC)
		s, frozen := recent.Record(time.Date(2026, 1, 12, 7, 0, 0, 0, tokyo), tokyo)
		if s.Current != 7 || len(frozen) != 1 {
			t.Errorf("current %d frozen %v; want 7 with one frozen day", s.Current, frozen)
		}
	})
	t.Run("TokyoToNewYorkRepeatedDateCountsOnce", func(t *testing.T) {
		tk, _ := start.Record(time.Date(2026, 1, 12, 7, 0, 0, 0, tokyo), tokyo)
		tk, _ = tk.Record(time.Date(2026, 1, 13, 20, 0, 0, 0, tokyo), tokyo) // 11:00 UTC on the 13th
		// 19:00 on the 13th in New York is 00:00 UTC on the 14th: the
		// 13th again, now on the New York clock.
		ny, frozen := tk.Record(time.Date(2026, 1, 13, 19, 0, 0, 0, newYork), newYork)
		if ny.Current != tk.Current || ny.Last != tk.Last || len(frozen) != 0 {
			t.Errorf("repeated date: current %d last %v, want unchanged %d %v", ny.Current, ny.Last, tk.Current, tk.Last)
		}
		if ny.Zone != "America/New_York" {
			t.Errorf("zone %q, want America/New_York", ny.Zone)
		}
		ny, _ = ny.Record(time.Date(2026, 1, 14, 19, 0, 0, 0, newYork), newYork)
		if ny.Current != tk.Current+1 {
			t.Errorf("next New York day: current %d, want %d", ny.Current, tk.Current+1)
		}
	})
}

func TestStreakAt(t *testing.T) {
	utc := time.UTC
	day := DateOf(2026, 6, 10)
	s := Streak{Current: 4, Best: 4, Last: day, Freezes: 1, EverHeldFreeze: true, Zone: "UTC"}
	noon := func(d Day) time.Time { y, m, dd := d.Date(); return time.Date(y, m, dd, 12, 0, 0, 0, utc) }
	tests := []struct {
		name        string
		state       Streak
		now         time.Time
		wantDays    int
		wantFreezes int
	}{
		{"NeverAnsweredIsZero", Streak{}, noon(day), 0, 0},
		{"ActiveTodayShowsRun", s, noon(day), 4, 1},
		{"NotYetActiveTodayKeepsYesterdaysRun", s, noon(day + 1), 4, 1},
		{"BeforeFourIsStillYesterday", s, time.Date(2026, 6, 12, 3, 0, 0, 0, utc), 4, 1},
		{"OneMissedDayCoveredByFreeze", s, noon(day + 2), 5, 0},
		{"TwoMissedDaysOneFreezeIsBroken", s, noon(day + 3), 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := tt.state
			days, freezes := tt.state.At(tt.now, utc)
			if days != tt.wantDays || freezes != tt.wantFreezes {
				t.Errorf("At = %d days, %d freezes; want %d, %d", days, freezes, tt.wantDays, tt.wantFreezes)
			}
			if tt.state != before {
				t.Error("At changed the state")
			}
		})
	}
	// What At shows on a day must be what an answer that day builds on.
	t.Run("AgreesWithRecord", func(t *testing.T) {
		for gap := 0; gap <= 5; gap++ {
			for freezes := 0; freezes <= MaxFreezes; freezes++ {
				st := s
				st.Freezes = freezes
				now := noon(day + Day(gap))
				shown, _ := st.At(now, utc)
				after, _ := st.Record(now, utc)
				want := shown + 1
				switch {
				case gap == 0:
					want = shown
				case shown == 0:
					want = 1
				}
				if after.Current != want {
					t.Errorf("gap %d, %d freezes: At shows %d, Record gives %d, want %d", gap, freezes, shown, after.Current, want)
				}
			}
		}
	})
}
