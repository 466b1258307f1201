package discord

import (
	"encoding/json"
	"net/http"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/lessonbot/lessonbot/internal/chat"
	"github.com/lessonbot/lessonbot/internal/tutor"
)

// registered is a slash command as the bot registered it.
type registered struct {
	Name                     string            `json:"name"`
	Type                     int               `json:"type"`
	Description              string            `json:"description"`
	DescriptionLocalizations map[string]string `json:"description_localizations"`
	DefaultMemberPermissions *string           `json:"default_member_permissions"`
	Options                  []struct {
		Type                     int               `json:"type"`
		Name                     string            `json:"name"`
		Description              string            `json:"description"`
		DescriptionLocalizations map[string]string `json:"description_localizations"`
		Required                 bool              `json:"required"`
		Autocomplete             bool              `json:"autocomplete"`
		MinValue                 *float64          `json:"min_value"`
		MaxValue                 float64           `json:"max_value"`
		Choices                  []struct {
			Name              string            `json:"name"`
			NameLocalizations map[string]string `json:"name_localizations"`
			Value             any               `json:"value"`
		} `json:"choices"`
	} `json:"options"`
}

func TestConnectAndRegisterCommands(t *testing.T) {
	commands := tutorCommands()
	for _, tt := range []struct {
		name, guild, wantPath string
	}{
		{"Global", "", "/applications/" + testAppID + "/commands"},
		{"Guild", "300000000000000001", "/applications/" + testAppID + "/guilds/300000000000000001/commands"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := startBot(t, &fakeTutor{}, commands, func(o *Options) { o.GuildID = tt.guild })
			puts := r.fake.requests(http.MethodPut, "/applications/")
			if len(puts) != 1 || puts[0].Path != tt.wantPath {
				t.Fatalf("command registrations = %+v, want one PUT %s", puts, tt.wantPath)
			}
			if puts[0].Auth != "Bot "+testToken {
				t.Errorf("Authorization = %q, want the bot token with its Bot prefix", puts[0].Auth)
			}
			var got []registered
			if err := json.Unmarshal(puts[0].Body, &got); err != nil {
				t.Fatal(err)
			}
			checkRegistered(t, commands, got)

			// The gateway: discovery through api_url, Identify with the
			// Guilds intent alone, heartbeats acknowledged.
			if n := len(r.fake.requests(http.MethodGet, "/gateway")); n != 1 {
				t.Errorf("%d gateway discoveries through api_url, want 1", n)
			}
			r.fake.mu.Lock()
			identify := r.fake.identifies[0]
			r.fake.mu.Unlock()
			if identify["token"] != "Bot "+testToken {
				t.Errorf("Identify token = %v", identify["token"])
			}
			if identify["intents"] != float64(1) {
				t.Errorf("Identify intents = %v, want 1 (Guilds)", identify["intents"])
			}
			waitFor(t, "a heartbeat acknowledged", func() bool {
				r.fake.mu.Lock()
				defer r.fake.mu.Unlock()
				return r.fake.heartbeats > 0 && r.fake.acks > 0
			})
		})
	}
}

