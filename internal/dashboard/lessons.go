package dashboard

import (
	"fmt"
	"html/template"
	"net/http"
	"slices"

	"github.com/lessonbot/lessonbot/internal/chart"
	"github.com/lessonbot/lessonbot/internal/chat"
	"github.com/lessonbot/lessonbot/internal/lesson"
	"github.com/lessonbot/lessonbot/internal/quiz"
	"github.com/lessonbot/lessonbot/internal/store"
)

// lessonsData is the content of the Lessons page.
type lessonsData struct {
	Chart template.HTML
	// Rows are the lessons in service in delivery order, then those no
	// longer in service that have figures, by id.
	Rows []lessonRow
	// Gone counts the rows of lessons no longer in service.
	Gone int
}

// lessonRow is the figures of one lesson.
type lessonRow struct {
	// N numbers the row, as its bar in the chart.
	N         int
	ID, Title string
	InLibrary bool
	// Sent, Unknown and Failed count its deliveries; Answered and Correct
	// the first tries at its questions.
	Sent, Unknown, Failed int
	Answered, Correct     int
	// Accuracy is Correct of Answered, "–" with no answer; Median the
	// median time from the lesson's post to an answer, "–" with none,
	// and Delays the answers it is the median of.
	Accuracy, Median string
	Delays           int
}

// newLessonRow makes the row of st.
func newLessonRow(lib *lesson.Library, st store.LessonStat) lessonRow {
	row := lessonRow{ID: st.LessonID, Sent: st.Sent, Unknown: st.Unknown, Failed: st.Failed,
		Answered: st.Answered, Correct: st.Correct, Delays: st.Delays, Median: "–"}
	row.Title, row.InLibrary = lessonTitle(lib, st.LessonID)
	row.Accuracy, _ = share(st.Correct, st.Answered)
	if st.Delays > 0 {
		row.Median = span(st.MedianDelay)
	}
	return row
}

// lessons shows how each lesson fares, with a bar per lesson of the
// accuracy of the first tries at its questions.
func (s *Server) lessons(w http.ResponseWriter, r *http.Request, admin chat.User) {
	stats, err := s.opts.Store.LessonStats(r.Context())
	if err != nil {
		s.trouble(w, r, "read the lessons' figures", err)
		return
	}
	lib := s.library()
	byID := map[string]store.LessonStat{}
	for _, st := range stats {
		byID[st.LessonID] = st
	}
	var d lessonsData
	for _, l := range lib.Lessons() {
		st, ok := byID[l.ID]
		if !ok {
			st = store.LessonStat{LessonID: l.ID}
		}
		delete(byID, l.ID)
		d.Rows = append(d.Rows, newLessonRow(lib, st))
	}
	for _, st := range stats {
		if _, left := byID[st.LessonID]; left {
			d.Rows = append(d.Rows, newLessonRow(lib, st))
			d.Gone++
		}
	}
	bars := make([]chart.Bar, len(d.Rows))
	for i := range d.Rows {
		row := &d.Rows[i]
		row.N = i + 1
		_, v := share(row.Correct, row.Answered)
		bars[i] = chart.Bar{Label: fmt.Sprintf("%d. %s", row.N, row.Title), Value: v, Note: plural(row.Answered, "first try", "first tries")}
	}
	d.Chart = chart.Bars("Accuracy of the first tries at each lesson's questions", bars, "%")
	s.render(w, http.StatusOK, "lessons", page{Title: "Lessons", Admin: &admin, Content: d})
}

// reportData is the content of a lesson's report page.
type reportData struct {
	Lesson lessonRow
	Chart  template.HTML
	// Questions are the questions asked, in the order asked, then those
	// with answers that the lesson no longer asks.
	Questions []questionRow
}

// questionRow is how one question of a lesson fares.
type questionRow struct {
	// Text is the question as asked, or its key when the lesson no
	// longer has it; Kind says what it asks.
	Text, Kind string
	Known      bool
	// Answered and Correct count the first tries; Accuracy is their
	// ratio.
	Answered, Correct int
	Accuracy          string
	// Wrong is the wrong choice picked most often, "" when none was;
	// WrongShare its share of the first tries.
	Wrong           string
	WrongN          int
	WrongShare      string
	accuracyPercent float64
}

