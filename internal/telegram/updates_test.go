package telegram

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/lessonbot/lessonbot/internal/chat"
	"github.com/lessonbot/lessonbot/internal/telegram/telegramtest"
)

func TestPrivateCommand(t *testing.T) {
	h := newHarness(t)
	h.start()
	h.api.SendText(private, &alice, "/subscribe   07:30 Europe/Paris ")
	eventually(t, "the reply", func() bool { return len(h.api.Sent()) == 1 })
	cmds := h.tutor.Commands()
	want := chat.Command{
		Chat: chat.Address{Platform: chat.Telegram, ChatID: "1001"}, Kind: chat.Private,
		From: chat.User{Platform: chat.Telegram, ID: "1001", Name: "Alice Martin"},
		Name: "subscribe", Args: "07:30 Europe/Paris", CanManage: true,
	}
	if len(cmds) != 1 || cmds[0] != want {
		t.Errorf("commands = %+v, want %+v", cmds, want)
	}
	sent := h.api.Sent()[0]
	if sent.ChatID != "1001" || sent.Plain != "did subscribe 07:30 Europe/Paris" || sent.ParseMode != "HTML" {
		t.Errorf("reply = %+v", sent)
	}
	if n := h.api.MemberCalls(); n != 0 {
		t.Errorf("%d getChatMember calls in a private chat, want none", n)
	}
}

// TestGroupCommands accepts a command without a bot name or with this
// bot's (in any case), and ignores one for another bot and plain text.
func TestGroupCommands(t *testing.T) {
	h := newHarness(t)
	h.start()
	h.api.SendText(group, &bob, "/score@lessontestbot")
	h.api.SendText(group, &bob, "/score@OtherBot")
	h.api.SendText(group, &bob, "hello everyone")
	h.api.SendText(group, &bob, "/leaderboard")
	h.api.SendText(group, &bob, "/quiz@LessonTestBot now")
	eventually(t, "three replies", func() bool { return len(h.api.Sent()) == 3 })
	time.Sleep(50 * time.Millisecond) // room for a wrong fourth
	var got []string
	for _, c := range h.tutor.Commands() {
		if c.Kind != chat.Group || c.Chat.ChatID != "-100200300" || c.From.Name != "bobby" || c.From.ID != "1002" {
			t.Errorf("command %+v: want a group command from bobby", c)
		}
		got = append(got, c.Name+"|"+c.Args)
	}
	if want := []string{"score|", "leaderboard|", "quiz|now"}; !slices.Equal(got, want) {
		t.Errorf("commands = %q, want %q", got, want)
	}
}

// TestGroupAdminCheck asks getChatMember who may manage a group: a member
// is refused by the tutor's rule, an administrator or the creator is not;
// the answer is cached, and commands that change nothing need no check.
func TestGroupAdminCheck(t *testing.T) {
	h := newHarness(t)
	h.opts.Commands = []chat.CommandInfo{{Name: "subscribe", Manage: true}, {Name: "score"}}
	h.api.SetMember(group.ID, alice.ID, "administrator")
	h.api.SetMember(group.ID, carol.ID, "creator")
	h.start()

	h.api.SendText(group, &bob, "/subscribe 08:00")
	eventually(t, "the refusal", func() bool { return len(h.api.Sent()) == 1 })
	if got := h.api.Sent()[0].Plain; !strings.Contains(got, "Only this chat's administrators") {
		t.Errorf("a member got %q, want the refusal", got)
	}
	h.api.SendText(group, &alice, "/subscribe 08:00")
	h.api.SendText(group, &alice, "/subscribe 09:00")
	h.api.SendText(group, &carol, "/subscribe 10:00")
	h.api.SendText(group, &bob, "/score")
	eventually(t, "four more replies", func() bool { return len(h.api.Sent()) == 5 })
	var got []string
	for _, c := range h.tutor.Commands() {
		got = append(got, c.From.ID+" "+c.Args+" "+map[bool]string{true: "manage", false: "member"}[c.CanManage])
	}
	want := []string{"1002 08:00 member", "1001 08:00 manage", "1001 09:00 manage", "1003 10:00 manage", "1002  member"}
	if !slices.Equal(got, want) {
		t.Errorf("commands = %q, want %q", got, want)
	}
	for _, m := range h.api.Sent()[1:4] {
		if !strings.HasPrefix(m.Plain, "did subscribe") {
			t.Errorf("an administrator got %q", m.Plain)
		}
	}
	// bob once, alice once (cached the second time), carol once; not for /score.
	if n := h.api.MemberCalls(); n != 3 {
		t.Errorf("%d getChatMember calls, want 3", n)
	}
}

