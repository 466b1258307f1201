package telegram

import (
	"context"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lessonbot/lessonbot/internal/chat"
	"github.com/lessonbot/lessonbot/internal/telegram/telegramtest"
)

// TestPaidBroadcast sets allow_paid_broadcast on scheduled lessons only:
// replies never pay.
func TestPaidBroadcast(t *testing.T) {
	h := newHarness(t)
	h.opts.PaidBroadcast = true
	b := h.start()
	if _, err := b.Send(context.Background(), to, chat.Private, lessonMessage()); err != nil {
		t.Fatal(err)
	}
	h.api.SendText(private, &alice, "/help")
	eventually(t, "the reply", func() bool { return len(h.api.Sent()) == 2 })
	sent := h.api.Sent()
	if !sent[0].PaidBroadcast || sent[1].PaidBroadcast {
		t.Errorf("allow_paid_broadcast: lesson %v, reply %v; want true, false", sent[0].PaidBroadcast, sent[1].PaidBroadcast)
	}
}

// pacerLog is a Pacer that lets every reply through and records what it
// is asked.
type pacerLog struct {
	mu      sync.Mutex
	replies []chat.Address
	pauses  []time.Duration
}

func (p *pacerLog) Reply(ctx context.Context, to chat.Address, kind chat.Kind) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.replies = append(p.replies, to)
	return nil
}

func (p *pacerLog) Pause(d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.pauses = append(p.pauses, d)
}

// TestReplyWaitsOutRateLimits answers a reply 429 twice: the reply takes a
// turn from the pacer each time, the pacer is told to pause, and the reply
// arrives; a 429 whose wait would take the reply past its patience gives
// it up, with one line in the log.
func TestReplyWaitsOutRateLimits(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		h := newHarness(t)
		pacer := &pacerLog{}
		h.opts.Pacer = pacer
		calls := 0
		h.api.Fail("sendMessage", func(url.Values) *telegramtest.APIError {
			calls++
			if calls <= 2 {
				return telegramtest.ErrTooManyRequests(1)
			}
			return nil
		})
		h.start()
		h.api.SendText(private, &alice, "/help")
		eventually(t, "the reply", func() bool { return len(h.api.Sent()) == 1 })
		pacer.mu.Lock()
		defer pacer.mu.Unlock()
		if len(pacer.replies) != 3 || len(pacer.pauses) != 2 || pacer.pauses[0] != time.Second {
			t.Errorf("pacer asked for %d turns and %v pauses, want 3 turns and two pauses of 1s", len(pacer.replies), pacer.pauses)
		}
		if strings.Contains(h.logs.String(), "sending a reply failed") {
			t.Error("a reply that arrived was logged as failed")
		}
	})
	t.Run("ErrPatience", func(t *testing.T) {
		h := newHarness(t)
		h.opts.Pacer = &pacerLog{}
		h.api.Fail("sendMessage", func(url.Values) *telegramtest.APIError {
			return telegramtest.ErrTooManyRequests(int(replyPatience/time.Second) + 1)
		})
		h.start()
		h.api.SendText(private, &alice, "/help")
		eventually(t, "the failure in the log", func() bool {
			return strings.Contains(h.logs.String(), "sending a reply failed")
		})
		if n := strings.Count(h.logs.String(), "sending a reply failed"); n != 1 {
			t.Errorf("%d failure lines, want 1", n)
		}
	})
}
