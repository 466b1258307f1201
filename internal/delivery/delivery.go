// Package delivery drains the outbox: it claims due deliveries, sends each
// lesson's messages through the platform's Sender within the platform's
// message budget, and records every step, so that after a crash only the
// missing messages are sent and none is sent twice.
//
// The pool holds many deliveries at once, each waiting for its chat's next
// turn in a queue ordered by when that chat may have another message (one a
// second on Telegram). Workers take whichever delivery is ready, send its
// next message, and put it back until its lesson is done: a worker never
// sleeps on one chat's spacing while other chats are ready, so the
// platform's overall rate, not the number of workers, sets the pace.
//
// Every claim names the process that holds it (its holder id) and carries a
// lease that the process renews, all its claims at once, for as long as it
// runs. A process that holds the database lock takes over at start every
// claim of any other holder, which it knows to be dead (Options.TakeOver);
// without the lock, a claim passes to another holder when its lease runs
// out.
package delivery

import (
	"container/heap"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lessonbot/lessonbot/internal/chat"
	"github.com/lessonbot/lessonbot/internal/ratelimit"
	"github.com/lessonbot/lessonbot/internal/store"
)

// Sender posts one message to a chat and returns the platform's id of
// it. Its errors are *chat.SendError values sorted by kind; any other
// error counts as transient.
type Sender interface {
	Send(ctx context.Context, to chat.Address, kind chat.Kind, m chat.Message) (messageID string, err error)
}

// Lessons chooses and composes what is delivered.
type Lessons interface {
	// NextLessonID returns the id of the subscription's next lesson, or
	// "" when none is left.
	NextLessonID(ctx context.Context, sub store.Subscription) (string, error)
	// Compose returns the messages of a delivery for the subscription,
	// the same ones each time it is asked (a delivery resumed after a
	// crash sends the rest of them): a lesson's post, its questions and
	// its review, or the weekly summary. ok is false when the library no
	// longer has the lesson.
	Compose(ctx context.Context, d store.Delivery, sub store.Subscription) (msgs []chat.Message, ok bool, err error)
}

// Platform is one platform's sender and its message budget.
type Platform struct {
	Sender Sender
	// Budget is the platform's message budget, shared with whatever else
	// sends on the platform (the adapter's replies), so that all of it
	// together stays within the platform's limits. When nil, the pool
	// makes one of its own from Limits.
	Budget *ratelimit.Budget
	// Limits are the platform's limits, for a Budget made by the pool,
	// and to size the pool (see Options.InFlight).
	Limits ratelimit.Limits
}

// Options tune the pool; zero values take the defaults.
type Options struct {
	// MaxAttempts is how many transient failures a delivery may have
	// before it is marked failed (config delivery.max_attempts).
	MaxAttempts int
	// ResendUnknown sends again a message that may already have been
	// posted (config delivery.resend_unknown).
	ResendUnknown bool
	// Workers caps the sends under way at once, with their bookkeeping:
	// enough that the platforms' latency does not lower their rate.
	Workers int
	// InFlight caps the deliveries the pool holds at once. Each chat takes
	// one message a second or so, so the overall rate needs about as many
	// chats under way as its messages a second; the default is four times
	// that, at least 256.
	InFlight int
	// Lease is how long a claim outlasts its holder's last renewal before
	// another holder may take the delivery over. The pool renews its
	// claims every third of it, all at once.
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
	// Holder names this process in its claims; empty makes one of the
	// host name, the process id and random characters.
	Holder string
	// TakeOver makes the pool take over at start every claim of another
	// holder on its platforms, however long its lease still runs. Set it
	// only in the one process that holds the database lock: it knows that
	// every other holder is dead.
	TakeOver bool
	// Meter, when not nil, is told of every send, for the operator's
	// metrics and alerts.
	Meter Meter
}

// Meter is told what the pool's sends come to.
type Meter interface {
	// Sent tells of one send on platform: err is nil or the Sender's
	// error, and took how long the platform took to answer.
	Sent(platform string, err error, took time.Duration)
	// Late tells how long after its slot a delivery's first message went.
	Late(platform string, d time.Duration)
}

// noMeter is the Meter of a pool given none.
type noMeter struct{}

func (noMeter) Sent(string, error, time.Duration) {}
func (noMeter) Late(string, time.Duration)        {}

