package telegram

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/lessonbot/lessonbot/internal/chat"
	"github.com/lessonbot/lessonbot/internal/logtest"
	"github.com/lessonbot/lessonbot/internal/telegram/telegramtest"
)

// The answer burst: presses from burstUsers people in burstChats chats
// (a quiz posted in big groups), all waiting in getUpdates; the fake adds
// burstLatency to every call, getUpdates and answerCallbackQuery alike.
const (
	burstPresses = 10000
	burstChats   = 100
	burstLatency = 50 * time.Millisecond
	// pressWork is what the fake tutor's Press takes, about what the real
	// one takes to record an answer with group commit.
	pressWork = 100 * time.Microsecond
	// oneByOnePresses is the naive bot's share: at one answer per 50 ms
	// round trip it would take over 8 minutes for the whole burst.
	oneByOnePresses = 300
)

// BenchmarkAnswerBurst measures how fast a burst of button presses is
// answered, through the bot's pool next to a bot that handles updates one
// by one, and reports presses answered per second and the p99 time from
// receipt (getUpdates handing the press out) to answerCallbackQuery. The
// tutor is a fake whose Press takes 0.1 ms. Each iteration is one whole
// burst: run it with -benchtime 1x.
func BenchmarkAnswerBurst(b *testing.B) {
	b.Run("pool", func(b *testing.B) { benchmarkBurst(b, burstPresses, false) })
	b.Run("one-by-one", func(b *testing.B) { benchmarkBurst(b, oneByOnePresses, true) })
}

func benchmarkBurst(b *testing.B, presses int, oneByOne bool) {
	var all []time.Duration
	var elapsed time.Duration
	answered := 0
	b.StopTimer()
	for range b.N {
		api := telegramtest.NewFakeAPI(testToken)
		srv := api.Server(b)
		api.SetLatency(burstLatency)
		for i := range presses {
			c := telegramtest.FakeChat{ID: -1001000000 - int64(i%burstChats), Type: "supergroup", Title: "Readers"}
			u := telegramtest.FakeUser{ID: int64(500000 + i), FirstName: "Reader"}
			api.Press(c, u, 7, fmt.Sprintf("a:burst:0000abcd:%d", i%3))
		}
		tut := &fakeTutor{press: func(ctx context.Context, p chat.Press) chat.PressReply {
			time.Sleep(pressWork)
			return chat.PressReply{Notice: "✅ Right!"}
		}}
		bot, err := New(context.Background(), Options{Token: testToken, APIURL: srv.URL, NotFound: errNoValue,
			Logger: slog.New(slog.NewTextHandler(&logtest.Buffer{}, &slog.HandlerOptions{Level: slog.LevelError}))},
			tut, newMemState())
		if err != nil {
			b.Fatal(err)
		}
		bot.inline = oneByOne
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		b.StartTimer()
		go func() { defer close(done); bot.Run(ctx) }()
		deadline := time.Now().Add(10 * time.Minute)
		for api.AnswerCount() < presses {
			if time.Now().After(deadline) {
				b.Fatalf("%d of %d presses answered after 10 minutes", api.AnswerCount(), presses)
			}
			time.Sleep(10 * time.Millisecond)
		}
		b.StopTimer()
		cancel()
		<-done
		answers := api.Answers()
		first := api.FirstHandedOut()
		last := answers[len(answers)-1].At
		elapsed += last.Sub(first)
		answered += len(answers)
		for _, a := range answers {
			all = append(all, a.Since)
		}
	}
	slices.Sort(all)
	p := func(q float64) time.Duration { return all[min(len(all)-1, int(q*float64(len(all))))] }
	rate := float64(answered) / elapsed.Seconds()
	b.ReportMetric(rate, "presses/s")
	b.ReportMetric(float64(p(0.50).Milliseconds()), "p50-ms")
	b.ReportMetric(float64(p(0.99).Milliseconds()), "p99-ms")
	b.ReportMetric(float64(all[len(all)-1].Milliseconds()), "max-ms")
	b.Logf("%d presses answered in %.2fs = %.0f presses/s; receipt to answer p50 %v, p99 %v, max %v",
		answered, elapsed.Seconds(), rate, p(0.50).Round(time.Millisecond), p(0.99).Round(time.Millisecond), all[len(all)-1].Round(time.Millisecond))
}
