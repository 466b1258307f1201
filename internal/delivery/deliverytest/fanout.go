package deliverytest

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/lessonbot/lessonbot/internal/chat"
	"github.com/lessonbot/lessonbot/internal/delivery"
	"github.com/lessonbot/lessonbot/internal/logtest"
	"github.com/lessonbot/lessonbot/internal/ratelimit"
	"github.com/lessonbot/lessonbot/internal/store"
)

// The fan-out benchmark's load and platform, the same for delivery's
// benchmark and the adapters': a slot delivers a lesson to FanOutChats
// chats; the platform takes FanOutLatency per call and lets FanOutRate
// messages a second through (with a burst of FanOutBurst), and answers
// rate limited beyond that, as Telegram answers 429.
const (
	// FanOutChats is how many chats a slot delivers to.
	FanOutChats = 5000
	// FanOutLessonSize is how many messages a lesson has: the post and
	// three questions.
	FanOutLessonSize = 4
	// FanOutRate is how many messages a second the platform allows over
	// all chats.
	FanOutRate = 500
	// FanOutBurst is the burst the platform allows beyond FanOutRate.
	FanOutBurst = 10
	// FanOutLatency is how long the platform takes to answer each call.
	FanOutLatency = 50 * time.Millisecond
	// FanOutWorkers is the pool's Workers: enough deliveries in progress
	// that the overall limit, not the per-chat one or the latency, sets
	// the pace (each chat gets a message a second at most).
	FanOutWorkers = 1000
	// FanOutNaiveChats is the naive loop's share: at 20 messages a second
	// it would take over 16 minutes for 5,000 chats.
	FanOutNaiveChats = 100

	// FanOutLargeChats and FanOutLargeRate are the large case: a slot of
	// 30,000 chats on a platform that allows 1,000 messages a second (as
	// Telegram does with paid broadcasts), one a second to each chat.
	FanOutLargeChats = 30_000
	FanOutLargeRate  = 1000
)

// Stats are the figures of one or more runs of a fan-out benchmark.
type Stats struct {
	// PeakHeap is the most heap in use seen during the runs, in bytes; 0
	// when not measured.
	PeakHeap uint64
	// Messages is how many messages the platform accepted.
	Messages int
	// Elapsed is the time from the start to the last accepted message.
	Elapsed time.Duration
	// CPU is the user and system CPU time the process used meanwhile.
	CPU time.Duration
	// RateLimited is how many answers refused a message as rate limited.
	RateLimited int
	// Duplicates is how many messages were accepted twice for the same
	// chat.
	Duplicates int

	// RateLimitedAs names a rate-limited answer in the logged sentence,
	// "429" for example; empty means "rate-limited".
	RateLimitedAs string
	// CPUNote, when set, says in parentheses at the end of the logged
	// sentence what the CPU time covers.
	CPUNote string
}

// Add adds the figures of another run to s; s keeps its own wording.
func (s *Stats) Add(o Stats) {
	s.Messages += o.Messages
	s.Elapsed += o.Elapsed
	s.CPU += o.CPU
	s.RateLimited += o.RateLimited
	s.Duplicates += o.Duplicates
	s.PeakHeap = max(s.PeakHeap, o.PeakHeap)
}

// Report reports the figures as the benchmark's metrics "msgs/s",
// "of-allowed" (the share of allowedPerSecond reached), "rate-limited",
// "duplicates" and "cpu-s/10k-msgs", and logs them in a sentence that
// starts with name.
func (s Stats) Report(b *testing.B, name string, allowedPerSecond float64) {
	b.Helper()
	perSecond := float64(s.Messages) / s.Elapsed.Seconds()
	cpuPer10k := s.CPU.Seconds() / float64(s.Messages) * 10000
	b.ReportMetric(perSecond, "msgs/s")
	b.ReportMetric(perSecond/allowedPerSecond, "of-allowed")
	b.ReportMetric(float64(s.RateLimited), "rate-limited")
	b.ReportMetric(float64(s.Duplicates), "duplicates")
	b.ReportMetric(cpuPer10k, "cpu-s/10k-msgs")
	heap := ""
	if s.PeakHeap > 0 {
		b.ReportMetric(float64(s.PeakHeap)/(1<<20), "peak-heap-MiB")
		heap = fmt.Sprintf(", peak heap %.1f MiB", float64(s.PeakHeap)/(1<<20))
	}
	refusals := s.RateLimitedAs
	if refusals == "" {
		refusals = "rate-limited"
	}
	note := ""
	if s.CPUNote != "" {
		note = " (" + s.CPUNote + ")"
	}
	b.Logf("%s: %d messages in %.2fs = %.1f msgs/s = %.3f of the allowed %g/s; %d %s answers, %d duplicates, %.2f CPU s per 10,000 messages%s%s",
		name, s.Messages, s.Elapsed.Seconds(), perSecond, perSecond/allowedPerSecond, allowedPerSecond, s.RateLimited, refusals, s.Duplicates, cpuPer10k, heap, note)
}

// FanOut is the fixture of a fan-out benchmark: a store with
// FanOutChats chats subscribed, a library with a lesson for each slot the
// benchmark delivers, and what the pools on them log.
type FanOut struct {
	// Store is the store, on a file in the benchmark's temporary folder.
	Store *store.Store
	// Subs are the chats' subscription ids, as SubscribeChats returns
	// them.
	Subs []int64
	// Lessons holds l1, l2 and so on: a lesson for each slot.
	Lessons *Lessons
	// Logs holds what the pools of NewPool log, at level error and above.
	Logs *logtest.Buffer

	platform string
}

