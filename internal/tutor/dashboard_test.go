package tutor

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lessonbot/lessonbot/internal/chat"
	"github.com/lessonbot/lessonbot/internal/dashboard"
	"github.com/lessonbot/lessonbot/internal/logtest"
	"github.com/lessonbot/lessonbot/internal/store"
)

// recordingLinks is the dashboard's Links on the harness's store, noting
// whom it made links for.
type recordingLinks struct {
	links *dashboard.Links
	mu    sync.Mutex
	asked []chat.User
}

func (r *recordingLinks) LoginLink(ctx context.Context, admin chat.User) (string, error) {
	r.mu.Lock()
	r.asked = append(r.asked, admin)
	r.mu.Unlock()
	return r.links.LoginLink(ctx, admin)
}

func (r *recordingLinks) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.asked)
}

// withLinks gives h's tutor sign-in links to http://127.0.0.1:9090.
func withLinks(h *harness) *recordingLinks {
	r := &recordingLinks{links: dashboard.NewLinks(h.st, "http://127.0.0.1:9090", h.clock)}
	h.tutor.SetLinks(r)
	return r
}

var linkPattern = regexp.MustCompile(`http://127\.0\.0\.1:9090/login\?t=([0-9a-f]{64})`)

// discordAdmin is the harness's Discord admin in a server's channel.
var discordAdmin = sender{addr: chat.Address{Platform: chat.Discord, ChatID: "400000000000000001"}, kind: chat.Group,
	user: chat.User{Platform: chat.Discord, ID: "100000000000000077", Name: "Ada"}}

func TestDashboard(t *testing.T) {
	settings := defaultSettings()
	settings.Admins[chat.Discord] = []string{discordAdmin.user.ID}
	rootDM := inPrivate(adminID, "Root")

	t.Run("OKAdminInPrivate", func(t *testing.T) {
		for _, lang := range Languages {
			h := newHarnessWith(t, settings)
			links := withLinks(h)
			h.sendAll(rootDM, "/language "+lang)
			msgs := h.send(rootDM, "/dashboard")
			if len(msgs) != 1 || msgs[0].Title != say(lang, keyDashboardTitle) || len(msgs[0].Blocks) != 1 {
				t.Fatalf("%s: reply %+v", lang, msgs)
			}
			got := msgs[0].Blocks[0].Text
			m := linkPattern.FindStringSubmatch(got)
			if m == nil {
				t.Fatalf("%s: no link in %q", lang, got)
			}
			if want := say(lang, keyDashboardLink, 10, m[0]); got != want {
				t.Errorf("%s: reply %q, want %q", lang, got, want)
			}
			admin, err := h.st.LoginToken(h.ctx, m[1], h.clock())
			if err != nil || admin != rootDM.user {
				t.Errorf("%s: the link's token is for %+v, %v; want %+v", lang, admin, err, rootDM.user)
			}
			if links.count() != 1 {
				t.Errorf("%s: %d links made", lang, links.count())
			}
		}
	})
	t.Run("OKDiscordServerChannel", func(t *testing.T) {
		// The Discord adapter shows an admin command's reply to its
		// sender alone (ephemeral), so the link may go there.
		h := newHarnessWith(t, settings)
		withLinks(h)
		if got := allText(h.send(discordAdmin, "/dashboard")); !linkPattern.MatchString(got) {
			t.Errorf("reply %q, want a link", got)
		}
	})
	t.Run("ErrAdminInTelegramGroup", func(t *testing.T) {
		for _, lang := range Languages {
			h := newHarnessWith(t, settings)
			links := withLinks(h)
			root := inGroup("-100", adminID, "Root", true)
			h.sendAll(root, "/language "+lang)
			checkExplanation(t, lang, h.reply(root, "/dashboard"), keyDashboardPrivate, nil)
			if links.count() != 0 {
				t.Errorf("a link was made for a group")
			}
		}
	})
	t.Run("ErrNotAdmin", func(t *testing.T) {
		h := newHarnessWith(t, settings)
		links := withLinks(h)
		for _, who := range []sender{
			inPrivate("7", "Ann"),
			inGroup("-100", "5", "Eve", true),
			// Admins are per platform.
			{addr: chat.Address{Platform: chat.Discord, ChatID: "9"}, kind: chat.Private,
				user: chat.User{Platform: chat.Discord, ID: adminID, Name: "Imposter"}},
		} {
			checkExplanation(t, "en", h.reply(who, "/dashboard"), keyAdminOnly, []any{"dashboard"})
		}
		if links.count() != 0 {
			t.Errorf("%d links made for non-admins", links.count())
		}
	})
	t.Run("ErrOff", func(t *testing.T) {
		for _, lang := range Languages {
			h := newHarnessWith(t, settings)
			h.sendAll(rootDM, "/language "+lang)
			checkExplanation(t, lang, h.reply(rootDM, "/dashboard"), keyDashboardOff, nil)
		}
	})
	t.Run("ErrTooManyLinks", func(t *testing.T) {
		h := newHarnessWith(t, settings)
		withLinks(h)
		for i := range store.MaxLinks {
			if got := allText(h.send(rootDM, "/dashboard")); !linkPattern.MatchString(got) {
				t.Fatalf("link %d: %q", i+1, got)
			}
		}
		checkExplanation(t, "en", h.reply(rootDM, "/dashboard"), keyDashboardTooMany, []any{5, 10})
		h.setClock(h.clock().Add(store.LinkWindow))
		if got := allText(h.send(rootDM, "/dashboard")); !linkPattern.MatchString(got) {
			t.Errorf("10 minutes later: %q", got)
		}
	})
	t.Run("OKHelpListsItForAdmins", func(t *testing.T) {
		h := newHarnessWith(t, settings)
		if got := allText(h.send(rootDM, "/help")); !strings.Contains(got, say("en", keyHelpDashboard)) {
			t.Errorf("an admin's /help lacks /dashboard:\n%s", got)
		}
		if got := allText(h.send(inPrivate("7", "Ann"), "/help")); strings.Contains(got, "/dashboard") {
			t.Errorf("a learner's /help lists /dashboard:\n%s", got)
		}
	})
}

// failingLinks fails every link.
type failingLinks struct{}

func (failingLinks) LoginLink(context.Context, chat.User) (string, error) {
	return "", errors.New("disk full")
}

func TestDashboardTrouble(t *testing.T) {
	// Not the harness: it fails a test whose tutor logs an error, and
	// this one means to.
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	logs := &logtest.Buffer{}
	tu := New(st, &testLessons{lib: library(t)}, defaultSettings(), func() time.Time { return monday }, slog.New(slog.NewTextHandler(logs, nil)))
	tu.SetLinks(failingLinks{})
	got := tu.Handle(context.Background(), chat.Command{Chat: chat.Address{Platform: chat.Telegram, ChatID: adminID}, Kind: chat.Private,
		From: chat.User{Platform: chat.Telegram, ID: adminID, Name: "Root"}, Name: "dashboard"})
	if text := allText(got); text != say("en", keyTrouble) {
		t.Errorf("reply %q, want the trouble line", text)
	}
	if !strings.Contains(logs.String(), "disk full") {
		t.Errorf("the failure is not logged:\n%s", logs.String())
	}
}
