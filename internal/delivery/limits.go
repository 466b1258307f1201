package delivery

import (
	"context"
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
type limiter struct {
	limits  Limits
	overall *rate.Limiter

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

func newLimiter(l Limits) *limiter {
	lim := &limiter{limits: l, chats: map[string]*chatLimiter{}}
	if l.PerSecond > 0 {
		lim.overall = rate.NewLimiter(rate.Limit(l.PerSecond), 1)
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

// wait blocks until a message may go to the chat: within the chat's own
// limits, then within the platform's overall limit, then after any pause
// the platform asked for; the pause comes last so that a send waiting for
// a token when a 429 arrives waits for the pause too.
func (l *limiter) wait(ctx context.Context, to chat.Address, kind chat.Kind) error {
	c := l.chat(to, kind)
	for _, r := range []*rate.Limiter{c.perSecond, c.perMinute, l.overall} {
		if r == nil {
			continue
		}
		if err := r.Wait(ctx); err != nil {
			return err
		}
	}
	for {
		l.mu.Lock()
		until := l.pausedUntil
		l.mu.Unlock()
		d := time.Until(until)
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
