package tutor

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/lessonbot/lessonbot/internal/chat"
	"github.com/lessonbot/lessonbot/internal/lesson"
	"github.com/lessonbot/lessonbot/internal/store"
	"github.com/lessonbot/lessonbot/internal/timezone"
)

// location returns the chat's time zone (UTC if the stored name went bad).
func location(sub store.Subscription) *time.Location {
	if loc, _, ok := timezone.Lookup(sub.Zone); ok {
		return loc
	}
	return time.UTC
}

// dayList writes a set of days as "every day" or "mon-fri", in lang.
func dayList(lang string, w store.Weekdays) string {
	if w == store.EveryDay {
		return say(lang, keyEveryDay)
	}
	return w.Format(func(d time.Weekday) string { return shortDay(lang, d) })
}

// onDays writes a set of days as "every day" or "on mon-fri", in lang.
func onDays(lang string, w store.Weekdays) string {
	if w == store.EveryDay {
		return say(lang, keyEveryDay)
	}
	return say(lang, keyOnDays, dayList(lang, w))
}

// shortDay is the three-letter name of d in lang, as /days accepts it.
func shortDay(lang string, d time.Weekday) string {
	if lang == "fr" {
		return frenchShortDays[d]
	}
	return strings.ToLower(d.String()[:3])
}

// daily returns the chat's schedule in its zone.
func daily(sub store.Subscription) store.Daily {
	return store.Daily{Hour: sub.Hour, Minute: sub.Minute, Weekdays: sub.Weekdays, Location: location(sub)}
}

func clock(sub store.Subscription) string { return fmt.Sprintf("%02d:%02d", sub.Hour, sub.Minute) }

func (t *Tutor) subscribe(ctx context.Context, c *call) ([]chat.Message, error) {
	fields := strings.Fields(c.cmd.Args)
	if len(fields) > 2 {
		return text(say(c.lang, keyBadSubscribe, c.cmd.Args)), nil
	}
	sub := c.sub
	haveTime, haveZone := false, false
	for _, f := range fields {
		if h, m, ok := parseClock(f); ok {
			if haveTime {
				return text(say(c.lang, keyBadSubscribe, c.cmd.Args)), nil
			}
			sub.Hour, sub.Minute, haveTime = h, m, true
			continue
		}
		if _, name, ok := timezone.Lookup(f); ok {
			if haveZone {
				return text(say(c.lang, keyBadSubscribe, c.cmd.Args)), nil
			}
			sub.Zone, haveZone = name, true
			continue
		}
		switch {
		case strings.Contains(f, ":") || strings.IndexFunc(f, func(r rune) bool { return r >= '0' && r <= '9' }) == 0:
			return text(say(c.lang, keyBadTime, f)), nil
		case strings.Contains(f, "/") || !haveZone:
			return text(say(c.lang, keyBadZone, f)), nil
		}
		return text(say(c.lang, keyBadSubscribe, c.cmd.Args)), nil
	}
	sub.Active = true
	sub.PausedUntil = time.Time{}
	c.sub = sub
	if err := t.save(ctx, c); err != nil {
		return nil, err
	}
	reply := say(c.lang, keySubscribed, clock(c.sub), c.sub.Zone, onDays(c.lang, c.sub.Weekdays))
	next, err := t.nextLine(ctx, c)
	if err != nil {
		return nil, err
	}
	return text(reply + "\n" + next), nil
}

// nextLine says when the chat's next lesson comes, and which.
func (t *Tutor) nextLine(ctx context.Context, c *call) (string, error) {
	if !c.sub.Active {
		return say(c.lang, keyNextLessonNever), nil
	}
	at := c.sub.NextUnpaused(daily(c.sub), t.now())
	if at.IsZero() {
		return say(c.lang, keyNextLessonNever), nil
	}
	l, err := t.nextLesson(ctx, c.sub)
	if err != nil {
		return "", err
	}
	when := formatWhen(c.lang, at.In(location(c.sub)))
	if l == nil {
		return say(c.lang, keyNextLessonNone, when), nil
	}
	return say(c.lang, keyNextLesson, l.Title, when), nil
}

