package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lessonbot/lessonbot/internal/chat"
	"github.com/lessonbot/lessonbot/internal/logtest"
	"github.com/lessonbot/lessonbot/internal/store"
)

func TestRateLimitsMeter(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "lessonbot.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	logs := &logtest.Buffer{}
	m := rateLimits{store: st, now: func() time.Time { return now }, log: slog.New(slog.NewTextHandler(logs, nil))}
	limited := func(d time.Duration) error {
		return &chat.SendError{Kind: chat.RateLimited, RetryAfter: d, Err: errors.New("429 Too Many Requests")}
	}
	m.Sent(chat.Telegram, limited(3*time.Second), time.Millisecond)
	m.Sent(chat.Telegram, fmt.Errorf("send part 2: %w", limited(7*time.Second)), time.Millisecond)
	m.Sent(chat.Discord, limited(1500*time.Millisecond), time.Millisecond)
	// Anything else is no rate limit.
	m.Sent(chat.Telegram, nil, time.Millisecond)
	m.Sent(chat.Telegram, &chat.SendError{Kind: chat.ChatGone, Err: errors.New("403")}, time.Millisecond)
	m.Sent(chat.Telegram, errors.New("connection refused"), time.Millisecond)
	m.Late(chat.Telegram, time.Minute)

	days, err := st.DeliveryHealth(ctx, now, now, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	if d := days[0]; d.RateLimited != 3 || d.RetryAfter != 11500*time.Millisecond {
		t.Errorf("%d 429s asking %v, want 3 asking 11.5s", d.RateLimited, d.RetryAfter)
	}
	if logs.String() != "" {
		t.Errorf("logged %s", logs.String())
	}

	// A store that fails is logged, and the send goes on.
	st.Close()
	m.Sent(chat.Telegram, limited(time.Second), time.Millisecond)
	if want := `msg="recording a rate limit for the dashboard failed" platform=telegram`; !strings.Contains(logs.String(), want) {
		t.Errorf("no log line %s:\n%s", want, logs.String())
	}
}
