package review

import (
	"fmt"
	"time"
)

// DayStartHour is the local wall-clock hour at which a learner's day
// begins. Late-night learners answer after midnight; starting the day at
// 04:00 (Anki's convention) keeps a 01:30 answer on the evening it belongs
// to.
const DayStartHour = 4

// Day is a civil date, counted in days since 1970-01-01. An integer keeps
// due dates comparable with <, cheap to sort and easy to step (d+1 is the
// next date), and it carries no zone: the zone was applied when the day
// was computed.
type Day int32

const secondsPerDay = 24 * 60 * 60

// DateOf is the Day of a calendar date; out-of-range months and days are
// normalised as time.Date does.
func DateOf(year int, month time.Month, day int) Day {
	u := time.Date(year, month, day, 0, 0, 0, 0, time.UTC).Unix()
	return Day(floorDiv(u, secondsPerDay))
}

// DayOf is the learner's local day at instant t in zone loc (UTC when loc
// is nil): the calendar date on the local clock, minus one if the local
// clock reads before DayStartHour. The boundary is read on the wall clock
// rather than by subtracting four hours of elapsed time, so on a DST day
// the day still starts at 04:00 as the learner sees it.
func DayOf(t time.Time, loc *time.Location) Day {
	if loc == nil {
		loc = time.UTC
	}
	lt := t.In(loc)
	y, m, d := lt.Date()
	day := DateOf(y, m, d)
	if lt.Hour() < DayStartHour {
		day--
	}
	return day
}

// ParseDay reads a "YYYY-MM-DD" date, the form the store keeps in its
// columns.
func ParseDay(s string) (Day, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return 0, fmt.Errorf("day %q is not a YYYY-MM-DD date", s)
	}
	return DateOf(t.Date()), nil
}

// Date splits the day into year, month and day of month, for callers that
// render it in their own words.
func (d Day) Date() (year int, month time.Month, day int) {
	return time.Unix(int64(d)*secondsPerDay, 0).UTC().Date()
}

// String is the "YYYY-MM-DD" form that ParseDay reads back and that sorts
// like the day itself.
func (d Day) String() string {
	y, m, dd := d.Date()
	return fmt.Sprintf("%04d-%02d-%02d", y, int(m), dd)
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}
