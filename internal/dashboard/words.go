package dashboard

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/lessonbot/lessonbot/internal/chat"
	"github.com/lessonbot/lessonbot/internal/store"
)

// The Hardest words page lists wordsLimit questions with at least
// defaultMinAnswers first tries unless ?min= says otherwise.
const (
	wordsLimit        = 25
	defaultMinAnswers = 20
	maxMinAnswers     = 1_000_000
)

// wordsData is the content of the Hardest words page.
type wordsData struct {
	// Min is the fewest first tries a question needs to be listed.
	Min    int
	Notice string
	Rows   []wordRow
}

// wordRow is a question, hardest first.
type wordRow struct {
	Rank int
	// Word is the vocabulary term the question asks about, or the
	// question's text when it asks about none (IsWord false), or its key
	// when the library no longer has it.
	Word   string
	IsWord bool
	// LessonID and LessonTitle name its lesson.
	LessonID, LessonTitle string
	Answered, Correct     int
	Accuracy              string
	// Items counts the learners with the word in their review, Missed
	// those who got it by missing it; only for words.
	Items, Missed int
}

// words shows the questions with the lowest share right at the first
// try among those with at least ?min= first tries, with the word each
// asks about and the review items of that word.
func (s *Server) words(w http.ResponseWriter, r *http.Request, admin chat.User) {
	d := wordsData{Min: defaultMinAnswers}
	if asked := strings.TrimSpace(r.FormValue("min")); asked != "" {
		if n, err := strconv.Atoi(asked); err == nil && n >= 1 && n <= maxMinAnswers {
			d.Min = n
		} else {
			d.Notice = "The fewest answers is a whole number from 1; the page uses " + strconv.Itoa(defaultMinAnswers) + "."
		}
	}
	ctx := r.Context()
	hardest, err := s.opts.Store.HardestQuestions(ctx, d.Min, wordsLimit)
	if err != nil {
		s.trouble(w, r, "read the hardest questions", err)
		return
	}
	lib := s.library()
	quizzes := map[string]lessonQuiz{}
	var words []store.Word
	var wordRows []int
	for i, h := range hardest {
		qz, ok := quizzes[h.LessonID]
		if !ok {
			qz = quizOf(lib, h.LessonID)
			quizzes[h.LessonID] = qz
		}
		row := wordRow{Rank: i + 1, Word: h.QuestionKey, LessonID: h.LessonID, Answered: h.Answered, Correct: h.Correct}
		row.LessonTitle, _ = lessonTitle(lib, h.LessonID)
		row.Accuracy, _ = share(h.Correct, h.Answered)
		if q, ok := qz.question(h.QuestionKey); ok {
			row.Word = questionText(q)
			if q.Term != "" {
				row.Word, row.IsWord = q.Term, true
				words = append(words, store.Word{LessonID: h.LessonID, Term: q.Term})
				wordRows = append(wordRows, i)
			}
		}
		d.Rows = append(d.Rows, row)
	}
	items, err := s.opts.Store.ReviewItemCounts(ctx, words)
	if err != nil {
		s.trouble(w, r, "count the review items", err)
		return
	}
	for k, i := range wordRows {
		d.Rows[i].Items, d.Rows[i].Missed = items[k].Items, items[k].Missed
	}
	s.render(w, http.StatusOK, "words", page{Title: "Hardest words", Admin: &admin, Content: d})
}
