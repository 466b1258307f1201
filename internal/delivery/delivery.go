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
	// Lease is how long a claim lasts without progress before another
	// worker, or the next start, may take the delivery over.
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
	pl := p.platforms[sub.Address.Platform]
	if pl == nil {
		p.record(log, p.store.RetryDelivery(rec, d.ID, time.Now().Add(time.Hour), false, "no sender for platform "+sub.Address.Platform))
		return
	}
	if d.LessonID == "" {
		id, err := p.assign(rec, d, sub)
		if err != nil {
			log.Error("choosing the lesson failed", "err", err)
			p.record(log, p.store.RetryDelivery(rec, d.ID, time.Now().Add(p.backoff(d.Attempts+1)), true, err.Error()))
			return
		}
		if id == "" {
			p.record(log, p.store.FinishDelivery(rec, d.ID, store.DeliveryExhausted, ""))
			return
		}
		d.LessonID = id
	}
	msgs, ok := p.lessons.DeliveryMessages(sub, d.LessonID)
	if !ok {
		p.record(log, p.store.FinishDelivery(rec, d.ID, store.DeliveryFailed, fmt.Sprintf("lesson %q is no longer in the library", d.LessonID)))
		return
	}
	moved := false
	for i := len(d.MessageIDs); i < len(msgs); i++ {
		if ctx.Err() != nil {
			// Stopping: put the rest back, to be sent on the next start.
			p.record(log, p.store.RetryDelivery(rec, d.ID, time.Now(), false, ""))
			return
		}
		turn, err := pl.limit.wait(ctx, sub.Address, sub.Kind)
		if err != nil {
			p.record(log, p.store.RetryDelivery(rec, d.ID, time.Now(), false, ""))
			return
		}
		if err := p.store.StartMessage(rec, d.ID, i, time.Now().Add(p.opts.Lease)); errors.Is(err, store.ErrNotClaimed) {
			turn.cancel()
			log.Warn("the delivery is no longer this worker's (its lease ran out); not sending", "message", i)
			return
		} else if err != nil {
			turn.cancel()
			log.Error("recording a send failed; leaving the delivery to its lease", "err", err)
			return
		}
		if err := turn.pace(ctx); err != nil {
			p.record(log, p.store.RetryDelivery(rec, d.ID, time.Now(), false, ""))
			return
		}
		msgID, err := pl.sender.Send(sendCtx, sub.Address, sub.Kind, msgs[i])
		if err == nil {
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
			p.record(log, p.store.AbortMessage(rec, d.ID))
			i--
			continue
		case chat.ChatMoved:
			if moved || se.MovedTo == "" {
				break
			}
			moved = true
			if err := p.store.MoveChat(rec, sub.ID, se.MovedTo); err != nil {
				log.Error("moving the subscription failed", "to", se.MovedTo, "err", err)
				p.record(log, p.store.FinishDelivery(rec, d.ID, store.DeliveryFailed, se.Error()))
				return
			}
			log.Info("chat moved; the subscription follows it", "to", se.MovedTo)
			sub.Address.ChatID = se.MovedTo
			p.record(log, p.store.AbortMessage(rec, d.ID))
			i--
			continue
		case chat.ChatGone:
			log.Warn("chat gone; subscription deactivated", "err", se)
			p.record(log, p.store.ChatGone(rec, d.ID, sub.ID, se.Error()))
			return
		case chat.Ambiguous:
			if !p.opts.ResendUnknown {
				log.Warn("send may or may not have arrived; not resending", "message", i, "err", se)
				p.record(log, p.store.FinishDelivery(rec, d.ID, store.DeliveryUnknown, se.Error()))
				return
			}
		case chat.Rejected:
			log.Error("the platform refused the message", "message", i, "err", se)
			p.record(log, p.store.FinishDelivery(rec, d.ID, store.DeliveryFailed, se.Error()))
			return
		}
		// Transient (or an ambiguous error we may resend).
		attempts := d.Attempts + 1
		if attempts >= p.opts.MaxAttempts {
			log.Error("delivery failed after its last attempt", "attempts", attempts, "err", se)
			p.record(log, p.store.FinishDelivery(rec, d.ID, store.DeliveryFailed, se.Error()))
			return
		}
		log.Warn("send failed; will retry", "attempts", attempts, "err", se)
		p.record(log, p.store.RetryDelivery(rec, d.ID, time.Now().Add(p.backoff(attempts)), true, se.Error()))
		return
	}
	p.record(log, p.store.FinishDelivery(rec, d.ID, store.DeliverySent, ""))
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
// come back if it matters.
func (p *Pool) record(log *slog.Logger, err error) {
	if err != nil {
		log.Error("recording delivery progress failed", "err", err)
	}
}