// TestAdminsSkipMemberCheck makes no getChatMember call for lessonbot's
// own admins: the tutor lets them manage any chat.
func TestAdminsSkipMemberCheck(t *testing.T) {
	h := newHarness(t)
	h.opts.Admins = []string{"1002"}
	h.start()
	h.api.SendText(group, &bob, "/subscribe")
	eventually(t, "the command", func() bool { return len(h.tutor.Commands()) == 1 })
	if n := h.api.MemberCalls(); n != 0 {
		t.Errorf("%d getChatMember calls for an admin, want none", n)
	}
}

func TestChannelPost(t *testing.T) {
	h := newHarness(t)
	h.start()
	id := h.api.NextUpdateID()
	h.api.Push(telegramtest.ChannelPostUpdate(id, channel, "/subscribe 06:45 UTC"))
	eventually(t, "the reply", func() bool { return len(h.api.Sent()) == 1 })
	cmds := h.tutor.Commands()
	want := chat.Command{
		Chat: chat.Address{Platform: chat.Telegram, ChatID: "-100900900"}, Kind: chat.Channel,
		From: chat.User{Platform: chat.Telegram, Name: "Daily English"},
		Name: "subscribe", Args: "06:45 UTC", CanManage: true,
	}
	if len(cmds) != 1 || cmds[0] != want {
		t.Errorf("commands = %+v, want %+v", cmds, want)
	}
	if sent := h.api.Sent()[0]; sent.ChatID != "-100900900" {
		t.Errorf("reply went to %s, want the channel", sent.ChatID)
	}
}

// TestAnonymousGroupAdmin lets someone who posts as the group itself
// manage it: only administrators can.
func TestAnonymousGroupAdmin(t *testing.T) {
	h := newHarness(t)
	h.start()
	id := h.api.NextUpdateID()
	u := telegramtest.MessageUpdate(id, group, &telegramtest.FakeUser{ID: 1087968824, FirstName: "Group", Username: "GroupAnonymousBot"}, "/subscribe")
	u["message"].(map[string]any)["sender_chat"] = group.Wire()
	h.api.Push(u)
	eventually(t, "the command", func() bool { return len(h.tutor.Commands()) == 1 })
	if c := h.tutor.Commands()[0]; !c.CanManage || c.From.ID != "" {
		t.Errorf("command = %+v, want CanManage and no user id", c)
	}
}

func TestForumTopicCommand(t *testing.T) {
	h := newHarness(t)
	h.start()
	id := h.api.NextUpdateID()
	u := telegramtest.MessageUpdate(id, group, &alice, "/lesson")
	u["message"].(map[string]any)["message_thread_id"] = 42
	u["message"].(map[string]any)["is_topic_message"] = true
	h.api.Push(u)
	eventually(t, "the reply", func() bool { return len(h.api.Sent()) == 1 })
	if c := h.tutor.Commands()[0]; c.Chat.ThreadID != "42" {
		t.Errorf("command chat = %+v, want thread 42", c.Chat)
	}
	if m := h.api.Sent()[0]; m.ThreadID != "42" {
		t.Errorf("reply in thread %q, want 42", m.ThreadID)
	}
}