// nextLesson returns the first lesson in library order that matches the
// chat's level and was never delivered to it, or nil.
func (t *Tutor) nextLesson(ctx context.Context, sub store.Subscription) (*lesson.Lesson, error) {
	delivered := map[string]bool{}
	if sub.ID != 0 {
		var err error
		if delivered, err = t.store.DeliveredLessons(ctx, sub.ID); err != nil {
			return nil, err
		}
	}
	for _, l := range t.lessons.Library().Lessons() {
		if delivered[l.ID] || (sub.Level != "" && l.Level != "" && l.Level != sub.Level) {
			continue
		}
		return l, nil
	}
	return nil, nil
}

func (t *Tutor) unsubscribe(ctx context.Context, c *call) ([]chat.Message, error) {
	if !c.sub.Active {
		return text(say(c.lang, keyNotSubscribed)), nil
	}
	c.sub.Active = false
	if err := t.save(ctx, c); err != nil {
		return nil, err
	}
	return text(say(c.lang, keyUnsubscribed)), nil
}

func (t *Tutor) pause(ctx context.Context, c *call) ([]chat.Message, error) {
	days, ok := parsePause(c.cmd.Args)
	if !ok {
		return text(say(c.lang, keyBadPause, c.cmd.Args)), nil
	}
	if !c.sub.Active {
		return text(say(c.lang, keyNotSubscribed)), nil
	}
	reply := say(c.lang, keyPausedForever)
	if days == 0 {
		c.sub.PausedUntil = forever
	} else {
		now := t.now().In(location(c.sub))
		c.sub.PausedUntil = time.Date(now.Year(), now.Month(), now.Day()+days, 0, 0, 0, 0, now.Location())
		reply = say(c.lang, keyPausedUntil, formatDay(c.lang, c.sub.PausedUntil))
	}
	if err := t.save(ctx, c); err != nil {
		return nil, err
	}
	return text(reply), nil
}

func (t *Tutor) resume(ctx context.Context, c *call) ([]chat.Message, error) {
	if !c.sub.Active {
		return text(say(c.lang, keyNotSubscribed)), nil
	}
	if c.sub.PausedUntil.IsZero() || !c.sub.PausedUntil.After(t.now()) {
		return text(say(c.lang, keyNotPaused)), nil
	}
	c.sub.PausedUntil = time.Time{}
	if err := t.save(ctx, c); err != nil {
		return nil, err
	}
	next, err := t.nextLine(ctx, c)
	if err != nil {
		return nil, err
	}
	return text(say(c.lang, keyResumed) + "\n" + next), nil
}

func (t *Tutor) showSettings(ctx context.Context, c *call) ([]chat.Message, error) {
	sub := c.sub
	level := sub.Level
	if level == "" {
		level = say(c.lang, keyAnyLevel)
	}
	days := dayList(c.lang, sub.Weekdays)
	state := say(c.lang, keySettingsInactive)
	if sub.Active {
		state = say(c.lang, keySettingsActive)
	}
	lines := []string{
		state,
		fmt.Sprintf("/time: %s", clock(sub)),
		fmt.Sprintf("/timezone: %s", sub.Zone),
		fmt.Sprintf("/days: %s", days),
		fmt.Sprintf("/level: %s", level),
		fmt.Sprintf("/language: %s", c.lang),
	}
	switch {
	case !sub.PausedUntil.IsZero() && sub.PausedUntil.Equal(forever):
		lines = append(lines, say(c.lang, keySettingsForever))
	case sub.PausedUntil.After(t.now()):
		lines = append(lines, say(c.lang, keySettingsPaused, formatDay(c.lang, sub.PausedUntil.In(location(sub)))))
	}
	next, err := t.nextLine(ctx, c)
	if err != nil {
		return nil, err
	}
	lines = append(lines, next)
	return []chat.Message{{Title: say(c.lang, keySettings), Blocks: []chat.Block{{Kind: chat.Text, Text: strings.Join(lines, "\n")}}}}, nil
}

