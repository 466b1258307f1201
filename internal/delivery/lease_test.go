package delivery_test

import (
	"context"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/lessonbot/lessonbot/internal/chat"
	"github.com/lessonbot/lessonbot/internal/delivery"
	"github.com/lessonbot/lessonbot/internal/ratelimit"
	"github.com/lessonbot/lessonbot/internal/store"
)

// TestLeaseOutlivesLongPause makes a 429 hold the platform for five times
// the lease while another chat's first message is recorded as under way
// and waiting for its turn: the workers keep their leases, and each lesson
// is sent whole, once, by the worker that claimed it. With resend_unknown,
// a worker whose lease ran out would also have its message sent a second
// time by the worker that took the delivery over.
func TestLeaseOutlivesLongPause(t *testing.T) {
	for _, tt := range []struct {
		name          string
		resendUnknown bool
	}{
		{"OK", false},
		{"ResendUnknown", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				w := newWorld(t, "l1")
				// One send a second over all chats: the second chat's first
				// message is recorded, then waits for its turn, during which
				// the first chat's send comes back with the 429.
				w.limits = ratelimit.Limits{PerSecond: 1}
				w.opts = delivery.Options{Lease: 2 * time.Minute, ResendUnknown: tt.resendUnknown}
				w.sender.latency = 500 * time.Millisecond
				w.sender.rateLimitFirst(10 * time.Minute)
				a := w.subscribe("100", 8, 0, "UTC", store.EveryDay)
				b := w.subscribe("200", 8, 0, "UTC", store.EveryDay)
				w.start()
				sleepUntil(time.Date(2000, 1, 1, 8, 30, 0, 0, time.UTC))
				w.stop()

				pauseEnd := time.Date(2000, 1, 1, 8, 10, 0, 0, time.UTC)
				count := map[string]int{}
				for _, m := range w.sender.messages() {
					count[m.to.ChatID+" "+m.text]++
					if m.at.Before(pauseEnd) {
						t.Errorf("%s went to chat %s at %v, during the 10 min wait", m.text, m.to.ChatID, m.at)
					}
				}
				for _, sub := range []store.Subscription{a, b} {
					for _, text := range []string{"l1/0", "l1/1", "l1/2"} {
						if n := count[sub.Address.ChatID+" "+text]; n != 1 {
							t.Errorf("chat %s got %s %d times, want once", sub.Address.ChatID, text, n)
						}
					}
					ds := w.deliveries(sub)
					if len(ds) != 1 || ds[0].State != store.DeliverySent || len(ds[0].MessageIDs) != 3 || ds[0].Attempts != 0 {
						t.Errorf("chat %s deliveries = %+v, want one sent with 3 messages and no attempt counted", sub.Address.ChatID, ds)
					}
				}
				if logs := w.logs.String(); strings.Contains(logs, "no longer this process's") || strings.Contains(logs, "unknown_messages") {
					t.Error("a delivery was taken over from a worker still waiting to send it")
				}
			})
		})
	}
}

// TestTakenLeaseStopsSends has another worker claim a delivery whose
// worker is waiting, between two messages, for the chat's limit: the first
// worker cannot renew the lease the other now holds, and sends nothing
// more of that delivery, even once its wait is over.
func TestTakenLeaseStopsSends(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, "l1")
		w.limits = ratelimit.Limits{PerChatPerSecond: 1.0 / 600} // one message every 10 min
		w.opts = delivery.Options{Lease: 2 * time.Minute}
		sub := w.subscribe("100", 8, 0, "UTC", store.EveryDay)
		w.start()
		sleepUntil(time.Date(2000, 1, 1, 8, 1, 0, 0, time.UTC)) // l1/0 sent; l1/1 waits until 08:10
		if n := len(w.sender.messages()); n != 1 {
			t.Fatalf("sent %d messages before the takeover, want 1", n)
		}
		// Another process, whose clock is an hour ahead, finds the lease run
		// out and claims the delivery; it then holds it without sending.
		other, _, err := w.store.ClaimDue(context.Background(), time.Now().Add(time.Hour), "other:2:b", 2*time.Minute, 10, false, chat.Telegram)
		if err != nil || len(other) != 1 {
			t.Fatalf("ClaimDue by another worker = %d claims, %v; want 1", len(other), err)
		}
		sleepUntil(time.Date(2000, 1, 1, 8, 30, 0, 0, time.UTC))
		w.stop()

		var texts []string
		for _, m := range w.sender.messages() {
			texts = append(texts, m.text)
		}
		if len(texts) != 1 || texts[0] != "l1/0" {
			t.Errorf("sent %q, want only l1/0, sent before the takeover", texts)
		}
		ds := w.deliveries(sub)
		if len(ds) != 1 || ds[0].State != store.DeliverySending || len(ds[0].MessageIDs) != 1 || ds[0].Inflight != -1 {
			t.Fatalf("deliveries = %+v, want one still sending by the other worker, with 1 message and none under way", ds)
		}
		if got, want := ds[0].LeaseUntil, other[0].Delivery.LeaseUntil; !got.Equal(want) || ds[0].ClaimedBy != "other:2:b" {
			t.Errorf("lease until %v by %q, want %v by the other process: the first renewed a lease it no longer held", got, ds[0].ClaimedBy, want)
		}
		if !strings.Contains(w.logs.String(), "no longer this process's") {
			t.Error("the worker did not tell that it gave the delivery up")
		}
	})
}
