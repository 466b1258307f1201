package metrics_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/lessonbot/lessonbot/internal/chat"
	"github.com/lessonbot/lessonbot/internal/metrics"
	"github.com/lessonbot/lessonbot/internal/store"
)

// standardLabels are the labels of the Go, process, build-info and
// database/sql collectors, fixed by client_golang.
var standardLabels = []string{"checksum", "path", "db_name"}

// everyMetric records one event of every kind on a fresh Metrics that
// also reads st, as run wires it.
func everyMetric(t *testing.T, st *store.Store) *metrics.Metrics {
	t.Helper()
	m := metrics.New(metrics.Build{Version: "v1.0.0", Revision: "abc123", GoVersion: "go1.26"})
	m.WatchDB(st.DB(), "lessonbot")
	m.WatchStore(st, time.Now, time.Second)
	now := time.Now()
	m.WatchLoops(func() time.Time { return now }, func() time.Time { return now })
	m.WatchLessons(func() int { return 7 })
	m.Update(chat.Telegram, metrics.KindCommand, 3*time.Millisecond)
	m.Update(chat.Discord, metrics.KindButton, time.Millisecond)
	m.Sent(chat.Telegram, nil, 40*time.Millisecond)
	m.Sent(chat.Telegram, &chat.SendError{Kind: chat.RateLimited, RetryAfter: 3 * time.Second, Err: errors.New("429")}, time.Millisecond)
	m.Sent(chat.Telegram, &chat.SendError{Kind: chat.ChatGone, Err: errors.New("403")}, time.Millisecond)
	m.Sent(chat.Discord, &chat.SendError{Kind: chat.Rejected, Err: errors.New("400")}, time.Millisecond)
	m.Sent(chat.Discord, &chat.SendError{Kind: chat.Transient, Err: errors.New("502")}, time.Millisecond)
	m.Sent(chat.Discord, &chat.SendError{Kind: chat.Ambiguous, Err: errors.New("timeout")}, time.Millisecond)
	m.Late(chat.Telegram, 2*time.Second)
	m.Answer(chat.Telegram, true)
	m.Answer(chat.Telegram, false)
	m.Reload(false)
	m.Reload(true)
	m.LeaseHeld("scheduler", true)
	m.LeaseHeld("sender", false)
	return m
}

func openStore(t *testing.T) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "lessonbot.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// TestLint runs Prometheus' own linter over every metric: names, units,
// help texts.
func TestLint(t *testing.T) {
	m := everyMetric(t, openStore(t))
	problems, err := testutil.GatherAndLint(m.Registry())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("%s: %s", p.Metric, p.Text)
	}
}

// TestLabelsBounded checks that every label name is one of the bounded
// set: never a chat, a user, a lesson or a question id.
func TestLabelsBounded(t *testing.T) {
	m := everyMetric(t, seededStore(t, time.Now().Add(-time.Minute)))
	families, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	var own []string
	for _, f := range families {
		for _, s := range f.GetMetric() {
			for _, l := range s.GetLabel() {
				if !slices.Contains(metrics.Labels, l.GetName()) && !slices.Contains(standardLabels, l.GetName()) {
					t.Errorf("%s has label %q, not in the allowed set", f.GetName(), l.GetName())
				}
			}
		}
		if strings.HasPrefix(f.GetName(), "lessonbot_") {
			own = append(own, f.GetName())
		}
	}
	want := []string{
		"lessonbot_build_info", "lessonbot_delivery_lateness_seconds", "lessonbot_lease_held", "lessonbot_lesson_reloads_total",
		"lessonbot_lessons_loaded", "lessonbot_messages_sent_total", "lessonbot_outbox_oldest_pending_age_seconds",
		"lessonbot_outbox_rows", "lessonbot_platform_up",
		"lessonbot_quiz_answers_total", "lessonbot_retry_after_seconds_total", "lessonbot_scheduler_last_tick_timestamp_seconds",
		"lessonbot_send_duration_seconds", "lessonbot_sender_last_heartbeat_timestamp_seconds",
		"lessonbot_store_scrape_errors_total", "lessonbot_subscribed_chats", "lessonbot_update_handling_duration_seconds",
		"lessonbot_updates_received_total",
	}
	if !slices.Equal(own, want) {
		t.Errorf("lessonbot_ families:\n got %q\nwant %q", own, want)
	}
}

