package delivery_test

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/lessonbot/lessonbot/internal/chat"
	"github.com/lessonbot/lessonbot/internal/delivery"
	"github.com/lessonbot/lessonbot/internal/store"
)

// slowSender takes d to send, and reports whether its context ended
// first.
type slowSender struct {
	d        time.Duration
	mu       sync.Mutex
	finished int
	cut      int
}

func (s *slowSender) Send(ctx context.Context, to chat.Address, kind chat.Kind, m chat.Message) (string, error) {
	t := time.NewTimer(s.d)
	defer t.Stop()
	select {
	case <-t.C:
		s.mu.Lock()
		defer s.mu.Unlock()
		s.finished++
		return "1", nil
	case <-ctx.Done():
		s.mu.Lock()
		defer s.mu.Unlock()
		s.cut++
		return "", &chat.SendError{Kind: chat.Ambiguous, Err: errors.New("cancelled after the request was written")}
	}
}

// TestStopLetsSendsFinish stops the pool while a send is under way: the
// send finishes, the rest of the lesson is put back, and Run returns.
func TestStopLetsSendsFinish(t *testing.T) {
	tests := []struct {
		name       string
		sendTime   time.Duration
		wantReturn time.Duration // after the stop
		finished   int
		state      store.DeliveryState
		recorded   int // message ids recorded: one per message sent or unknown
	}{
		{"SendFinishes", 4 * time.Second, 3 * time.Second, 1, store.DeliveryPending, 1},
		{"GraceRunsOut", 30 * time.Second, 10 * time.Second, 0, store.DeliveryUnknown, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				w := newWorld(t, "l1")
				sub := w.subscribe("100", 8, 0, "UTC", store.EveryDay)
				if _, err := w.store.EnqueueSlot(context.Background(), []int64{sub.ID}, time.Now()); err != nil {
					t.Fatal(err)
				}
				sender := &slowSender{d: tt.sendTime}
				log := slog.New(slog.NewTextHandler(w.logs, nil))
				pool := delivery.New(w.store, w.lessons, map[string]delivery.Platform{chat.Telegram: {Sender: sender}}, delivery.Options{}, log)
				ctx, cancel := context.WithCancel(context.Background())
				done := make(chan struct{})
				go func() { pool.Run(ctx); close(done) }()
				time.Sleep(time.Second) // the first send is under way
				cancel()
				stopped := time.Now()
				<-done
				if got := time.Since(stopped); got != tt.wantReturn {
					t.Errorf("Run returned %v after the stop, want %v", got, tt.wantReturn)
				}
				if sender.finished != tt.finished {
					t.Errorf("%d sends finished, want %d", sender.finished, tt.finished)
				}
				ds := w.deliveries(sub)
				if len(ds) != 1 || ds[0].State != tt.state || len(ds[0].MessageIDs) != tt.recorded || ds[0].Unknown != tt.recorded-tt.finished {
					t.Errorf("delivery = %+v, want state %s with %d messages recorded, %d of them unknown", ds, tt.state, tt.recorded, tt.recorded-tt.finished)
				}
			})
		})
	}
}