// NewFanOut opens a store in tb's temporary folder, closed when tb ends,
// subscribes FanOutChats chats on platform with SubscribeChats, and fills
// a library with slots lessons of FanOutLessonSize messages each, so that
// each slot delivers the chats' next lesson.
func NewFanOut(tb testing.TB, platform string, slots int) *FanOut {
	return NewFanOutOf(tb, platform, FanOutChats, slots)
}

// NewFanOutOf is NewFanOut with chats chats.
func NewFanOutOf(tb testing.TB, platform string, chats, slots int) *FanOut {
	tb.Helper()
	st, err := store.Open(context.Background(), filepath.Join(tb.TempDir(), "lessonbot.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	f := &FanOut{
		Store:    st,
		Subs:     SubscribeChats(tb, st, platform, chats),
		Lessons:  &Lessons{Store: st, Size: FanOutLessonSize},
		Logs:     &logtest.Buffer{},
		platform: platform,
	}
	for i := range slots {
		f.Lessons.Add(fmt.Sprintf("l%d", i+1))
	}
	return f
}

// Slot returns the time of the benchmark's slot i, counted from 0: 08:00
// UTC on the i-th day after 1 January 2000.
func (f *FanOut) Slot(i int) time.Time {
	return time.Date(2000, 1, 1, 8, 0, 0, 0, time.UTC).AddDate(0, 0, i)
}

// Enqueue writes a delivery of slot for every chat of the fixture, and
// stops tb unless it wrote one for each.
func (f *FanOut) Enqueue(tb testing.TB, slot time.Time) {
	tb.Helper()
	if n, err := f.Store.EnqueueSlot(context.Background(), f.Subs, slot); err != nil || n != len(f.Subs) {
		tb.Fatalf("enqueued %d deliveries (%v), want %d", n, err, len(f.Subs))
	}
}

// NewPool returns a delivery pool on the fixture's store and library that
// sends through sender, at most FanOutRate messages a second overall and
// one a second to each chat, with FanOutWorkers workers, and logs errors
// to Logs.
func (f *FanOut) NewPool(sender delivery.Sender) *delivery.Pool {
	return f.NewPoolWith(sender, ratelimit.Limits{PerSecond: FanOutRate, PerChatPerSecond: 1}, delivery.Options{Workers: FanOutWorkers})
}

// NewPoolWith returns a delivery pool on the fixture's store and library
// that sends through sender within limits, with opts, and logs errors to
// Logs.
func (f *FanOut) NewPoolWith(sender delivery.Sender, limits ratelimit.Limits, opts delivery.Options) *delivery.Pool {
	log := slog.New(slog.NewTextHandler(f.Logs, &slog.HandlerOptions{Level: slog.LevelError}))
	return delivery.New(f.Store, f.Lessons, map[string]delivery.Platform{f.platform: {Sender: sender, Limits: limits}}, opts, log)
}

// Start runs pool in a goroutine until stop is called; stop returns once
// the pool has stopped, and may be called more than once.
func Start(pool *delivery.Pool) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan struct{})
	go func() { defer close(ran); pool.Run(ctx) }()
	return func() { cancel(); <-ran }
}

// SubscribeChats adds n active private chats on platform, with the chat
// ids 1,000,000 to 1,000,000+n-1, each subscribed at 08:00 UTC every day
// in English, and returns their subscription ids in that order. The chats
// are saved by several goroutines at once, so that their writes share
// commits.
func SubscribeChats(tb testing.TB, st *store.Store, platform string, n int) []int64 {
	tb.Helper()
	ids := make([]int64, n)
	errs := make(chan error, 1)
	var wg sync.WaitGroup
	const savers = 64
	for w := range savers {
		wg.Go(func() {
			for i := w; i < n; i += savers {
				id, err := st.SaveChat(context.Background(), store.Subscription{
					Address: chat.Address{Platform: platform, ChatID: fmt.Sprint(1_000_000 + i)}, Kind: chat.Private,
					Hour: 8, Zone: "UTC", Weekdays: store.EveryDay, Language: "en", Active: true,
				})
				if err != nil {
					select {
					case errs <- err:
					default:
					}
					return
				}
				ids[i] = id
			}
		})
	}
	wg.Wait()
	select {
	case err := <-errs:
		tb.Fatal(err)
	default:
	}
	return ids
}

// PeakHeap samples the heap in use every 50 ms until stop is called, and
// stop returns the most it saw, in bytes.
func PeakHeap() (stop func() uint64) {
	quit, done := make(chan struct{}), make(chan uint64)
	go func() {
		var peak uint64
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			peak = max(peak, m.HeapInuse)
			select {
			case <-quit:
				done <- peak
				return
			case <-tick.C:
			}
		}
	}()
	return func() uint64 { close(quit); return <-done }
}

// WaitAllSent waits until n deliveries of slot are recorded as sent, and
// reports an error when they are not a minute later.
func WaitAllSent(tb testing.TB, st *store.Store, slot time.Time, n int) {
	tb.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		counts, err := st.DeliveryCounts(context.Background(), slot)
		if err != nil {
			tb.Fatal(err)
		}
		if counts[store.DeliverySent] == n {
			return
		}
		if time.Now().After(deadline) {
			tb.Errorf("deliveries by state a minute after the last message: %v, want %d sent", counts, n)
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}