func checkRegistered(t *testing.T, commands []chat.CommandInfo, got []registered) {
	t.Helper()
	var names, want []string
	byName := map[string]registered{}
	for _, c := range got {
		names = append(names, c.Name)
		byName[c.Name] = c
		if c.Type != 1 {
			t.Errorf("/%s: type %d, want 1 (slash command)", c.Name, c.Type)
		}
		if n := len([]rune(c.Description)); n == 0 || n > 100 {
			t.Errorf("/%s: description of %d characters", c.Name, n)
		}
		if fr := c.DescriptionLocalizations["fr"]; fr == "" || len([]rune(fr)) > 100 || fr == c.Description {
			t.Errorf("/%s: French description %q", c.Name, fr)
		}
		for _, o := range c.Options {
			if n := len([]rune(o.Description)); n == 0 || n > 100 {
				t.Errorf("/%s %s: description of %d characters", c.Name, o.Name, n)
			}
			if fr := o.DescriptionLocalizations["fr"]; fr == "" || len([]rune(fr)) > 100 {
				t.Errorf("/%s %s: French description %q", c.Name, o.Name, fr)
			}
		}
	}
	for _, c := range commands {
		want = append(want, c.Name)
		r := byName[c.Name]
		if r.Description != c.Description["en"] {
			t.Errorf("/%s: description %q, want the tutor's %q", c.Name, r.Description, c.Description["en"])
		}
		if r.DescriptionLocalizations["fr"] != c.Description["fr"] {
			t.Errorf("/%s: French description %q, want the tutor's %q", c.Name, r.DescriptionLocalizations["fr"], c.Description["fr"])
		}
		perm := ""
		if r.DefaultMemberPermissions != nil {
			perm = *r.DefaultMemberPermissions
		}
		if wantPerm := map[bool]string{true: "32", false: ""}[c.Manage || c.Admin]; perm != wantPerm {
			t.Errorf("/%s: default_member_permissions %q, want %q", c.Name, perm, wantPerm)
		}
	}
	sort.Strings(names)
	sort.Strings(want)
	if !slices.Equal(names, want) {
		t.Fatalf("registered %v, want the tutor's %v", names, want)
	}
	for _, name := range []string{"lesson", "read", "quiz", "score", "leaderboard", "help"} {
		if byName[name].DefaultMemberPermissions != nil {
			t.Errorf("/%s is limited to managers; anyone may use it", name)
		}
	}

	type opt struct {
		name         string
		typ          int
		required     bool
		autocomplete bool
		choices      string
	}
	options := func(name string) []opt {
		var out []opt
		for _, o := range byName[name].Options {
			var cs []string
			for _, c := range o.Choices {
				cs = append(cs, c.Value.(string))
			}
			out = append(out, opt{o.Name, o.Type, o.Required, o.Autocomplete, strings.Join(cs, ",")})
		}
		return out
	}
	for _, tt := range []struct {
		command string
		want    []opt
	}{
		{"subscribe", []opt{{"time", 3, false, false, ""}, {"timezone", 3, false, true, ""}}},
		{"pause", []opt{{"days", 4, false, false, ""}}},
		{"time", []opt{{"time", 3, true, false, ""}}},
		{"timezone", []opt{{"timezone", 3, true, true, ""}}},
		{"days", []opt{{"days", 3, true, false, ""}}},
		{"level", []opt{{"level", 3, true, false, "A1,A2,B1,B2,C1,C2,any"}}},
		{"language", []opt{{"language", 3, true, false, "en,fr"}}},
		{"preview", []opt{{"id", 3, true, false, ""}}},
		{"lesson", nil},
		{"unsubscribe", nil},
	} {
		if got := options(tt.command); !slices.Equal(got, tt.want) {
			t.Errorf("/%s options = %+v, want %+v", tt.command, got, tt.want)
		}
	}
	days := byName["pause"].Options[0]
	if days.MinValue == nil || *days.MinValue != 1 || days.MaxValue != 365 {
		t.Errorf("/pause days range = %v..%v, want 1..365", days.MinValue, days.MaxValue)
	}
	lang := byName["language"].Options[0]
	if lang.Choices[1].NameLocalizations["fr"] != "français" {
		t.Errorf("/language fr choice localizations = %v", lang.Choices[1].NameLocalizations)
	}
}