// TestPressAnswered hands a press to the tutor and answers the callback
// with its notice, as a toast, once.
func TestPressAnswered(t *testing.T) {
	h := newHarness(t)
	h.tutor.press = func(ctx context.Context, p chat.Press) chat.PressReply {
		return chat.PressReply{Notice: "✅ Right!\nThe crew crossed the bay on Tuesday."}
	}
	h.start()
	cb := h.api.Press(group, carol, 55, "a:ferry:0a1b2c3d:2")
	eventually(t, "the answer", func() bool { return len(h.api.Answers()) == 1 })
	a := h.api.Answers()[0]
	if a.ID != cb || a.Text != "✅ Right!\nThe crew crossed the bay on Tuesday." || a.ShowAlert {
		t.Errorf("answer = %+v", a)
	}
	if a.Since > time.Second {
		t.Errorf("answered %v after receipt, want within 1 s", a.Since)
	}
	want := chat.Press{Chat: chat.Address{Platform: chat.Telegram, ChatID: "-100200300"}, Kind: chat.Group,
		From: chat.User{Platform: chat.Telegram, ID: "1003", Name: "Carol"}, Data: "a:ferry:0a1b2c3d:2"}
	if p := h.tutor.Presses(); len(p) != 1 || p[0] != want {
		t.Errorf("presses = %+v, want %+v", p, want)
	}
	if n := len(h.api.Sent()); n != 0 {
		t.Errorf("%d messages sent for a press with only a notice", n)
	}
}

// TestPressNoticeClipped keeps a notice within the 200 characters of a
// callback answer.
func TestPressNoticeClipped(t *testing.T) {
	h := newHarness(t)
	h.tutor.press = func(ctx context.Context, p chat.Press) chat.PressReply {
		return chat.PressReply{Notice: strings.Repeat("🚢", 150)}
	}
	h.start()
	h.api.Press(private, alice, 3, "x")
	eventually(t, "the answer", func() bool { return len(h.api.Answers()) == 1 })
	if n := utf16Len(h.api.Answers()[0].Text); n > 200 || n < 190 {
		t.Errorf("notice of %d UTF-16 units, want just under 200", n)
	}
}

// TestSlowPressAnsweredInTime answers the callback within a second even
// when the tutor takes longer, and still sends what it returns.
func TestSlowPressAnsweredInTime(t *testing.T) {
	h := newHarness(t)
	release := make(chan struct{})
	h.tutor.press = func(ctx context.Context, p chat.Press) chat.PressReply {
		<-release
		return chat.PressReply{Notice: "late", Messages: textMessages("the article")}
	}
	h.start()
	h.api.Press(private, alice, 3, "read:ferry")
	eventually(t, "the answer", func() bool { return len(h.api.Answers()) == 1 })
	if a := h.api.Answers()[0]; a.Since > time.Second || a.Text != "" {
		t.Errorf("answer %+v: want an empty one within 1 s", a)
	}
	close(release)
	eventually(t, "the article", func() bool { return len(h.api.Sent()) == 1 })
}

// TestFullArticlePress sends the article a press returns, split at
// paragraphs into messages Telegram accepts (the fake counts each).
func TestFullArticlePress(t *testing.T) {
	h := newHarness(t)
	article := articleMessage(12, 1000)
	h.tutor.press = func(ctx context.Context, p chat.Press) chat.PressReply {
		return chat.PressReply{Messages: []chat.Message{article}}
	}
	h.start()
	h.api.Press(private, alice, 9, "read:ferry")
	want := len(Split(article))
	if want < 3 {
		t.Fatalf("the article splits into %d messages; make it longer", want)
	}
	eventually(t, "the article", func() bool { return len(h.api.Sent()) == want })
	var paragraphs []string
	for _, m := range h.api.Sent() {
		if n := utf16Len(m.Plain); n > MaxTextLength {
			t.Errorf("a message of %d characters", n)
		}
		paragraphs = append(paragraphs, strings.Split(m.Plain, "\n\n")...)
	}
	wantParas := []string{article.Title}
	for _, b := range article.Blocks {
		wantParas = append(wantParas, b.Text)
	}
	if !slices.Equal(paragraphs, wantParas) {
		t.Errorf("the messages hold %d paragraphs, want the title and %d whole paragraphs in order", len(paragraphs), len(article.Blocks))
	}
	if a := h.api.Answers(); len(a) != 1 || a[0].Text != "" {
		t.Errorf("answers = %+v, want one without a notice", a)
	}
}