func (o Options) withDefaults(platforms map[string]Platform) Options {
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 5
	}
	if o.Workers <= 0 {
		o.Workers = 256
	}
	if o.InFlight <= 0 {
		chats := 0.0
		for _, pl := range platforms {
			l := pl.Limits
			if l.PerSecond > 0 && l.PerChatPerSecond > 0 {
				chats += l.PerSecond / l.PerChatPerSecond
			}
		}
		o.InFlight = max(256, int(math.Min(4*chats, 1<<16)))
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
	if o.Holder == "" {
		o.Holder = NewHolder()
	}
	if o.Meter == nil {
		o.Meter = noMeter{}
	}
	return o
}

// NewHolder returns a holder id that names this process, unlike any other
// process's: "host:pid:random".
func NewHolder() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "unknown"
	}
	var b [4]byte
	rand.Read(b[:])
	return fmt.Sprintf("%s:%d:%s", host, os.Getpid(), hex.EncodeToString(b[:]))
}

// maxBackoff caps the wait between retries.
const maxBackoff = 10 * time.Minute

// recordAhead is about how long before its turn a message may be recorded
// as under way: each platform lets that long's worth of sends at its
// overall rate be recorded and waiting. The record must come before the
// turn, since its time varies: were the turn taken first, the sends that a
// slow write held up past their turn would reach the platform in a bunch,
// above its rate. The window bounds what a crash leaves unknown.
const recordAhead = 50 * time.Millisecond

// retryBookkeeping is the wait before a delivery whose record failed (the
// database is in trouble) is tried again.
const retryBookkeeping = time.Second

// Pool is the delivery worker pool.
type Pool struct {
	store     *store.Store
	lessons   Lessons
	platforms map[string]*platform
	names     []string
	opts      Options
	log       *slog.Logger
	wake      chan struct{}

	ready readyQueue
	// held counts the deliveries the pool holds: queued or being sent.
	held atomic.Int64
	// renewed is when the pool's claims were last known to be leased for
	// a full Lease (unix nanoseconds).
	renewed atomic.Int64
	// looked is when the claim loop last looked at the outbox (unix
	// nanoseconds): its heartbeat.
	looked atomic.Int64

	// holdChat makes a worker hold its delivery through the chat's
	// spacing, as workers did before the ready queue; for the benchmark
	// that compares the two.
	holdChat bool
}

type platform struct {
	name   string
	sender Sender
	budget *ratelimit.Budget
	// window has a place for each message recorded as under way and
	// waiting for its turn (see recordAhead); nil with no overall rate.
	window chan struct{}
}

// New returns a pool that delivers to the given platforms, by name
// (chat.Telegram, chat.Discord, chat.Console).
func New(st *store.Store, lessons Lessons, platforms map[string]Platform, opts Options, log *slog.Logger) *Pool {
	p := &Pool{store: st, lessons: lessons, platforms: map[string]*platform{}, opts: opts.withDefaults(platforms), log: log,
		wake: make(chan struct{}, 1)}
	p.ready.kick = make(chan struct{}, 1)
	for name, pl := range platforms {
		b := pl.Budget
		if b == nil {
			b = ratelimit.New(pl.Limits)
		}
		plat := &platform{name: name, sender: pl.Sender, budget: b}
		if iv := b.Interval(); iv > 0 {
			plat.window = make(chan struct{}, max(2, int(math.Ceil(float64(recordAhead)/float64(iv)))))
		}
		p.platforms[name] = plat
		p.names = append(p.names, name)
	}
	sort.Strings(p.names)
	p.looked.Store(time.Now().UnixNano())
	return p
}

// LastLook returns when the pool last looked at the outbox. A running pool
// looks at least every Options.Poll (see PollPeriod), so an older look
// means its loop is stuck.
func (p *Pool) LastLook() time.Time { return time.Unix(0, p.looked.Load()) }

// PollPeriod returns the longest time between two looks at the outbox.
func (p *Pool) PollPeriod() time.Duration { return p.opts.Poll }

