// Package deliverytest provides fakes and measurements shared by the tests
// and benchmarks of delivery and of the platform adapters.
package deliverytest

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/lessonbot/lessonbot/internal/chat"
	"github.com/lessonbot/lessonbot/internal/delivery"
	"github.com/lessonbot/lessonbot/internal/store"
)

// Lessons is a delivery.Lessons of lessons named by id, each of Size
// messages whose single text block is "<lesson>/<index>". Set Store and
// Size before it is used; Add may be called at any time, and all its
// methods are safe for concurrent use.
type Lessons struct {
	// Store is where NextLessonID finds the lessons a subscription has
	// had; Compose does not need it.
	Store *store.Store
	// Size is how many messages each lesson has.
	Size int

	mu  sync.Mutex
	ids []string
}

var _ delivery.Lessons = (*Lessons)(nil)

// Add appends lessons to the library, in the order they are to be sent.
func (l *Lessons) Add(ids ...string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.ids = append(l.ids, ids...)
}

// NextLessonID returns the first lesson the subscription has not had
// delivered, or "" when it has had them all.
func (l *Lessons) NextLessonID(ctx context.Context, sub store.Subscription) (string, error) {
	done, err := l.Store.DeliveredLessons(ctx, sub.ID)
	if err != nil {
		return "", err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, id := range l.ids {
		if !done[id] {
			return id, nil
		}
	}
	return "", nil
}

// Compose returns the messages of the delivery's lesson (see Messages).
func (l *Lessons) Compose(ctx context.Context, d store.Delivery, sub store.Subscription) ([]chat.Message, bool, error) {
	msgs, ok := l.Messages(d.LessonID)
	return msgs, ok, nil
}

// Messages returns the Size messages of lesson id, the text of each
// "<id>/<index>", and false when the library has no such lesson.
func (l *Lessons) Messages(id string) ([]chat.Message, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !slices.Contains(l.ids, id) {
		return nil, false
	}
	var msgs []chat.Message
	for i := range l.Size {
		msgs = append(msgs, chat.Message{Blocks: []chat.Block{{Kind: chat.Text, Text: fmt.Sprintf("%s/%d", id, i)}}})
	}
	return msgs, true
}
