package delivery_test

import (
	"errors"
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/lessonbot/lessonbot/internal/chat"
	"github.com/lessonbot/lessonbot/internal/metrics"
	"github.com/lessonbot/lessonbot/internal/store"
)

// TestMetricsCountSends fans a slot out to 60 chats through a platform
// that answers some sends with a 429, some chats as gone and some sends
// of unknown fate, and checks that messages_sent_total{result="ok"} is
// exactly what the platform accepted, and each other result its count.
func TestMetricsCountSends(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, "l1", "l2")
		m := metrics.New(metrics.Build{Version: "test"})
		w.opts.Meter = m
		counts := map[string]int{}
		w.sender.fail = func(call int, to chat.Address, text string) error {
			switch {
			case call%17 == 0:
				counts[metrics.ResultRateLimited]++
				return &chat.SendError{Kind: chat.RateLimited, RetryAfter: 2 * time.Second, Err: errors.New("429")}
			case to.ChatID == "105" || to.ChatID == "130":
				counts[metrics.ResultChatGone]++
				return &chat.SendError{Kind: chat.ChatGone, Err: errors.New("403 blocked")}
			case to.ChatID == "111" && text == "l1/1":
				counts[metrics.ResultUnknown]++
				return &chat.SendError{Kind: chat.Ambiguous, Err: errors.New("timeout after the request was written")}
			}
			return nil
		}
		for i := range 60 {
			w.subscribe(fmt.Sprint(100+i), 8, 0, "UTC", store.EveryDay)
		}
		w.start()
		sleepUntil(time.Date(2000, 1, 1, 8, 5, 0, 0, time.UTC))
		w.stop()

		accepted := len(w.sender.messages())
		if accepted < 100 {
			t.Fatalf("the platform accepted only %d messages", accepted)
		}
		sent := func(result string) int {
			return int(metricValue(t, m, "lessonbot_messages_sent_total", "platform", chat.Telegram, "result", result))
		}
		if got := sent(metrics.ResultOK); got != accepted {
			t.Errorf(`messages_sent_total{result="ok"} = %d, the platform accepted %d`, got, accepted)
		}
		for _, r := range []string{metrics.ResultRateLimited, metrics.ResultChatGone, metrics.ResultUnknown} {
			if got := sent(r); got != counts[r] || got == 0 {
				t.Errorf(`messages_sent_total{result=%q} = %d, the platform answered so %d times`, r, got, counts[r])
			}
		}
		if got, want := metricValue(t, m, "lessonbot_retry_after_seconds_total", "platform", chat.Telegram), 2*float64(counts[metrics.ResultRateLimited]); got != want {
			t.Errorf("retry_after_seconds_total = %v, want %v", got, want)
		}
		// Each delivery whose first message went has its lateness.
		if n := metricValue(t, m, "lessonbot_delivery_lateness_seconds", "platform", chat.Telegram); n < 50 || n > 60 {
			t.Errorf("lateness observed %v deliveries, want one per chat whose first message went (50 to 60)", n)
		}
	})
}

// metricValue gathers m and returns the value of the series of name with
// the given label pairs: a counter's or gauge's value, a histogram's
// count of observations.
func metricValue(t *testing.T, m *metrics.Metrics, name string, labels ...string) float64 {
	t.Helper()
	families, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	series:
		for _, s := range f.GetMetric() {
			have := map[string]string{}
			for _, l := range s.GetLabel() {
				have[l.GetName()] = l.GetValue()
			}
			for i := 0; i+1 < len(labels); i += 2 {
				if have[labels[i]] != labels[i+1] {
					continue series
				}
			}
			switch {
			case s.Counter != nil:
				return s.GetCounter().GetValue()
			case s.Gauge != nil:
				return s.GetGauge().GetValue()
			case s.Histogram != nil:
				return float64(s.GetHistogram().GetSampleCount())
			}
		}
	}
	return 0
}