// Holder is the id that names this pool's process in its claims.
func (p *Pool) Holder() string { return p.opts.Holder }

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
	// Sends get their own context: it outlives ctx by the grace period.
	sendCtx, cancelSends := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelSends()
	rec := context.WithoutCancel(ctx)
	if p.opts.TakeOver {
		released, unknown, err := p.store.TakeOver(ctx, p.opts.Holder, p.opts.ResendUnknown, p.names...)
		switch {
		case err != nil:
			p.log.Error("taking over the deliveries of a previous run failed; they resume when their leases run out", "err", err)
		case released > 0:
			p.log.Info("took over the deliveries a previous run left", "deliveries", released, "unknown_messages", unknown)
		}
	}
	p.renewed.Store(time.Now().UnixNano())
	var bg sync.WaitGroup
	leases, stopLeases := context.WithCancel(rec)
	bg.Go(func() { p.keepLeases(leases) })

	work := make(chan *job)
	var workers sync.WaitGroup
	for range p.opts.Workers {
		workers.Go(func() {
			for j := range work {
				p.work(ctx, sendCtx, j)
			}
		})
	}
	fed := make(chan struct{})
	go func() { defer close(fed); p.ready.feed(ctx, work) }()

	p.claimLoop(ctx)

	<-fed
	close(work)
	done := make(chan struct{})
	go func() { workers.Wait(); close(done) }()
	grace := time.NewTimer(p.opts.Grace)
	defer grace.Stop()
	select {
	case <-done:
	case <-grace.C:
		cancelSends()
		<-done
	}
	if n, err := p.store.ReleaseClaims(rec, p.opts.Holder); err != nil {
		p.log.Error("putting back the deliveries not finished failed; they resume when their leases run out", "err", err)
	} else if n > 0 {
		p.log.Info("put back the deliveries not finished, for the next start", "deliveries", n)
	}
	stopLeases()
	bg.Wait()
	return nil
}

// claimLoop claims due deliveries while the pool has room, until ctx is
// done.
func (p *Pool) claimLoop(ctx context.Context) {
	timer := time.NewTimer(0)
	defer timer.Stop()
	// The pool claims in batches: claiming for each delivery as another
	// ends would cost a read of the outbox and a write per delivery.
	batch := max(1, min(p.opts.InFlight/8, 512))
	// claimedShort tells that the last claim found fewer rows than it had
	// room for: rows that NextDue still sees due are not claimable yet,
	// so the pool does not spin on them.
	claimedShort := false
	for ctx.Err() == nil {
		p.looked.Store(time.Now().UnixNano())
		free := p.opts.InFlight - int(p.held.Load())
		wait := p.opts.Poll
		if free >= batch {
			// Reading first keeps an idle pool to one query a poll.
			next, due, err := p.store.NextDue(ctx, p.opts.Holder, p.names...)
			if err != nil && ctx.Err() == nil {
				p.log.Error("reading the outbox failed", "err", err)
			}
			now := time.Now()
			switch {
			case due && !next.After(now) && !claimedShort:
				claims, unknown, err := p.store.ClaimDue(ctx, now, p.opts.Holder, p.opts.Lease, free, p.opts.ResendUnknown, p.names...)
				if err != nil && ctx.Err() == nil {
					p.log.Error("claiming deliveries failed", "err", err)
				}
				if unknown > 0 {
					p.log.Warn("deliveries whose holder stopped renewing were taken over; the messages under way are counted unknown", "unknown_messages", unknown)
				}
				for _, c := range claims {
					p.held.Add(1)
					p.ready.push(p.newJob(c))
				}
				claimedShort = len(claims) < free
				continue
			case due:
				wait = min(wait, max(next.Sub(now), 50*time.Millisecond))
			}
		}
		claimedShort = false
		timer.Reset(wait)
		select {
		case <-ctx.Done():
		case <-p.wake:
		case <-timer.C:
		}
	}
}

// keepLeases renews the pool's claims every third of a lease until ctx is
// done.
func (p *Pool) keepLeases(ctx context.Context) {
	tick := time.NewTicker(max(p.opts.Lease/3, time.Millisecond))
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if p.held.Load() == 0 {
			// Nothing to renew; a claim made meanwhile has a full lease.
			p.renewed.Store(time.Now().UnixNano())
			continue
		}
		if err := p.renew(ctx); err != nil && ctx.Err() == nil {
			// The leases last two more periods: the next renewal may well
			// succeed, and every send checks first.
			p.log.Error("renewing the leases of the deliveries under way failed", "err", err)
		}
	}
}

// renew extends every claim of the pool to a full lease from now.
func (p *Pool) renew(ctx context.Context) error {
	now := time.Now()
	if _, err := p.store.RenewLeases(ctx, p.opts.Holder, now.Add(p.opts.Lease)); err != nil {
		return err
	}
	p.renewed.Store(now.UnixNano())
	return nil
}

