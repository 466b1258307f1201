package discord

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/lessonbot/lessonbot/internal/chat"
	"github.com/lessonbot/lessonbot/internal/dashboard"
)

// TestDashboardLinkEphemeral runs /dashboard through the real tutor with
// the dashboard's links: the admin gets the sign-in link in a reply only
// they see, in a server's channel as in a DM; a member gets a refusal,
// also only for them, and no link is made.
func TestDashboardLinkEphemeral(t *testing.T) {
	w := newWorld(t, time.Now)
	w.tutor.SetLinks(dashboard.NewLinks(w.store, "https://lessonbot.example.org", time.Now))
	r := startBot(t, w.tutor, w.tutor.Commands(), func(o *Options) { o.Admins = []string{"100000000000000077"} })
	admin := person{id: "100000000000000077", name: "Ada", perms: 1 << 11}
	link := regexp.MustCompile(`https://lessonbot\.example\.org/login\?t=([0-9a-f]{64})`)

	for name, at := range map[string]where{"ServerChannel": serverChannel, "DM": dm} {
		t.Run("OK"+name, func(t *testing.T) {
			a := r.command(at, admin, "dashboard", 0)
			if a.callback.Data == nil || a.callback.Data.Flags&64 == 0 {
				t.Errorf("the answer is not ephemeral: %+v", a.callback)
			}
			if len(a.followups) != 0 {
				t.Errorf("%d follow-ups", len(a.followups))
			}
			e := a.edits[0]
			if len(e.Embeds) != 1 || e.Embeds[0].Title != "Dashboard" {
				t.Fatalf("answer %+v, want an embed titled Dashboard", e)
			}
			m := link.FindStringSubmatch(e.Embeds[0].Description)
			if m == nil || strings.Contains(e.Embeds[0].Description, `\`) {
				t.Fatalf("no clean link in %q", e.Embeds[0].Description)
			}
			u, err := w.store.LoginToken(t.Context(), m[1], time.Now())
			if err != nil || u != (chat.User{Platform: chat.Discord, ID: admin.id, Name: admin.name}) {
				t.Errorf("the link's token is for %+v, %v", u, err)
			}
		})
	}
	t.Run("ErrMember", func(t *testing.T) {
		a := r.command(serverChannel, member, "dashboard", 0)
		if a.callback.Data == nil || a.callback.Data.Flags&64 == 0 {
			t.Errorf("the refusal is not ephemeral")
		}
		if got := a.edits[0].Content; !strings.Contains(got, "for lessonbot") || link.MatchString(got) {
			t.Errorf("a member got %q, want a refusal", got)
		}
	})
}
