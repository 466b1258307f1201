package main

import (
	"fmt"

	"github.com/lessonbot/lessonbot/internal/discord"
	"github.com/lessonbot/lessonbot/internal/lesson"
	"github.com/lessonbot/lessonbot/internal/telegram"
	"github.com/lessonbot/lessonbot/internal/tutor"
)

// postFits is the lesson check that the daily post, in every UI language,
// fits one Telegram message and one Discord embed, measured on the very
// renderers the bots use.
func postFits(l *lesson.Lesson) []error {
	var errs []error
	seen := map[string]bool{}
	for _, lang := range tutor.Languages {
		post := tutor.LessonPost(l, lang)
		for _, err := range []error{telegram.CheckPost(post), discord.CheckPost(post)} {
			if err != nil && !seen[err.Error()] {
				seen[err.Error()] = true
				errs = append(errs, fmt.Errorf("%w (with the %s interface)", err, lang))
			}
		}
	}
	return errs
}

// loadLessons loads a lessons folder with every check that `check` runs.
func loadLessons(dir string) lesson.Result {
	return lesson.LoadDir(dir, postFits)
}
