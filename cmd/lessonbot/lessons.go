package main

import (
	"fmt"

	"github.com/lessonbot/lessonbot/internal/chat"

	"github.com/lessonbot/lessonbot/internal/discord"
	"github.com/lessonbot/lessonbot/internal/lesson"
	"github.com/lessonbot/lessonbot/internal/telegram"
	"github.com/lessonbot/lessonbot/internal/tutor"
)

// postFits is the lesson check that the daily post, in every UI language,
// fits one Telegram message and one Discord embed, measured on the very
// renderers the bots use. Each platform's problems are reported for the
// first language whose post breaks its limits.
func postFits(l *lesson.Lesson) []error {
	platforms := []func(chat.Message) error{telegram.CheckPost, discord.CheckPost}
	var errs []error
	for _, check := range platforms {
		for _, lang := range tutor.Languages {
			err := check(tutor.LessonPost(l, lang))
			if err == nil {
				continue
			}
			for _, e := range unjoin(err) {
				errs = append(errs, fmt.Errorf("%w (with the %s interface)", e, lang))
			}
			break
		}
	}
	return errs
}

// unjoin returns the errors an errors.Join holds, or err alone.
func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// loadLessons loads a lessons folder with every check that `check` runs.
func loadLessons(dir string) lesson.Result {
	return lesson.LoadDir(dir, postFits)
}
