package delivery_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lessonbot/lessonbot/internal/chat"
	"github.com/lessonbot/lessonbot/internal/delivery"
	"github.com/lessonbot/lessonbot/internal/delivery/deliverytest"
	"github.com/lessonbot/lessonbot/internal/logtest"
	"github.com/lessonbot/lessonbot/internal/ratelimit"
	"github.com/lessonbot/lessonbot/internal/schedule"
	"github.com/lessonbot/lessonbot/internal/store"
)

// sent is one message a fake sender accepted.
type sent struct {
	at   time.Time
	to   chat.Address
	text string // "<lesson>/<index>"
}

// fakeSender records what it is asked to send; fail, when set, may refuse
// a message with an error instead.
type fakeSender struct {
	mu      sync.Mutex
	sent    []sent
	calls   int
	latency time.Duration
	fail    func(call int, to chat.Address, text string) error
}

func (f *fakeSender) Send(ctx context.Context, to chat.Address, kind chat.Kind, m chat.Message) (string, error) {
	if f.latency > 0 {
		time.Sleep(f.latency)
	}
	text := m.Blocks[0].Text
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.fail != nil {
		if err := f.fail(f.calls, to, text); err != nil {
			return "", err
		}
	}
	f.sent = append(f.sent, sent{at: time.Now(), to: to, text: text})
	return fmt.Sprint(len(f.sent)), nil
}

func (f *fakeSender) messages() []sent {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.sent)
}

// rateLimitFirst makes the first send answer rate limited, asking to wait
// retryAfter, and lets every later one through.
func (f *fakeSender) rateLimitFirst(retryAfter time.Duration) {
	f.fail = func(call int, to chat.Address, text string) error {
		if call == 1 {
			return &chat.SendError{Kind: chat.RateLimited, RetryAfter: retryAfter, Err: errors.New("429")}
		}
		return nil
	}
}

// posts returns the first message of each lesson sent (index 0), in order.
func (f *fakeSender) posts() []sent {
	var out []sent
	for _, s := range f.messages() {
		if strings.HasSuffix(s.text, "/0") {
			out = append(out, s)
		}
	}
	return out
}

// world is a store, a library and a sender that schedulers and pools can
// be started on and stopped, as the program would be.
type world struct {
	t       *testing.T
	store   *store.Store
	lessons *deliverytest.Lessons
	sender  *fakeSender
	limits  ratelimit.Limits
	opts    delivery.Options
	catchUp time.Duration
	logs    *logtest.Buffer

	stop  func()
	sched *schedule.Scheduler
}

// newWorld opens a store in the test's folder; call it inside the bubble.
func newWorld(t *testing.T, lessonIDs ...string) *world {
	t.Helper()
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "lessonbot.db"))
	if err != nil {
		t.Fatal(err)
	}
	w := &world{t: t, store: st, sender: &fakeSender{}, catchUp: 6 * time.Hour, logs: &logtest.Buffer{}}
	w.lessons = &deliverytest.Lessons{Store: st, Size: 3}
	w.lessons.Add(lessonIDs...)
	t.Cleanup(func() {
		if w.stop != nil {
			w.stop()
		}
		if err := st.IntegrityCheck(context.Background()); err != nil {
			t.Error(err)
		}
		st.Close()
		if t.Failed() {
			t.Logf("logs:\n%s", w.logs.String())
		}
	})
	return w
}

// start runs a scheduler and a pool, as the program does at start.
func (w *world) start() {
	w.t.Helper()
	if w.stop != nil {
		w.t.Fatal("already started")
	}
	log := slog.New(slog.NewTextHandler(w.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx, cancel := context.WithCancel(context.Background())
	pool := delivery.New(w.store, w.lessons, map[string]delivery.Platform{chat.Telegram: {Sender: w.sender, Limits: w.limits}}, w.opts, log)
	w.sched = schedule.New(w.store, w.catchUp, time.Now, log, pool.Wake)
	var wg sync.WaitGroup
	wg.Go(func() { w.sched.Run(ctx) })
	wg.Go(func() { pool.Run(ctx) })
	w.stop = func() { cancel(); wg.Wait(); w.stop = nil }
}

// subscribe adds an active subscription for chat id at hh:mm in zone.
func (w *world) subscribe(id string, hour, minute int, zone string, days store.Weekdays) store.Subscription {
	w.t.Helper()
	ctx := context.Background()
	sub, err := w.store.EnsureChat(ctx, store.Subscription{
		Address: chat.Address{Platform: chat.Telegram, ChatID: id}, Kind: chat.Private,
		Hour: hour, Minute: minute, Zone: zone, Weekdays: days, Language: "en",
	})
	if err != nil {
		w.t.Fatal(err)
	}
	sub.Active = true
	if err := w.store.SaveSubscription(ctx, sub); err != nil {
		w.t.Fatal(err)
	}
	if w.sched != nil {
		w.sched.Update(sub)
	}
	return sub
}

func (w *world) deliveries(sub store.Subscription) []store.Delivery {
	w.t.Helper()
	ds, err := w.store.Deliveries(context.Background(), sub.ID)
	if err != nil {
		w.t.Fatal(err)
	}
	return ds
}

// sleepUntil advances the bubble's clock to t.
func sleepUntil(t time.Time) { time.Sleep(time.Until(t)) }

func zone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// localTimes writes the times of messages in loc, for messages to compare.
func localTimes(msgs []sent, loc *time.Location) []string {
	var out []string
	for _, m := range msgs {
		out = append(out, m.at.In(loc).Format("2006-01-02 15:04:05 MST")+" "+m.text)
	}
	return out
}
