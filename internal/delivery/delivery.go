// Package delivery drains the outbox: it claims due deliveries, sends each
// lesson's messages through the platform's Sender within the platform's
// rate limits, and records every step, so that after a crash only the
// missing messages are sent and none is sent twice.
package delivery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/lessonbot/lessonbot/internal/chat"
	"github.com/lessonbot/lessonbot/internal/store"
)

// Sender posts one message to a chat and returns the platform's id of
// it. Its errors are *chat.SendError values sorted by kind; any other
// error counts as transient.
type Sender interface {
	Send(ctx context.Context, to chat.Address, kind chat.Kind, m chat.Message) (messageID string, err error)
}

// Lessons chooses and composes the lessons delivered.
type Lessons interface {
	// NextLessonID returns the id of the subscription's next lesson, or
	// "" when none is left.
	NextLessonID(ctx context.Context, sub store.Subscription) (string, error)
	// DeliveryMessages returns the messages of a lesson for the
	// subscription: the post, then its questions; ok is false when the
	// library no longer has the lesson.
	DeliveryMessages(sub store.Subscription, lessonID string) (msgs []chat.Message, ok bool)
}

// Platform is one platform's sender and its limits.
type Platform struct {
	Sender Sender
	Limits Limits
}

// Options tune the pool; zero values take the defaults.
type Options struct {
	// MaxAttempts is how many transient failures a delivery may have
	// before it is marked failed (config delivery.max_attempts).
	MaxAttempts int
	// ResendUnknown sends again a message that may already have been
	// posted (config delivery.resend_unknown).
	ResendUnknown bool
	// Workers caps the deliveries in progress at once. Sends to different
	// chats run concurrently so that network latency does not lower the
	// rate; one chat's messages are spaced by its limit.
	Workers int
	// Lease is how long a claim outlasts its worker before another
	// worker, or the next start, may take the delivery over. A worker
	// renews it every third of it for as long as it works on the
	// delivery, however long the rate limits make it wait, so only a
	// worker that died or stalled loses it.
	Lease time.Duration
	// Poll is the longest the pool waits before it looks at the outbox
	// again when nothing wakes it and nothing falls due sooner.
	Poll time.Duration
	// Grace is how long sends already under way may take to finish after
	// the pool is asked to stop.
	Grace time.Duration
	// Backoff is the wait before the first retry of a transient failure;
	// it doubles with each further failure.
	Backoff time.Duration
}

func (o Options) withDefaults() Options {
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 5
	}
	if o.Workers <= 0 {
		o.Workers = 512
	}
	if o.Lease <= 0 {
		o.Lease = 2 * time.Minute
	}
	if o.Poll <= 0 {
		o.Poll = 30 * time.Second
	}
	if o.Grace <= 0 {
		o.Grace = 10 * time.Second
	}
	if o.Backoff <= 0 {
		o.Backoff = 2 * time.Second
	}
	return o
}

// maxBackoff caps the wait between retries.
const maxBackoff = 10 * time.Minute

// Pool is the delivery worker pool.
type Pool struct {
	store     *store.Store
	lessons   Lessons
	platforms map[string]*platform
	opts      Options
	log       *slog.Logger
	wake      chan struct{}
}

type platform struct {
	name   string
	sender Sender
	limit  *limiter
}

// New returns a pool that delivers to the given platforms, by name
// (chat.Telegram, chat.Discord, chat.Console).
func New(st *store.Store, lessons Lessons, platforms map[string]Platform, opts Options, log *slog.Logger) *Pool {
	p := &Pool{store: st, lessons: lessons, platforms: map[string]*platform{}, opts: opts.withDefaults(), log: log, wake: make(chan struct{}, 1)}
	for name, pl := range platforms {
		p.platforms[name] = &platform{name: name, sender: pl.Sender, limit: newLimiter(pl.Limits)}
	}
	return p
}

