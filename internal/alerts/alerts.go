// Package alerts tells the admins, in a chat of their choosing, when
// lessonbot goes wrong and when it recovers: a delivery slot that ended
// with failed deliveries or messages of unknown fate, a platform that
// keeps answering 429 (too many requests), a lesson file that stopped
// validating, and lessons waiting too long for their turn.
//
// Each kind of alert is a state: it fires when its condition starts to
// hold, and says so again when the condition ends ("recovered"). At most
// one alert of a kind goes out per hour; one that the hour holds back is
// logged, and its recovery is not announced.
package alerts

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lessonbot/lessonbot/internal/chat"
	"github.com/lessonbot/lessonbot/internal/store"
)

// Kinds of alert.
const (
	// SlotProblems: a delivery slot ended with failed deliveries or
	// messages that may or may not have arrived.
	SlotProblems = "slot"
	// RateLimited: the platforms answered 429 at least RateLimitedPerMinute
	// times in each of the last RateWindow minutes.
	RateLimited = "rate_limited"
	// LessonErrors: a lesson file has errors.
	LessonErrors = "lessons"
	// Backlog: a delivery has been due for more than BacklogAge.
	Backlog = "backlog"
)

// The thresholds of the alerts.
const (
	// Throttle is the least time between two alerts of one kind.
	Throttle = time.Hour
	// CheckEvery is how often Run checks the conditions.
	CheckEvery = time.Minute
	// RateWindow is how many consecutive checks (minutes) must each see
	// RateLimitedPerMinute 429s or more before RateLimited fires.
	RateWindow = 5
	// RateLimitedPerMinute is the 429s a minute that count as too many.
	RateLimitedPerMinute = 5
	// BacklogAge is how long a delivery may wait once due before Backlog
	// fires.
	BacklogAge = 10 * time.Minute
)

// Source is what the watcher reads from the store.
type Source interface {
	SlotOutcomes(ctx context.Context, since time.Time) ([]store.SlotOutcome, error)
	Outbox(ctx context.Context, now time.Time) (store.OutboxStats, error)
}

// Options configure a Watcher.
type Options struct {
	// Store is read for the slots' outcomes and the outbox.
	Store Source
	// LessonErrors returns the errors of the lesson files now, one line
	// each (such as "lessons/012.md:14: ...").
	LessonErrors func() []string
	// Post sends one alert's text to the admins' chats, through the same
	// rate budget as every other message.
	Post func(ctx context.Context, text string) error
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Log receives what the watcher does not post.
	Log *slog.Logger
}

// Watcher checks the conditions and posts the alerts. Its Sent and Late
// methods make it a delivery meter, to count the 429s.
type Watcher struct {
	opts Options

	// limited counts the 429 answers seen by Sent.
	limited atomic.Int64

	mu        sync.Mutex
	kinds     map[string]*kindState
	perMinute []int64 // 429s of each of the last RateWindow checks
	counted   int64   // limited at the last check
	slots     map[time.Time]bool
	started   bool
}

// kindState is where one kind of alert stands.
type kindState struct {
	firing    bool      // the condition holds
	announced bool      // its alert went out (so its recovery will)
	lastSent  time.Time // when an alert of this kind last went out
}

// New returns a watcher.
func New(opts Options) *Watcher {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.LessonErrors == nil {
		opts.LessonErrors = func() []string { return nil }
	}
	return &Watcher{opts: opts, kinds: map[string]*kindState{}, slots: map[time.Time]bool{}}
}

// Sent counts a send's 429 answer; it is the delivery meter's method.
func (w *Watcher) Sent(platform string, err error, took time.Duration) {
	var se *chat.SendError
	if errors.As(err, &se) && se.Kind == chat.RateLimited {
		w.limited.Add(1)
	}
}

// Late does nothing: lateness shows as Backlog.
func (w *Watcher) Late(platform string, d time.Duration) {}