// TestCommandToTutor shows what the tutor gets from a slash command: the
// chat, its kind, the sender, the arguments in the tutor's order and
// whether Discord says the sender may manage the server.
func TestCommandToTutor(t *testing.T) {
	ft := &fakeTutor{}
	r := startBot(t, ft, tutorCommands(), func(o *Options) { o.Admins = []string{"100000000000000077"} })
	admin := person{id: "100000000000000077", name: "Ada", perms: 1 << 11}
	tests := []struct {
		name          string
		at            where
		who           person
		command       string
		options       []map[string]any
		wantArgs      string
		wantKind      chat.Kind
		wantCanManage bool
		wantEphemeral bool
	}{
		{"MemberRefused", serverChannel, member, "subscribe", nil, "", chat.Group, false, true},
		{"ManagerAllowed", serverChannel, manager, "subscribe", nil, "", chat.Group, true, false},
		{"AdministratorAllowed", serverChannel, owner, "subscribe", nil, "", chat.Group, true, false},
		// A lessonbot admin without Manage Server: the tutor allows them,
		// so the answer is public.
		{"ConfiguredAdmin", serverChannel, admin, "subscribe", nil, "", chat.Group, false, false},
		{"DMIsPrivate", dm, member, "subscribe", nil, "", chat.Private, false, false},
		{"ArgsInTutorOrder", serverChannel, manager, "subscribe",
			[]map[string]any{option("timezone", 3, "Europe/Paris"), option("time", 3, "07:30")},
			"07:30 Europe/Paris", chat.Group, true, false},
		{"ZoneAlone", serverChannel, manager, "subscribe", []map[string]any{option("timezone", 3, "Asia/Tokyo")}, "Asia/Tokyo", chat.Group, true, false},
		{"IntegerOption", serverChannel, manager, "pause", []map[string]any{option("days", 4, 7)}, "7", chat.Group, true, false},
		{"ChoiceOption", serverChannel, manager, "level", []map[string]any{option("level", 3, "B2")}, "B2", chat.Group, true, false},
		{"AnyoneReads", serverChannel, member, "lesson", nil, "", chat.Group, false, false},
		{"AdminCommandEphemeral", serverChannel, manager, "stats", nil, "", chat.Group, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := r.command(tt.at, tt.who, tt.command, 0, tt.options...)
			cmd := ft.lastCommand()
			want := chat.Command{
				Chat: chat.Address{Platform: chat.Discord, ChatID: tt.at.channel}, Kind: tt.wantKind,
				From: chat.User{Platform: chat.Discord, ID: tt.who.id, Name: tt.who.name},
				Name: tt.command, Args: tt.wantArgs, CanManage: tt.wantCanManage,
			}
			if cmd != want {
				t.Errorf("the tutor got %+v, want %+v", cmd, want)
			}
			if a.callback.Type != 5 {
				t.Errorf("callback type %d, want 5 (deferred)", a.callback.Type)
			}
			if eph := a.callback.Data != nil && a.callback.Data.Flags&64 != 0; eph != tt.wantEphemeral {
				t.Errorf("ephemeral = %v, want %v", eph, tt.wantEphemeral)
			}
			if a.callback.Data == nil || a.callback.Data.AllowedMentions == nil || a.callback.Data.AllowedMentions.Parse == nil {
				t.Errorf("the deferred answer has no allowed_mentions")
			}
			if got := a.edits[0].Content; got != Escape("ok /"+tt.command+" "+tt.wantArgs) {
				t.Errorf("the answer was edited to %q", got)
			}
		})
	}
}

// TestSubscribeNeedsManageServer runs /subscribe through the real tutor:
// refused for a member without Manage Server, accepted for one with it.
func TestSubscribeNeedsManageServer(t *testing.T) {
	w := newWorld(t, time.Now)
	r := startBot(t, w.tutor, w.tutor.Commands(), nil)
	at := serverChannel
	a := r.command(at, member, "subscribe", 0, option("time", 3, "07:30"), option("timezone", 3, "europe/paris"))
	if got := a.edits[0].Content; !strings.Contains(got, "administrators") {
		t.Errorf("a member without Manage Server got %q, want a refusal", got)
	}
	if a.callback.Data.Flags&64 == 0 {
		t.Errorf("the refusal is not ephemeral")
	}
	if _, err := w.store.Chat(t.Context(), chat.Address{Platform: chat.Discord, ChatID: at.channel}); err == nil {
		if sub := w.subscription(t, at.channel); sub.Active {
			t.Fatalf("refused /subscribe subscribed the channel: %+v", sub)
		}
	}
	a = r.command(at, manager, "subscribe", 0, option("timezone", 3, "europe/paris"), option("time", 3, "07:30"))
	if got := a.edits[0].Content; !strings.Contains(got, "Subscribed") || !strings.Contains(got, "07:30") || !strings.Contains(got, "Europe/Paris") {
		t.Errorf("a manager got %q, want the subscription at 07:30 Europe/Paris", got)
	}
	sub := w.subscription(t, at.channel)
	if !sub.Active || sub.Hour != 7 || sub.Minute != 30 || sub.Zone != "Europe/Paris" || sub.Kind != chat.Group {
		t.Errorf("subscription = %+v", sub)
	}
}

