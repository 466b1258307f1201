//go:build unix

package delivery_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"golang.org/x/time/rate"

	"github.com/lessonbot/lessonbot/internal/chat"
	"github.com/lessonbot/lessonbot/internal/delivery"
	"github.com/lessonbot/lessonbot/internal/delivery/deliverytest"
	"github.com/lessonbot/lessonbot/internal/ratelimit"
	"github.com/lessonbot/lessonbot/internal/store"
)

// rateSender is a platform that takes latency per call and allows rate
// messages a second overall; it counts what it accepts, what it refuses,
// and messages accepted twice for the same chat.
type rateSender struct {
	latency time.Duration
	allowed *rate.Limiter
	want    int           // accepted messages after which done is closed
	done    chan struct{} // closed when want messages have been accepted

	mu          sync.Mutex
	accepted    int
	rateLimited int
	duplicates  int
	last        time.Time // when the last accepted send returned
	seen        map[string]bool
}

func newRateSender(want int, perSecond float64) *rateSender {
	return &rateSender{
		latency: deliverytest.FanOutLatency,
		allowed: rate.NewLimiter(rate.Limit(perSecond), deliverytest.FanOutBurst),
		want:    want,
		done:    make(chan struct{}),
		seen:    make(map[string]bool, want),
	}
}

func (s *rateSender) Send(ctx context.Context, to chat.Address, kind chat.Kind, m chat.Message) (string, error) {
	// The platform counts a request when it arrives; the answer comes back
	// after the latency either way.
	ok := s.allowed.Allow()
	time.Sleep(s.latency)
	s.mu.Lock()
	defer s.mu.Unlock()
	if !ok {
		s.rateLimited++
		return "", &chat.SendError{Kind: chat.RateLimited, RetryAfter: time.Second, Err: fmt.Errorf("429 too many requests")}
	}
	key := to.Key() + " " + m.Blocks[0].Text // the text is "<lesson>/<index>"
	if s.seen[key] {
		s.duplicates++
	}
	s.seen[key] = true
	s.accepted++
	s.last = time.Now()
	if s.accepted == s.want {
		close(s.done)
	}
	return fmt.Sprint(s.accepted), nil
}

// BenchmarkFanOut delivers one slot to 5,000 chats, a lesson of four
// messages each, through the pool and a platform that allows 500
// messages a second with 50 ms of latency, and compares a naive loop that
// sends one message after the other. Its large case delivers a slot to
// 30,000 chats at an allowed 1,000 messages a second, through the pool as
// it is (its ready queue) and as it was before (each worker holding its
// chat through the chat's one-second spacing), side by side. Each
// iteration is one whole slot: run it with -benchtime 1x; the large case
// takes about five minutes.
func BenchmarkFanOut(b *testing.B) {
	b.Run("pool", func(b *testing.B) {
		benchmarkFanOutPool(b, deliverytest.FanOutChats, deliverytest.FanOutRate,
			delivery.Options{Workers: deliverytest.FanOutWorkers}, false)
	})
	b.Run("naive", benchmarkFanOutNaive)
	b.Run("large/ready-queue", func(b *testing.B) {
		benchmarkFanOutPool(b, deliverytest.FanOutLargeChats, deliverytest.FanOutLargeRate, delivery.Options{}, false)
	})
	b.Run("large/worker-holds-chat", func(b *testing.B) {
		// The design before the ready queue, with its defaults: 512
		// workers, each holding one delivery at a time.
		benchmarkFanOutPool(b, deliverytest.FanOutLargeChats, deliverytest.FanOutLargeRate,
			delivery.Options{Workers: 512, InFlight: 512}, true)
	})
}

