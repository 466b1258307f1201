package store

import (
	"fmt"
	"time"
)

// Daily is the delivery schedule of a subscription: a time of day in a
// zone, on some weekdays. Its Next method makes it a robfig/cron Schedule.
type Daily struct {
	Hour, Minute int
	Weekdays     Weekdays
	Location     *time.Location
}

// Daily returns the subscription's schedule (without its pause).
func (s Subscription) Daily() (Daily, error) {
	loc, err := time.LoadLocation(s.Zone)
	if err != nil || s.Zone == "" || s.Zone == "Local" {
		return Daily{}, fmt.Errorf("store: subscription %d: bad time zone %q", s.ID, s.Zone)
	}
	return Daily{Hour: s.Hour, Minute: s.Minute, Weekdays: s.Weekdays, Location: loc}, nil
}

// On returns the slot of the local day that holds t. On a spring-forward
// day a time inside the gap becomes the first valid minute after it
// (02:30 in a 02:00–03:00 gap is 03:00); on a fall-back day a repeated
// time is the same single instant whichever way it is reached.
func (d Daily) On(t time.Time) time.Time {
	local := t.In(d.Location)
	y, m, day := local.Date()
	for k := 0; k <= 24*60; k++ {
		wall := d.Hour*60 + d.Minute + k
		s := time.Date(y, m, day, 0, wall, 0, 0, d.Location)
		if s.Hour()*60+s.Minute() == wall%(24*60) {
			return s
		}
	}
	return time.Date(y, m, day, d.Hour, d.Minute, 0, 0, d.Location)
}

// Next returns the first slot strictly after t, or the zero time when the
// schedule has no weekday.
func (d Daily) Next(t time.Time) time.Time {
	if d.Weekdays&EveryDay == 0 {
		return time.Time{}
	}
	local := t.In(d.Location)
	for i := 0; i <= 8; i++ {
		noon := time.Date(local.Year(), local.Month(), local.Day()+i, 12, 0, 0, 0, d.Location)
		if !d.Weekdays.Has(noon.Weekday()) {
			continue
		}
		if s := d.On(noon); s.After(t) {
			return s
		}
	}
	return time.Time{}
}

// Prev returns the latest slot at or before t, or the zero time when the
// schedule has no weekday.
func (d Daily) Prev(t time.Time) time.Time {
	if d.Weekdays&EveryDay == 0 {
		return time.Time{}
	}
	local := t.In(d.Location)
	for i := 0; i <= 8; i++ {
		noon := time.Date(local.Year(), local.Month(), local.Day()-i, 12, 0, 0, 0, d.Location)
		if !d.Weekdays.Has(noon.Weekday()) {
			continue
		}
		if s := d.On(noon); !s.After(t) {
			return s
		}
	}
	return time.Time{}
}

// NextUnpaused returns the first slot strictly after t that is not
// before the subscription's pause ends, or the zero time when there is
// none within a year (a pause until /resume).
func (s Subscription) NextUnpaused(d Daily, t time.Time) time.Time {
	for i := 0; i < 400; i++ {
		t = d.Next(t)
		if t.IsZero() || s.PausedUntil.IsZero() || !t.Before(s.PausedUntil) {
			return t
		}
	}
	return time.Time{}
}
