//go:build unix

package delivery_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"golang.org/x/time/rate"

	"github.com/lessonbot/lessonbot/internal/chat"
	"github.com/lessonbot/lessonbot/internal/delivery"
	"github.com/lessonbot/lessonbot/internal/logtest"
	"github.com/lessonbot/lessonbot/internal/store"
)

// The fan-out benchmark's platform: every call takes fanOutLatency, and it
// lets fanOutRate messages a second through (with a burst of fanOutBurst);
// beyond that it answers rate limited, as Telegram answers 429.
const (
	fanOutChats      = 5000
	fanOutLessonSize = 4 // the post and three questions
	fanOutRate       = 500
	fanOutBurst      = 10
	fanOutLatency    = 50 * time.Millisecond
	// fanOutWorkers is the pool's Workers: enough deliveries in progress
	// that the overall limit, not the per-chat one or the latency, sets
	// the pace (each chat gets a message a second at most).
	fanOutWorkers = 1000
	// naiveChats is the naive loop's share: at 20 messages a second it
	// would take over 16 minutes for 5,000 chats.
	naiveChats = 100
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

func newRateSender(want int) *rateSender {
	return &rateSender{
		latency: fanOutLatency,
		allowed: rate.NewLimiter(fanOutRate, fanOutBurst),
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

// fanOutStats are the figures of one run.
type fanOutStats struct {
	messages    int
	elapsed     time.Duration
	cpu         time.Duration
	rateLimited int
	duplicates  int
}

func (st *fanOutStats) add(o fanOutStats) {
	st.messages += o.messages
	st.elapsed += o.elapsed
	st.cpu += o.cpu
	st.rateLimited += o.rateLimited
	st.duplicates += o.duplicates
}

func (st fanOutStats) report(b *testing.B, name string) {
	perSecond := float64(st.messages) / st.elapsed.Seconds()
	cpuPer10k := st.cpu.Seconds() / float64(st.messages) * 10000
	b.ReportMetric(perSecond, "msgs/s")
	b.ReportMetric(perSecond/fanOutRate, "of-allowed")
	b.ReportMetric(float64(st.rateLimited), "rate-limited")
	b.ReportMetric(float64(st.duplicates), "duplicates")
	b.ReportMetric(cpuPer10k, "cpu-s/10k-msgs")
	b.Logf("%s: %d messages in %.2fs = %.1f msgs/s = %.3f of the allowed %d/s; %d rate-limited answers, %d duplicates, %.2f CPU s per 10,000 messages",
		name, st.messages, st.elapsed.Seconds(), perSecond, perSecond/fanOutRate, fanOutRate, st.rateLimited, st.duplicates, cpuPer10k)
}

// cpuTime is the user and system CPU time the process has used.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkFanOut delivers one slot to 5,000 chats, a lesson of four
// messages each, through the pool and a platform that allows 500
// messages a second with 50 ms of latency, and compares a naive loop that
// sends one message after the other. Each iteration is one whole slot:
// run it with -benchtime 1x.
func BenchmarkFanOut(b *testing.B) {
	b.Run("pool", benchmarkFanOutPool)
	b.Run("naive", benchmarkFanOutNaive)
}

func benchmarkFanOutPool(b *testing.B) {
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(b.TempDir(), "lessonbot.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	ids := make([]int64, fanOutChats)
	for i := range ids {
		sub, err := st.EnsureChat(ctx, store.Subscription{
			Address: chat.Address{Platform: chat.Telegram, ChatID: fmt.Sprint(1_000_000 + i)}, Kind: chat.Private,
			Hour: 8, Zone: "UTC", Weekdays: store.EveryDay, Language: "en", Active: true,
		})
		if err != nil {
			b.Fatal(err)
		}
		ids[i] = sub.ID
	}
	// One lesson per iteration: each slot gets the chats' next one.
	lessons := &fakeLessons{store: st, size: fanOutLessonSize}
	for i := range b.N {
		lessons.add(fmt.Sprintf("l%d", i+1))
	}
	logs := &logtest.Buffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelError}))
	limits := delivery.Limits{PerSecond: fanOutRate, PerChatPerSecond: 1}

	var total fanOutStats
	b.ResetTimer()
	for i := range b.N {
		slot := time.Date(2000, 1, 1, 8, 0, 0, 0, time.UTC).AddDate(0, 0, i)
		sender := newRateSender(fanOutChats * fanOutLessonSize)
		pool := delivery.New(st, lessons, map[string]delivery.Platform{chat.Telegram: {Sender: sender, Limits: limits}},
			delivery.Options{Workers: fanOutWorkers}, log)
		cpu0, start := cpuTime(b), time.Now()
		if n, err := st.EnqueueSlot(ctx, ids, slot); err != nil || n != fanOutChats {
			b.Fatalf("enqueued %d deliveries (%v), want %d", n, err, fanOutChats)
		}
		runCtx, stop := context.WithCancel(ctx)
		ran := make(chan struct{})
		go func() { defer close(ran); pool.Run(runCtx) }()
		select {
		case <-sender.done:
		case <-time.After(10 * time.Minute):
			stop()
			<-ran
			sender.mu.Lock()
			defer sender.mu.Unlock()
			b.Fatalf("after 10 minutes, %d of %d messages sent", sender.accepted, sender.want)
		}
		// The bookkeeping of the last messages is part of the work.
		waitAllSent(b, st, slot)
		stop()
		<-ran
		cpu1 := cpuTime(b)
		sender.mu.Lock()
		run := fanOutStats{messages: sender.accepted, elapsed: sender.last.Sub(start), cpu: cpu1 - cpu0,
			rateLimited: sender.rateLimited, duplicates: sender.duplicates}
		sender.mu.Unlock()
		if run.duplicates > 0 {
			b.Errorf("%d messages sent twice", run.duplicates)
		}
		total.add(run)
	}
	b.StopTimer()
	if s := logs.String(); s != "" {
		b.Errorf("errors logged:\n%s", firstLines(s, 10))
	}
	total.report(b, "pool")
}

// waitAllSent waits until every delivery of slot is recorded as sent.
func waitAllSent(b *testing.B, st *store.Store, slot time.Time) {
	b.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		counts, err := st.DeliveryCounts(context.Background(), slot)
		if err != nil {
			b.Fatal(err)
		}
		if counts[store.DeliverySent] == fanOutChats {
			return
		}
		if time.Now().After(deadline) {
			b.Errorf("deliveries by state a minute after the last message: %v, want %d sent", counts, fanOutChats)
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func firstLines(s string, n int) string {
	lines := strings.SplitN(s, "\n", n+1)
	return strings.Join(lines[:min(n, len(lines))], "\n")
}

// benchmarkFanOutNaive sends each chat's messages one after the other,
// without a pool, a limiter or the store.
func benchmarkFanOutNaive(b *testing.B) {
	ctx := context.Background()
	lessons := &fakeLessons{ids: []string{"l1"}, size: fanOutLessonSize}
	msgs, _ := lessons.DeliveryMessages(store.Subscription{}, "l1")
	var total fanOutStats
	b.ResetTimer()
	for range b.N {
		sender := newRateSender(naiveChats * fanOutLessonSize)
		cpu0, start := cpuTime(b), time.Now()
		for c := range naiveChats {
			to := chat.Address{Platform: chat.Telegram, ChatID: fmt.Sprint(1_000_000 + c)}
			for _, m := range msgs {
				sender.Send(ctx, to, chat.Private, m) // a refusal is counted, not retried
			}
		}
		cpu1 := cpuTime(b)
		total.add(fanOutStats{messages: sender.accepted, elapsed: time.Since(start), cpu: cpu1 - cpu0,
			rateLimited: sender.rateLimited, duplicates: sender.duplicates})
	}
	b.StopTimer()
	total.report(b, "naive")
}

// TestRateLimitedResumesAtRate makes the sends that a 429 held back
// resume at the overall rate when the wait is over, not all at once: the
// platform would answer most of such a bunch with another 429.
func TestRateLimitedResumesAtRate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, "l1")
		w.lessons.size = 1
		w.limits = delivery.Limits{PerSecond: 10}
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