// leased reports whether the pool's claims are surely still its own: their
// leases were renewed recently enough that none can have run out. A send
// goes only then: a process stalled for longer than a lease, or whose
// renewals failed meanwhile, may have lost its deliveries to another.
func (p *Pool) leased() bool {
	margin := min(p.opts.Lease/10, time.Second)
	return time.Since(time.Unix(0, p.renewed.Load())) < p.opts.Lease-margin
}

// job is a delivery the pool holds, between two of its messages.
type job struct {
	d    store.Delivery
	sub  store.Subscription
	msgs []chat.Message
	plat *platform
	log  *slog.Logger
	// moved tells that the chat moved once already (a group upgraded to
	// a supergroup); it does not move twice.
	moved bool
	// at is when the chat may have its next message; seq orders jobs
	// ready at the same time by when they were queued.
	at    time.Time
	seq   uint64
	index int
}

func (p *Pool) newJob(c store.Claim) *job {
	return &job{
		d: c.Delivery, sub: c.Subscription, plat: p.platforms[c.Subscription.Address.Platform],
		log: p.log.With("delivery_id", c.Delivery.ID, "platform", c.Subscription.Address.Platform, "platform", c.Subscription.Address.Platform, "chat_id", c.Subscription.Address.ChatID),
	}
}

// outcome is what became of a delivery after one step.
type outcome int

const (
	// again: the delivery has more to send once its chat is ready.
	again outcome = iota
	// ended: the pool lets the delivery go: it is done, put back for
	// later, taken over by another holder, or left to the next start
	// after its record failed.
	ended
	// stopped: the pool is stopping; the delivery is put back in bulk.
	stopped
)

// work sends the next message of j and puts j back in the queue for the
// one after, or lets it go.
func (p *Pool) work(ctx, sendCtx context.Context, j *job) {
	for {
		o, at := p.step(ctx, sendCtx, j)
		switch {
		case o == ended:
			p.held.Add(-1)
			p.Wake() // room for another
			return
		case o == stopped:
			return
		case p.holdChat:
			t := time.NewTimer(time.Until(at))
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
		default:
			j.at = at
			p.ready.push(j)
			return
		}
	}
}

