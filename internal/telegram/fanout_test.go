//go:build unix

package telegram_test

import (
	"context"
	"log/slog"
	"strconv"
	"testing"
	"time"

	"github.com/lessonbot/lessonbot/internal/chat"
	"github.com/lessonbot/lessonbot/internal/delivery/deliverytest"
	"github.com/lessonbot/lessonbot/internal/store"
	"github.com/lessonbot/lessonbot/internal/telegram"
	"github.com/lessonbot/lessonbot/internal/telegram/telegramtest"
)

// The fan-out benchmark of the delivery workers (internal/delivery's
// BenchmarkFanOut), run through this adapter's Sender and the real
// tgbotapi client against the fake Bot API over local HTTP: every call
// takes deliverytest.FanOutLatency, and sendMessage calls beyond
// deliverytest.FanOutRate a second (burst deliverytest.FanOutBurst) are
// answered 429 with retry_after 1. fanOutToken is the bot's token there.
const fanOutToken = "7770009999:AAFan-out-benchmark-token"

// duplicates counts messages the fake accepted twice for the same chat.
func duplicates(sent []telegramtest.SentMessage) int {
	seen := map[string]bool{}
	n := 0
	for _, m := range sent {
		k := m.ChatID + " " + m.Plain
		if seen[k] {
			n++
		}
		seen[k] = true
	}
	return n
}

type nopTutor struct{}

func (nopTutor) Handle(context.Context, chat.Command) []chat.Message { return nil }
func (nopTutor) Press(context.Context, chat.Press) chat.PressReply   { return chat.PressReply{} }
func (nopTutor) ChatGone(context.Context, chat.Address)              {}
func (nopTutor) ChatMoved(context.Context, chat.Address, string)     {}

type nopState struct{}

func (nopState) Value(context.Context, string) (string, error)  { return "", store.ErrNotFound }
func (nopState) SetValue(context.Context, string, string) error { return nil }

// newFanOutBot is a bot on a fake Bot API with the benchmark's latency
// and rate, using the adapter's own HTTP client.
func newFanOutBot(b *testing.B) (*telegram.Bot, *telegramtest.FakeAPI) {
	api := telegramtest.NewFakeAPI(fanOutToken)
	srv := api.Server(b)
	bot, err := telegram.New(context.Background(), telegram.Options{Token: fanOutToken, APIURL: srv.URL,
		Logger: slog.New(slog.DiscardHandler)}, nopTutor{}, nopState{})
	if err != nil {
		b.Fatal(err)
	}
	api.SetLatency(deliverytest.FanOutLatency)
	api.LimitSends(deliverytest.FanOutRate, deliverytest.FanOutBurst, 1)
	return bot, api
}

// BenchmarkFanOut delivers one slot to 5,000 chats, a lesson of four
// messages each, through the delivery pool with this bot as its Sender,
// and compares a naive loop that sends one message after the other
// through the same Sender. Each iteration is one whole slot: run it with
// -benchtime 1x.
func BenchmarkFanOut(b *testing.B) {
	b.Run("pool", benchmarkFanOutPool)
	b.Run("naive", benchmarkFanOutNaive)
}

func benchmarkFanOutPool(b *testing.B) {
	// One lesson per iteration: each slot gets the chats' next one.
	fo := deliverytest.NewFanOut(b, chat.Telegram, b.N)
	want := deliverytest.FanOutChats * deliverytest.FanOutLessonSize
	total := deliverytest.Stats{RateLimitedAs: "429", CPUNote: "bot and fake server together"}
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		bot, api := newFanOutBot(b)
		slot := fo.Slot(i)
		pool := fo.NewPool(bot)
		b.StartTimer()
		cpu0, start := deliverytest.CPUTime(b), time.Now()
		fo.Enqueue(b, slot)
		stop := deliverytest.Start(pool)
		deadline := time.Now().Add(10 * time.Minute)
		for api.SentCount() < want {
			if time.Now().After(deadline) {
				stop()
				b.Fatalf("after 10 minutes, %d of %d messages sent", api.SentCount(), want)
			}
			time.Sleep(20 * time.Millisecond)
		}
		deliverytest.WaitAllSent(b, fo.Store, slot, deliverytest.FanOutChats)
		stop()
		cpu1 := deliverytest.CPUTime(b)
		sent := api.Sent()
		run := deliverytest.Stats{Messages: len(sent), Elapsed: sent[len(sent)-1].At.Sub(start), CPU: cpu1 - cpu0,
			RateLimited: api.RateLimited(), Duplicates: duplicates(sent)}
		if run.Duplicates > 0 {
			b.Errorf("%d messages sent twice", run.Duplicates)
		}
		total.Add(run)
	}
	b.StopTimer()
	if s := fo.Logs.String(); s != "" {
		b.Errorf("errors logged:\n%s", s)
	}
	total.Report(b, "pool", deliverytest.FanOutRate)
}

// benchmarkFanOutNaive sends each chat's messages one after the other
// through the bot's Send, without a pool, a limiter or the store; a 429
// is counted, not retried.
func benchmarkFanOutNaive(b *testing.B) {
	ctx := context.Background()
	lessons := &deliverytest.Lessons{Size: deliverytest.FanOutLessonSize}
	lessons.Add("l1")
	msgs, _ := lessons.Messages("l1")
	total := deliverytest.Stats{RateLimitedAs: "429", CPUNote: "bot and fake server together"}
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		bot, api := newFanOutBot(b)
		b.StartTimer()
		cpu0, start := deliverytest.CPUTime(b), time.Now()
		for c := range deliverytest.FanOutNaiveChats {
			to := chat.Address{Platform: chat.Telegram, ChatID: strconv.Itoa(1_000_000 + c)}
			for _, m := range msgs {
				bot.Send(ctx, to, chat.Private, m)
			}
		}
		cpu1 := deliverytest.CPUTime(b)
		sent := api.Sent()
		total.Add(deliverytest.Stats{Messages: len(sent), Elapsed: time.Since(start), CPU: cpu1 - cpu0,
			RateLimited: api.RateLimited(), Duplicates: duplicates(sent)})
	}
	b.StopTimer()
	total.Report(b, "naive", deliverytest.FanOutRate)
}
