// Package export writes a learner's review items as files the learner can
// take elsewhere: a tab-separated file that Anki imports with its headers
// (deck, note type and tags already set), and an RFC 4180 CSV for
// spreadsheets. It does no I/O of its own beyond the io.Writer it is given,
// so the tutor decides where the bytes go (a chat attachment, a test buffer).
package export

import (
	"strings"
	"time"
	"unicode/utf8"
)

// File names and MIME types for the two exports. The adapters attach the
// bytes as documents; a stable name lets a learner who re-exports overwrite
// the old file, and the charset parameter keeps French accents readable in
// tools that would otherwise guess a legacy encoding.
const (
	AnkiFileName = "lessonbot-anki.txt"
	AnkiMIMEType = "text/plain; charset=utf-8"
	CSVFileName  = "lessonbot-words.csv"
	CSVMIMEType  = "text/csv; charset=utf-8"
)

// Item is one review item as the learner sees it, flattened from the store
// and the lesson library so this package needs neither. Zero values mean
// "unknown" and come out as empty cells: a new item has no stability or
// difficulty yet (FSRS never gives a stability of zero, and difficulty stays
// within 1–10), a known item has no due date.
type Item struct {
	// Term is the English word or phrase; together with LessonID it
	// identifies the item for the learner.
	Term string
	// Translations are the French glosses, in the lesson's order.
	Translations []string
	// Sentence is the article sentence that contains the term, shown in
	// full on the Anki card.
	Sentence string
	// LessonID, LessonTitle and Level describe the lesson the item comes
	// from; Level is a CEFR level such as "B1", or "" when the lesson has none.
	LessonID    string
	LessonTitle string
	Level       string
	// State is the scheduler state ("new", "learning", "review", "known").
	State string
	// Added and Due are instants; CSV prints their calendar day in the
	// learner's zone. A zero time prints an empty cell.
	Added time.Time
	Due   time.Time
	// Reviews and Lapses count graded reviews and forgotten ones.
	Reviews int
	Lapses  int
	// Stability is in days and Difficulty on FSRS's 1–10 scale; zero,
	// negative or non-finite values mean "not scheduled yet".
	Stability  float64
	Difficulty float64
	// LastResult is the last grade in words ("again", "good"), or "" when
	// the item was never reviewed.
	LastResult string
}

// validUTF8 replaces invalid byte sequences so every export is UTF-8 text,
// as both Anki and RFC 4180 consumers expect.
func validUTF8(s string) string {
	return strings.ToValidUTF8(s, string(utf8.RuneError))
}
