package telegram

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lessonbot/lessonbot/internal/chat"
	"github.com/lessonbot/lessonbot/internal/telegram/telegramtest"
)

var to = chat.Address{Platform: chat.Telegram, ChatID: "1001"}

func TestSendRendersHTMLWithButtons(t *testing.T) {
	h := newHarness(t)
	b, err := New(context.Background(), h.opts, h.tutor, h.state)
	if err != nil {
		t.Fatal(err)
	}
	msg := lessonMessage()
	msg.Buttons = append(msg.Buttons, chat.Button{Label: "Quiz <now>", Data: "a:fish-prize:0123abcd:1"})
	id, err := b.Send(context.Background(), to, chat.Private, msg)
	if err != nil {
		t.Fatal(err)
	}
	sent := h.api.Sent()
	if len(sent) != 1 {
		t.Fatalf("sent %d messages, want 1", len(sent))
	}
	got := sent[0]
	if id != "1" {
		t.Errorf("message id = %q, want %q", id, "1")
	}
	if got.ChatID != "1001" || got.ThreadID != "" || got.ParseMode != "HTML" || !got.NoPreview {
		t.Errorf("sent to %q thread %q, parse mode %q, no preview %v", got.ChatID, got.ThreadID, got.ParseMode, got.NoPreview)
	}
	if got.Text != RenderHTML(msg) {
		t.Errorf("text = %q, want RenderHTML's %q", got.Text, RenderHTML(msg))
	}
	want := [][]telegramtest.FakeButton{{{Text: "Full article", CallbackData: "read:fish-prize"}}, {{Text: "Quiz <now>", CallbackData: "a:fish-prize:0123abcd:1"}}}
	if !equalJSON(got.Buttons, want) {
		t.Errorf("keyboard = %+v, want one button per row %+v", got.Buttons, want)
	}
}

func TestSendToForumTopic(t *testing.T) {
	h := newHarness(t)
	b, err := New(context.Background(), h.opts, h.tutor, h.state)
	if err != nil {
		t.Fatal(err)
	}
	topic := chat.Address{Platform: chat.Telegram, ChatID: "-100200300", ThreadID: "17"}
	if _, err := b.Send(context.Background(), topic, chat.Group, chat.Message{Blocks: []chat.Block{{Kind: chat.Text, Text: "in a topic"}}}); err != nil {
		t.Fatal(err)
	}
	if sent := h.api.Sent(); len(sent) != 1 || sent[0].ThreadID != "17" || sent[0].ChatID != "-100200300" || sent[0].Buttons != nil {
		t.Errorf("sent %+v, want one message to -100200300 in thread 17 without a keyboard", sent)
	}
}

func equalJSON(a, b any) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

// TestSendErrors maps each answer of the Bot API, and each way a call can
// fail, to the kind of error the delivery workers act on.
func TestSendErrors(t *testing.T) {
	tests := []struct {
		name       string
		answer     *telegramtest.APIError
		want       chat.ErrorKind
		retryAfter time.Duration
		movedTo    string
	}{
		{"RateLimited", telegramtest.ErrTooManyRequests(7), chat.RateLimited, 7 * time.Second, ""},
		{"Blocked", telegramtest.ErrBlocked(), chat.ChatGone, 0, ""},
		{"Kicked", telegramtest.ErrKicked(), chat.ChatGone, 0, ""},
		{"Deactivated", telegramtest.ErrDeactivated(), chat.ChatGone, 0, ""},
		{"ChatNotFound", telegramtest.ErrChatNotFound(), chat.ChatGone, 0, ""},
		{"Migrated", telegramtest.ErrMigrated(-1009876543210), chat.ChatMoved, 0, "-1009876543210"},
		{"CantParseEntities", telegramtest.ErrParseEntities(), chat.Rejected, 0, ""},
		{"OtherBadRequest", &telegramtest.APIError{Code: 400, Description: "Bad Request: message is too long"}, chat.Rejected, 0, ""},
		{"ServerError", telegramtest.ErrServer(), chat.Transient, 0, ""},
		{"BadGateway", &telegramtest.APIError{Code: 502, Description: "Bad Gateway"}, chat.Transient, 0, ""},
		{"Unauthorized", &telegramtest.APIError{Code: 401, Description: "Unauthorized"}, chat.Transient, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			b, err := New(context.Background(), h.opts, h.tutor, h.state)
			if err != nil {
				t.Fatal(err)
			}
			h.api.Fail("sendMessage", func(url.Values) *telegramtest.APIError { return tt.answer })
			_, err = b.Send(context.Background(), to, chat.Private, chat.Message{Blocks: []chat.Block{{Kind: chat.Text, Text: "hello"}}})
			var se *chat.SendError
			if !errors.As(err, &se) {
				t.Fatalf("Send = %v, want a *chat.SendError", err)
			}
			if se.Kind != tt.want || se.RetryAfter != tt.retryAfter || se.MovedTo != tt.movedTo {
				t.Errorf("Send = kind %v, retry after %v, moved to %q; want %v, %v, %q (%v)", se.Kind, se.RetryAfter, se.MovedTo, tt.want, tt.retryAfter, tt.movedTo, err)
			}
			if strings.Contains(err.Error(), testToken) {
				t.Errorf("the error shows the token: %v", err)
			}
		})
	}
}

