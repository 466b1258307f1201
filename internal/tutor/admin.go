package tutor

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/lessonbot/lessonbot/internal/chat"
	"github.com/lessonbot/lessonbot/internal/lesson"
	"github.com/lessonbot/lessonbot/internal/store"
	"github.com/lessonbot/lessonbot/internal/timezone"
)

// maxProblemLines is how many lesson problems a chat reply lists.
const maxProblemLines = 20

func (t *Tutor) stats(ctx context.Context, c *call) ([]chat.Message, error) {
	loc, _, ok := timezone.Lookup(t.settings.Zone)
	if !ok {
		loc = time.UTC
	}
	now := t.now().In(loc)
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, loc)
	subs, err := t.store.SubscriptionCounts(ctx)
	if err != nil {
		return nil, err
	}
	deliveries, err := t.store.DeliveryCounts(ctx, today)
	if err != nil {
		return nil, err
	}
	unknown, err := t.store.UnknownMessages(ctx, today)
	if err != nil {
		return nil, err
	}
	answers, err := t.store.AnswerCount(ctx, today)
	if err != nil {
		return nil, err
	}
	stats, err := t.store.QuestionStats(ctx)
	if err != nil {
		return nil, err
	}
	blocks := []chat.Block{{Kind: chat.Text, Text: say(c.lang, keyStats, counts(subs), counts(stateNames(c.lang, deliveries)), answers)}}
	if unknown > 0 {
		blocks = append(blocks, chat.Block{Kind: chat.Text, Text: say(c.lang, keyStatsUnknown, unknown)})
	}

	type total struct{ correct, answered int }
	perLesson := map[string]total{}
	accuracy := func(s store.QuestionStat) float64 { return float64(s.Correct) / float64(s.Answered) }
	hardest := -1
	for i, s := range stats {
		tot := perLesson[s.LessonID]
		perLesson[s.LessonID] = total{tot.correct + s.Correct, tot.answered + s.Answered}
		if s.Answered == 0 {
			continue
		}
		if hardest < 0 || accuracy(s) < accuracy(stats[hardest]) ||
			accuracy(s) == accuracy(stats[hardest]) && s.Answered > stats[hardest].Answered {
			hardest = i
		}
	}
	var lines []string
	for _, id := range sortedKeys(perLesson) {
		tot := perLesson[id]
		if tot.answered == 0 {
			continue
		}
		lines = append(lines, say(c.lang, keyStatsLesson, id, (tot.correct*100+tot.answered/2)/tot.answered, tot.answered))
	}
	if len(lines) > 0 {
		blocks = append(blocks, chat.Block{Kind: chat.Text, Text: strings.Join(lines, "\n")})
	}
	if hardest >= 0 {
		h := stats[hardest]
		blocks = append(blocks, chat.Block{Kind: chat.Text, Text: say(c.lang, keyStatsHardest, t.questionName(c.lang, h.QuestionKey), h.Correct, h.Answered)})
	}
	if problems := t.lessons.Problems(); len(problems) > 0 {
		blocks = append(blocks, chat.Block{Kind: chat.Text, Text: say(c.lang, keyStatsProblems) + "\n" + problemLines(problems)})
	}
	return []chat.Message{{Title: say(c.lang, keyStatsTitle), Blocks: blocks}}, nil
}

// stateKeys are the catalog names of the delivery states.
var stateKeys = map[store.DeliveryState]key{
	store.DeliveryPending:   keyStatePending,
	store.DeliverySending:   keyStateSending,
	store.DeliverySent:      keyStateSent,
	store.DeliveryFailed:    keyStateFailed,
	store.DeliveryUnknown:   keyStateUnknown,
	store.DeliveryExhausted: keyStateExhausted,
}

// stateNames renames delivery counts by state to the states' names in
// lang; a state the catalog does not know keeps its own name.
func stateNames(lang string, byState map[store.DeliveryState]int) map[string]int {
	named := make(map[string]int, len(byState))
	for state, n := range byState {
		name := string(state)
		if k, ok := stateKeys[state]; ok {
			name = say(lang, k)
		}
		named[name] += n
	}
	return named
}

// questionName shows a question key with its text when the lesson still
// has the question.
func (t *Tutor) questionName(lang, key string) string {
	if q, ok := t.question(key); ok {
		return fmt.Sprintf("%s (%s)", prompt(lang, q), q.LessonID)
	}
	return key
}

func problemLines(problems []lesson.Problem) string {
	var lines []string
	for i, p := range problems {
		if i == maxProblemLines {
			lines = append(lines, fmt.Sprintf("… (%d more: run lessonbot check)", len(problems)-i))
			break
		}
		lines = append(lines, p.String())
	}
	return strings.Join(lines, "\n")
}

func (t *Tutor) reload(ctx context.Context, c *call) ([]chat.Message, error) {
	res := t.lessons.Reload()
	blocks := []chat.Block{{Kind: chat.Text, Text: say(c.lang, keyReloaded, res.Summary())}}
	if len(res.Problems) > 0 {
		blocks = append(blocks, chat.Block{Kind: chat.Text, Text: problemLines(res.Problems)})
	}
	return []chat.Message{{Blocks: blocks}}, nil
}

func (t *Tutor) preview(ctx context.Context, c *call) ([]chat.Message, error) {
	lib := t.lessons.Library()
	if c.cmd.Args == "" {
		example := "port-strike"
		if lib.Len() > 0 {
			example = lib.Lessons()[0].ID
		}
		return text(say(c.lang, keyPreviewUsage, example)), nil
	}
	l, ok := lib.Lookup(strings.TrimSpace(c.cmd.Args))
	if !ok {
		return text(say(c.lang, keyPreviewUnknown, c.cmd.Args)), nil
	}
	return []chat.Message{LessonPost(l, c.lang)}, nil
}

func sortedKeys[K ~string, V any](m map[K]V) []K {
	keys := make([]K, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
	return keys
}

// dashboard sends an admin a sign-in link to the dashboard, where only
// they will see it: in a private chat, or as a Discord reply only its
// sender sees (the adapter makes admin commands' replies ephemeral). In a
// Telegram group it refuses, as the whole group would see the link.
// Telegram sends every message without a link preview, so no preview
// card shows the link's page.
func (t *Tutor) dashboard(ctx context.Context, c *call) ([]chat.Message, error) {
	if c.cmd.Kind != chat.Private && c.cmd.Chat.Platform != chat.Discord {
		return text(say(c.lang, keyDashboardPrivate)), nil
	}
	if t.links == nil {
		return text(say(c.lang, keyDashboardOff)), nil
	}
	link, err := t.links.LoginLink(ctx, c.cmd.From)
	if errors.Is(err, store.ErrTooManyLinks) {
		return text(say(c.lang, keyDashboardTooMany, store.MaxLinks, int(store.LinkWindow/time.Minute))), nil
	}
	if err != nil {
		return nil, err
	}
	return []chat.Message{{
		Title:  say(c.lang, keyDashboardTitle),
		Blocks: []chat.Block{{Kind: chat.Text, Text: say(c.lang, keyDashboardLink, int(store.LoginTTL/time.Minute), link)}},
	}}, nil
}
