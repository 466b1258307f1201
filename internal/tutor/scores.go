package tutor

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/lessonbot/lessonbot/internal/chat"
	"github.com/lessonbot/lessonbot/internal/store"
)

func (t *Tutor) score(ctx context.Context, c *call) ([]chat.Message, error) {
	name := c.cmd.From.Name
	if c.cmd.From.Platform == chat.Console {
		// The person at the terminal: "you", in the chat's language.
		name = say(c.lang, keyYou)
	}
	if c.cmd.From.ID == "" {
		return text(say(c.lang, keyScoreNobody)), nil
	}
	learner, err := t.store.Learner(ctx, c.cmd.From)
	if err != nil {
		return nil, err
	}
	correct, answered, err := t.store.Score(ctx, learner)
	if err != nil {
		return nil, err
	}
	var blocks []chat.Block
	if answered == 0 {
		blocks = append(blocks, chat.Block{Kind: chat.Text, Text: say(c.lang, keyScoreNone, name)})
	} else {
		streak, err := t.streakText(ctx, learner, c.lang, t.now(), location(c.sub))
		if err != nil {
			return nil, err
		}
		pct := (correct*100 + answered/2) / answered
		blocks = append(blocks, chat.Block{Kind: chat.Text, Text: say(c.lang, keyScore, name, correct, answered, pct, streak)})
	}
	if c.cmd.Kind != chat.Private {
		ranks, err := t.store.Leaderboard(ctx, c.cmd.Chat.Key(), store.AllTime, 5)
		if err != nil {
			return nil, err
		}
		blocks = append(blocks, chat.Block{Kind: chat.Text, Text: say(c.lang, keyTopChat) + "\n" + board(c.lang, ranks)})
	}
	return []chat.Message{{Blocks: blocks}}, nil
}

func board(lang string, ranks []store.Rank) string {
	if len(ranks) == 0 {
		return say(lang, keyBoardEmpty)
	}
	lines := make([]string, len(ranks))
	for i, r := range ranks {
		lines[i] = say(lang, keyBoardLine, i+1, r.Name, r.Correct, r.Answered)
	}
	return strings.Join(lines, "\n")
}

// weekZone is the zone a chat's weeks run in: its own, or UTC for a chat
// the bot keeps no row of (its answers count there, and a recount agrees).
func weekZone(sub store.Subscription) *time.Location {
	if sub.ID == 0 {
		return time.UTC
	}
	return location(sub)
}

func (t *Tutor) leaderboard(ctx context.Context, c *call) ([]chat.Message, error) {
	week, err := t.store.Leaderboard(ctx, c.cmd.Chat.Key(), store.WeekOf(t.now(), weekZone(c.sub)), 10)
	if err != nil {
		return nil, err
	}
	all, err := t.store.Leaderboard(ctx, c.cmd.Chat.Key(), store.AllTime, 10)
	if err != nil {
		return nil, err
	}
	return []chat.Message{{Blocks: []chat.Block{
		{Kind: chat.Text, Text: say(c.lang, keyBoardWeek) + "\n" + board(c.lang, week)},
		{Kind: chat.Text, Text: say(c.lang, keyBoardAll) + "\n" + board(c.lang, all)},
	}}}, nil
}

// counts writes a map as "a 1, b 2" in key order, or "0".
func counts[K ~string](m map[K]int) string {
	var parts []string
	for _, k := range sortedKeys(m) {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	if len(parts) == 0 {
		return "0"
	}
	return strings.Join(parts, ", ")
}