func (t *Tutor) setTime(ctx context.Context, c *call) ([]chat.Message, error) {
	if c.cmd.Args == "" {
		return text(say(c.lang, keyNoArgs, "time", "/time 07:30")), nil
	}
	h, m, ok := parseClock(c.cmd.Args)
	if !ok {
		return text(say(c.lang, keyBadTime, c.cmd.Args)), nil
	}
	c.sub.Hour, c.sub.Minute = h, m
	if err := t.save(ctx, c); err != nil {
		return nil, err
	}
	return t.withNext(ctx, c, say(c.lang, keyTimeSet, clock(c.sub), c.sub.Zone))
}

func (t *Tutor) setZone(ctx context.Context, c *call) ([]chat.Message, error) {
	if c.cmd.Args == "" {
		return text(say(c.lang, keyNoArgs, "timezone", "/timezone Europe/Paris")), nil
	}
	_, name, ok := timezone.Lookup(c.cmd.Args)
	if !ok {
		return text(say(c.lang, keyBadZone, c.cmd.Args)), nil
	}
	c.sub.Zone = name
	if err := t.save(ctx, c); err != nil {
		return nil, err
	}
	return t.withNext(ctx, c, say(c.lang, keyZoneSet, name, clock(c.sub)))
}

func (t *Tutor) setDays(ctx context.Context, c *call) ([]chat.Message, error) {
	if c.cmd.Args == "" {
		return text(say(c.lang, keyNoArgs, "days", say(c.lang, keyDaysExample))), nil
	}
	w, ok := parseDays(c.cmd.Args)
	if !ok {
		return text(say(c.lang, keyBadDays, c.cmd.Args)), nil
	}
	c.sub.Weekdays = w
	if err := t.save(ctx, c); err != nil {
		return nil, err
	}
	return t.withNext(ctx, c, say(c.lang, keyDaysSet, dayList(c.lang, w)))
}

func (t *Tutor) setLevel(ctx context.Context, c *call) ([]chat.Message, error) {
	if c.cmd.Args == "" {
		return text(say(c.lang, keyNoArgs, "level", "/level B1")), nil
	}
	level, ok := parseLevel(c.cmd.Args)
	if !ok {
		return text(say(c.lang, keyBadLevel, c.cmd.Args)), nil
	}
	c.sub.Level = level
	if err := t.save(ctx, c); err != nil {
		return nil, err
	}
	shown := level
	if shown == "" {
		shown = say(c.lang, keyAnyLevel)
	}
	return t.withNext(ctx, c, say(c.lang, keyLevelSet, shown))
}

func (t *Tutor) setLanguage(ctx context.Context, c *call) ([]chat.Message, error) {
	if c.cmd.Args == "" {
		return text(say(c.lang, keyNoArgs, "language", "/language fr")), nil
	}
	lang := strings.ToLower(strings.TrimSpace(c.cmd.Args))
	if _, ok := catalog[lang]; !ok {
		return text(say(c.lang, keyBadLanguage, c.cmd.Args)), nil
	}
	c.sub.Language, c.lang = lang, lang
	if err := t.save(ctx, c); err != nil {
		return nil, err
	}
	return text(say(lang, keyLanguageSet)), nil
}

// withNext adds the next-lesson line to a settings reply of a subscribed
// chat.
func (t *Tutor) withNext(ctx context.Context, c *call, reply string) ([]chat.Message, error) {
	if !c.sub.Active {
		return text(reply), nil
	}
	next, err := t.nextLine(ctx, c)
	if err != nil {
		return nil, err
	}
	return text(reply + "\n" + next), nil
}