// Run checks the conditions every CheckEvery until ctx is done.
func (w *Watcher) Run(ctx context.Context) {
	tick := time.NewTicker(CheckEvery)
	defer tick.Stop()
	for {
		w.Check(ctx)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// Check checks every condition once and posts what changed.
func (w *Watcher) Check(ctx context.Context) {
	w.mu.Lock()
	defer w.mu.Unlock()
	now := w.opts.Now()
	w.checkSlots(ctx, now)
	w.checkRate(ctx, now)
	w.checkLessons(ctx, now)
	w.checkBacklog(ctx, now)
	w.started = true
}

// checkSlots looks at the slots that ended since the last check. The
// slots already ended at the first check are taken as known: a restart
// does not repeat the alerts of the day.
func (w *Watcher) checkSlots(ctx context.Context, now time.Time) {
	outcomes, err := w.opts.Store.SlotOutcomes(ctx, now.Add(-24*time.Hour))
	if err != nil {
		w.opts.Log.Error("alerts: reading the slots' outcomes failed", "err", err)
		return
	}
	for slot := range w.slots {
		if now.Sub(slot) > 24*time.Hour {
			delete(w.slots, slot)
		}
	}
	for _, o := range outcomes {
		if o.Open > 0 || w.slots[o.Slot] {
			continue
		}
		w.slots[o.Slot] = true
		if !w.started {
			continue
		}
		at := o.Slot.UTC().Format("2006-01-02 15:04 UTC")
		if o.Failed > 0 || o.Unknown > 0 {
			w.set(ctx, now, SlotProblems, true, fmt.Sprintf(
				"lessonbot alert: the %s slot ended with %s and %s, of %s.",
				at, count(o.Failed, "failed delivery", "failed deliveries"),
				count(o.Unknown, "message of unknown fate", "messages of unknown fate"),
				count(o.Deliveries, "delivery", "deliveries")), "")
		} else {
			w.set(ctx, now, SlotProblems, false, "", fmt.Sprintf(
				"lessonbot recovered: the %s slot delivered all its %s.", at, count(o.Deliveries, "delivery", "deliveries")))
		}
	}
}

// checkRate keeps the 429s of each of the last RateWindow checks.
func (w *Watcher) checkRate(ctx context.Context, now time.Time) {
	total := w.limited.Load()
	w.perMinute = append(w.perMinute, total-w.counted)
	w.counted = total
	if len(w.perMinute) > RateWindow {
		w.perMinute = w.perMinute[len(w.perMinute)-RateWindow:]
	}
	every, sum := len(w.perMinute) == RateWindow, int64(0)
	for _, n := range w.perMinute {
		every = every && n >= RateLimitedPerMinute
		sum += n
	}
	switch {
	case every:
		w.set(ctx, now, RateLimited, true, fmt.Sprintf(
			"lessonbot alert: the platform answered 429 (too many requests) %d times in the last %d minutes; lessons are slowed down. Check the rate settings (telegram.rate, discord.rate) and whether another program uses the same token.",
			sum, RateWindow), "")
	case sum < RateLimitedPerMinute:
		w.set(ctx, now, RateLimited, false, "", fmt.Sprintf(
			"lessonbot recovered: fewer than %d answers of 429 in the last %d minutes.", RateLimitedPerMinute, len(w.perMinute)))
	}
}

// checkLessons looks at the lesson files' errors.
func (w *Watcher) checkLessons(ctx context.Context, now time.Time) {
	errs := w.opts.LessonErrors()
	if len(errs) == 0 {
		w.set(ctx, now, LessonErrors, false, "", "lessonbot recovered: every lesson file validates again.")
		return
	}
	more := ""
	if len(errs) > 1 {
		more = fmt.Sprintf(" (and %d more)", len(errs)-1)
	}
	w.set(ctx, now, LessonErrors, true, fmt.Sprintf(
		"lessonbot alert: a lesson file does not validate: %s%s. Its last good version stays in service; run lessonbot check for the full list.",
		errs[0], more), "")
}

// checkBacklog looks at the oldest delivery due.
func (w *Watcher) checkBacklog(ctx context.Context, now time.Time) {
	st, err := w.opts.Store.Outbox(ctx, now)
	if err != nil {
		w.opts.Log.Error("alerts: reading the outbox failed", "err", err)
		return
	}
	if st.OldestDue.IsZero() || now.Sub(st.OldestDue) <= BacklogAge {
		w.set(ctx, now, Backlog, false, "", fmt.Sprintf(
			"lessonbot recovered: no delivery has waited more than %s.", BacklogAge))
		return
	}
	w.set(ctx, now, Backlog, true, fmt.Sprintf(
		"lessonbot alert: a delivery has waited %s since it fell due (%s); lessons are late. Look for 429s, a platform outage, or more chats than the rate allows.",
		now.Sub(st.OldestDue).Round(time.Minute), st.OldestPlatform), "")
}

// set moves kind to firing or not, posting the alert or the recovery.
func (w *Watcher) set(ctx context.Context, now time.Time, kind string, firing bool, alert, recovery string) {
	k := w.kinds[kind]
	if k == nil {
		k = &kindState{}
		w.kinds[kind] = k
	}
	switch {
	case firing && k.firing && k.announced:
		// Still firing, already told.
	case firing && !k.lastSent.IsZero() && now.Sub(k.lastSent) < Throttle:
		if !k.firing {
			w.opts.Log.Warn("alert held back: one of its kind went out less than an hour ago", "kind", kind, "alert", alert)
		}
		k.firing = true
	case firing:
		k.firing = true
		if w.post(ctx, kind, alert) {
			k.announced, k.lastSent = true, now
		}
	case k.firing:
		k.firing = false
		if k.announced {
			k.announced = false
			w.post(ctx, kind, recovery)
		}
	}
}

// post sends text, and logs it when it could not.
func (w *Watcher) post(ctx context.Context, kind, text string) bool {
	pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := w.opts.Post(pctx, text); err != nil {
		w.opts.Log.Error("posting an alert failed", "kind", kind, "alert", text, "err", err)
		return false
	}
	w.opts.Log.Info("alert posted", "kind", kind, "alert", text)
	return true
}

// count writes "1 failed delivery" or "3 failed deliveries".
func count(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
