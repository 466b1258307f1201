package discord

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/lessonbot/lessonbot/internal/chat"
	"github.com/lessonbot/lessonbot/internal/delivery"
	"github.com/lessonbot/lessonbot/internal/logtest"
	"github.com/lessonbot/lessonbot/internal/store"
	"github.com/lessonbot/lessonbot/internal/tutor"
)

// The bot is the delivery worker's Sender for Discord, and the tutor is
// the bot's Tutor.
var (
	_ delivery.Sender = (*Bot)(nil)
	_ Tutor           = (*tutor.Tutor)(nil)
)

// TestScheduledPostChannelGone subscribes a channel with /subscribe, then
// has the delivery worker post its lesson through the bot's Sender to a
// channel Discord no longer knows (10003): the subscription is turned off.
func TestScheduledPostChannelGone(t *testing.T) {
	w := newWorld(t, time.Now)
	r := startBot(t, w.tutor, w.tutor.Commands(), nil)
	gone := where{guild: serverChannel.guild, channel: "400000000000000055"}
	kept := serverChannel
	for _, at := range []where{gone, kept} {
		if a := r.command(at, manager, "subscribe", 0); !strings.Contains(a.edits[0].Content, "Subscribed") {
			t.Fatalf("/subscribe in %s: %q", at.channel, a.edits[0].Content)
		}
	}
	r.fake.setFail(func(req fakeRequest) (int, string, http.Header) {
		if req.Path == "/channels/"+gone.channel+"/messages" {
			return 404, `{"message":"Unknown Channel","code":10003}`, nil
		}
		return 0, "", nil
	})

	ctx, cancel := context.WithCancel(t.Context())
	subs := []int64{w.subscription(t, gone.channel).ID, w.subscription(t, kept.channel).ID}
	if _, err := w.store.EnqueueSlot(ctx, subs, time.Now()); err != nil {
		t.Fatal(err)
	}
	logs := &logtest.Buffer{}
	pool := delivery.New(w.store, w.tutor, map[string]delivery.Platform{chat.Discord: {Sender: r.bot}}, delivery.Options{}, slog.New(slog.NewTextHandler(logs, nil)))
	done := make(chan struct{})
	go func() { pool.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	waitFor(t, "the gone channel's subscription turned off", func() bool { return !w.subscription(t, gone.channel).Active })
	waitFor(t, "the other channel's lesson and questions", func() bool {
		return len(r.fake.requests(http.MethodPost, "/channels/"+kept.channel+"/messages")) == 3
	})
	if !w.subscription(t, kept.channel).Active {
		t.Errorf("the channel that exists was turned off too")
	}
	posts := r.fake.requests(http.MethodPost, "/channels/"+kept.channel+"/messages")
	if m := decodeSent(t, posts[0]); len(m.Embeds) != 1 || m.Embeds[0].Title != fixtureTitle {
		t.Errorf("the scheduled post is %+v, want the lesson's embed", m)
	}
	for i, p := range posts[1:] {
		m := decodeSent(t, p)
		if !strings.HasPrefix(m.Content, "Question ") || len(m.buttons()) != 3 {
			t.Errorf("question %d = %+v", i+1, m)
		}
	}
	ds, err := w.store.Deliveries(ctx, subs[0])
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 1 || ds[0].State != store.DeliveryFailed || !strings.Contains(ds[0].LastError, "10003") {
		t.Errorf("the gone channel's delivery = %+v", ds)
	}
}
