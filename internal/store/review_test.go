package store

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/lessonbot/lessonbot/internal/chat"
)

func TestReviewItems(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openTest(t)
	ann, bob := learnerForTest(t, s, "7"), learnerForTest(t, s, "8")
	add := func(learner int64, term string, due Day, stability float64, state string) {
		t.Helper()
		ok, err := s.AddItem(ctx, ReviewItem{LearnerID: learner, LessonID: "l1", Term: term, Source: "missed",
			State: state, Stability: stability, Due: due, Graded: -1})
		if err != nil || !ok {
			t.Fatalf("AddItem(%s) = %v, %v", term, ok, err)
		}
	}
	add(ann, "c", 10, 2, ItemReview)
	add(ann, "a", 9, 5, ItemReview)
	add(ann, "b", 10, 1, ItemReview)
	add(ann, "d", 10, 1, ItemReview) // as b, added later
	add(ann, "k", 1, 1, ItemKnown)
	add(ann, "e", 11, 0, ItemNew)
	add(bob, "a", 1, 1, ItemReview)
	if ok, err := s.AddItem(ctx, ReviewItem{LearnerID: ann, LessonID: "l1", Term: "a", Source: "lesson", State: ItemNew, Due: 1}); err != nil || ok {
		t.Errorf("AddItem of a word the learner has = %v, %v; want false", ok, err)
	}

	t.Run("DueItemsInReviewOrder", func(t *testing.T) {
		due, err := s.DueItems(ctx, ann, 10, 10)
		if err != nil {
			t.Fatal(err)
		}
		var terms []string
		for _, it := range due {
			terms = append(terms, it.Term)
		}
		if want := []string{"a", "b", "d", "c"}; !slices.Equal(terms, want) {
			t.Errorf("due items %q, want %q (oldest due, lowest stability, id; not known, not later)", terms, want)
		}
		if two, _ := s.DueItems(ctx, ann, 10, 2); len(two) != 2 {
			t.Errorf("a limit of 2 gave %d", len(two))
		}
	})
	t.Run("Status", func(t *testing.T) {
		st, err := s.ReviewStatus(ctx, ann, 10, 2)
		if err != nil {
			t.Fatal(err)
		}
		if want := (ReviewSummary{Due: 4, Next: 11, NextCount: 1, Learned: 2, Known: 1, Total: 6}); st != want {
			t.Errorf("ReviewStatus = %+v, want %+v", st, want)
		}
	})
	t.Run("GradeOncePerDay", func(t *testing.T) {
		it, err := s.ItemOf(ctx, ann, "l1", "a")
		if err != nil {
			t.Fatal(err)
		}
		it.Stability, it.Due, it.Graded, it.Reps, it.LastResult = 12, 30, 10, 1, "right"
		if err := s.GradeItem(ctx, it); err != nil {
			t.Fatal(err)
		}
		again := it
		again.Stability = 99
		if err := s.GradeItem(ctx, again); !errors.Is(err, ErrGraded) {
			t.Errorf("a second grade the same day = %v, want ErrGraded", err)
		}
		if got, _ := s.Item(ctx, it.ID); got.Stability != 12 || got.Due != 30 || got.LastResult != "right" {
			t.Errorf("stored %+v, want the first grade's", got)
		}
		if err := s.GradeItem(ctx, ReviewItem{ID: 9999, Graded: 1}); !errors.Is(err, ErrNotFound) {
			t.Errorf("grading no item = %v, want ErrNotFound", err)
		}
	})
}

func TestStreakRow(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openTest(t)
	id := learnerForTest(t, s, "7")
	st, err := s.LearnerStreak(ctx, id)
	if err != nil || st.Last != -1 || st.Current != 0 {
		t.Fatalf("a new learner's streak = %+v, %v", st, err)
	}
	want := Streak{Current: 5, Best: 9, Last: 20000, Freezes: 1, Progress: 3, EverHeldFreeze: true, Zone: "Asia/Tokyo",
		ZoneOffset: 32400, ZoneChangedAt: time.Unix(1_700_000_000, 0).UTC()}
	if err := s.SaveStreak(ctx, id, want, 20000, []Day{19998, 19999}); err != nil {
		t.Fatal(err)
	}
	if got, err := s.LearnerStreak(ctx, id); err != nil || got != want {
		t.Errorf("LearnerStreak = %+v, %v; want %+v", got, err, want)
	}
	var kinds []string
	rows, _ := s.db.Query(`SELECT kind FROM streak_days WHERE learner_id = ? ORDER BY day`, id)
	for rows.Next() {
		var k string
		rows.Scan(&k)
		kinds = append(kinds, k)
	}
	rows.Close()
	if wantKinds := []string{"frozen", "frozen", "active"}; !slices.Equal(kinds, wantKinds) {
		t.Errorf("streak days %q, want %q", kinds, wantKinds)
	}
	if _, err := s.LearnerStreak(ctx, 999); !errors.Is(err, ErrNotFound) {
		t.Errorf("the streak of no learner = %v, want ErrNotFound", err)
	}
}

// TestDeliveryKinds keeps a lesson and a summary apart at one slot, each
// once, and a lesson's review once chosen.
func TestDeliveryKinds(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openTest(t)
	sub := subscribeForTest(t, s, chat.Telegram, "100")
	slot := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	for range 2 {
		if _, err := s.EnqueueSlot(ctx, []int64{sub.ID}, slot); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Enqueue(ctx, SummaryDelivery, []int64{sub.ID}, slot); err != nil {
			t.Fatal(err)
		}
	}
	ds, err := s.Deliveries(ctx, sub.ID)
	if err != nil || len(ds) != 2 || ds[0].Kind != LessonDelivery || ds[1].Kind != SummaryDelivery {
		t.Fatalf("deliveries = %+v, %v; want a lesson and a summary", ds, err)
	}
	got, err := s.SetReview(ctx, ds[0].ID, `[{"lesson":"l1","term":"a"}]`)
	if err != nil || got != `[{"lesson":"l1","term":"a"}]` {
		t.Errorf("SetReview = %q, %v", got, err)
	}
	if got, err := s.SetReview(ctx, ds[0].ID, `[]`); err != nil || got != `[{"lesson":"l1","term":"a"}]` {
		t.Errorf("a second SetReview = %q, %v; want the first", got, err)
	}
	if _, err := s.SetReview(ctx, 9999, `[]`); !errors.Is(err, ErrNotFound) {
		t.Errorf("SetReview of no delivery = %v, want ErrNotFound", err)
	}
}
