//go:build unix

package telegram_test

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/lessonbot/lessonbot/internal/chat"
	"github.com/lessonbot/lessonbot/internal/delivery"
	"github.com/lessonbot/lessonbot/internal/logtest"
	"github.com/lessonbot/lessonbot/internal/store"
	"github.com/lessonbot/lessonbot/internal/telegram"
)

// The fan-out benchmark of the delivery workers (internal/delivery's
// BenchmarkFanOut), run through this adapter's Sender and the real
// tgbotapi client against the fake Bot API over local HTTP: every call
// takes fanOutLatency, and sendMessage calls beyond fanOutRate a second
// (burst fanOutBurst) are answered 429 with retry_after 1.
const (
	fanOutChats      = 5000
	fanOutLessonSize = 4 // the post and three questions
	fanOutRate       = 500
	fanOutBurst      = 10
	fanOutLatency    = 50 * time.Millisecond
	fanOutWorkers    = 1000
	naiveChats       = 100
	fanOutToken      = "7770009999:AAFan-out-benchmark-token"
)

type fanOutStats struct {
	messages    int
	elapsed     time.Duration
	cpu         time.Duration
	rateLimited int
	duplicates  int
}

func (st fanOutStats) report(b *testing.B, name string) {
	perSecond := float64(st.messages) / st.elapsed.Seconds()
	cpuPer10k := st.cpu.Seconds() / float64(st.messages) * 10000
	b.ReportMetric(perSecond, "msgs/s")
	b.ReportMetric(perSecond/fanOutRate, "of-allowed")
	b.ReportMetric(float64(st.rateLimited), "rate-limited")
	b.ReportMetric(float64(st.duplicates), "duplicates")
	b.ReportMetric(cpuPer10k, "cpu-s/10k-msgs")
	b.Logf("%s: %d messages in %.2fs = %.1f msgs/s = %.3f of the allowed %d/s; %d 429 answers, %d duplicates, %.2f CPU s per 10,000 messages (bot and fake server together)",
		name, st.messages, st.elapsed.Seconds(), perSecond, perSecond/fanOutRate, fanOutRate, st.rateLimited, st.duplicates, cpuPer10k)
}