// TestResult maps each kind of send error to its result label.
func TestResult(t *testing.T) {
	tests := map[string]error{
		metrics.ResultOK:          nil,
		metrics.ResultRateLimited: &chat.SendError{Kind: chat.RateLimited},
		metrics.ResultChatGone:    &chat.SendError{Kind: chat.ChatGone},
		metrics.ResultBadRequest:  &chat.SendError{Kind: chat.Rejected},
		metrics.ResultServerError: errors.New("connection refused"),
		metrics.ResultUnknown:     &chat.SendError{Kind: chat.Ambiguous},
	}
	for want, err := range tests {
		if got := metrics.Result(err); got != want {
			t.Errorf("Result(%v) = %q, want %q", err, got, want)
		}
	}
}

// seededStore returns a store with four subscribed Telegram chats (two
// private, a group, a channel) and a pending delivery for each at slot.
func seededStore(t *testing.T, slot time.Time) *store.Store {
	t.Helper()
	ctx := context.Background()
	st := openStore(t)
	var ids []int64
	for i, k := range []chat.Kind{chat.Private, chat.Private, chat.Group, chat.Channel} {
		sub, err := st.EnsureChat(ctx, store.Subscription{
			Address: chat.Address{Platform: chat.Telegram, ChatID: string(rune('a' + i))}, Kind: k,
			Hour: 8, Zone: "UTC", Weekdays: store.EveryDay, Language: "en", Active: true,
		})
		if err != nil {
			t.Fatal(err)
		}
		sub.Active = true
		if err := st.SaveSubscription(ctx, sub); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, sub.ID)
	}
	if _, err := st.EnqueueSlot(ctx, ids, slot); err != nil {
		t.Fatal(err)
	}
	return st
}

// TestReadmeNamesRealMetrics checks that every lessonbot metric the README
// names (its table and its alert rules) exists.
func TestReadmeNamesRealMetrics(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	m := everyMetric(t, seededStore(t, time.Now().Add(-time.Minute)))
	families, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, f := range families {
		have[f.GetName()] = true
	}
	// The section "### Metrics", up to the next one, holds the table and
	// the alert rules.
	text := string(readme)
	start := strings.Index(text, "\n### Metrics\n")
	if start < 0 {
		t.Fatal(`the README has no "### Metrics" section`)
	}
	text = text[start+1:]
	if end := strings.Index(text[4:], "\n### "); end >= 0 {
		text = text[:end+4]
	}
	names := regexp.MustCompile(`lessonbot_[a-z_]+[a-z]`).FindAllString(text, -1)
	if len(names) < 20 {
		t.Fatalf("found only %d metric names in the README", len(names))
	}
	for _, n := range names {
		base := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(n, "_bucket"), "_sum"), "_count")
		if !have[n] && !have[base] {
			t.Errorf("README names %s, which lessonbot does not export", n)
		}
	}
}

// TestStoreFigures reads the outbox and the subscribed chats from a real
// store when scraped.
func TestStoreFigures(t *testing.T) {
	now := time.Now().Truncate(time.Second)
	st := seededStore(t, now.Add(-90*time.Second))
	m := metrics.New(metrics.Build{})
	m.WatchStore(st, func() time.Time { return now }, time.Second)
	want := `
# HELP lessonbot_outbox_oldest_pending_age_seconds How long the pending delivery that fell due first has waited, 0 when none is due.
# TYPE lessonbot_outbox_oldest_pending_age_seconds gauge
lessonbot_outbox_oldest_pending_age_seconds 90
# HELP lessonbot_outbox_rows Deliveries waiting (pending, due or not yet) and under way (sending).
# TYPE lessonbot_outbox_rows gauge
lessonbot_outbox_rows{state="pending"} 4
# HELP lessonbot_subscribed_chats Subscribed chats by type (private, group, channel).
# TYPE lessonbot_subscribed_chats gauge
lessonbot_subscribed_chats{chat_type="channel",platform="telegram"} 1
lessonbot_subscribed_chats{chat_type="group",platform="telegram"} 1
lessonbot_subscribed_chats{chat_type="private",platform="telegram"} 2
`
	if err := testutil.GatherAndCompare(m.Registry(), strings.NewReader(want),
		"lessonbot_outbox_oldest_pending_age_seconds", "lessonbot_outbox_rows", "lessonbot_subscribed_chats"); err != nil {
		t.Error(err)
	}
}
