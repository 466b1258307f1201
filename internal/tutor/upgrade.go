package tutor

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/lessonbot/lessonbot/internal/review"
	"github.com/lessonbot/lessonbot/internal/store"
)

// backfillKey is the store's note that review items are still to be made
// from the answers stored before review existed; its schema migration
// sets it to "pending".
const backfillKey = "review.backfill"

// Upgrade does, once, what a new version needs the lesson library for: it
// makes review items of the missed answers stored before review existed,
// so that existing learners start with their history. Each missed word
// becomes an item due at once, as if just missed. Call it after the store
// is open and the lessons are loaded; it is quick when there is nothing
// to do. It returns how many items it made.
func (t *Tutor) Upgrade(ctx context.Context) (int, error) {
	v, err := t.store.Value(ctx, backfillKey)
	if errors.Is(err, store.ErrNotFound) || err == nil && v != "pending" {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	// Each quiz question the library asks, by key, and the word it is
	// about.
	words := map[string]word{}
	for _, l := range t.lessons.Library().Lessons() {
		qs, _, _ := t.questions(l.ID)
		for _, q := range qs {
			if q.Term != "" {
				words[q.Key] = word{q.LessonID, q.Term}
			}
		}
	}
	missed, _ := t.scheduler.Next(review.Memory{}, 0, review.Again)
	seen := map[string]bool{}
	var items []store.ReviewItem
	err = t.store.MissedAnswers(ctx, func(learner int64, _ string, key string, at time.Time) error {
		w, ok := words[key]
		if !ok {
			return nil // an authored question, or a lesson gone
		}
		if k := fmt.Sprint(learner, "\x00", w.Lesson, "\x00", w.Term); !seen[k] {
			seen[k] = true
			items = append(items, store.ReviewItem{
				LearnerID: learner, LessonID: w.Lesson, Term: w.Term, Source: "missed", State: store.ItemReview,
				Stability: missed.Stability, Difficulty: missed.Difficulty, Due: 0, Graded: -1,
				Reps: 1, LastResult: "wrong", AddedAt: at,
			})
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	added, err := t.store.AddItems(ctx, items)
	if err != nil {
		return added, err
	}
	if err := t.store.SetValue(ctx, backfillKey, "done"); err != nil {
		return added, err
	}
	t.log.Info("made review items of the answers missed before review existed", "items", added)
	return added, nil
}