func TestReadCommandSplit(t *testing.T) {
	h := newHarness(t)
	article := articleMessage(6, 2500)
	h.tutor.handle = func(ctx context.Context, cmd chat.Command) []chat.Message { return []chat.Message{article} }
	h.start()
	h.api.SendText(private, &alice, "/read")
	want := len(Split(article))
	eventually(t, "the article", func() bool { return len(h.api.Sent()) == want })
	for _, m := range h.api.Sent() {
		if n := utf16Len(m.Plain); n > MaxTextLength {
			t.Errorf("a message of %d characters", n)
		}
	}
}

func TestBotRemoved(t *testing.T) {
	tests := []struct {
		name      string
		chat      telegramtest.FakeChat
		oldStatus string
		newStatus string
		gone      bool
	}{
		{"Kicked", group, "member", "kicked", true},
		{"Left", group, "administrator", "left", true},
		{"Blocked", private, "member", "kicked", true},
		{"Promoted", group, "member", "administrator", false},
		{"Added", channel, "left", "administrator", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			h.start()
			id := h.api.NextUpdateID()
			h.api.Push(h.api.MyChatMemberUpdate(id, tt.chat, alice, tt.oldStatus, tt.newStatus))
			eventually(t, "the update handled", func() bool { return h.state.get(OffsetKey) == strconvI(id) })
			gone := h.tutor.Gone()
			if tt.gone {
				want := chat.Address{Platform: chat.Telegram, ChatID: strconvI64(tt.chat.ID)}
				if len(gone) != 1 || gone[0] != want {
					t.Errorf("gone = %+v, want %+v", gone, want)
				}
			} else if len(gone) != 0 {
				t.Errorf("gone = %+v, want none", gone)
			}
		})
	}
}

func TestGroupMigrated(t *testing.T) {
	h := newHarness(t)
	h.start()
	id := h.api.NextUpdateID()
	u := telegramtest.MessageUpdate(id, oldGrp, &alice, "")
	msg := u["message"].(map[string]any)
	delete(msg, "text")
	msg["migrate_to_chat_id"] = int64(-1005550001)
	h.api.Push(u)
	eventually(t, "the move", func() bool { return len(h.tutor.Moved()) == 1 })
	if m := h.tutor.Moved()[0]; m != [2]string{"-4400", "-1005550001"} {
		t.Errorf("moved = %v", m)
	}
	// The new supergroup's first message says the same; the tutor is
	// told again and finds nothing left to move.
	id = h.api.NextUpdateID()
	u = telegramtest.MessageUpdate(id, telegramtest.FakeChat{ID: -1005550001, Type: "supergroup", Title: "Book club"}, &alice, "")
	msg = u["message"].(map[string]any)
	delete(msg, "text")
	msg["migrate_from_chat_id"] = int64(-4400)
	h.api.Push(u)
	eventually(t, "the second move", func() bool { return len(h.tutor.Moved()) == 2 })
	if m := h.tutor.Moved()[1]; m != [2]string{"-4400", "-1005550001"} {
		t.Errorf("moved = %v", m)
	}
}

// TestReplyToMovedGroup follows a group upgraded to a supergroup when a
// reply finds it moved, and tells the tutor.
func TestReplyToMovedGroup(t *testing.T) {
	h := newHarness(t)
	h.api.Fail("sendMessage", func(form url.Values) *telegramtest.APIError {
		if form.Get("chat_id") == "-4400" {
			return telegramtest.ErrMigrated(-1005550001)
		}
		return nil
	})
	h.start()
	h.api.SendText(oldGrp, &alice, "/settings")
	eventually(t, "the reply", func() bool { return len(h.api.Sent()) == 1 })
	if m := h.api.Sent()[0]; m.ChatID != "-1005550001" {
		t.Errorf("reply went to %s, want the supergroup", m.ChatID)
	}
	if m := h.tutor.Moved(); len(m) != 1 || m[0] != [2]string{"-4400", "-1005550001"} {
		t.Errorf("moved = %v", m)
	}
}

