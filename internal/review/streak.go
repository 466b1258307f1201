package review

import "time"

// Streak rules.
const (
	// MaxFreezes is how many freezes a learner can hold: enough to cover a
	// weekend, not enough to stop practising for a week.
	MaxFreezes = 2
	// FreezeEvery is how many active days earn a freeze; a week is where
	// loss aversion starts to keep learners going.
	FreezeEvery = 7
	// freeFreezeAt is the streak length at which a learner who never held
	// a freeze gets one, so a young streak is not lost to a single bad day.
	freeFreezeAt = 3
	// zoneChangeQuiet is how long after one zone change another one still
	// moves dates without forgiveness, so flipping zones back and forth
	// cannot manufacture days.
	zoneChangeQuiet = 24 * time.Hour
)

// Streak is what the store keeps per learner to count consecutive days of
// practice. Every field is a plain value so it maps to a column; the zero
// value is a learner who never answered. Update it only through Record and
// read it only through At, which apply the rules below.
//
// A day counts as active when the learner gave at least one graded answer
// on it (local day, see DayOf). The streak is the run of consecutive active
// or frozen days ending today, or yesterday while today is not yet active.
// Freezes are spent automatically, oldest missed day first, when the next
// answer arrives; when they cannot cover every missed day the streak starts
// again at 1, and the freezes spent on the first missed days stay spent,
// exactly as if a daily job had spent one each morning without knowing
// whether the learner would come back.
type Streak struct {
	// Current is the length of the run ending on Last, frozen days
	// included; 0 only for a learner who never answered.
	Current int
	// Best is the longest run ever reached.
	Best int
	// Last is the last active or frozen day; meaningless while Current
	// is 0.
	Last Day
	// Freezes is the number held, 0..MaxFreezes.
	Freezes int
	// Progress counts active days towards the next earned freeze,
	// 0..FreezeEvery−1. A frozen day neither adds to it nor resets it:
	// using a freeze should not cost the week in progress, and a freeze
	// should not help earn the next one. Only a broken streak resets it.
	Progress int
	// EverHeldFreeze records that the learner once held a freeze, which
	// rules out the free early freeze.
	EverHeldFreeze bool
	// Zone is the IANA name of the zone of the last answer.
	Zone string
	// ZoneOffset is that zone's offset from UTC in seconds at the last
	// answer; it lets the next answer tell a date skipped by a change of
	// zone from a date really missed, without loading zone data.
	ZoneOffset int
	// ZoneChangedAt is when an answer last came from a zone other than the
	// previous answer's; zero if never.
	ZoneChangedAt time.Time
}

// Record applies one graded answer given at instant t (the time the answer
// was received, not processed) in zone loc (UTC when nil). It returns the
// new state and the days it froze, oldest first, for the store to mark in
// its activity table. Answers on a day already counted, including a date
// repeated by flying west, change nothing but the zone fields.
//
// A change of zone never breaks the streak: if the answer's date in the
// new zone is later than its date in the previous zone, the one date this
// skips is treated as contiguous, costs no freeze and adds no day. This
// forgiveness is not given when the zone also changed in the 24 hours
// before.
//
// Freezes: one is earned every FreezeEvery active days (see Progress),
// never beyond MaxFreezes; a learner who never held one gets one free when
// the streak reaches 3 days.
func (s Streak) Record(t time.Time, loc *time.Location) (Streak, []Day) {
	if loc == nil {
		loc = time.UTC
	}
	today := DayOf(t, loc)
	skip := s.zoneSkip(t, loc)
	next := s
	if s.Zone != "" && loc.String() != s.Zone {
		next.ZoneChangedAt = t
	}
	next.Zone = loc.String()
	_, next.ZoneOffset = t.In(loc).Zone()
	if s.Current > 0 && today <= s.Last {
		return next, nil
	}

	var frozen []Day
	if s.Current == 0 {
		next.Current, next.Progress = 1, 0
	} else {
		missed := s.missed(today, skip)
		spent := min(missed, s.Freezes)
		for i := range spent {
			frozen = append(frozen, s.Last+Day(i+1))
		}
		next.Freezes -= spent
		if missed > spent {
			next.Current, next.Progress = 1, 0
		} else {
			next.Current += spent + 1
		}
	}
	next.Last = today
	next.Progress++
	if next.Progress == FreezeEvery {
		next.Progress = 0
		next.Freezes = min(next.Freezes+1, MaxFreezes)
	}
	if !next.EverHeldFreeze && next.Current >= freeFreezeAt && next.Current < FreezeEvery {
		next.Freezes = 1
	}
	if next.Freezes > 0 {
		next.EverHeldFreeze = true
	}
	next.Best = max(next.Best, next.Current)
	return next, frozen
}

// At is the streak and the freezes held as the learner should see them at
// instant now in zone loc (UTC when nil), without changing the state:
// missed days up to yesterday are covered by freezes if enough are held,
// and otherwise the streak shows 0 and the freezes as spent, matching what
// the next Record will do.
func (s Streak) At(now time.Time, loc *time.Location) (days, freezes int) {
	if loc == nil {
		loc = time.UTC
	}
	if s.Current == 0 {
		return 0, s.Freezes
	}
	missed := s.missed(DayOf(now, loc), s.zoneSkip(now, loc))
	if missed > s.Freezes {
		return 0, 0
	}
	return s.Current + missed, s.Freezes - missed
}

// missed counts the days strictly between Last and today that need a
// freeze; a date skipped by a change of zone is the newest of them and
// needs none.
func (s Streak) missed(today Day, skip bool) int {
	n := int(today-s.Last) - 1
	if skip {
		n--
	}
	return max(n, 0)
}

// zoneSkip reports whether an answer at t in loc comes from a new zone that
// puts it on a later date than the previous zone would have, and the
// previous change of zone is at least zoneChangeQuiet old.
func (s Streak) zoneSkip(t time.Time, loc *time.Location) bool {
	if s.Current == 0 || s.Zone == "" || loc.String() == s.Zone {
		return false
	}
	if !s.ZoneChangedAt.IsZero() && t.Sub(s.ZoneChangedAt) < zoneChangeQuiet {
		return false
	}
	return DayOf(t, loc) > DayOf(t, time.FixedZone(s.Zone, s.ZoneOffset))
}
