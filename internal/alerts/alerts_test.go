package alerts_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/lessonbot/lessonbot/internal/alerts"
	"github.com/lessonbot/lessonbot/internal/chat"
	"github.com/lessonbot/lessonbot/internal/store"
)

// fakeStore is the store as the watcher reads it.
type fakeStore struct {
	slots  []store.SlotOutcome
	oldest time.Time // of a telegram delivery
}

func (f *fakeStore) SlotOutcomes(ctx context.Context, since time.Time) ([]store.SlotOutcome, error) {
	return f.slots, nil
}

func (f *fakeStore) Outbox(ctx context.Context, now time.Time) (store.OutboxStats, error) {
	if f.oldest.IsZero() {
		return store.OutboxStats{}, nil
	}
	return store.OutboxStats{OldestDue: f.oldest, OldestPlatform: chat.Telegram}, nil
}

// bench is a watcher on a fake store and clock that records its posts.
type bench struct {
	now     time.Time
	store   *fakeStore
	lessons []string
	posts   []string
	fail    bool
	w       *alerts.Watcher
}

func newBench() *bench {
	b := &bench{now: time.Date(2026, 12, 7, 7, 0, 0, 0, time.UTC), store: &fakeStore{}}
	b.w = alerts.New(alerts.Options{
		Store:        b.store,
		LessonErrors: func() []string { return b.lessons },
		Post: func(ctx context.Context, text string) error {
			if b.fail {
				return errors.New("the platform is down")
			}
			b.posts = append(b.posts, text)
			return nil
		},
		Now: func() time.Time { return b.now },
	})
	return b
}

// minute advances the clock a minute and checks.
func (b *bench) minute() {
	b.now = b.now.Add(time.Minute)
	b.w.Check(context.Background())
}

// take returns the posts since the last take.
func (b *bench) take() []string {
	p := b.posts
	b.posts = nil
	return p
}

func expect(t *testing.T, got []string, prefixes ...string) {
	t.Helper()
	if len(got) != len(prefixes) {
		t.Fatalf("posted %d alerts, want %d: %q", len(got), len(prefixes), got)
	}
	for i, p := range prefixes {
		if !strings.Contains(got[i], p) {
			t.Errorf("post %d = %q, want it to contain %q", i, got[i], p)
		}
	}
}

func TestSlotProblems(t *testing.T) {
	b := newBench()
	// A bad slot that ended before the start is not told again.
	b.store.slots = []store.SlotOutcome{{Slot: b.now.Add(-3 * time.Hour), Deliveries: 10, Failed: 2, Sent: 8}}
	b.minute()
	expect(t, b.take())

	eight := time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC)
	b.store.slots = append(b.store.slots, store.SlotOutcome{Slot: eight, Deliveries: 100, Open: 40, Sent: 60})
	b.minute()
	expect(t, b.take()) // still under way
	b.store.slots[1] = store.SlotOutcome{Slot: eight, Deliveries: 100, Sent: 97, Failed: 3, Unknown: 1}
	b.minute()
	expect(t, b.take(), "lessonbot alert: the 2026-12-07 08:00 UTC slot ended with 3 failed deliveries and 1 message of unknown fate, of 100 deliveries.")
	b.minute()
	expect(t, b.take()) // told once

	// Another bad slot within the hour is held back; it is still firing.
	b.store.slots = append(b.store.slots, store.SlotOutcome{Slot: eight.Add(30 * time.Minute), Deliveries: 5, Failed: 5})
	b.minute()
	expect(t, b.take())

	b.store.slots = append(b.store.slots, store.SlotOutcome{Slot: eight.Add(45 * time.Minute), Deliveries: 7, Sent: 7})
	b.minute()
	expect(t, b.take(), "lessonbot recovered: the 2026-12-07 08:45 UTC slot delivered all its 7 deliveries.")

	// Within the hour of the last alert, a new failure is held back and
	// its recovery is not announced.
	b.store.slots = append(b.store.slots, store.SlotOutcome{Slot: eight.Add(50 * time.Minute), Deliveries: 1, Unknown: 1, Sent: 1})
	b.minute()
	b.store.slots = append(b.store.slots, store.SlotOutcome{Slot: eight.Add(55 * time.Minute), Deliveries: 1, Sent: 1})
	b.minute()
	expect(t, b.take())

	// An hour after the alert, the next failure is told.
	b.now = b.now.Add(time.Hour)
	b.store.slots = append(b.store.slots, store.SlotOutcome{Slot: b.now, Deliveries: 2, Failed: 1, Sent: 1})
	b.minute()
	expect(t, b.take(), "slot ended with 1 failed delivery and 0 messages of unknown fate, of 2 deliveries.")
}

