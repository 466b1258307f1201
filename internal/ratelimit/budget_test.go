package ratelimit

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/lessonbot/lessonbot/internal/chat"
)

// grant is one turn a test's waiter got.
type grant struct {
	who string
	at  time.Time
}

// recorder collects the turns of the waiters it starts.
type recorder struct {
	mu     sync.Mutex
	grants []grant
	wg     sync.WaitGroup
}

// wait starts a waiter named who for a message to chat id, recorded when
// granted.
func (r *recorder) wait(b *Budget, ctx context.Context, who, id string, kind chat.Kind, p Priority) {
	r.wg.Go(func() {
		if err := b.Wait(ctx, chat.Address{Platform: chat.Telegram, ChatID: id}, kind, p); err != nil {
			return
		}
		r.mu.Lock()
		r.grants = append(r.grants, grant{who, time.Now()})
		r.mu.Unlock()
	})
}

func (r *recorder) done() []grant {
	r.wg.Wait()
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.grants)
}

func TestOverallRate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := New(Limits{PerSecond: 10})
		start := time.Now()
		var r recorder
		for i := range 30 {
			r.wait(b, context.Background(), fmt.Sprint(i), fmt.Sprint(i), chat.Private, Scheduled)
		}
		grants := r.done()
		if len(grants) != 30 {
			t.Fatalf("%d turns granted, want 30", len(grants))
		}
		for i := 1; i < len(grants); i++ {
			if gap := grants[i].at.Sub(grants[i-1].at); gap != 100*time.Millisecond {
				t.Errorf("turns %d and %d are %v apart, want 100ms", i-1, i, gap)
			}
		}
		if took := grants[29].at.Sub(start); took != 2900*time.Millisecond {
			t.Errorf("30 turns at 10/s took %v, want 2.9s", took)
		}
	})
}

// TestRepliesFirst queues replies behind scheduled messages: each reply
// gets the next turn, ahead of every scheduled message waiting.
func TestRepliesFirst(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := New(Limits{PerSecond: 10})
		var r recorder
		for i := range 20 {
			r.wait(b, context.Background(), fmt.Sprintf("s%d", i), fmt.Sprint(i), chat.Private, Scheduled)
			synctest.Wait() // queued in this order
		}
		time.Sleep(250 * time.Millisecond) // three scheduled turns: at 0, 100 and 200 ms
		for i := range 3 {
			r.wait(b, context.Background(), fmt.Sprintf("r%d", i), fmt.Sprint(100+i), chat.Private, Reply)
			synctest.Wait() // queued in this order
		}
		grants := r.done()
		var order []string
		for _, g := range grants {
			order = append(order, g.who)
		}
		want := []string{"s0", "s1", "s2", "r0", "r1", "r2", "s3", "s4"}
		if !slices.Equal(order[:len(want)], want) {
			t.Errorf("turns in the order %v, want %v first", order, want)
		}
	})
}

// TestChatSpacing sends three messages to one chat among others: the
// chat's turns are a second apart, and the other chats are served
// meanwhile rather than wait behind it.
func TestChatSpacing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := New(Limits{PerSecond: 100, PerChatPerSecond: 1})
		start := time.Now()
		var r recorder
		for i := range 3 {
			r.wait(b, context.Background(), fmt.Sprintf("busy%d", i), "busy", chat.Private, Scheduled)
			synctest.Wait()
		}
		for i := range 5 {
			r.wait(b, context.Background(), fmt.Sprintf("other%d", i), fmt.Sprint(i), chat.Private, Scheduled)
		}
		grants := r.done()
		var busy []time.Duration
		others := 0
		for _, g := range grants {
			if len(g.who) > 4 && g.who[:4] == "busy" {
				busy = append(busy, g.at.Sub(start))
			} else if g.at.Sub(start) < time.Second {
				others++
			}
		}
		if want := []time.Duration{0, time.Second, 2 * time.Second}; !slices.Equal(busy, want) {
			t.Errorf("the busy chat's turns came at %v, want %v", busy, want)
		}
		if others != 5 {
			t.Errorf("%d of the 5 other chats had their turn within the first second, want all", others)
		}
	})
}

// TestGroupPerMinute sends 30 messages to one group with 20 a minute
// allowed: no 60-second window holds more than 20 of them.
func TestGroupPerMinute(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := New(Limits{PerSecond: 30, PerChatPerSecond: 1, PerGroupPerMinute: 20})
		var r recorder
		for i := range 30 {
			r.wait(b, context.Background(), fmt.Sprint(i), "group", chat.Group, Scheduled)
		}
		grants := r.done()
		if len(grants) != 30 {
			t.Fatalf("%d turns, want 30", len(grants))
		}
		for i := range grants {
			in := 0
			for j := i; j < len(grants) && grants[j].at.Sub(grants[i].at) < time.Minute; j++ {
				in++
			}
			if in > 20 {
				t.Fatalf("%d turns in the minute from %v, want at most 20", in, grants[i].at)
			}
		}
		// A private chat is not a group: only its per-second limit holds.
		p := New(Limits{PerChatPerSecond: 1, PerGroupPerMinute: 20})
		var pr recorder
		start := time.Now()
		for i := range 30 {
			pr.wait(p, context.Background(), fmt.Sprint(i), "private", chat.Private, Scheduled)
		}
		if last := pr.done()[29].at.Sub(start); last != 29*time.Second {
			t.Errorf("30 turns to a private chat at 1/s ended after %v, want 29s", last)
		}
	})
}