// TestLessonQuizAndScore posts /lesson, presses the right answer of the
// first question and a wrong one of the second, and asks /score.
func TestLessonQuizAndScore(t *testing.T) {
	w := newWorld(t, time.Now)
	r := startBot(t, w.tutor, w.tutor.Commands(), nil)
	at := serverChannel

	a := r.command(at, member, "lesson", 2)
	if len(a.edits) != 1 || len(a.edits[0].Embeds) != 1 {
		t.Fatalf("/lesson answer = %+v, want one embed", a.edits)
	}
	post := a.edits[0].Embeds[0]
	if post.Title != fixtureTitle || post.URL != "https://example.org/news/solar-ferry" {
		t.Errorf("embed title %q, url %q", post.Title, post.URL)
	}
	if !strings.Contains(post.Description, "sun-powered ferry") {
		t.Errorf("embed description = %q, want the summary", post.Description)
	}
	if len(post.Fields) != 1 || !strings.Contains(post.Fields[0].Value, "**pier** — ||jetée, embarcadère||") {
		t.Errorf("embed fields = %+v, want the vocabulary with translations in spoilers", post.Fields)
	}
	if post.Footer == nil || !strings.Contains(post.Footer.Text, "B1") {
		t.Errorf("embed footer = %+v, want the level", post.Footer)
	}
	if bs := a.edits[0].buttons(); len(bs) != 1 || bs[0].data != "read:"+fixtureID || bs[0].label != "Full article" {
		t.Errorf("post buttons = %+v, want the Full article button", bs)
	}
	if len(a.followups) != 2 {
		t.Fatalf("%d follow-ups, want the 2 questions", len(a.followups))
	}
	for i, q := range a.followups {
		if !strings.HasPrefix(q.Content, "Question "+string(rune('1'+i))+"/2") || q.Flags != 0 {
			t.Errorf("question %d = %q (flags %d)", i+1, q.Content, q.Flags)
		}
	}
	find := func(q sent, right bool, answer string) string {
		for _, b := range q.buttons() {
			if (b.label == answer) == right {
				return b.data
			}
		}
		t.Fatalf("no button for %q in %+v", answer, q.buttons())
		return ""
	}

	p := r.press(at, member, find(a.followups[0], true, rightAnswer1), 0)
	if p.callback.Type != 5 || p.callback.Data.Flags&64 == 0 {
		t.Errorf("press callback = %+v, want a deferred ephemeral answer", p.callback)
	}
	if got := p.edits[0].Content; !strings.Contains(got, "✅") {
		t.Errorf("the right answer got %q", got)
	}
	p = r.press(at, member, find(a.followups[1], false, rightAnswer2), 0)
	if got := p.edits[0].Content; !strings.Contains(got, "❌") || !strings.Contains(got, rightAnswer2) {
		t.Errorf("the wrong answer got %q", got)
	}
	// A second press on the same question does not count.
	p = r.press(at, member, find(a.followups[1], true, rightAnswer2), 0)
	if got := p.edits[0].Content; !strings.Contains(got, "already") {
		t.Errorf("a second answer got %q", got)
	}
	// A forged button.
	p = r.press(at, member, "a:"+strings.Repeat("x", 120), 0)
	if got := p.edits[0].Content; !strings.Contains(got, "no longer available") {
		t.Errorf("a forged custom_id got %q", got)
	}

	s := r.command(at, member, "score", 0)
	if got := s.edits[0].Content; !strings.Contains(got, "1/2") {
		t.Errorf("/score = %q, want 1/2", got)
	}

	// The Full article button: the article, ephemeral, in text.
	p = r.press(at, member, "read:"+fixtureID, 0)
	got := p.edits[0].Content
	if !strings.Contains(got, "**"+fixtureTitle+"**") || !strings.Contains(got, "seagulls") || len(p.edits[0].Embeds) != 0 {
		t.Errorf("Full article = %q", got)
	}
}

// TestFullArticleSplits presses Full article on a lesson whose article
// is over 2000 characters: ephemeral messages of at most 2000, cut at
// paragraph boundaries.
func TestFullArticleSplits(t *testing.T) {
	long := longLesson(t)
	w := newWorld(t, time.Now, long)
	r := startBot(t, w.tutor, w.tutor.Commands(), nil)
	pieces, err := renderMessage(tutor.ArticleMessage(long), true)
	if err != nil || len(pieces) < 2 {
		t.Fatalf("the fixture article makes %d messages (%v); it must need several", len(pieces), err)
	}
	p := r.press(dm, member, "read:"+long.ID, len(pieces)-1)
	msgs := append([]sent{p.edits[0]}, p.followups...)
	var joined []string
	for i, m := range msgs {
		if n := length(m.Content); n > MaxContent {
			t.Errorf("message %d is %d characters", i, n)
		}
		if i > 0 && m.Flags&64 == 0 {
			t.Errorf("follow-up %d is not ephemeral", i)
		}
		joined = append(joined, m.Content)
	}
	paras := strings.Split(strings.Join(joined, "\n\n"), "\n\n")
	want := append([]string{"**" + long.Title + "**"}, long.Article...)
	if !slices.Equal(paras, want) {
		t.Errorf("the article's paragraphs came as\n%q\nwant\n%q", paras, want)
	}
}

