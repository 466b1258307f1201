package discord

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/lessonbot/lessonbot/internal/chat"
	"github.com/lessonbot/lessonbot/internal/logtest"
)

// newSender is a bot that is not connected to the gateway, for Send.
func newSender(t testing.TB, apiURL string, client *http.Client) (*Bot, *logtest.Buffer) {
	t.Helper()
	logs := &logtest.Buffer{}
	b, err := New(t.Context(), Options{
		Token: testToken, APIURL: apiURL, HTTPClient: client,
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}, &fakeTutor{})
	if err != nil {
		t.Fatal(err)
	}
	return b, logs
}

func TestSend(t *testing.T) {
	fake := newFakeDiscord(t)
	b, _ := newSender(t, fake.apiURL(), fake.srv.Client())
	to := chat.Address{Platform: chat.Discord, ChatID: "400000000000000001"}

	id, err := b.Send(t.Context(), to, chat.Group, lessonMessage())
	if err != nil || id == "" {
		t.Fatalf("Send = %q, %v", id, err)
	}
	posts := fake.requests(http.MethodPost, "/channels/400000000000000001/messages")
	if len(posts) != 1 {
		t.Fatalf("%d posts, want 1", len(posts))
	}
	if posts[0].Auth != "Bot "+testToken {
		t.Errorf("Authorization = %q", posts[0].Auth)
	}
	m := decodeSent(t, posts[0])
	if len(m.Embeds) != 1 || m.Embeds[0].Title != Escape(lessonMessage().Title) || m.Content != "" {
		t.Errorf("a titled message went as %+v, want one embed", m)
	}
	if bs := m.buttons(); len(bs) != 1 || bs[0].data != "read:fish-prize" {
		t.Errorf("buttons = %+v", bs)
	}

	// A text message too long for one Discord message goes in several;
	// Send returns the first one's id.
	long := chat.Message{Buttons: []chat.Button{{Label: "Next", Data: "next"}}}
	for range 5 {
		long.Blocks = append(long.Blocks, chat.Block{Kind: chat.Text, Text: strings.Repeat("word ", 100)})
	}
	id, err = b.Send(t.Context(), to, chat.Group, long)
	if err != nil {
		t.Fatal(err)
	}
	posts = fake.requests(http.MethodPost, "/channels/400000000000000001/messages")[1:]
	if len(posts) != 2 {
		t.Fatalf("%d posts for 2500 characters, want 2", len(posts))
	}
	first, second := decodeSent(t, posts[0]), decodeSent(t, posts[1])
	if len(first.buttons()) != 0 || len(second.buttons()) != 1 {
		t.Errorf("the buttons are not under the last part: %+v / %+v", first.buttons(), second.buttons())
	}
	if id != "800000000000000002" {
		t.Errorf("Send returned id %q, want the first part's, 800000000000000002", id)
	}
}

func TestSendErrors(t *testing.T) {
	to := chat.Address{Platform: chat.Discord, ChatID: "400000000000000001"}
	answer := func(status int, body string, header http.Header) func(fakeRequest) (int, string, http.Header) {
		return func(fakeRequest) (int, string, http.Header) { return status, body, header }
	}
	tests := []struct {
		name      string
		fail      func(fakeRequest) (int, string, http.Header)
		msg       chat.Message
		wantKind  chat.ErrorKind
		wantAfter time.Duration
		wantPosts int
	}{
		{"RateLimited", answer(429, `{"message":"You are being rate limited.","retry_after":2.5,"global":false}`, nil), plainMessage(), chat.RateLimited, 2500 * time.Millisecond, 1},
		{"RateLimitedByProxy", answer(429, `slow down`, http.Header{"Retry-After": {"3"}}), plainMessage(), chat.RateLimited, 3 * time.Second, 1},
		{"UnknownChannel", answer(404, `{"message":"Unknown Channel","code":10003}`, nil), plainMessage(), chat.ChatGone, 0, 1},
		{"UnknownGuild", answer(404, `{"message":"Unknown Guild","code":10004}`, nil), plainMessage(), chat.ChatGone, 0, 1},
		{"MissingAccess", answer(403, `{"message":"Missing Access","code":50001}`, nil), plainMessage(), chat.ChatGone, 0, 1},
		{"MissingPermissions", answer(403, `{"message":"Missing Permissions","code":50013}`, nil), plainMessage(), chat.ChatGone, 0, 1},
		{"DMClosed", answer(403, `{"message":"Cannot send messages to this user","code":50007}`, nil), plainMessage(), chat.ChatGone, 0, 1},
		{"InvalidBody", answer(400, `{"message":"Invalid Form Body","code":50035}`, nil), plainMessage(), chat.Rejected, 0, 1},
		{"Unauthorized", answer(401, `{"message":"401: Unauthorized","code":0}`, nil), plainMessage(), chat.Rejected, 0, 1},
		{"ServerError", answer(500, `{"message":"Internal Server Error","code":0}`, nil), plainMessage(), chat.Transient, 0, 1},
		// discordgo would retry a 502 itself; the delivery worker does.
		{"BadGateway", answer(502, `bad gateway`, nil), plainMessage(), chat.Transient, 0, 1},
		{"Unavailable", answer(503, `{"message":"unavailable","code":0}`, nil), plainMessage(), chat.Transient, 0, 1},
		{"TooManyButtons", nil, chat.Message{Blocks: plainMessage().Blocks, Buttons: manyButtons(26)}, chat.Rejected, 0, 0},
		{"PartSentThenFailed", func(r fakeRequest) (int, string, http.Header) {
			if strings.Contains(string(r.Body), "second part") {
				return 500, `{"message":"oops","code":0}`, nil
			}
			return 0, "", nil
		}, twoParts(), chat.Ambiguous, 0, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := newFakeDiscord(t)
			fake.setFail(tt.fail)
			b, logs := newSender(t, fake.apiURL(), fake.srv.Client())
			_, err := b.Send(t.Context(), to, chat.Group, tt.msg)
			checkSendError(t, err, tt.wantKind, tt.wantAfter)
			if n := len(fake.requests(http.MethodPost, "/channels/")); n != tt.wantPosts {
				t.Errorf("%d posts, want %d", n, tt.wantPosts)
			}
			if strings.Contains(logs.String(), testToken) {
				t.Errorf("the token is in the logs")
			}
		})
	}
}