// Wake makes the pool look at the outbox now; it never blocks.
func (p *Pool) Wake() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// Run claims and delivers due lessons until ctx is done. Then it stops
// claiming, lets the sends under way finish for up to Grace, puts back
// what it did not finish, and returns.
func (p *Pool) Run(ctx context.Context) error {
	names := make([]string, 0, len(p.platforms))
	for name := range p.platforms {
		names = append(names, name)
	}
	sort.Strings(names)
	// Sends get their own context: it outlives ctx by the grace period.
	sendCtx, cancelSends := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelSends()
	var wg sync.WaitGroup
	slots := make(chan struct{}, p.opts.Workers)
	timer := time.NewTimer(0)
	defer timer.Stop()
	// While most workers are busy, the pool waits for a batch of them to be
	// free before it looks at the outbox: claiming for each worker as it
	// frees would cost a read of the outbox and a write transaction per
	// delivery.
	batch := max(1, p.opts.Workers/8)
	for ctx.Err() == nil {
		wait := p.opts.Poll
		free := p.opts.Workers - len(slots)
		var next time.Time
		var due bool
		var err error
		if free >= batch {
			next, due, err = p.store.NextDue(ctx, names...)
			if err != nil && ctx.Err() == nil {
				p.log.Error("reading the outbox failed", "err", err)
			}
		}
		now := time.Now()
		var claims []store.Claim
		if due && !next.After(now) {
			var unknown int
			claims, unknown, err = p.store.ClaimDue(ctx, now, p.opts.Lease, free, p.opts.ResendUnknown, names...)
			if err != nil && ctx.Err() == nil {
				p.log.Error("claiming deliveries failed", "err", err)
			}
			if unknown > 0 {
				p.log.Warn("deliveries interrupted while sending, marked unknown and not resent", "count", unknown)
			}
		} else if due && next.After(now) {
			wait = min(wait, next.Sub(now))
		}
		for _, c := range claims {
			slots <- struct{}{}
			wg.Go(func() {
				p.deliver(ctx, sendCtx, c)
				<-slots
				p.Wake() // a worker is free again
			})
		}
		if len(claims) > 0 && len(claims) == free {
			continue // there may be more due
		}
		timer.Reset(wait)
		select {
		case <-ctx.Done():
		case <-p.wake:
		case <-timer.C:
		}
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	grace := time.NewTimer(p.opts.Grace)
	defer grace.Stop()
	select {
	case <-done:
	case <-grace.C:
		cancelSends()
		<-done
	}
	return nil
}

// deliver sends one claimed delivery. ctx ends when the pool stops
// claiming; sendCtx when the grace period is over.
func (p *Pool) deliver(ctx, sendCtx context.Context, c store.Claim) {
	d, sub := c.Delivery, c.Subscription
	// What happened is recorded even when the sends were cut short.
	rec := context.WithoutCancel(sendCtx)
	log := p.log.With("delivery", d.ID, "chat", sub.Address.Key())
	// work ends the waits for a turn to send, when the pool stops or when
	// the delivery turns out to be another worker's.
	work, cancelWork := context.WithCancelCause(ctx)
	defer cancelWork(nil)
	l := &lease{store: p.store, id: d.ID, length: p.opts.Lease, held: d.LeaseUntil, lost: cancelWork}
	stopRenewing := l.keep(rec, log)
	defer stopRenewing()

	pl := p.platforms[sub.Address.Platform]
	if pl == nil {
		p.record(log, l.retry(rec, time.Now().Add(time.Hour), false, "no sender for platform "+sub.Address.Platform))
		return
	}
	if d.LessonID == "" {
		id, err := p.assign(rec, d, sub)
		if err != nil {
			log.Error("choosing the lesson failed", "err", err)
			p.record(log, l.retry(rec, time.Now().Add(p.backoff(d.Attempts+1)), true, err.Error()))
			return
		}
		if id == "" {
			p.record(log, l.finish(rec, store.DeliveryExhausted, ""))
			return
		}
		d.LessonID = id
	}
	msgs, ok := p.lessons.DeliveryMessages(sub, d.LessonID)
	if !ok {
		p.record(log, l.finish(rec, store.DeliveryFailed, fmt.Sprintf("lesson %q is no longer in the library", d.LessonID)))
		return
	}
	// stopped handles a wait for a turn that ended early: the delivery is
	// put back, to be sent on the next start, unless it is no longer this
	// worker's to put back.
	stopped := func() {
		if l.isLost() {
			log.Warn("the delivery is no longer this worker's (another took it over); not sending")
			return
		}
		p.record(log, l.retry(rec, time.Now(), false, ""))
	}
	moved := false
	for i := len(d.MessageIDs); i < len(msgs); i++ {
		if ctx.Err() != nil || l.isLost() {
			stopped()
			return
		}
		turn, err := pl.limit.wait(work, sub.Address, sub.Kind)
		if err != nil {
			stopped()
			return
		}
		if err := l.start(rec, i); errors.Is(err, store.ErrNotClaimed) {
			turn.cancel()
			log.Warn("the delivery is no longer this worker's (its lease ran out); not sending", "message", i)
			return
		} else if err != nil {
			turn.cancel()
			log.Error("recording a send failed; leaving the delivery to its lease", "err", err)
			return
		}
		if err := turn.pace(work); err != nil {
			stopped()
			return
		}
		// The lease is renewed all along, but a process stalled for longer
		// than a lease (or writes that failed meanwhile) may have lost it
		// without knowing yet: the send goes only once the delivery is
		// known to be this worker's still.
		if err := l.confirm(rec); errors.Is(err, store.ErrNotClaimed) {
			log.Warn("the delivery is no longer this worker's (its lease ran out); not sending", "message", i)
			return
		} else if err != nil {
			log.Error("renewing the lease failed; not sending, putting the delivery back", "message", i, "err", err)
			p.record(log, l.retry(rec, time.Now(), false, ""))
			return
		}
		msgID, err := pl.sender.Send(sendCtx, sub.Address, sub.Kind, msgs[i])
		if err == nil {
			// Recorded whoever holds the delivery by now: the message
			// reached the chat and must not be sent again.
			p.record(log, p.store.MessageSent(rec, d.ID, i, msgID))
			continue
		}
		var se *chat.SendError
		if !errors.As(err, &se) {
			se = &chat.SendError{Kind: chat.Transient, Err: err}
		}
		switch se.Kind {
		case chat.RateLimited:
			log.Warn("rate limited: the platform's queue waits", "platform", pl.name, "retry_after", se.RetryAfter)
			pl.limit.pause(se.RetryAfter)
			p.record(log, l.abort(rec))
			i--
			continue
		case chat.ChatMoved:
			if moved || se.MovedTo == "" {
				break
			}
			moved = true
			if err := p.store.MoveChat(rec, sub.ID, se.MovedTo); err != nil {
				log.Error("moving the subscription failed", "to", se.MovedTo, "err", err)
				p.record(log, l.finish(rec, store.DeliveryFailed, se.Error()))
				return
			}
			log.Info("chat moved; the subscription follows it", "to", se.MovedTo)
			sub.Address.ChatID = se.MovedTo
			p.record(log, l.abort(rec))
			i--
			continue
		case chat.ChatGone:
			log.Warn("chat gone; subscription deactivated", "err", se)
			l.end()
			p.record(log, p.store.ChatGone(rec, d.ID, sub.ID, se.Error()))
			return
		case chat.Ambiguous:
			if !p.opts.ResendUnknown {
				log.Warn("send may or may not have arrived; not resending", "message", i, "err", se)
				p.record(log, l.finish(rec, store.DeliveryUnknown, se.Error()))
				return
			}
		case chat.Rejected:
			log.Error("the platform refused the message", "message", i, "err", se)
			p.record(log, l.finish(rec, store.DeliveryFailed, se.Error()))
			return
		}
		// Transient (or an ambiguous error we may resend).
		attempts := d.Attempts + 1
		if attempts >= p.opts.MaxAttempts {
			log.Error("delivery failed after its last attempt", "attempts", attempts, "err", se)
			p.record(log, l.finish(rec, store.DeliveryFailed, se.Error()))
			return
		}
		log.Warn("send failed; will retry", "attempts", attempts, "err", se)
		p.record(log, l.retry(rec, time.Now().Add(p.backoff(attempts)), true, se.Error()))
		return
	}
	p.record(log, l.finish(rec, store.DeliverySent, ""))
}

// errLeaseLost ends the waits of a worker whose delivery another worker
// took over.
var errLeaseLost = fmt.Errorf("delivery taken over: %w", store.ErrNotClaimed)

// lease is a worker's hold on the delivery it claimed. It is the one place
// that knows the lease end the worker last wrote, which each write of the
// claim names (a store write finds the delivery taken over, with
// store.ErrNotClaimed, when the lease end is no longer that one); and it
// renews the lease while the worker works, however long the rate limits
// make it wait.
type lease struct {
	store  *store.Store
	id     int64
	length time.Duration
	// lost is called once the delivery is found to be another worker's.
	lost context.CancelCauseFunc

	// mu is held across each write of the claim, so that the lease end it
	// names is not renewed meanwhile.
	mu   sync.Mutex
	held time.Time // the lease end last written
	gone bool      // another worker holds the delivery
	over bool      // the worker ended the claim: nothing to renew
}

// keep renews the lease every third of its length, in the background, so
// that it never runs out while the worker works on the delivery; it stops
// when the returned function is called, once the worker is done, or when
// the delivery turns out to be another worker's. The writes use ctx, which
// should not end before the worker does.
func (l *lease) keep(ctx context.Context, log *slog.Logger) (stop func()) {
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(max(l.length/3, time.Millisecond))
		defer tick.Stop()
		for {
			select {
			case <-quit:
				return
			case <-tick.C:
			}
			err := l.renew(ctx)
			if errors.Is(err, store.ErrNotClaimed) {
				return
			}
			if err != nil {
				// The lease lasts two more periods: the next renewal may
				// well succeed, and confirm checks before each send.
				log.Error("renewing the lease failed", "err", err)
			}
		}
	}()
	return func() { close(quit); <-done }
}

