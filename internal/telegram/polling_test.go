package telegram

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lessonbot/lessonbot/internal/chat"
	"github.com/lessonbot/lessonbot/internal/telegram/telegramtest"
)

// TestPollingResumesFromOffset stores the last update handled and, after
// a restart, asks Telegram for the updates after it: nothing is handled
// twice.
func TestPollingResumesFromOffset(t *testing.T) {
	h := newHarness(t)
	h.start()
	eventually(t, "a poll", func() bool { return len(h.api.Offsets()) > 0 })
	if got := h.api.Offsets()[0]; got != 0 {
		t.Errorf("first offset = %d, want 0 with nothing stored", got)
	}
	h.api.SendText(private, &alice, "/score")
	h.api.SendText(private, &alice, "/settings")
	last := h.api.SendText(group, &bob, "/leaderboard")
	eventually(t, "the offset stored", func() bool { return h.state.get(OffsetKey) == strconvI(last) })
	if err := h.stop(); err != nil {
		t.Fatal(err)
	}
	// As if Telegram had not heard that they were handled (its updates
	// are at-least-once): it has them again, and would hand them out to a
	// poll from offset 0.
	h.api.Push(telegramtest.MessageUpdate(last-2, private, &alice, "/score"), telegramtest.MessageUpdate(last-1, private, &alice, "/settings"),
		telegramtest.MessageUpdate(last, group, &bob, "/leaderboard"))
	before := len(h.tutor.Commands())
	polls := len(h.api.Offsets())

	h.start()
	eventually(t, "a poll after the restart", func() bool { return len(h.api.Offsets()) > polls })
	if got := h.api.Offsets()[polls]; got != last+1 {
		t.Errorf("first offset after the restart = %d, want %d", got, last+1)
	}
	next := h.api.SendText(private, &alice, "/quiz")
	eventually(t, "the new update", func() bool { return h.state.get(OffsetKey) == strconvI(next) })
	var names []string
	for _, c := range h.tutor.Commands()[before:] {
		names = append(names, c.Name)
	}
	if !slices.Equal(names, []string{"quiz"}) {
		t.Errorf("after the restart the tutor got %q, want only the new quiz", names)
	}
}

// TestRepeatedUpdateOnce handles an update that comes twice once.
func TestRepeatedUpdateOnce(t *testing.T) {
	h := newHarness(t)
	h.start()
	id := h.api.NextUpdateID()
	u := telegramtest.MessageUpdate(id, private, &alice, "/score")
	h.api.Push(u, u)
	second := h.api.SendText(private, &alice, "/settings")
	eventually(t, "the offset stored", func() bool { return h.state.get(OffsetKey) == strconvI(second) })
	if n := len(h.tutor.Commands()); n != 2 {
		t.Errorf("the tutor got %d commands, want 2", n)
	}
}

// TestOffsetWaitsForSlowChat stores no offset past an update still being
// handled, so that a restart gets it again.
func TestOffsetWaitsForSlowChat(t *testing.T) {
	h := newHarness(t)
	release := make(chan struct{})
	h.tutor.handle = func(ctx context.Context, cmd chat.Command) []chat.Message {
		if cmd.Name == "slow" {
			select {
			case <-release:
			case <-ctx.Done():
			}
		}
		return textMessages("ok")
	}
	h.start()
	first := h.api.SendText(private, &alice, "/score")
	eventually(t, "the first offset", func() bool { return h.state.get(OffsetKey) == strconvI(first) })
	h.api.SendText(private, &alice, "/slow")
	last := h.api.SendText(group, &bob, "/score")
	eventually(t, "the other chat's reply", func() bool { return len(h.api.SentTo(group.ID)) == 1 })
	time.Sleep(50 * time.Millisecond)
	if got := h.state.get(OffsetKey); got != strconvI(first) {
		t.Errorf("offset = %s while update %d is handled, want %d", got, first+1, first)
	}
	close(release)
	eventually(t, "the last offset", func() bool { return h.state.get(OffsetKey) == strconvI(last) })
}

// TestPollingRetriesAfterErrors keeps polling after a 500 and a 429.
func TestPollingRetriesAfterErrors(t *testing.T) {
	h := newHarness(t)
	calls := 0
	h.api.Fail("getUpdates", func(url.Values) *telegramtest.APIError {
		calls++
		switch calls {
		case 1:
			return telegramtest.ErrServer()
		case 2:
			return telegramtest.ErrTooManyRequests(1)
		}
		return nil
	})
	var mu sync.Mutex
	var ups []bool
	h.opts.Up = func(up bool) {
		mu.Lock()
		defer mu.Unlock()
		ups = append(ups, up)
	}
	h.start()
	h.api.SendText(private, &alice, "/score")
	eventually(t, "the reply", func() bool { return len(h.api.Sent()) == 1 })
	// The 500 tells that Telegram is down; the 429 is an answer.
	mu.Lock()
	defer mu.Unlock()
	if len(ups) < 3 || ups[0] || !ups[1] || !ups[2] {
		t.Errorf("Up was told %v, want false (500), true (429), true (the next poll), ...", ups)
	}
}