// step sends one message of j and records it, and returns what became of
// j and, when it has more to send, when its chat is ready for it. ctx ends
// when the pool stops claiming; sendCtx when the grace period is over.
func (p *Pool) step(ctx, sendCtx context.Context, j *job) (outcome, time.Time) {
	// What happened is recorded even when the sends were cut short.
	rec := context.WithoutCancel(sendCtx)
	if ctx.Err() != nil {
		return stopped, time.Time{}
	}
	if j.plat == nil {
		return p.retry(rec, j, time.Now().Add(time.Hour), false, "no sender for platform "+j.sub.Address.Platform), time.Time{}
	}
	if j.msgs == nil {
		if o, ok := p.prepare(rec, j); !ok {
			return o, time.Time{}
		}
	}
	d, sub := &j.d, &j.sub
	i := len(d.MessageIDs)
	if i >= len(j.msgs) {
		return p.finish(rec, j, store.DeliverySent, ""), time.Time{}
	}
	if w := j.plat.window; w != nil {
		select {
		case w <- struct{}{}:
		case <-ctx.Done():
			return stopped, time.Time{}
		}
	}
	var freeOnce sync.Once
	free := func() {
		freeOnce.Do(func() {
			if j.plat.window != nil {
				<-j.plat.window
			}
		})
	}
	defer free()
	if err := p.store.StartMessage(rec, d.ID, p.opts.Holder, i); errors.Is(err, store.ErrNotClaimed) {
		j.log.Warn("the delivery is no longer this process's (another holder took it over); not sending", "part", i)
		return ended, time.Time{}
	} else if err != nil {
		j.log.Error("recording a send failed; trying again shortly", "part", i, "err", err)
		return again, time.Now().Add(retryBookkeeping)
	}
	if err := j.plat.budget.Wait(ctx, sub.Address, sub.Kind, ratelimit.Scheduled); err != nil {
		p.abort(rec, j)
		return stopped, time.Time{}
	}
	free()
	if !p.leased() {
		if err := p.renew(rec); err != nil {
			j.log.Error("renewing the leases failed; not sending until they are renewed", "part", i, "err", err)
			p.abort(rec, j)
			return again, time.Now().Add(retryBookkeeping)
		}
	}
	start := time.Now()
	msgID, err := j.plat.sender.Send(sendCtx, sub.Address, sub.Kind, j.msgs[i])
	p.opts.Meter.Sent(j.plat.name, err, time.Since(start))
	if err == nil && i == 0 {
		p.opts.Meter.Late(j.plat.name, start.Sub(d.Slot))
	}
	if err == nil {
		// Recorded whoever holds the delivery by now: the message reached
		// the chat and must not be sent again.
		if err := p.store.MessageSent(rec, d.ID, i, msgID); err != nil {
			j.log.Error("recording a sent message failed; the rest of the delivery waits for the next start", "part", i, "err", err)
			return ended, time.Time{}
		}
		d.MessageIDs = append(d.MessageIDs, msgID)
		return p.next(rec, j)
	}
	var se *chat.SendError
	if !errors.As(err, &se) {
		se = &chat.SendError{Kind: chat.Transient, Err: err}
	}
	switch se.Kind {
	case chat.RateLimited:
		j.log.Warn("rate limited: the platform's queue waits", "retry_after", se.RetryAfter)
		j.plat.budget.Pause(se.RetryAfter)
		p.abort(rec, j)
		return again, time.Now()
	case chat.ChatMoved:
		if j.moved || se.MovedTo == "" {
			break
		}
		j.moved = true
		merged, err := p.store.MoveChat(rec, sub.ID, se.MovedTo)
		if err != nil {
			j.log.Error("moving the subscription failed", "new_chat_id", se.MovedTo, "err", err)
			return p.finish(rec, j, store.DeliveryFailed, se.Error()), time.Time{}
		}
		if merged {
			j.log.Info("chat moved to a chat with its own subscription: this one is turned off, its answers joined the new chat's", "new_chat_id", se.MovedTo)
			return p.finish(rec, j, store.DeliveryFailed, se.Error()+"; the new chat has its own subscription"), time.Time{}
		}
		j.log.Info("chat moved; the subscription follows it", "new_chat_id", se.MovedTo)
		sub.Address.ChatID = se.MovedTo
		p.abort(rec, j)
		return again, time.Now()
	case chat.ChatGone:
		j.log.Warn("chat gone; subscription deactivated", "err", se)
		if err := p.store.ChatGone(rec, d.ID, sub.ID, se.Error()); err != nil {
			j.log.Error("recording a gone chat failed", "err", err)
		}
		return ended, time.Time{}
	case chat.Ambiguous:
		if !p.opts.ResendUnknown {
			return p.unknown(rec, j, i, se)
		}
	case chat.Rejected:
		j.log.Error("the platform refused the message", "part", i, "err", se)
		return p.finish(rec, j, store.DeliveryFailed, se.Error()), time.Time{}
	}
	// Transient (or an ambiguous error we may resend).
	attempts := d.Attempts + 1
	if attempts >= p.opts.MaxAttempts {
		j.log.Error("delivery failed after its last attempt", "attempt", attempts, "err", se)
		return p.finish(rec, j, store.DeliveryFailed, se.Error()), time.Time{}
	}
	j.log.Warn("send failed; will retry", "attempt", attempts, "err", se)
	return p.retry(rec, j, time.Now().Add(p.backoff(attempts)), true, se.Error()), time.Time{}
}

// prepare chooses the delivery's lesson if it has none yet and composes
// its messages; ok is false when the delivery ended instead.
func (p *Pool) prepare(rec context.Context, j *job) (o outcome, ok bool) {
	if j.d.Kind == store.LessonDelivery && j.d.LessonID == "" {
		id, err := p.assign(rec, j.d, j.sub)
		if err != nil {
			j.log.Error("choosing the lesson failed", "err", err)
			return p.retry(rec, j, time.Now().Add(p.backoff(j.d.Attempts+1)), true, err.Error()), false
		}
		if id == "" {
			return p.finish(rec, j, store.DeliveryExhausted, ""), false
		}
		j.d.LessonID = id
		j.log = j.log.With("lesson", id)
	}
	msgs, found, err := p.lessons.Compose(rec, j.d, j.sub)
	if err != nil {
		j.log.Error("composing the delivery failed", "err", err)
		return p.retry(rec, j, time.Now().Add(p.backoff(j.d.Attempts+1)), true, err.Error()), false
	}
	if !found {
		return p.finish(rec, j, store.DeliveryFailed, fmt.Sprintf("lesson %q is no longer in the library", j.d.LessonID)), false
	}
	j.msgs = msgs
	return again, true
}