func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// duplicates counts messages the fake accepted twice for the same chat.
func duplicates(sent []telegram.SentMessage) int {
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

// fakeLessons is a library of lessons named by id, each of size messages
// whose text is "<lesson>/<index>".
type fakeLessons struct {
	store *store.Store
	mu    sync.Mutex
	ids   []string
	size  int
}

func (l *fakeLessons) NextLessonID(ctx context.Context, sub store.Subscription) (string, error) {
	done, err := l.store.DeliveredLessons(ctx, sub.ID)
	if err != nil {
		return "", err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, id := range l.ids {
		if !done[id] {
			return id, nil
		}
	}
	return "", nil
}

func (l *fakeLessons) DeliveryMessages(sub store.Subscription, id string) ([]chat.Message, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !slices.Contains(l.ids, id) {
		return nil, false
	}
	var msgs []chat.Message
	for i := range l.size {
		msgs = append(msgs, chat.Message{Blocks: []chat.Block{{Kind: chat.Text, Text: fmt.Sprintf("%s/%d", id, i)}}})
	}
	return msgs, true
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
func newFanOutBot(b *testing.B) (*telegram.Bot, *telegram.FakeAPI) {
	api := telegram.NewFakeAPI(fanOutToken)
	srv := api.Server(b)
	bot, err := telegram.New(context.Background(), telegram.Options{Token: fanOutToken, APIURL: srv.URL,
		Logger: slog.New(slog.DiscardHandler)}, nopTutor{}, nopState{})
	if err != nil {
		b.Fatal(err)
	}
	api.SetLatency(fanOutLatency)
	api.LimitSends(fanOutRate, fanOutBurst, 1)
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
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(b.TempDir(), "lessonbot.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	ids := make([]int64, fanOutChats)
	for i := range ids {
		sub, err := st.EnsureChat(ctx, store.Subscription{
			Address: chat.Address{Platform: chat.Telegram, ChatID: strconv.Itoa(1_000_000 + i)}, Kind: chat.Private,
			Hour: 8, Zone: "UTC", Weekdays: store.EveryDay, Language: "en", Active: true,
		})
		if err != nil {
			b.Fatal(err)
		}
		ids[i] = sub.ID
	}
	lessons := &fakeLessons{store: st, size: fanOutLessonSize}
	for i := range b.N {
		lessons.ids = append(lessons.ids, fmt.Sprintf("l%d", i+1))
	}
	logs := &logtest.Buffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelError}))
	limits := delivery.Limits{PerSecond: fanOutRate, PerChatPerSecond: 1}
	want := fanOutChats * fanOutLessonSize

	var total fanOutStats
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		bot, api := newFanOutBot(b)
		slot := time.Date(2000, 1, 1, 8, 0, 0, 0, time.UTC).AddDate(0, 0, i)
		pool := delivery.New(st, lessons, map[string]delivery.Platform{chat.Telegram: {Sender: bot, Limits: limits}},
			delivery.Options{Workers: fanOutWorkers}, log)
		b.StartTimer()
		cpu0, start := cpuTime(b), time.Now()
		if n, err := st.EnqueueSlot(ctx, ids, slot); err != nil || n != fanOutChats {
			b.Fatalf("enqueued %d deliveries (%v), want %d", n, err, fanOutChats)
		}
		runCtx, stop := context.WithCancel(ctx)
		ran := make(chan struct{})
		go func() { defer close(ran); pool.Run(runCtx) }()
		deadline := time.Now().Add(10 * time.Minute)
		for api.SentCount() < want {
			if time.Now().After(deadline) {
				stop()
				<-ran
				b.Fatalf("after 10 minutes, %d of %d messages sent", api.SentCount(), want)
			}
			time.Sleep(20 * time.Millisecond)
		}
		waitAllSent(b, st, slot)
		stop()
		<-ran
		cpu1 := cpuTime(b)
		sent := api.Sent()
		run := fanOutStats{messages: len(sent), elapsed: sent[len(sent)-1].At.Sub(start), cpu: cpu1 - cpu0,
			rateLimited: api.RateLimited(), duplicates: duplicates(sent)}
		if run.duplicates > 0 {
			b.Errorf("%d messages sent twice", run.duplicates)
		}
		total.messages += run.messages
		total.elapsed += run.elapsed
		total.cpu += run.cpu
		total.rateLimited += run.rateLimited
		total.duplicates += run.duplicates
	}
	b.StopTimer()
	if s := logs.String(); s != "" {
		b.Errorf("errors logged:\n%s", s)
	}
	total.report(b, "pool")
}

// waitAllSent waits until every delivery of slot is recorded as sent.
func waitAllSent(b *testing.B, st *store.Store, slot time.Time) {
	b.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		counts, err := st.DeliveryCounts(context.Background(), slot)
		if err != nil {
			b.Fatal(err)
		}
		if counts[store.DeliverySent] == fanOutChats {
			return
		}
		if time.Now().After(deadline) {
			b.Errorf("deliveries by state a minute after the last message: %v, want %d sent", counts, fanOutChats)
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// benchmarkFanOutNaive sends each chat's messages one after the other
// through the bot's Send, without a pool, a limiter or the store; a 429
// is counted, not retried.
func benchmarkFanOutNaive(b *testing.B) {
	ctx := context.Background()
	lessons := &fakeLessons{ids: []string{"l1"}, size: fanOutLessonSize}
	msgs, _ := lessons.DeliveryMessages(store.Subscription{}, "l1")
	var total fanOutStats
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		bot, api := newFanOutBot(b)
		b.StartTimer()
		cpu0, start := cpuTime(b), time.Now()
		for c := range naiveChats {
			to := chat.Address{Platform: chat.Telegram, ChatID: strconv.Itoa(1_000_000 + c)}
			for _, m := range msgs {
				bot.Send(ctx, to, chat.Private, m)
			}
		}
		cpu1 := cpuTime(b)
		sent := api.Sent()
		total.messages += len(sent)
		total.elapsed += time.Since(start)
		total.cpu += cpu1 - cpu0
		total.rateLimited += api.RateLimited()
		total.duplicates += duplicates(sent)
	}
	b.StopTimer()
	total.report(b, "naive")
}
