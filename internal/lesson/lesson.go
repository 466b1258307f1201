// Package lesson reads the Markdown lesson files admins write: it parses
// them with line numbers, validates them, and keeps the valid ones in a
// Library in delivery order.
package lesson

import (
	"fmt"
	"time"
)

// Lesson is one reading lesson: a news article with its summary,
// vocabulary and quiz.
type Lesson struct {
	// ID is the file name without ".md"; unique across the library.
	ID string
	// Path is the file the lesson was read from, as given to Load.
	Path string
	// Title is the headline.
	Title string
	// Level is the CEFR level (A1 … C2), or "" when the file gives none.
	Level string
	// Date orders delivery; the zero time when the lesson is undated.
	Date time.Time
	// Source is the URL of the original article, or "".
	Source string
	// Tags are free-form topics.
	Tags []string
	// Language is the article's language code (default "en").
	Language string
	// Gloss is the language of the translations (default "fr").
	Gloss string
	// Article is the text of the article, one plain-text paragraph each.
	Article []string
	// Summary is the Summary section, or the article's first sentences
	// when the file has none (then SummaryMade is true).
	Summary string
	// SummaryMade tells that Summary was made from the article.
	SummaryMade bool
	// Terms is the vocabulary, in file order.
	Terms []Term
	// Questions is the authored quiz, in file order.
	Questions []Question
}

// Term is a vocabulary entry: "- halt: paralyser, arrêter — a note".
type Term struct {
	// Term is the word or phrase as it is taught.
	Term string
	// Translations are its meanings in the gloss language.
	Translations []string
	// Note is the optional remark after " — ".
	Note string
	// Line is the line of the entry in its file.
	Line int
}

// Question is an authored quiz question with exactly one correct choice.
type Question struct {
	// Text is the question.
	Text string
	// Choices are its 2 to 6 answers, in file order.
	Choices []Choice
	// Explanation is shown after an answer; may be empty.
	Explanation string
	// Line is the line of the question in its file.
	Line int
}

// Choice is one answer to a question.
type Choice struct {
	// Text is the answer as shown on its button.
	Text string
	// Correct marks the right answer ("[x]").
	Correct bool
	// Line is the line of the choice in its file.
	Line int
}

// Correct returns the index of the question's correct choice.
func (q Question) Correct() int {
	for i, c := range q.Choices {
		if c.Correct {
			return i
		}
	}
	return -1
}

// Levels are the CEFR levels a lesson may declare, easiest first.
var Levels = []string{"A1", "A2", "B1", "B2", "C1", "C2"}

// Limits of a lesson's parts, chosen so every part fits every platform.
const (
	// MinChoices and MaxChoices bound the choices of a question.
	MinChoices, MaxChoices = 2, 6
	// MaxExplanation is the longest explanation, in characters; Telegram
	// shows it in a callback answer of at most 200.
	MaxExplanation = 200
	// MaxChoiceText is the longest choice, in characters: Discord's
	// button labels stop at 80.
	MaxChoiceText = 80
	// SummaryLength is about how long a summary made from the article is.
	SummaryLength = 400
)

// Problem is an error or a warning about a lesson file, with its line.
type Problem struct {
	// Path is the file; Line its 1-based line, or 0 for the whole path.
	Path string
	Line int
	// Message says what is wrong, in one line.
	Message string
	// Warning is true for problems that do not keep a lesson from loading.
	Warning bool
}

// String formats the problem as "path:line: message", with "warning: "
// before the message of a warning, as compilers do.
func (p Problem) String() string {
	kind := ""
	if p.Warning {
		kind = "warning: "
	}
	if p.Line <= 0 {
		return fmt.Sprintf("%s: %s%s", p.Path, kind, p.Message)
	}
	return fmt.Sprintf("%s:%d: %s%s", p.Path, p.Line, kind, p.Message)
}

// Errors counts the problems that are not warnings.
func Errors(problems []Problem) int {
	n := 0
	for _, p := range problems {
		if !p.Warning {
			n++
		}
	}
	return n
}
