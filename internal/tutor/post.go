// Package tutor holds lessonbot's use cases: one method per command and
// one for quiz answers. It composes platform-neutral chat messages that
// the adapters render.
package tutor

import (
	"github.com/lessonbot/lessonbot/internal/chat"
	"github.com/lessonbot/lessonbot/internal/lesson"
)

// ReadButtonPrefix starts the data of a "Full article" button; the lesson
// id follows it.
const ReadButtonPrefix = "read:"

// LessonPost composes a lesson's daily post in the UI language lang: the
// title, the level, the summary, the vocabulary with hidden translations,
// the source link and a "Full article" button.
func LessonPost(l *lesson.Lesson, lang string) chat.Message {
	m := chat.Message{Title: l.Title, URL: l.Source}
	if l.Source != "" {
		m.URLLabel = say(lang, keySource)
	}
	if l.Level != "" {
		m.Meta = say(lang, keyLevel, l.Level)
	}
	m.Blocks = append(m.Blocks, chat.Block{Kind: chat.Text, Text: l.Summary})
	if len(l.Terms) > 0 {
		vocab := chat.Block{Kind: chat.Vocabulary, Label: say(lang, keyVocabulary)}
		for _, t := range l.Terms {
			vocab.Terms = append(vocab.Terms, chat.Term{Term: t.Term, Translations: t.Translations, Note: t.Note})
		}
		m.Blocks = append(m.Blocks, vocab)
	}
	m.Buttons = []chat.Button{{Label: say(lang, keyFullArticle), Data: ReadButtonPrefix + l.ID}}
	return m
}