// TestSendNetworkErrors sorts failures without an answer: before the
// request is written (retry) or after (maybe posted: no retry).
func TestSendNetworkErrors(t *testing.T) {
	to := chat.Address{Platform: chat.Discord, ChatID: "400000000000000001"}
	t.Run("ConnectionRefused", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		b, _ := newSender(t, "http://"+addr, &http.Client{Timeout: 5 * time.Second})
		_, err = b.Send(t.Context(), to, chat.Group, plainMessage())
		checkSendError(t, err, chat.Transient, 0)
	})
	t.Run("CancelledBeforeSending", func(t *testing.T) {
		fake := newFakeDiscord(t)
		b, _ := newSender(t, fake.apiURL(), fake.srv.Client())
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		_, err := b.Send(ctx, to, chat.Group, plainMessage())
		checkSendError(t, err, chat.Transient, 0)
	})
	t.Run("TimeoutAfterWriting", func(t *testing.T) {
		fake := newFakeDiscord(t)
		release := make(chan struct{})
		defer close(release)
		fake.hold = func(fakeRequest) <-chan struct{} { return release }
		client := fake.srv.Client()
		client.Timeout = 200 * time.Millisecond
		b, _ := newSender(t, fake.apiURL(), client)
		_, err := b.Send(t.Context(), to, chat.Group, plainMessage())
		checkSendError(t, err, chat.Ambiguous, 0)
	})
	t.Run("CancelledAfterWriting", func(t *testing.T) {
		fake := newFakeDiscord(t)
		var arrived atomic.Bool
		release := make(chan struct{})
		defer close(release)
		fake.hold = func(fakeRequest) <-chan struct{} { arrived.Store(true); return release }
		b, _ := newSender(t, fake.apiURL(), fake.srv.Client())
		ctx, cancel := context.WithCancel(t.Context())
		go func() {
			for !arrived.Load() {
				time.Sleep(time.Millisecond)
			}
			cancel()
		}()
		_, err := b.Send(ctx, to, chat.Group, plainMessage())
		checkSendError(t, err, chat.Ambiguous, 0)
	})
}

func checkSendError(t *testing.T, err error, kind chat.ErrorKind, after time.Duration) {
	t.Helper()
	var se *chat.SendError
	if !errors.As(err, &se) {
		t.Fatalf("Send error = %v, want a *chat.SendError", err)
	}
	if se.Kind != kind {
		t.Errorf("kind = %v (%v), want %v", se.Kind, err, kind)
	}
	if after != 0 && se.RetryAfter != after {
		t.Errorf("retry after = %v, want %v", se.RetryAfter, after)
	}
	var re *discordgo.RESTError
	if errors.As(err, &re) {
		t.Errorf("the error keeps discordgo's RESTError, and with it the Authorization header")
	}
	if strings.Contains(err.Error(), testToken) {
		t.Errorf("the error holds the token: %v", err)
	}
}

func manyButtons(n int) []chat.Button {
	var bs []chat.Button
	for i := range n {
		bs = append(bs, chat.Button{Label: "choice", Data: "a:x:" + string(rune('a'+i%26)) + string(rune('a'+i/26))})
	}
	return bs
}

// twoParts is a text message that goes as two Discord messages, the
// second starting with "second part".
func twoParts() chat.Message {
	return chat.Message{Blocks: []chat.Block{
		{Kind: chat.Text, Text: strings.Repeat("first part ", 181)},
		{Kind: chat.Text, Text: "second part"},
	}}
}
