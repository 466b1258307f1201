package tutor

import (
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/lessonbot/lessonbot/internal/lesson"
	"github.com/lessonbot/lessonbot/internal/store"
)

var clockPattern = regexp.MustCompile(`^([01]?[0-9]|2[0-3]):([0-5][0-9])$`)

// parseClock reads a time of day, "07:30" or "7:30".
func parseClock(s string) (hour, minute int, ok bool) {
	m := clockPattern.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return 0, 0, false
	}
	hour, _ = strconv.Atoi(m[1])
	minute, _ = strconv.Atoi(m[2])
	return hour, minute, true
}

var dayNames = map[string]time.Weekday{
	"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday,
	"sunday": time.Sunday, "monday": time.Monday, "tuesday": time.Tuesday, "wednesday": time.Wednesday,
	"thursday": time.Thursday, "friday": time.Friday, "saturday": time.Saturday,
	"tues": time.Tuesday, "thur": time.Thursday, "thurs": time.Thursday,
	// French, so that a chat in French can answer in its own words; no
	// name is shared with English.
	"dim": time.Sunday, "lun": time.Monday, "mar": time.Tuesday, "mer": time.Wednesday,
	"jeu": time.Thursday, "ven": time.Friday, "sam": time.Saturday,
	"dimanche": time.Sunday, "lundi": time.Monday, "mardi": time.Tuesday, "mercredi": time.Wednesday,
	"jeudi": time.Thursday, "vendredi": time.Friday, "samedi": time.Saturday,
}

// parseDays reads a set of weekdays: "every", "weekdays", "weekends",
// or a list of days and ranges such as "mon-fri", "sat,sun",
// "mon,wed,fri" (a range may wrap: "fri-mon"), in English or French
// ("tous", "lun-ven", "sam,dim").
func parseDays(s string) (store.Weekdays, bool) {
	s = strings.ToLower(strings.TrimSpace(s))
	switch s {
	case "every", "everyday", "every day", "daily", "all", "tous", "tous les jours", "chaque jour":
		return store.EveryDay, true
	case "weekdays":
		s = "mon-fri"
	case "weekend", "weekends", "week-end", "week-ends":
		s = "sat,sun"
	}
	var w store.Weekdays
	for _, part := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' }) {
		from, to, isRange := strings.Cut(part, "-")
		a, ok := dayNames[from]
		if !ok {
			return 0, false
		}
		b := a
		if isRange {
			if b, ok = dayNames[to]; !ok {
				return 0, false
			}
		}
		for d := a; ; d = (d + 1) % 7 {
			w |= 1 << d
			if d == b {
				break
			}
		}
	}
	return w, w != 0
}

// parseLevel reads a CEFR level or "any" (returned as "").
func parseLevel(s string) (string, bool) {
	s = strings.ToUpper(strings.TrimSpace(s))
	if s == "ANY" || s == "ALL" {
		return "", true
	}
	for _, l := range lesson.Levels {
		if s == l {
			return s, true
		}
	}
	return "", false
}

// maxPauseDays is the longest numbered pause; longer ones are "until
// /resume".
const maxPauseDays = 365

// forever is the PausedUntil of a pause that lasts until /resume.
var forever = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)

// parsePause reads "/pause [days]": no number pauses until /resume.
func parsePause(s string) (days int, ok bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, true
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > maxPauseDays {
		return 0, false
	}
	return n, true
}
