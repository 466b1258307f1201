package tutor

import (
	"context"
	"strings"
	"time"

	"github.com/lessonbot/lessonbot/internal/chat"
	"github.com/lessonbot/lessonbot/internal/store"
)

// summary is the weekly summary of a chat at slot, covering the seven days
// before it. In a private chat: its learner's lessons, answers and
// accuracy, words learned and due, streak and freezes. Elsewhere: the
// week's top 3, the word the members missed most, the lessons delivered.
func (t *Tutor) summary(ctx context.Context, sub store.Subscription, slot time.Time) ([]chat.Message, error) {
	lang := t.language(sub)
	from := slot.AddDate(0, 0, -7)
	lessons, err := t.store.LessonsSent(ctx, sub.ID, from, slot)
	if err != nil {
		return nil, err
	}
	day := learnerDay(slot, sub)
	if sub.Kind != chat.Private {
		top, err := t.store.Leaderboard(ctx, sub.Address.Key(), store.WeekOf(slot, weekZone(sub)), 3)
		if err != nil {
			return nil, err
		}
		missed := say(lang, keySummaryNoMiss)
		if w, ok, err := t.store.MostMissed(ctx, sub.Address.Key(), day-7); err != nil {
			return nil, err
		} else if ok {
			missed = w.Term
		}
		return []chat.Message{{Title: say(lang, keySummaryGroup), Blocks: []chat.Block{{Kind: chat.Text,
			Text: say(lang, keySummaryGroupTxt, board(lang, top), missed, lessons)}}}}, nil
	}
	answered, correct, err := t.store.ChatAnswers(ctx, sub.Address.Key(), from, slot)
	if err != nil {
		return nil, err
	}
	pct := 0
	if answered > 0 {
		pct = (correct*100 + answered/2) / answered
	}
	var status store.ReviewSummary
	streak := say(lang, keyStreakFreezes, dayCount(lang, 0), freezeCount(lang, 0))
	if learner, ok, err := t.learnerOf(ctx, sub); err != nil {
		return nil, err
	} else if ok {
		if status, err = t.store.ReviewStatus(ctx, learner, day, learnedDays); err != nil {
			return nil, err
		}
		if streak, err = t.streakText(ctx, learner, lang, slot, location(sub)); err != nil {
			return nil, err
		}
	}
	return []chat.Message{{Title: say(lang, keySummaryTitle), Blocks: []chat.Block{{Kind: chat.Text,
		Text: say(lang, keySummaryPrivate, lessons, answered, pct, status.Learned, status.Due, streak)}}}}, nil
}

// streakText writes the learner's streak as it stands at now in loc, with
// the freezes held: "5 days (1 freeze held)".
func (t *Tutor) streakText(ctx context.Context, learner int64, lang string, now time.Time, loc *time.Location) (string, error) {
	st, err := t.store.LearnerStreak(ctx, learner)
	if err != nil {
		return "", err
	}
	days, freezes := fromStoreStreak(st).At(now, loc)
	return say(lang, keyStreakFreezes, dayCount(lang, days), freezeCount(lang, freezes)), nil
}

// setSummary is /summary on|off.
func (t *Tutor) setSummary(ctx context.Context, c *call) ([]chat.Message, error) {
	var on bool
	switch strings.ToLower(strings.TrimSpace(c.cmd.Args)) {
	case "on", "oui", "yes":
		on = true
	case "off", "non", "no":
		on = false
	case "":
		return t.summaryState(c), nil
	default:
		return text(say(c.lang, keyBadSummary)), nil
	}
	c.sub.Summary = &on
	if err := t.save(ctx, c); err != nil {
		return nil, err
	}
	return t.summaryState(c), nil
}

// summaryState says whether the chat gets the weekly summary, and when.
func (t *Tutor) summaryState(c *call) []chat.Message {
	if !c.sub.SummaryOn() {
		return text(say(c.lang, keySummaryOff))
	}
	return text(say(c.lang, keySummaryOn, dayName(c.lang, t.settings.SummaryDay), clock(c.sub)))
}

// dayName writes a weekday in lang, lower-case in French.
func dayName(lang string, d time.Weekday) string {
	if lang == "fr" {
		return frenchDays[d]
	}
	return d.String()
}