func TestRateLimited(t *testing.T) {
	b := newBench()
	limited := func(n int) {
		for range n {
			b.w.Sent(chat.Telegram, &chat.SendError{Kind: chat.RateLimited, RetryAfter: time.Second}, time.Millisecond)
		}
		b.w.Sent(chat.Telegram, nil, time.Millisecond)
		b.minute()
	}
	for range 4 {
		limited(alerts.RateLimitedPerMinute)
	}
	expect(t, b.take()) // four minutes are not enough
	limited(alerts.RateLimitedPerMinute)
	expect(t, b.take(), "lessonbot alert: the platform answered 429 (too many requests) 25 times in the last 5 minutes")
	limited(100)
	expect(t, b.take())
	limited(1) // the window still counts 429s
	expect(t, b.take())
	for range 4 {
		limited(0)
	}
	expect(t, b.take(), "lessonbot recovered: fewer than 5 answers of 429 in the last 5 minutes.")
	// Five bad minutes again within the hour: held back.
	for range 5 {
		limited(10)
	}
	expect(t, b.take())
}

func TestLessonErrors(t *testing.T) {
	b := newBench()
	b.minute()
	expect(t, b.take())
	b.lessons = []string{"lessons/012.md:14: quiz question 2 has no correct choice", "lessons/013.md:3: missing title"}
	b.minute()
	expect(t, b.take(), "lessonbot alert: a lesson file does not validate: lessons/012.md:14: quiz question 2 has no correct choice (and 1 more).")
	b.minute()
	expect(t, b.take())
	b.lessons = nil
	b.minute()
	expect(t, b.take(), "lessonbot recovered: every lesson file validates again.")
	b.lessons = []string{"lessons/012.md:14: broken again"}
	b.minute()
	expect(t, b.take()) // held back: an alert of this kind went out 3 minutes ago
	b.now = b.now.Add(time.Hour)
	b.minute()
	expect(t, b.take(), "lessons/012.md:14: broken again")
}

func TestBacklog(t *testing.T) {
	b := newBench()
	b.store.oldest = b.now.Add(-5 * time.Minute)
	b.minute()
	expect(t, b.take())
	b.now = b.now.Add(5 * time.Minute)
	b.minute()
	expect(t, b.take(), "lessonbot alert: a delivery has waited 12m0s since it fell due (telegram); lessons are late.")
	b.minute()
	expect(t, b.take())
	b.store.oldest = b.now.Add(-time.Minute)
	b.minute()
	expect(t, b.take(), "lessonbot recovered: no delivery has waited more than 10m0s.")
}

// TestPostFails keeps an alert that could not be posted for the next
// check, and never announces a recovery of an alert nobody saw.
func TestPostFails(t *testing.T) {
	b := newBench()
	b.fail = true
	b.lessons = []string{"lessons/001.md:1: broken"}
	b.minute()
	b.fail = false
	b.minute()
	expect(t, b.take(), "lessons/001.md:1: broken")
	b.lessons = nil
	b.fail = true
	b.minute()
	b.fail = false
	b.minute()
	expect(t, b.take()) // the recovery was tried once; it is not repeated
}