// next finishes j when its last message is recorded, and otherwise returns
// when its chat may have the next one.
func (p *Pool) next(rec context.Context, j *job) (outcome, time.Time) {
	if len(j.d.MessageIDs) >= len(j.msgs) {
		return p.finish(rec, j, store.DeliverySent, ""), time.Time{}
	}
	return again, j.plat.budget.ChatReadyAt(j.sub.Address, j.sub.Kind)
}

// unknown records that message i of j may or may not have arrived. After
// an uncertain post the delivery ends as unknown; after an uncertain
// question it goes on with the next.
func (p *Pool) unknown(rec context.Context, j *job, i int, se *chat.SendError) (outcome, time.Time) {
	j.log.Warn("send may or may not have arrived; not resending it", "part", i, "err", se)
	err := p.store.MessageUnknown(rec, j.d.ID, p.opts.Holder, i, se.Error())
	if errors.Is(err, store.ErrNotClaimed) {
		j.log.Warn("the delivery is no longer this process's (another holder took it over)", "err", err)
		return ended, time.Time{}
	}
	if err != nil {
		j.log.Error("recording an uncertain message failed; the rest of the delivery waits for the next start", "err", err)
		return ended, time.Time{}
	}
	if i == 0 {
		return ended, time.Time{}
	}
	j.d.MessageIDs = append(j.d.MessageIDs, "")
	j.d.Unknown++
	return p.next(rec, j)
}

// abort records that the message under way was not sent.
func (p *Pool) abort(rec context.Context, j *job) {
	if err := p.store.AbortMessage(rec, j.d.ID, p.opts.Holder); err != nil {
		p.record(j.log, err)
	}
}

// finish ends j in a final state.
func (p *Pool) finish(rec context.Context, j *job, state store.DeliveryState, lastError string) outcome {
	p.record(j.log, p.store.FinishDelivery(rec, j.d.ID, p.opts.Holder, state, lastError))
	return ended
}

// retry puts j back in the outbox, due at dueAt.
func (p *Pool) retry(rec context.Context, j *job, dueAt time.Time, countAttempt bool, lastError string) outcome {
	p.record(j.log, p.store.RetryDelivery(rec, j.d.ID, p.opts.Holder, dueAt, countAttempt, lastError))
	return ended
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

// record logs a failed bookkeeping write. A write refused because another
// holder took the delivery over is no failure: that holder records it
// from then on.
func (p *Pool) record(log *slog.Logger, err error) {
	switch {
	case errors.Is(err, store.ErrNotClaimed):
		log.Warn("the delivery is no longer this process's (another holder took it over); not recording", "err", err)
	case err != nil:
		log.Error("recording delivery progress failed", "err", err)
	}
}

// readyQueue holds the deliveries between two of their messages, by when
// their chat is ready for the next.
type readyQueue struct {
	mu   sync.Mutex
	jobs jobHeap
	seq  uint64
	kick chan struct{}
}

// push queues j, ready at j.at.
func (q *readyQueue) push(j *job) {
	q.mu.Lock()
	q.seq++
	j.seq = q.seq
	heap.Push(&q.jobs, j)
	q.mu.Unlock()
	select {
	case q.kick <- struct{}{}:
	default:
	}
}

// feed hands each job to out once its chat is ready, until ctx is done.
func (q *readyQueue) feed(ctx context.Context, out chan<- *job) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		q.mu.Lock()
		var j *job
		wait := time.Hour
		if len(q.jobs) > 0 {
			if d := time.Until(q.jobs[0].at); d > 0 {
				wait = d
			} else {
				j = heap.Pop(&q.jobs).(*job)
			}
		}
		q.mu.Unlock()
		if j != nil {
			select {
			case out <- j:
				continue
			case <-ctx.Done():
				return
			}
		}
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			return
		case <-q.kick:
		case <-timer.C:
		}
	}
}

// jobHeap orders jobs by when their chat is ready, then by when they were
// queued.
type jobHeap []*job

func (h jobHeap) Len() int { return len(h) }
func (h jobHeap) Less(i, k int) bool {
	if !h[i].at.Equal(h[k].at) {
		return h[i].at.Before(h[k].at)
	}
	return h[i].seq < h[k].seq
}
func (h jobHeap) Swap(i, k int) {
	h[i], h[k] = h[k], h[i]
	h[i].index, h[k].index = i, k
}
func (h *jobHeap) Push(x any) {
	j := x.(*job)
	j.index = len(*h)
	*h = append(*h, j)
}
func (h *jobHeap) Pop() any {
	old := *h
	j := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return j
}
