package tutor

import (
	"reflect"
	"strings"
	"testing"

	"github.com/lessonbot/lessonbot/internal/chat"
)

// manageLines are commands that change a chat's settings.
var manageLines = []string{
	"/subscribe 09:00 Asia/Tokyo", "/subscribe", "/unsubscribe", "/pause", "/pause 3", "/resume",
	"/time 09:00", "/timezone Asia/Tokyo", "/days sat,sun", "/level B1", "/language fr",
}

// adminLines are lessonbot's admin commands.
var adminLines = []string{"/stats", "/reload", "/preview bakery-robot", "/preview", "/dashboard"}

func TestPermissions(t *testing.T) {
	const group = "-100"
	eve := inGroup(group, "5", "Eve", true)        // a chat administrator
	mel := inGroup(group, "6", "Mel", false)       // a member
	root := inGroup(group, adminID, "Root", false) // lessonbot's admin, a plain member here

	t.Run("ErrMemberCannotManage", func(t *testing.T) {
		for _, line := range manageLines {
			t.Run(strings.TrimPrefix(line, "/"), func(t *testing.T) {
				h := newHarness(t)
				h.sendAll(eve, "/subscribe 07:30 Europe/Paris", "/pause 2")
				before := h.mustRow(eve.addr)
				if got, want := h.reply(mel, line), say("en", keyNotAllowed); got != want {
					t.Errorf("reply %q, want %q", got, want)
				}
				if after := h.mustRow(eve.addr); !reflect.DeepEqual(before, after) {
					t.Errorf("row changed:\n before %+v\n after  %+v", before, after)
				}
			})
		}
	})
	t.Run("ErrMemberCannotManageFrench", func(t *testing.T) {
		h := newHarness(t)
		h.sendAll(eve, "/language fr")
		before := h.mustRow(eve.addr)
		checkExplanation(t, "fr", h.reply(mel, "/time 09:00"), keyNotAllowed, nil)
		if after := h.mustRow(eve.addr); !reflect.DeepEqual(before, after) {
			t.Errorf("row changed:\n before %+v\n after  %+v", before, after)
		}
	})
	t.Run("ErrMemberCannotManageNewChat", func(t *testing.T) {
		for _, line := range manageLines {
			h := newHarness(t)
			if got, want := h.reply(mel, line), say("en", keyNotAllowed); got != want {
				t.Errorf("%s: reply %q, want %q", line, got, want)
			}
			if sub, ok := h.row(mel.addr); ok {
				t.Errorf("%s: stored %+v", line, sub)
			}
		}
	})
	t.Run("ErrChannelWithoutAdminRights", func(t *testing.T) {
		h := newHarness(t)
		ch := sender{addr: chat.Address{Platform: chat.Telegram, ChatID: "-200"}, kind: chat.Channel}
		if got, want := h.reply(ch, "/subscribe"), say("en", keyNotAllowed); got != want {
			t.Errorf("reply %q, want %q", got, want)
		}
	})
	t.Run("OKMemberMayLearn", func(t *testing.T) {
		h := newHarness(t)
		h.sendAll(eve, "/subscribe 07:30 Europe/Paris")
		before := h.mustRow(eve.addr)
		for _, line := range []string{"/lesson", "/read", "/quiz", "/score", "/leaderboard", "/settings", "/help", "/start"} {
			got := allText(h.send(mel, line))
			if isRefusal(got) || got == "" {
				t.Errorf("%s: %q", line, got)
			}
		}
		if got := h.send(mel, "/lesson"); got[0].Title != bakeryTitle {
			t.Errorf("/lesson sent %q", got[0].Title)
		}
		q := h.questions(bakeryID)[0]
		h.answer(mel, q, true)
		if got, want := oneTextOf(t, h.send(mel, "/score"), 0), "Mel: 1/1 correct (100%). Streak: 1 day (0 freezes held)."; got != want {
			t.Errorf("/score: %q, want %q", got, want)
		}
		after := h.mustRow(eve.addr)
		if !reflect.DeepEqual(before, after) {
			t.Errorf("a member's commands changed the settings:\n before %+v\n after  %+v", before, after)
		}
	})
	t.Run("OKMemberLessonOnNewChat", func(t *testing.T) {
		// /lesson is for everyone: in a chat the bot has not seen it
		// stores the chat, unsubscribed, to remember the lesson.
		h := newHarness(t)
		if got := h.send(mel, "/lesson"); got[0].Title != bakeryTitle {
			t.Errorf("/lesson sent %q", got[0].Title)
		}
		if sub := h.mustRow(mel.addr); sub.Active || sub.Kind != chat.Group {
			t.Errorf("stored %+v", sub)
		}
	})
	t.Run("OKChatAdminMayManage", func(t *testing.T) {
		h := newHarness(t)
		for _, line := range []string{"/subscribe 07:30 Europe/Paris", "/time 09:00", "/timezone Asia/Tokyo", "/days sat,sun", "/level B1", "/pause 3", "/resume", "/language fr", "/unsubscribe"} {
			if got := allText(h.send(eve, line)); isRefusal(got) {
				t.Errorf("%s: %q", line, got)
			}
		}
		sub := h.mustRow(eve.addr)
		if sub.Active || sub.Hour != 9 || sub.Zone != "Asia/Tokyo" || sub.Weekdays != 0x41 || sub.Level != "B1" || sub.Language != "fr" || sub.CreatedBy != "5" {
			t.Errorf("stored %+v", sub)
		}
	})
	t.Run("OKBotAdminMayManageAnywhere", func(t *testing.T) {
		h := newHarness(t)
		h.sendAll(root, "/subscribe 07:30 Europe/Paris", "/level B1")
		if sub := h.mustRow(root.addr); !sub.Active || sub.Level != "B1" {
			t.Errorf("stored %+v", sub)
		}
		discordGuild := sender{addr: chat.Address{Platform: chat.Discord, ChatID: "c1"}, kind: chat.Group,
			user: chat.User{Platform: chat.Discord, ID: "d1", Name: "Dee"}}
		if got, want := h.reply(discordGuild, "/subscribe"), say("en", keyNotAllowed); got != want {
			t.Errorf("discord member: %q, want %q", got, want)
		}
	})
	t.Run("ErrAdminCommandsRefused", func(t *testing.T) {
		people := map[string]sender{
			"PrivateChat": inPrivate("7", "Ann"),
			"ChatAdmin":   eve,
			"Member":      mel,
			// Admins are per platform: the same id on Discord is nobody.
			"SameIDOtherPlatform": {addr: chat.Address{Platform: chat.Discord, ChatID: "c1"}, kind: chat.Group,
				user: chat.User{Platform: chat.Discord, ID: adminID, Name: "Imposter"}, canManage: true},
			"NoAuthor": {addr: chat.Address{Platform: chat.Telegram, ChatID: "-200"}, kind: chat.Channel, canManage: true},
		}
		for name, who := range people {
			t.Run(name, func(t *testing.T) {
				for _, lang := range Languages {
					h := newHarness(t)
					if who.canManage || who.kind == chat.Private {
						h.sendAll(who, "/language "+lang)
					} else if lang != "en" {
						continue
					}
					before, _ := h.row(who.addr)
					for _, line := range adminLines {
						cmd, _, _, _ := chat.ParseCommand(line)
						checkExplanation(t, lang, h.reply(who, line), keyAdminOnly, []any{cmd})
					}
					if n := h.lessons.reloadCount(); n != 0 {
						t.Errorf("the library was reloaded %d times", n)
					}
					if after, _ := h.row(who.addr); !reflect.DeepEqual(before, after) {
						t.Errorf("row changed:\n before %+v\n after  %+v", before, after)
					}
				}
			})
		}
	})
	t.Run("OKAdminCommands", func(t *testing.T) {
		for _, who := range []sender{inPrivate(adminID, "Root"), root} {
			h := newHarness(t)
			for _, line := range adminLines {
				if got := allText(h.send(who, line)); isRefusal(got) {
					t.Errorf("%s in a %s chat: %q", line, who.kind, got)
				}
			}
			if n := h.lessons.reloadCount(); n != 1 {
				t.Errorf("reloaded %d times, want 1", n)
			}
		}
	})
}

// oneTextOf returns the text of block i of a reply of one message.
func oneTextOf(t *testing.T, msgs []chat.Message, i int) string {
	t.Helper()
	if len(msgs) != 1 || len(msgs[0].Blocks) <= i {
		t.Fatalf("want one message with a block %d, got %+v", i, msgs)
	}
	return msgs[0].Blocks[i].Text
}
