package tutor

import (
	"bytes"
	"context"
	"errors"
	"strings"

	"github.com/lessonbot/lessonbot/internal/chat"
	"github.com/lessonbot/lessonbot/internal/export"
	"github.com/lessonbot/lessonbot/internal/lesson"
	"github.com/lessonbot/lessonbot/internal/store"
)

// deleteData is the press data of the button that confirms /deletemydata:
// it deletes the data of whoever presses it.
const deleteData = "delete:confirm"

// export is /export [csv]: the asker's words as an Anki file, or a CSV for
// a spreadsheet. Words are personal: in a Telegram group it asks for a
// private chat (on Discord the reply is only the asker's to see).
func (t *Tutor) export(ctx context.Context, c *call) ([]chat.Message, error) {
	format := strings.ToLower(strings.TrimSpace(c.cmd.Args))
	if format != "" && format != "csv" && format != "anki" {
		return text(say(c.lang, keyBadExport)), nil
	}
	if c.cmd.From.ID == "" || c.cmd.Kind != chat.Private && c.cmd.Chat.Platform != chat.Discord {
		return text(say(c.lang, keyExportPrivate)), nil
	}
	learner, err := t.store.FindLearner(ctx, c.cmd.From)
	if errors.Is(err, store.ErrNotFound) {
		return text(say(c.lang, keyExportNone)), nil
	}
	if err != nil {
		return nil, err
	}
	items, err := t.store.Items(ctx, learner)
	if err != nil {
		return nil, err
	}
	if len(items) == 0 {
		return text(say(c.lang, keyExportNone)), nil
	}
	lib := t.lessons.Library()
	loc := location(c.sub)
	rows := make([]export.Item, 0, len(items))
	for _, it := range items {
		row := export.Item{
			Term: it.Term, LessonID: it.LessonID, State: exportState(it), Added: it.AddedAt,
			Reviews: it.Reps, Lapses: it.Lapses, Stability: it.Stability, Difficulty: it.Difficulty,
			LastResult: it.LastResult,
		}
		if it.State != store.ItemKnown {
			row.Due = dayTime(it.Due, c.sub)
		}
		if l, ok := lib.Lookup(it.LessonID); ok {
			row.LessonTitle, row.Level = l.Title, l.Level
			row.Sentence = sentenceOf(l, it.Term)
			for _, term := range l.Terms {
				if term.Term == it.Term {
					row.Translations = term.Translations
				}
			}
		}
		rows = append(rows, row)
	}
	var buf bytes.Buffer
	file := &chat.File{Name: export.AnkiFileName, MIME: export.AnkiMIMEType}
	caption := say(c.lang, keyExportAnki, wordCount(c.lang, len(rows)))
	if format == "csv" {
		file = &chat.File{Name: export.CSVFileName, MIME: export.CSVMIMEType}
		caption = say(c.lang, keyExportCSV, wordCount(c.lang, len(rows)))
		err = export.CSV(&buf, rows, loc)
	} else {
		err = export.AnkiTSV(&buf, rows)
	}
	if err != nil {
		return nil, err
	}
	file.Data = buf.Bytes()
	return []chat.Message{{Blocks: []chat.Block{{Kind: chat.Text, Text: caption}}, File: file}}, nil
}

// exportState names an item's state for a learner: new, learning,
// learned (stable for learnedDays) or known.
func exportState(it store.ReviewItem) string {
	switch {
	case it.State == store.ItemKnown:
		return "known"
	case it.State == store.ItemNew:
		return "new"
	case it.Stability >= learnedDays:
		return "learned"
	}
	return "learning"
}

// sentenceOf returns the article's sentence that uses the term, with the
// term in it, or "".
func sentenceOf(l *lesson.Lesson, term string) string {
	cloze, ok := lesson.Cloze(l.Article, term)
	if !ok {
		return ""
	}
	// Cloze blanks the term as the article writes it; put a form of the
	// term back, for a card shows the sentence whole.
	return strings.Replace(cloze, lesson.Blank, term, 1)
}

// deleteMyData is /deletemydata: it asks for confirmation, by a button or
// "/deletemydata confirm", then deletes everything kept about the asker.
func (t *Tutor) deleteMyData(ctx context.Context, c *call) ([]chat.Message, error) {
	if c.cmd.From.ID == "" {
		return text(say(c.lang, keyDeletedNothing)), nil
	}
	switch strings.ToLower(strings.TrimSpace(c.cmd.Args)) {
	case "":
		return []chat.Message{{
			Blocks:  []chat.Block{{Kind: chat.Text, Text: say(c.lang, keyDeleteAsk)}},
			Buttons: []chat.Button{{Label: say(c.lang, keyDeleteButton), Data: deleteData}},
		}}, nil
	case "confirm":
		return t.deleteUser(ctx, c.cmd.From, c.lang)
	}
	return text(say(c.lang, keyBadDelete)), nil
}

// deleteUser deletes everything kept about u and says what went.
func (t *Tutor) deleteUser(ctx context.Context, u chat.User, lang string) ([]chat.Message, error) {
	del, err := t.store.DeleteLearner(ctx, u)
	if err != nil {
		return nil, err
	}
	if del.Total() == 0 {
		return text(say(lang, keyDeletedNothing)), nil
	}
	// The log names no one: the ids were just erased on purpose.
	t.log.Info("a learner deleted their data", "rows", del.Total())
	if t.changed != nil {
		for _, id := range del.SubscriptionIDs {
			t.changed(store.Subscription{ID: id})
		}
	}
	return text(say(lang, keyDeleted, del.Answers, del.Items, del.StreakDays, del.Learners, del.Subscriptions, del.Deliveries)), nil
}