func TestReplyToBlockedChat(t *testing.T) {
	h := newHarness(t)
	h.api.Fail("sendMessage", func(url.Values) *telegramtest.APIError { return telegramtest.ErrBlocked() })
	h.start()
	h.api.SendText(private, &alice, "/settings")
	eventually(t, "the chat gone", func() bool { return len(h.tutor.Gone()) == 1 })
}

// TestReplyWaitsOutRateLimit sends a reply again after Telegram's
// retry_after.
func TestReplyWaitsOutRateLimit(t *testing.T) {
	h := newHarness(t)
	var mu sync.Mutex
	calls := 0
	h.api.Fail("sendMessage", func(url.Values) *telegramtest.APIError {
		mu.Lock()
		defer mu.Unlock()
		calls++
		if calls == 1 {
			return telegramtest.ErrTooManyRequests(1)
		}
		return nil
	})
	h.start()
	h.api.SendText(private, &alice, "/score")
	eventually(t, "the reply", func() bool { return len(h.api.Sent()) == 1 })
}

// TestChatsConcurrentAndOrdered handles a slow chat's commands in order
// while another chat's are answered meanwhile.
func TestChatsConcurrentAndOrdered(t *testing.T) {
	h := newHarness(t)
	release := make(chan struct{})
	var mu sync.Mutex
	var order []string
	h.tutor.handle = func(ctx context.Context, cmd chat.Command) []chat.Message {
		if cmd.Chat.ChatID == "1001" && cmd.Args == "1" {
			<-release
		}
		mu.Lock()
		order = append(order, cmd.Chat.ChatID+":"+cmd.Args)
		mu.Unlock()
		return textMessages("ok " + cmd.Args)
	}
	h.start()
	h.api.SendText(private, &alice, "/time 1")
	h.api.SendText(private, &alice, "/time 2")
	h.api.SendText(private, &alice, "/time 3")
	h.api.SendText(group, &bob, "/score")
	h.api.Press(private, alice, 1, "a:x:00000000:0")
	eventually(t, "the other chat's reply", func() bool { return len(h.api.SentTo(group.ID)) == 1 })
	eventually(t, "the press answered", func() bool { return len(h.api.Answers()) == 1 })
	if n := len(h.api.SentTo(private.ID)); n != 0 {
		t.Fatalf("%d replies in the slow chat before its first command ended", n)
	}
	close(release)
	eventually(t, "the slow chat's replies", func() bool { return len(h.api.SentTo(private.ID)) == 3 })
	var got []string
	for _, m := range h.api.SentTo(private.ID) {
		got = append(got, m.Plain)
	}
	if want := []string{"ok 1", "ok 2", "ok 3"}; !slices.Equal(got, want) {
		t.Errorf("replies = %q, want %q", got, want)
	}
	mu.Lock()
	defer mu.Unlock()
	if want := []string{"-100200300:", "1001:1", "1001:2", "1001:3"}; !slices.Equal(order, want) {
		t.Errorf("handled %q, want %q", order, want)
	}
}