// renew extends the lease to a full length from now.
func (l *lease) renew(ctx context.Context) error {
	return l.write(func(held time.Time) error {
		if l.over {
			return nil
		}
		until := l.next()
		if err := l.store.RenewLease(ctx, l.id, held, until); err != nil {
			return err
		}
		l.held = until
		return nil
	})
}

// confirm returns nil when the delivery is the worker's for now: its
// lease has not run out yet, or it has but no other worker took it over,
// and it is renewed.
func (l *lease) confirm(ctx context.Context) error {
	l.mu.Lock()
	ok := !l.gone && time.Now().Before(l.held)
	l.mu.Unlock()
	if ok {
		return nil
	}
	return l.renew(ctx)
}

// start records the send of message index, extending the lease.
func (l *lease) start(ctx context.Context, index int) error {
	return l.write(func(held time.Time) error {
		until := l.next()
		if err := l.store.StartMessage(ctx, l.id, held, index, until); err != nil {
			return err
		}
		l.held = until
		return nil
	})
}

// abort records that the message under way was not sent.
func (l *lease) abort(ctx context.Context) error {
	return l.write(func(held time.Time) error { return l.store.AbortMessage(ctx, l.id, held) })
}

// retry puts the delivery back in the queue and ends the claim.
func (l *lease) retry(ctx context.Context, dueAt time.Time, countAttempt bool, lastError string) error {
	return l.write(func(held time.Time) error {
		l.over = true
		return l.store.RetryDelivery(ctx, l.id, held, dueAt, countAttempt, lastError)
	})
}