func TestAutocompleteTimezone(t *testing.T) {
	r := startBot(t, &fakeTutor{}, tutorCommands(), nil)
	for _, tt := range []struct {
		query string
		want  string
		n     int
	}{
		{"paris", "Europe/Paris", 1},
		{"", "", maxChoices},
		{"no such place", "", 0},
	} {
		focused := option("timezone", 3, tt.query)
		focused["focused"] = true
		p, id, token := r.interaction(4, serverChannel, member, commandData("subscribe", option("time", 3, "07:30"), focused))
		r.fake.dispatch("INTERACTION_CREATE", p)
		var cb callback
		waitFor(t, "the autocomplete answer", func() bool {
			cb = r.fake.answerTo(t, id, token).callback
			return cb.Type != 0
		})
		if cb.Type != 8 || cb.Data == nil {
			t.Fatalf("autocomplete answer = %+v, want type 8", cb)
		}
		if len(cb.Data.Choices) != tt.n || (tt.want != "" && cb.Data.Choices[0].Value != tt.want) {
			t.Errorf("choices for %q = %+v", tt.query, cb.Data.Choices)
		}
	}
}

// TestGuildDelete removes the bot from a server: every channel of it the
// bot knows, from GUILD_CREATE and interactions, is gone; an outage is not.
func TestGuildDelete(t *testing.T) {
	ft := &fakeTutor{}
	r := startBot(t, ft, tutorCommands(), nil)
	g := serverChannel.guild
	r.fake.dispatch("GUILD_CREATE", map[string]any{
		"id": g, "name": "Readers", "unavailable": false,
		"channels": []any{map[string]any{"id": "400000000000000002", "type": 0}, map[string]any{"id": "400000000000000003", "type": 0}},
		"threads":  []any{map[string]any{"id": "400000000000000004", "type": 11}},
	})
	r.fake.dispatch("GUILD_CREATE", map[string]any{
		"id": "300000000000000009", "name": "Other", "channels": []any{map[string]any{"id": "400000000000000090", "type": 0}},
	})
	r.command(serverChannel, member, "help", 0)

	r.fake.dispatch("GUILD_DELETE", map[string]any{"id": g, "unavailable": true})
	r.command(dm, member, "help", 0) // events are handled by then
	time.Sleep(50 * time.Millisecond)
	if gone := ft.goneChats(); len(gone) != 0 {
		t.Fatalf("an outage turned chats off: %v", gone)
	}
	r.fake.dispatch("GUILD_DELETE", map[string]any{"id": g})
	want := []string{"discord:400000000000000001", "discord:400000000000000002", "discord:400000000000000003", "discord:400000000000000004"}
	waitFor(t, "the server's chats gone", func() bool { return len(ft.goneChats()) >= len(want) })
	time.Sleep(50 * time.Millisecond)
	if gone := ft.goneChats(); !slices.Equal(gone, want) {
		t.Errorf("chats gone = %v, want %v", gone, want)
	}

	// A channel deleted in a server the bot stays in is gone too.
	r.fake.dispatch("CHANNEL_DELETE", map[string]any{"id": "400000000000000090", "guild_id": "300000000000000009", "type": 0})
	want = append(want, "discord:400000000000000090")
	waitFor(t, "the deleted channel gone", func() bool { return len(ft.goneChats()) == len(want) })
	if gone := ft.goneChats(); !slices.Equal(gone, want) {
		t.Errorf("chats gone = %v, want %v", gone, want)
	}
}

// TestHandlerPanic makes the tutor panic on a command and on a press: the
// user gets an apology, the panic is logged, and the bot keeps serving.
func TestHandlerPanic(t *testing.T) {
	ft := &fakeTutor{panicOn: "stats"}
	r := startBot(t, ft, tutorCommands(), nil)
	a := r.command(serverChannel, manager, "stats", 0)
	if got := a.edits[0].Content; !strings.Contains(got, "Something went wrong") {
		t.Errorf("after a panic the answer is %q", got)
	}
	ft.mu.Lock()
	ft.panicOn = "a:boom"
	ft.mu.Unlock()
	p := r.press(serverChannel, member, "a:boom", 0)
	if got := p.edits[0].Content; !strings.Contains(got, "Something went wrong") {
		t.Errorf("after a panic the press answer is %q", got)
	}
	a = r.command(serverChannel, member, "help", 0)
	if got := a.edits[0].Content; got != Escape("ok /help ") {
		t.Errorf("after the panics /help got %q", got)
	}
	if logs := r.logs.String(); strings.Count(logs, "panic in a Discord handler") != 2 || !strings.Contains(logs, "the tutor fell over") {
		t.Errorf("the panics are not logged:\n%s", logs)
	}
}
