package telegram

import (
	"context"
	"log/slog"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/lessonbot/lessonbot/internal/chat"
	"github.com/lessonbot/lessonbot/internal/dashboard"
	"github.com/lessonbot/lessonbot/internal/lesson"
	"github.com/lessonbot/lessonbot/internal/store"
	"github.com/lessonbot/lessonbot/internal/telegram/telegramtest"
	"github.com/lessonbot/lessonbot/internal/tutor"
)

// TestDashboardLink runs /dashboard through the real tutor with the
// dashboard's links against the fake Bot API: an admin's private chat
// gets the sign-in link with link previews off (so that Telegram fetches
// no preview of it); in a group the admin is told to ask in private, and
// someone who is no admin is refused; neither gets a link.
func TestDashboardLink(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "lessonbot.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	lessons := lesson.NewSource(func() lesson.Result { return lesson.Result{Library: lesson.NewLibrary(nil)} })
	tu := tutor.New(st, lessons, tutor.Settings{Zone: "UTC", Language: "en", Questions: 3,
		Admins: map[string][]string{chat.Telegram: {"1001"}}}, time.Now, slog.New(slog.DiscardHandler))
	tu.SetLinks(dashboard.NewLinks(st, "http://127.0.0.1:9090", time.Now))

	h := newHarness(t)
	h.tutor.handle = tu.Handle
	h.opts.Admins = []string{"1001"}
	h.opts.Commands = tu.Commands()
	h.start()
	link := regexp.MustCompile(`http://127\.0\.0\.1:9090/login\?t=([0-9a-f]{64})`)

	h.api.SendText(private, &alice, "/dashboard")
	eventually(t, "the link", func() bool { return len(h.api.SentTo(private.ID)) == 1 })
	got := h.api.SentTo(private.ID)[0]
	if !got.NoPreview {
		t.Error("the link was sent with link previews on")
	}
	m := link.FindStringSubmatch(got.Plain)
	if m == nil || !strings.HasPrefix(got.Plain, "Dashboard\n") {
		t.Fatalf("the reply %q has no link", got.Plain)
	}
	u, err := st.LoginToken(ctx, m[1], time.Now())
	if err != nil || u.Platform != chat.Telegram || u.ID != "1001" || u.Name == "" {
		t.Errorf("the link's token is for %+v, %v", u, err)
	}

	h.api.SendText(group, &alice, "/dashboard")
	bobDM := telegramtest.FakeChat{ID: bob.ID, Type: "private"}
	h.api.SendText(bobDM, &bob, "/dashboard")
	eventually(t, "the refusals", func() bool {
		return len(h.api.SentTo(group.ID)) == 1 && len(h.api.SentTo(bobDM.ID)) == 1
	})
	for _, tt := range []struct {
		where telegramtest.FakeChat
		want  string
	}{
		{group, "Send /dashboard in a private chat with me"},
		{bobDM, "/dashboard is for lessonbot's admins."},
	} {
		got := h.api.SentTo(tt.where.ID)[0]
		if !strings.Contains(got.Plain, tt.want) || link.MatchString(got.Plain) || strings.Contains(got.Plain, "\n") {
			t.Errorf("in %d: %q, want the one line %q", tt.where.ID, got.Plain, tt.want)
		}
	}
}