// finish ends the delivery in a final state and ends the claim.
func (l *lease) finish(ctx context.Context, state store.DeliveryState, lastError string) error {
	return l.write(func(held time.Time) error {
		l.over = true
		return l.store.FinishDelivery(ctx, l.id, held, state, lastError)
	})
}

// end stops the renewals before a write that ends the claim with no
// lease (store.ChatGone).
func (l *lease) end() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.over = true
}

// isLost reports whether the delivery was found to be another worker's.
func (l *lease) isLost() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.gone
}

// write runs f, a write of the claim, with the lease end held, unless the
// delivery is known to be another worker's already. Once a write finds it
// so, the worker's waits end and no later write is tried.
func (l *lease) write(f func(held time.Time) error) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.gone {
		return errLeaseLost
	}
	err := f(l.held)
	if errors.Is(err, store.ErrNotClaimed) {
		l.gone = true
		l.lost(errLeaseLost)
	}
	return err
}

// next is the lease end of a renewal now: a full length from now, in the
// whole seconds the store keeps, and never before the lease end held, for
// a lease that moved back could match a later claim's.
func (l *lease) next() time.Time {
	until := time.Unix(time.Now().Add(l.length).Unix(), 0)
	if until.Before(l.held) {
		return l.held
	}
	return until
}

// assign chooses the delivery's lesson: the subscription's next one.
func (p *Pool) assign(ctx context.Context, d store.Delivery, sub store.Subscription) (string, error) {
	for range 3 {
		id, err := p.lessons.NextLessonID(ctx, sub)
		if err != nil || id == "" {
			return "", err
		}
		err = p.store.AssignLesson(ctx, d.ID, id)
		if errors.Is(err, store.ErrDuplicate) {
			continue // another delivery took it meanwhile; choose again
		}
		return id, err
	}
	return "", fmt.Errorf("no lesson could be assigned to delivery %d", d.ID)
}

// backoff is the wait before retry number attempts (from 1).
func (p *Pool) backoff(attempts int) time.Duration {
	d := p.opts.Backoff
	for i := 1; i < attempts && d < maxBackoff; i++ {
		d *= 2
	}
	return min(d, maxBackoff)
}

// record logs a failed bookkeeping write; the lease makes the delivery
// come back if it matters. A write refused because another worker took the
// delivery over is no failure: that worker records it from then on.
func (p *Pool) record(log *slog.Logger, err error) {
	switch {
	case errors.Is(err, store.ErrNotClaimed):
		log.Warn("the delivery is no longer this worker's (another took it over); not recording", "err", err)
	case err != nil:
		log.Error("recording delivery progress failed", "err", err)
	}
}
