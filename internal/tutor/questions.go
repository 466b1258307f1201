package tutor

import (
	"sync"

	"github.com/lessonbot/lessonbot/internal/lesson"
	"github.com/lessonbot/lessonbot/internal/quiz"
)

// questionCache keeps each lesson's quiz for the library in service:
// making a quiz draws distractors from the whole library, which is too
// slow to repeat for every button press. A reload brings a new library
// and so an empty cache.
type questionCache struct {
	mu       sync.Mutex
	lib      *lesson.Library
	byLesson map[string][]quiz.Question
	// reviews holds each lesson's review questions (quiz.Reviews).
	reviews map[string][]quiz.Question
}

// questions returns the quiz of lesson id in the library in service, and
// the lesson; ok is false when the library has no such lesson.
func (t *Tutor) questions(id string) (qs []quiz.Question, l *lesson.Lesson, ok bool) {
	lib := t.lessons.Library()
	if l, ok = lib.Lookup(id); !ok {
		return nil, nil, false
	}
	c := &t.quizzes
	c.mu.Lock()
	cached := false
	if c.lib == lib {
		qs, cached = c.byLesson[id]
	}
	c.mu.Unlock()
	if cached {
		return qs, l, true
	}
	qs = quiz.Questions(l, lib, t.settings.Questions)
	c.mu.Lock()
	if c.lib != lib {
		c.lib, c.byLesson, c.reviews = lib, map[string][]quiz.Question{}, map[string][]quiz.Question{}
	}
	c.byLesson[id] = qs
	c.mu.Unlock()
	return qs, l, true
}

// question finds a question by its key in the library in service.
func (t *Tutor) question(key string) (quiz.Question, bool) {
	id, ok := quiz.LessonIDOf(key)
	if !ok {
		return quiz.Question{}, false
	}
	qs, _, _ := t.questions(id)
	for _, q := range qs {
		if q.Key == key {
			return q, true
		}
	}
	return quiz.Question{}, false
}