// kindOf says what a question asks, for the report.
func kindOf(q quiz.Question) string {
	switch q.Kind {
	case quiz.Meaning:
		return "meaning of a word"
	case quiz.Reverse:
		return "word for a meaning"
	case quiz.Recall:
		return "review"
	}
	return "question"
}

// report shows one lesson's questions: the share right at the first try
// and the wrong choice picked most often.
func (s *Server) report(w http.ResponseWriter, r *http.Request, admin chat.User) {
	id := r.PathValue("id")
	if !lesson.ValidID(id) {
		s.notFound(w, r)
		return
	}
	ctx := r.Context()
	reports, err := s.opts.Store.LessonReport(ctx, id)
	if err != nil {
		s.trouble(w, r, "read the lesson's questions", err)
		return
	}
	stats, err := s.opts.Store.LessonStats(ctx)
	if err != nil {
		s.trouble(w, r, "read the lessons' figures", err)
		return
	}
	lib := s.library()
	q := quizOf(lib, id)
	i := slices.IndexFunc(stats, func(st store.LessonStat) bool { return st.LessonID == id })
	if q.lesson == nil && i < 0 && len(reports) == 0 {
		s.say(w, http.StatusNotFound, "Not found", fmt.Sprintf("There is no lesson %q, in service or with figures.", id), "", &admin)
		return
	}
	st := store.LessonStat{LessonID: id}
	if i >= 0 {
		st = stats[i]
	}
	d := reportData{Lesson: newLessonRow(lib, st)}

	byKey := map[string]store.QuestionReport{}
	for _, rep := range reports {
		byKey[rep.QuestionKey] = rep
	}
	// The questions asked now, then those of a longer quiz asked before
	// that have answers, then the answered ones the lesson no longer has.
	for n, qq := range q.order {
		rep, answered := byKey[qq.Key]
		if n >= s.quizLength() && !answered {
			continue
		}
		d.Questions = append(d.Questions, newQuestionRow(questionText(qq), kindOf(qq), &qq, rep))
		delete(byKey, qq.Key)
	}
	for _, rep := range reports {
		if _, left := byKey[rep.QuestionKey]; left {
			d.Questions = append(d.Questions, newQuestionRow(rep.QuestionKey, "no longer in the lesson", nil, rep))
		}
	}
	bars := make([]chart.Bar, len(d.Questions))
	for i, row := range d.Questions {
		bars[i] = chart.Bar{Label: fmt.Sprintf("%d. %s", i+1, row.Text), Value: row.accuracyPercent,
			Note: plural(row.Answered, "first try", "first tries")}
	}
	d.Chart = chart.Bars("Share right at the first try, by question", bars, "%")
	s.render(w, http.StatusOK, "report", page{Title: d.Lesson.Title, Section: "Lessons", Admin: &admin, Content: d})
}

// quizLength is how many questions a quiz has now (config
// quiz.questions), or 3.
func (s *Server) quizLength() int {
	if s.opts.Questions > 0 {
		return s.opts.Questions
	}
	return 3
}

// newQuestionRow makes the row of a question (nil when the library no
// longer has it) from its report.
func newQuestionRow(text, kind string, q *quiz.Question, rep store.QuestionReport) questionRow {
	row := questionRow{Text: text, Kind: kind, Known: q != nil, Answered: rep.Answered, Correct: rep.Correct}
	row.Accuracy, row.accuracyPercent = share(rep.Correct, rep.Answered)
	if c, ok := rep.MostChosenWrong(); ok {
		row.WrongN = c.Answered
		row.WrongShare, _ = share(c.Answered, rep.Answered)
		row.Wrong = fmt.Sprintf("choice %d", c.Choice+1)
		if q != nil && c.Choice >= 0 && c.Choice < len(q.Choices) {
			row.Wrong = q.Choices[c.Choice]
		}
	}
	return row
}
