package dashboard

import (
	"fmt"
	"html/template"
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/lessonbot/lessonbot/internal/lesson"
	"github.com/lessonbot/lessonbot/internal/quiz"
)

// templateFuncs are the functions the pages' templates call.
func templateFuncs() template.FuncMap {
	return template.FuncMap{"num": thousands, "signed": signed}
}

// thousands writes n with a comma between thousands (12,345), as admins
// read counts.
func thousands(n int) string {
	s := strconv.Itoa(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// signed writes a change with its sign: +3, -2, 0. It is HTML as it
// is: digits, commas and a sign (html/template would write the plus as
// &#43;).
func signed(n int) template.HTML {
	if n > 0 {
		return template.HTML("+" + thousands(n))
	}
	return template.HTML(thousands(n))
}

// plural writes a count and its noun: "1 first try", "12 first tries".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return thousands(n) + " " + many
}

// share returns part of whole as a percentage, with one decimal, and
// the value for a chart; "–" and NaN when whole is zero.
func share(part, whole int) (string, float64) {
	if whole <= 0 {
		return "–", math.NaN()
	}
	v := 100 * float64(part) / float64(whole)
	return strconv.FormatFloat(math.Round(v*10)/10, 'f', 1, 64) + "%", v
}

// span writes a duration measured to within a few percent as people say
// it: "4 s", "2 min 10 s", "1 h 5 min", "3 d 2 h".
func span(d time.Duration) string {
	d = d.Round(time.Second)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%d s", int(d/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("%d min %d s", int(d/time.Minute), int(d%time.Minute/time.Second))
	case d < 24*time.Hour:
		return fmt.Sprintf("%d h %d min", int(d/time.Hour), int(d%time.Hour/time.Minute))
	}
	return fmt.Sprintf("%d d %d h", int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour))
}

// Formats of days and times on the pages.
const (
	dayFormat   = "Mon 2 Jan 2006"
	rowDay      = "Mon 2 Jan" // a row of a table of days; the page says the year
	shortDay    = "2 Jan"     // a chart's x label
	slotFormat  = "Mon 2 Jan 15:04"
	sinceFormat = "Monday 2 January 2006"
)

// midnight returns the start of t's day in t's zone.
func midnight(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, t.Location())
}

// zonePicker is the form that picks the zone of a page's days and hours
// (?tz=), keeping the page's other parameters.
type zonePicker struct {
	// Path is the page's path, Label the form's label.
	Path, Label string
	// Zone is the zone shown; Notice says that the zone asked for does
	// not exist.
	Zone, Notice string
	// Keep are the page's other parameters.
	Keep []param
}

// param is a parameter of a page's address.
type param struct{ Name, Value string }

// link returns path with the query of params, in order, leaving out
// empty values.
func link(path string, params ...param) string {
	var q []string
	for _, p := range params {
		if p.Value != "" {
			q = append(q, url.QueryEscape(p.Name)+"="+url.QueryEscape(p.Value))
		}
	}
	if len(q) == 0 {
		return path
	}
	return path + "?" + strings.Join(q, "&")
}

// library returns the lessons in service, or an empty library.
func (s *Server) library() *lesson.Library {
	if s.opts.Lessons != nil {
		if lib := s.opts.Lessons(); lib != nil {
			return lib
		}
	}
	return lesson.NewLibrary(nil)
}

// maxQuiz is the most questions a quiz has (config quiz.questions goes up
// to 10): the questions of a lesson are looked up among that many, so that
// the keys of a longer quiz asked before are found too. The first ones are
// the same whatever the quiz's length.
const maxQuiz = 10

// lessonQuiz is what the library tells of one lesson's questions.
type lessonQuiz struct {
	lesson *lesson.Lesson // nil: not in the library
	// order lists the questions in the order asked; byKey finds them.
	order []quiz.Question
	byKey map[string]int
}

// quizOf returns the questions of lesson id in lib.
func quizOf(lib *lesson.Library, id string) lessonQuiz {
	q := lessonQuiz{byKey: map[string]int{}}
	l, ok := lib.Lookup(id)
	if !ok {
		return q
	}
	q.lesson = l
	q.order = quiz.Questions(l, lib, maxQuiz)
	for i, qq := range q.order {
		q.byKey[qq.Key] = i
	}
	return q
}

// question returns the question with key, and whether the library has it.
func (q lessonQuiz) question(key string) (quiz.Question, bool) {
	i, ok := q.byKey[key]
	if !ok {
		return quiz.Question{}, false
	}
	return q.order[i], true
}

// questionText writes a question as its chats read it, in English.
func questionText(q quiz.Question) string {
	switch q.Kind {
	case quiz.Meaning:
		return "What does “" + q.Text + "” mean?"
	case quiz.Reverse:
		return "Which word means “" + q.Text + "”?"
	case quiz.Recall:
		return "Review: “" + q.Text + "”"
	}
	return q.Text
}

// lessonTitle returns the title of lesson id, or the id when the library
// no longer has it.
func lessonTitle(lib *lesson.Library, id string) (title string, inLibrary bool) {
	l, ok := lib.Lookup(id)
	switch {
	case !ok:
		return id, false
	case strings.TrimSpace(l.Title) == "":
		return id, true
	}
	return l.Title, true
}
