package telegram

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/lessonbot/lessonbot/internal/chat"
)

// TestUnhandledUpdatesSurviveAStop stops the bot while an update it has
// received (and so confirmed to Telegram by polling on) is still being
// handled; the next run handles it from the journal, and only it.
func TestUnhandledUpdatesSurviveAStop(t *testing.T) {
	h := newHarness(t)
	stuck := make(chan struct{})
	h.tutor.handle = func(ctx context.Context, cmd chat.Command) []chat.Message {
		if cmd.Name == "slow" {
			select {
			case <-stuck:
			case <-ctx.Done():
			}
		}
		return textMessages("ok " + cmd.Name)
	}
	h.start()
	first := h.api.SendText(private, &alice, "/score")
	eventually(t, "the first offset", func() bool { return h.state.get(OffsetKey) == strconvI(first) })
	slow := h.api.SendText(private, &alice, "/slow")
	eventually(t, "a poll past the slow update", func() bool {
		offsets := h.api.Offsets()
		return len(offsets) > 0 && offsets[len(offsets)-1] > slow
	})
	if err := h.stop(); err != nil {
		t.Fatal(err)
	}
	if got := h.state.get(OffsetKey); got != strconvI(first) {
		t.Fatalf("offset after the stop = %s, want %d: the slow update was never handled", got, first)
	}

	close(stuck)
	before := len(h.tutor.Commands())
	h.start()
	eventually(t, "the slow update handled after the restart", func() bool { return h.state.get(OffsetKey) == strconvI(slow) })
	time.Sleep(50 * time.Millisecond)
	var names []string
	for _, c := range h.tutor.Commands()[before:] {
		names = append(names, c.Name)
	}
	if !slices.Equal(names, []string{"slow"}) {
		t.Errorf("after the restart the tutor got %q, want only the slow update again", names)
	}
}