// TestSetMyCommands registers the menu in English (also as the default)
// and French, without the admins' commands; a failure is only a warning.
func TestSetMyCommands(t *testing.T) {
	h := newHarness(t)
	h.opts.Commands = []chat.CommandInfo{
		{Name: "subscribe", Args: "[HH:MM] [zone]", Manage: true, Description: map[string]string{"en": "a lesson every day", "fr": "une leçon par jour"}},
		{Name: "score", Description: map[string]string{"en": "your score"}},
		{Name: "stats", Admin: true, Description: map[string]string{"en": "numbers", "fr": "chiffres"}},
	}
	h.start()
	eventually(t, "three setMyCommands", func() bool { return len(h.api.Commands()) == 3 })
	got := map[string]string{}
	for _, c := range h.api.Commands() {
		var lines []string
		for _, cmd := range c.Commands {
			lines = append(lines, cmd.Command+"="+cmd.Description)
		}
		got[c.Language] = strings.Join(lines, ";")
	}
	want := map[string]string{
		"":   "subscribe=a lesson every day;score=your score",
		"en": "subscribe=a lesson every day;score=your score",
		"fr": "subscribe=une leçon par jour;score=your score",
	}
	for lang, w := range want {
		if got[lang] != w {
			t.Errorf("commands for %q = %q, want %q", lang, got[lang], w)
		}
	}

	h2 := newHarness(t)
	h2.opts.Commands = h.opts.Commands
	h2.api.Fail("setMyCommands", func(url.Values) *telegramtest.APIError { return telegramtest.ErrServer() })
	h2.start()
	h2.api.SendText(private, &alice, "/score")
	eventually(t, "a reply despite the failure", func() bool { return len(h2.api.Sent()) == 1 })
	if logs := h2.logs.String(); !strings.Contains(logs, "level=WARN") || !strings.Contains(logs, "command menu") {
		t.Errorf("logs hold no warning about the menu:\n%s", logs)
	}
}

// TestRunStopsWithContext ends Run promptly, long poll and all, and with
// it every goroutine it started.
func TestRunStopsWithContext(t *testing.T) {
	h := newHarness(t)
	h.start()
	eventually(t, "a long poll", func() bool { return len(h.api.Offsets()) > 0 })
	start := time.Now()
	if err := h.stop(); err != nil {
		t.Errorf("Run = %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Run took %v to stop", d)
	}
}

func strconvI(n int) string     { return strconvI64(int64(n)) }
func strconvI64(n int64) string { return chatID(n) }

// TestPressBurstInOneGroup answers the presses of a big group side by
// side: with 50 ms per answerCallbackQuery, one after the other they
// would take 2.5 s.
func TestPressBurstInOneGroup(t *testing.T) {
	h := newHarness(t)
	h.api.SetLatency(50 * time.Millisecond)
	h.start()
	eventually(t, "a poll", func() bool { return len(h.api.Offsets()) > 0 })
	for i := range 50 {
		h.api.Press(group, telegramtest.FakeUser{ID: int64(3000 + i), FirstName: "Reader"}, 12, "a:x:00000000:1")
	}
	eventually(t, "every answer", func() bool { return h.api.AnswerCount() == 50 })
	for _, a := range h.api.Answers() {
		if a.Since > time.Second {
			t.Errorf("a press answered %v after receipt, want well under the 2.5 s of one at a time", a.Since)
			break
		}
	}
}

// TestAdminCheckCachedForAMinute trusts a getChatMember answer for a
// minute, then asks again: a demoted administrator loses the right.
func TestAdminCheckCachedForAMinute(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		api := telegramtest.NewFakeAPI(testToken)
		tut := &fakeTutor{}
		b, err := New(context.Background(), Options{Token: testToken, NotFound: errNoValue,
			HTTPClient: &http.Client{Transport: api.Transport()}}, tut, newMemState())
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); b.Run(ctx) }()
		defer func() { cancel(); <-done }()

		api.SetMember(group.ID, alice.ID, "administrator")
		api.SendText(group, &alice, "/subscribe 1")
		synctest.Wait()
		api.SetMember(group.ID, alice.ID, "member")
		time.Sleep(59 * time.Second)
		api.SendText(group, &alice, "/subscribe 2")
		synctest.Wait()
		time.Sleep(2 * time.Second)
		api.SendText(group, &alice, "/subscribe 3")
		synctest.Wait()
		var got []bool
		for _, c := range tut.Commands() {
			got = append(got, c.CanManage)
		}
		if want := []bool{true, true, false}; !slices.Equal(got, want) {
			t.Errorf("CanManage = %v, want %v", got, want)
		}
		if n := api.MemberCalls(); n != 2 {
			t.Errorf("%d getChatMember calls, want 2", n)
		}
	})
}
