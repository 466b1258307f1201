package delivery

import (
	"context"
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/lessonbot/lessonbot/internal/chat"
)

// Limits are how fast a platform lets the bot post. Zero means no limit.
type Limits struct {
	// PerSecond caps the messages per second over all chats.
	PerSecond float64
	// PerChatPerSecond caps the messages per second to one chat.
	PerChatPerSecond float64
	// PerGroupPerMinute caps the messages per minute to one group or
	// channel.
	PerGroupPerMinute float64
}

// limiter holds one platform's rate limits: overall, per chat, per group,
// and a pause the platform asked for (a 429 with retry_after).
//
// A send goes in two steps, because the pool records it (a write whose
// time varies) between the two: wait, for the chat's limits and a place
// in a small window of sends recorded ahead of their turn, then pace, for
// the overall rate, right before the send. Were the overall rate taken
// before the write, the sends that a slow write or a stall of the process
// held up past their time would reach the platform in a bunch, above its
// rate.
type limiter struct {
	limits Limits
	// overall spaces the sends at the overall rate; the senders take
	// turns at it (turn), so that sends held up past their time still
	// leave one at a time.
	overall *rate.Limiter
	turn    chan struct{}
	// window has a place for each send recorded and waiting for its turn;
	// it bounds the sends that a crash would leave marked as maybe sent.
	window chan struct{}

	mu          sync.Mutex
	chats       map[string]*chatLimiter
	pausedUntil time.Time
	lastSweep   time.Time
}

type chatLimiter struct {
	perSecond, perMinute *rate.Limiter
	used                 time.Time
}

// idleChat is how long a chat's limiter is kept after its last use.
const idleChat = 2 * time.Minute

// recordAhead is about how long before its turn a send may be recorded:
// the window holds the sends of that long at the overall rate.
const recordAhead = 50 * time.Millisecond

func newLimiter(l Limits) *limiter {
	lim := &limiter{limits: l, chats: map[string]*chatLimiter{}}
	if l.PerSecond > 0 {
		lim.overall = rate.NewLimiter(rate.Limit(l.PerSecond), 1)
		lim.turn = make(chan struct{}, 1)
		lim.window = make(chan struct{}, max(2, int(math.Ceil(l.PerSecond*recordAhead.Seconds()))))
	}
	return lim
}

// pause makes every send of the platform wait until d from now.
func (l *limiter) pause(d time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if until := time.Now().Add(d); until.After(l.pausedUntil) {
		l.pausedUntil = until
	}
}

// sendTurn is a send let through by wait: the caller records it, then
// calls pace and sends, or calls cancel if it will not send.
type sendTurn struct {
	l    *limiter
	once sync.Once
}

// wait blocks until a message may be recorded as sent to the chat: within
// the chat's own limits, after any pause the platform asked for, and with
// a place in the window.
func (l *limiter) wait(ctx context.Context, to chat.Address, kind chat.Kind) (*sendTurn, error) {
	c := l.chat(to, kind)
	for _, r := range []*rate.Limiter{c.perSecond, c.perMinute} {
		if r == nil {
			continue
		}
		if err := r.Wait(ctx); err != nil {
			return nil, err
		}
	}
	if err := l.waitPause(ctx); err != nil {
		return nil, err
	}
	if l.window != nil {
		select {
		case l.window <- struct{}{}:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return &sendTurn{l: l}, nil
}

// pace blocks until the send may go: spaced from the platform's last send
// by the overall rate, and with no pause in force. A send whose turn came
// as a pause began waits the pause out and takes another turn, so that
// the sends a pause held back resume at the overall rate, not all at once
// when it ends. pace frees the send's place in the window.
func (t *sendTurn) pace(ctx context.Context) error {
	defer t.cancel()
	l := t.l
	if l.overall == nil {
		return l.waitPause(ctx)
	}
	select {
	case l.turn <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-l.turn }()
	for {
		if err := l.waitPause(ctx); err != nil {
			return err
		}
		if err := l.overall.Wait(ctx); err != nil {
			return err
		}
		if l.pausedFor() <= 0 {
			return nil
		}
	}
}

// cancel frees the send's place in the window; it may be called again.
func (t *sendTurn) cancel() {
	t.once.Do(func() {
		if t.l.window != nil {
			<-t.l.window
		}
	})
}

// pausedFor is how long the pause the platform asked for still lasts.
func (l *limiter) pausedFor() time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	return time.Until(l.pausedUntil)
}

// waitPause blocks until no pause is in force.
func (l *limiter) waitPause(ctx context.Context) error {
	for {
		d := l.pausedFor()
		if d <= 0 {
			return nil
		}
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// chat returns the limiters of one chat, making them on first use, and
// now and then forgets chats that have been idle.
func (l *limiter) chat(to chat.Address, kind chat.Kind) *chatLimiter {
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.lastSweep) > idleChat {
		for k, c := range l.chats {
			if now.Sub(c.used) > idleChat {
				delete(l.chats, k)
			}
		}
		l.lastSweep = now
	}
	key := to.Key()
	c, ok := l.chats[key]
	if !ok {
		c = &chatLimiter{}
		if l.limits.PerChatPerSecond > 0 {
			c.perSecond = rate.NewLimiter(rate.Limit(l.limits.PerChatPerSecond), 1)
		}
		if per := l.limits.PerGroupPerMinute; per > 0 && kind != chat.Private {
			// A burst of b and a rate of (per-b)/60 never let more than per
			// messages through in any one minute.
			burst := max(1, int(per/4))
			c.perMinute = rate.NewLimiter(rate.Limit((per-float64(burst))/60), burst)
		}
		l.chats[key] = c
	}
	c.used = now
	return c
}