// benchmarkFanOutPool delivers a slot to chats chats through a pool with
// opts, on a platform that allows perSecond messages a second (and the
// pool the same, and one a second to each chat); hold makes the pool's
// workers hold their chat through its spacing.
func benchmarkFanOutPool(b *testing.B, chats int, perSecond float64, opts delivery.Options, hold bool) {
	// One lesson per iteration: each slot gets the chats' next one.
	fo := deliverytest.NewFanOutOf(b, chat.Telegram, chats, b.N)
	var total deliverytest.Stats
	b.ResetTimer()
	for i := range b.N {
		slot := fo.Slot(i)
		sender := newRateSender(chats*deliverytest.FanOutLessonSize, perSecond)
		pool := fo.NewPoolWith(sender, ratelimit.Limits{PerSecond: perSecond, PerChatPerSecond: 1}, opts)
		if hold {
			delivery.HoldChat(pool)
		}
		peak := deliverytest.PeakHeap()
		cpu0, start := deliverytest.CPUTime(b), time.Now()
		fo.Enqueue(b, slot)
		stop := deliverytest.Start(pool)
		select {
		case <-sender.done:
		case <-time.After(20 * time.Minute):
			stop()
			sender.mu.Lock()
			defer sender.mu.Unlock()
			b.Fatalf("after 20 minutes, %d of %d messages sent", sender.accepted, sender.want)
		}
		// The bookkeeping of the last messages is part of the work.
		deliverytest.WaitAllSent(b, fo.Store, slot, chats)
		stop()
		cpu1 := deliverytest.CPUTime(b)
		sender.mu.Lock()
		run := deliverytest.Stats{Messages: sender.accepted, Elapsed: sender.last.Sub(start), CPU: cpu1 - cpu0,
			RateLimited: sender.rateLimited, Duplicates: sender.duplicates, PeakHeap: peak()}
		sender.mu.Unlock()
		if run.Duplicates > 0 {
			b.Errorf("%d messages sent twice", run.Duplicates)
		}
		total.Add(run)
	}
	b.StopTimer()
	if s := fo.Logs.String(); s != "" {
		b.Errorf("errors logged:\n%s", firstLines(s, 10))
	}
	total.Report(b, b.Name(), perSecond)
}

func firstLines(s string, n int) string {
	lines := strings.SplitN(s, "\n", n+1)
	return strings.Join(lines[:min(n, len(lines))], "\n")
}

// benchmarkFanOutNaive sends each chat's messages one after the other,
// without a pool, a limiter or the store.
func benchmarkFanOutNaive(b *testing.B) {
	ctx := context.Background()
	lessons := &deliverytest.Lessons{Size: deliverytest.FanOutLessonSize}
	lessons.Add("l1")
	msgs, _ := lessons.Messages("l1")
	var total deliverytest.Stats
	b.ResetTimer()
	for range b.N {
		sender := newRateSender(deliverytest.FanOutNaiveChats*deliverytest.FanOutLessonSize, deliverytest.FanOutRate)
		cpu0, start := deliverytest.CPUTime(b), time.Now()
		for c := range deliverytest.FanOutNaiveChats {
			to := chat.Address{Platform: chat.Telegram, ChatID: fmt.Sprint(1_000_000 + c)}
			for _, m := range msgs {
				sender.Send(ctx, to, chat.Private, m) // a refusal is counted, not retried
			}
		}
		cpu1 := deliverytest.CPUTime(b)
		total.Add(deliverytest.Stats{Messages: sender.accepted, Elapsed: time.Since(start), CPU: cpu1 - cpu0,
			RateLimited: sender.rateLimited, Duplicates: sender.duplicates})
	}
	b.StopTimer()
	total.Report(b, "naive", deliverytest.FanOutRate)
}

// TestRateLimitedResumesAtRate makes the sends that a 429 held back
// resume at the overall rate when the wait is over, not all at once: the
// platform would answer most of such a bunch with another 429.
func TestRateLimitedResumesAtRate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, "l1")
		w.lessons.Size = 1
		w.limits = ratelimit.Limits{PerSecond: 10}
		allowed := rate.NewLimiter(10, 1) // the platform's own bucket, as strict as the pool
		limited := 0
		w.sender.fail = func(call int, to chat.Address, text string) error {
			if call == 1 || !allowed.Allow() {
				limited++
				return &chat.SendError{Kind: chat.RateLimited, RetryAfter: 5 * time.Second, Err: errors.New("429")}
			}
			return nil
		}
		for i := range 20 {
			w.subscribe(fmt.Sprint(100+i), 8, 0, "UTC", store.EveryDay)
		}
		w.start()
		sleepUntil(time.Date(2000, 1, 1, 9, 0, 0, 0, time.UTC))
		w.stop()
		if limited != 1 {
			t.Errorf("%d rate-limited answers, want only the first", limited)
		}
		msgs := w.sender.messages()
		if len(msgs) != 20 {
			t.Fatalf("sent %d messages, want 20", len(msgs))
		}
		for i, m := range msgs {
			if m.at.Before(time.Date(2000, 1, 1, 8, 0, 5, 0, time.UTC)) {
				t.Errorf("a message went at %v, during the 5 s wait", m.at)
			}
			if i > 0 && m.at.Sub(msgs[i-1].at) < 100*time.Millisecond {
				t.Errorf("messages %d and %d went %v apart, want at least 100ms (10/s)", i-1, i, m.at.Sub(msgs[i-1].at))
			}
		}
	})
}