// TestSendNetworkErrors tells a request that never left (transient) from
// one that timed out after it was written (ambiguous: it may be posted).
func TestSendNetworkErrors(t *testing.T) {
	msg := chat.Message{Blocks: []chat.Block{{Kind: chat.Text, Text: "hello"}}}
	t.Run("ConnectionRefused", func(t *testing.T) {
		h := newHarness(t)
		b, err := New(context.Background(), h.opts, h.tutor, h.state)
		if err != nil {
			t.Fatal(err)
		}
		// A port nobody listens on any more.
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		b.api.SetAPIEndpoint(endpoint("http://" + addr))
		_, err = b.Send(context.Background(), to, chat.Private, msg)
		if k := chat.KindOf(err); k != chat.Transient {
			t.Errorf("kind = %v, want transient (%v)", k, err)
		}
		if err == nil || strings.Contains(err.Error(), testToken) {
			t.Errorf("error %v: want one without the token", err)
		}
	})
	t.Run("TimeoutAfterWritten", func(t *testing.T) {
		h := newHarness(t)
		h.opts.HTTPClient = &http.Client{Timeout: 200 * time.Millisecond}
		b, err := New(context.Background(), h.opts, h.tutor, h.state)
		if err != nil {
			t.Fatal(err)
		}
		h.api.Fail("sendMessage", func(url.Values) *telegramtest.APIError { return &telegramtest.APIError{Delay: 5 * time.Second} })
		_, err = b.Send(context.Background(), to, chat.Private, msg)
		if k := chat.KindOf(err); k != chat.Ambiguous {
			t.Errorf("kind = %v, want ambiguous (%v)", k, err)
		}
		if err == nil || strings.Contains(err.Error(), testToken) {
			t.Errorf("error %v: want one without the token", err)
		}
	})
	t.Run("DeadlineBeforeSending", func(t *testing.T) {
		h := newHarness(t)
		b, err := New(context.Background(), h.opts, h.tutor, h.state)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err = b.Send(ctx, to, chat.Private, msg)
		if k := chat.KindOf(err); k != chat.Transient {
			t.Errorf("kind = %v, want transient (%v)", k, err)
		}
		if n := len(h.api.Sent()); n != 0 {
			t.Errorf("%d messages arrived, want none", n)
		}
	})
}

// TestSendSplitsLongMessage sends an over-long message as several, each
// within Telegram's limit as the fake counts it, the buttons under the
// last, and reports the last one's id.
func TestSendSplitsLongMessage(t *testing.T) {
	h := newHarness(t)
	b, err := New(context.Background(), h.opts, h.tutor, h.state)
	if err != nil {
		t.Fatal(err)
	}
	msg := articleMessage(9, 900)
	msg.Buttons = []chat.Button{{Label: "Done", Data: "done"}}
	id, err := b.Send(context.Background(), to, chat.Private, msg)
	if err != nil {
		t.Fatal(err)
	}
	sent := h.api.Sent()
	if len(sent) < 2 {
		t.Fatalf("sent %d messages, want the article split", len(sent))
	}
	for i, m := range sent {
		if (m.Buttons != nil) != (i == len(sent)-1) {
			t.Errorf("message %d has buttons %v; want them under the last only", i, m.Buttons)
		}
	}
	if last := sent[len(sent)-1]; id != strconv.Itoa(last.MessageID) {
		t.Errorf("id = %s, want the last part's %d", id, last.MessageID)
	}
}

// TestSendLaterPartFails reports a failure after the first part was
// posted as ambiguous, so that the delivery workers do not post the
// first part again, and waits out a 429 on a later part.
func TestSendLaterPartFails(t *testing.T) {
	msg := articleMessage(9, 900)
	t.Run("ServerError", func(t *testing.T) {
		h := newHarness(t)
		b, err := New(context.Background(), h.opts, h.tutor, h.state)
		if err != nil {
			t.Fatal(err)
		}
		calls := 0
		h.api.Fail("sendMessage", func(url.Values) *telegramtest.APIError {
			calls++
			if calls == 2 {
				return telegramtest.ErrServer()
			}
			return nil
		})
		_, err = b.Send(context.Background(), to, chat.Private, msg)
		if k := chat.KindOf(err); k != chat.Ambiguous {
			t.Errorf("kind = %v, want ambiguous (%v)", k, err)
		}
	})
	t.Run("RateLimited", func(t *testing.T) {
		h := newHarness(t)
		b, err := New(context.Background(), h.opts, h.tutor, h.state)
		if err != nil {
			t.Fatal(err)
		}
		calls := 0
		h.api.Fail("sendMessage", func(url.Values) *telegramtest.APIError {
			calls++
			if calls == 2 {
				return telegramtest.ErrTooManyRequests(1)
			}
			return nil
		})
		start := time.Now()
		if _, err := b.Send(context.Background(), to, chat.Private, msg); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d < time.Second {
			t.Errorf("sent in %v, want a wait of retry_after (1 s)", d)
		}
		if got, want := len(h.api.Sent()), len(Split(msg)); got != want {
			t.Errorf("sent %d parts, want %d", got, want)
		}
	})
}

// articleMessage is a full article of n paragraphs of about size
// characters each.
func articleMessage(n, size int) chat.Message {
	m := chat.Message{Title: "Harbour ferry returns after a long winter"}
	sentence := "The small ferry & its crew <all six of them> crossed the bay again on Tuesday. "
	for i := range n {
		var p strings.Builder
		for p.Len() < size {
			p.WriteString(sentence)
		}
		m.Blocks = append(m.Blocks, chat.Block{Kind: chat.Text, Text: strings.TrimSpace(p.String()) + " (" + strconv.Itoa(i+1) + ")"})
	}
	return m
}