// dialErrorTransport fails every request as a refused connection does.
type dialErrorTransport struct{}

func (dialErrorTransport) RoundTrip(*http.Request) (*http.Response, error) {
	return nil, &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connect: connection refused")}
}

// switchTransport sends requests to next once set, else to base.
type switchTransport struct {
	base http.RoundTripper
	mu   sync.Mutex
	next http.RoundTripper
}

func (s *switchTransport) set(rt http.RoundTripper) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.next = rt
}

func (s *switchTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	s.mu.Lock()
	rt := s.next
	s.mu.Unlock()
	if rt != nil {
		return rt.RoundTrip(r)
	}
	return s.base.RoundTrip(r)
}

// TestTokenRedacted never shows the token, whether the connection fails
// (net/http's errors name the URL, token and all) or the server answers
// 500 with the request path in its description, in errors or in logs.
func TestTokenRedacted(t *testing.T) {
	msg := chat.Message{Blocks: []chat.Block{{Kind: chat.Text, Text: "hello"}}}
	check := func(t *testing.T, what string, err error, logs string) {
		t.Helper()
		if err == nil && what != "Run" {
			t.Fatalf("%s: no error", what)
		}
		for e := err; e != nil; e = errors.Unwrap(e) {
			if strings.Contains(e.Error(), testToken) {
				t.Errorf("%s: the error or one it wraps shows the token: %v", what, e)
			}
		}
		if strings.Contains(logs, testToken) {
			t.Errorf("%s: the logs show the token:\n%s", what, logs)
		}
	}

	t.Run("DialErrorInNew", func(t *testing.T) {
		h := newHarness(t)
		h.opts.HTTPClient = &http.Client{Transport: dialErrorTransport{}}
		_, err := New(context.Background(), h.opts, h.tutor, h.state)
		check(t, "New", err, h.logs.String())
		if !strings.Contains(err.Error(), "bot"+redacted) {
			t.Errorf("error %q: want the URL with the token redacted", err)
		}
	})
	t.Run("DialErrorInSendAndPoll", func(t *testing.T) {
		h := newHarness(t)
		sw := &switchTransport{base: http.DefaultTransport}
		h.opts.HTTPClient = &http.Client{Transport: sw}
		b, err := New(context.Background(), h.opts, h.tutor, h.state)
		if err != nil {
			t.Fatal(err)
		}
		sw.set(dialErrorTransport{})
		_, err = b.Send(context.Background(), to, chat.Private, msg)
		check(t, "Send", err, h.logs.String())
		if k := chat.KindOf(err); k != chat.Transient {
			t.Errorf("kind = %v, want transient", k)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
		defer cancel()
		b.Run(ctx)
		logs := h.logs.String()
		if !strings.Contains(logs, "getting updates failed") {
			t.Errorf("no failed poll logged:\n%s", logs)
		}
		check(t, "Run", nil, logs)
	})
	t.Run("ServerError", func(t *testing.T) {
		h := newHarness(t)
		b, err := New(context.Background(), h.opts, h.tutor, h.state)
		if err != nil {
			t.Fatal(err)
		}
		h.api.Fail("sendMessage", func(url.Values) *telegramtest.APIError { return telegramtest.ErrServer() })
		h.api.Fail("getUpdates", func(url.Values) *telegramtest.APIError { return telegramtest.ErrServer() })
		_, err = b.Send(context.Background(), to, chat.Private, msg)
		check(t, "Send", err, h.logs.String())
		if !strings.Contains(err.Error(), "Internal Server Error at /bot"+redacted) {
			t.Errorf("error %q: want the server's description, redacted", err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
		defer cancel()
		b.Run(ctx)
		logs := h.logs.String()
		if !strings.Contains(logs, "getting updates failed") {
			t.Errorf("no failed poll logged:\n%s", logs)
		}
		check(t, "Run", nil, logs)
	})
}

// TestRedactHandler removes the token from messages and attributes of
// every kind that a careless caller might log.
func TestRedactHandler(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(&redactHandler{inner: slog.NewJSONHandler(&buf, nil), r: newRedactor(testToken)})
	wrapped := &url.Error{Op: "Post", URL: "https://api.telegram.org/bot" + testToken + "/getMe", Err: io.EOF}
	log.With("url", "https://x/bot"+testToken+"/m").WithGroup("g").Info("calling bot"+testToken,
		"err", wrapped, "any", []string{testToken}, slog.Group("inner", "escaped", url.QueryEscape(testToken)))
	out := buf.String()
	if strings.Contains(out, testToken) || strings.Contains(out, url.QueryEscape(testToken)) {
		t.Errorf("the log line shows the token: %s", out)
	}
	var fields map[string]any
	if err := json.Unmarshal(buf.Bytes(), &fields); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, redacted) {
		t.Errorf("nothing marked redacted: %s", out)
	}
}