// TestPause holds every turn for the pause the platform asked for, then
// resumes at the overall rate, not all at once.
func TestPause(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := New(Limits{PerSecond: 10})
		start := time.Now()
		b.Pause(5 * time.Second)
		b.Pause(time.Second) // shorter: changes nothing
		if got := b.PausedFor(); got != 5*time.Second {
			t.Errorf("PausedFor = %v, want 5s", got)
		}
		var r recorder
		for i := range 10 {
			r.wait(b, context.Background(), fmt.Sprint(i), fmt.Sprint(i), chat.Private, Reply)
		}
		grants := r.done()
		for i, g := range grants {
			if want := 5*time.Second + time.Duration(i)*100*time.Millisecond; g.at.Sub(start) != want {
				t.Errorf("turn %d at %v, want %v", i, g.at.Sub(start), want)
			}
		}
	})
}

// TestCancel abandons waits: an abandoned waiter never gets a turn, and
// the others go on.
func TestCancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := New(Limits{PerSecond: 1, PerChatPerSecond: 0.1})
		ctx, cancel := context.WithCancel(context.Background())
		var r recorder
		r.wait(b, context.Background(), "first", "a", chat.Private, Scheduled)
		synctest.Wait()
		r.wait(b, ctx, "queued", "b", chat.Private, Scheduled)    // waits for the overall spacing
		r.wait(b, ctx, "set-aside", "a", chat.Private, Scheduled) // waits for its chat
		r.wait(b, context.Background(), "last", "c", chat.Private, Scheduled)
		synctest.Wait()
		cancel()
		grants := r.done()
		var order []string
		for _, g := range grants {
			order = append(order, g.who)
		}
		if want := []string{"first", "last"}; !slices.Equal(order, want) {
			t.Errorf("turns %v, want %v", order, want)
		}
		if err := b.Wait(ctx, chat.Address{ChatID: "d"}, chat.Private, Reply); err == nil {
			t.Error("Wait with an ended context = nil, want its error")
		}
	})
}

func TestChatReadyAt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := New(Limits{PerChatPerSecond: 0.5})
		to := chat.Address{Platform: chat.Telegram, ChatID: "1"}
		if at := b.ChatReadyAt(to, chat.Private); at.After(time.Now()) {
			t.Errorf("a new chat is ready at %v, want now", at)
		}
		if err := b.Wait(context.Background(), to, chat.Private, Scheduled); err != nil {
			t.Fatal(err)
		}
		if at, want := b.ChatReadyAt(to, chat.Private), time.Now().Add(2*time.Second); !at.Equal(want) {
			t.Errorf("after a turn the chat is ready at %v, want %v", at, want)
		}
		// The history of an idle chat is forgotten, which frees memory
		// and changes nothing: its limit is long satisfied.
		time.Sleep(time.Hour)
		other := chat.Address{Platform: chat.Telegram, ChatID: "2"}
		if err := b.Wait(context.Background(), other, chat.Private, Scheduled); err != nil {
			t.Fatal(err)
		}
		b.mu.Lock()
		_, kept := b.chats[to.Key()]
		b.mu.Unlock()
		if kept {
			t.Error("an idle chat's history was kept for an hour")
		}
	})
}

// BenchmarkBudgetRate grants turns at 1,000 a second to 200 waiters that
// come back as soon as they are served, in real time, and reports the rate
// achieved as a share of the allowed one: what the dispatcher's lateness
// in waking costs.
func BenchmarkBudgetRate(b *testing.B) {
	const perSecond, waiters = 1000, 200
	b.ReportAllocs()
	budget := New(Limits{PerSecond: perSecond})
	var granted atomic.Int64
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	start := time.Now()
	for i := range waiters {
		wg.Go(func() {
			to := chat.Address{Platform: chat.Telegram, ChatID: fmt.Sprint(i)}
			for budget.Wait(ctx, to, chat.Private, Scheduled) == nil {
				if granted.Add(1) >= int64(b.N) {
					cancel()
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	rate := float64(granted.Load()) / elapsed.Seconds()
	b.ReportMetric(rate, "turns/s")
	b.ReportMetric(rate/perSecond, "of-allowed")
}

// TestLateWakeKeepsSchedule grants turns as a dispatcher that woke 3 ms
// late would: the turns it owes follow on their schedule, so the rate
// does not fall; 10 ms late, the schedule starts afresh from now, with no
// burst saved up.
func TestLateWakeKeepsSchedule(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := New(Limits{PerSecond: 1000})
		at := time.Now()
		b.next = at
		for i := range 2 {
			b.queues[Scheduled].push(&waiter{chat: fmt.Sprint(i), granted: make(chan struct{}), index: -1})
		}
		if wait, _ := b.grantLocked(at.Add(3 * time.Millisecond)); wait != 0 || !b.next.Equal(at.Add(time.Millisecond)) {
			t.Errorf("3 ms late: next turn at +%v, want +1ms, on schedule", b.next.Sub(at))
		}
		if wait, _ := b.grantLocked(at.Add(13 * time.Millisecond)); wait != 0 || !b.next.Equal(at.Add(14*time.Millisecond)) {
			t.Errorf("12 ms late: next turn at +%v, want +14ms, afresh from now", b.next.Sub(at))
		}
	})
}
