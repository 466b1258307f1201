package telegram

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lessonbot/lessonbot/internal/chat"
	"github.com/lessonbot/lessonbot/internal/logtest"
	"github.com/lessonbot/lessonbot/internal/telegram/telegramtest"
)

// testToken looks like a real token, so that a leak is easy to spot.
const testToken = "5550001234:AAHs3cr3t-T0ken_value_for_tests_only"

// fakeTutor records what the bot hands it. Its rule for "subscribe" is
// the tutor's: anyone in a private chat, else only who CanManage.
type fakeTutor struct {
	mu       sync.Mutex
	commands []chat.Command
	presses  []chat.Press
	gone     []chat.Address
	moved    [][2]string // old chat id, new chat id
	handle   func(ctx context.Context, cmd chat.Command) []chat.Message
	press    func(ctx context.Context, p chat.Press) chat.PressReply
}

func (f *fakeTutor) Handle(ctx context.Context, cmd chat.Command) []chat.Message {
	f.mu.Lock()
	f.commands = append(f.commands, cmd)
	handle := f.handle
	f.mu.Unlock()
	if handle != nil {
		return handle(ctx, cmd)
	}
	if cmd.Name == "subscribe" && cmd.Kind != chat.Private && !cmd.CanManage {
		return textMessages("Only this chat's administrators can change its lessons.")
	}
	return textMessages(fmt.Sprintf("did %s %s", cmd.Name, cmd.Args))
}

func (f *fakeTutor) Press(ctx context.Context, p chat.Press) chat.PressReply {
	f.mu.Lock()
	f.presses = append(f.presses, p)
	press := f.press
	f.mu.Unlock()
	if press != nil {
		return press(ctx, p)
	}
	return chat.PressReply{Notice: "pressed " + p.Data}
}

func (f *fakeTutor) ChatGone(ctx context.Context, addr chat.Address) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.gone = append(f.gone, addr)
}

func (f *fakeTutor) ChatMoved(ctx context.Context, from chat.Address, to string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.moved = append(f.moved, [2]string{from.ChatID, to})
}

func (f *fakeTutor) Commands() []chat.Command {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]chat.Command(nil), f.commands...)
}

func (f *fakeTutor) Presses() []chat.Press {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]chat.Press(nil), f.presses...)
}

func (f *fakeTutor) Gone() []chat.Address {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]chat.Address(nil), f.gone...)
}

func (f *fakeTutor) Moved() [][2]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([][2]string(nil), f.moved...)
}

func textMessages(lines ...string) []chat.Message {
	var out []chat.Message
	for _, l := range lines {
		out = append(out, chat.Message{Blocks: []chat.Block{{Kind: chat.Text, Text: l}}})
	}
	return out
}

var errNoValue = errors.New("no such value")

// memState is a State in memory.
type memState struct {
	mu     sync.Mutex
	values map[string]string
	sets   int
}

func newMemState() *memState { return &memState{values: map[string]string{}} }

func (s *memState) Value(ctx context.Context, key string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.values[key]
	if !ok {
		return "", fmt.Errorf("state: %w", errNoValue)
	}
	return v, nil
}

func (s *memState) SetValue(ctx context.Context, key, value string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.values[key] = value
	s.sets++
	return nil
}

func (s *memState) get(key string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.values[key]
}

// harness is a bot on a fake Bot API served over a local socket.
type harness struct {
	t     *testing.T
	api   *telegramtest.FakeAPI
	url   string
	tutor *fakeTutor
	state *memState
	logs  *logtest.Buffer
	opts  Options
	bot   *Bot

	stop func() error
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	api := telegramtest.NewFakeAPI(testToken)
	srv := api.Server(t)
	h := &harness{t: t, api: api, url: srv.URL, tutor: &fakeTutor{}, state: newMemState(), logs: &logtest.Buffer{}}
	h.opts = Options{
		Token: testToken, APIURL: srv.URL, NotFound: errNoValue,
		Logger:     slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		HTTPClient: &http.Client{Timeout: 2 * time.Minute},
	}
	t.Cleanup(func() {
		if h.stop != nil {
			h.stop()
		}
		if logs := h.logs.String(); strings.Contains(logs, testToken) {
			t.Errorf("the token is in the logs:\n%s", logs)
		}
		if t.Failed() {
			t.Logf("logs:\n%s", h.logs.String())
		}
	})
	return h
}

// start makes the bot with h.opts and runs it.
func (h *harness) start() *Bot {
	h.t.Helper()
	b, err := New(context.Background(), h.opts, h.tutor, h.state)
	if err != nil {
		h.t.Fatal(err)
	}
	h.bot = b
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	h.stop = func() error {
		cancel()
		h.stop = nil
		select {
		case err := <-done:
			return err
		case <-time.After(10 * time.Second):
			h.t.Fatal("Run did not return within 10 s of its context's end")
			return nil
		}
	}
	return b
}

// eventually waits up to 5 s for cond.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// Chats and people of the tests.
var (
	alice   = telegramtest.FakeUser{ID: 1001, FirstName: "Alice", LastName: "Martin", Username: "alice_m"}
	bob     = telegramtest.FakeUser{ID: 1002, Username: "bobby"}
	carol   = telegramtest.FakeUser{ID: 1003, FirstName: "Carol"}
	private = telegramtest.FakeChat{ID: 1001, Type: "private"}
	group   = telegramtest.FakeChat{ID: -100200300, Type: "supergroup", Title: "Readers & Co"}
	oldGrp  = telegramtest.FakeChat{ID: -4400, Type: "group", Title: "Book club"}
	channel = telegramtest.FakeChat{ID: -100900900, Type: "channel", Title: "Daily English"}
)
