package discord

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lessonbot/lessonbot/internal/chat"
	"github.com/lessonbot/lessonbot/internal/lesson"
	"github.com/lessonbot/lessonbot/internal/logtest"
	"github.com/lessonbot/lessonbot/internal/store"
	"github.com/lessonbot/lessonbot/internal/tutor"
)

// running is a Bot serving against a fake Discord.
type running struct {
	t    *testing.T
	fake *fakeDiscord
	bot  *Bot
	logs *logtest.Buffer
	next int // the next interaction's number
}

// startBot runs a bot with the tutor t against a new fake Discord until
// the test ends, and waits until its commands are registered.
func startBot(t *testing.T, tu Tutor, commands []chat.CommandInfo, edit func(*Options)) *running {
	t.Helper()
	return startBotOn(t, newFakeDiscord(t), tu, commands, edit)
}

// startBotOn runs a bot against fake, which other bots may share, until
// the test ends; it waits until the bot has registered its commands and,
// when it has one, its HTTP endpoint listens.
func startBotOn(t *testing.T, fake *fakeDiscord, tu Tutor, commands []chat.CommandInfo, edit func(*Options)) *running {
	t.Helper()
	logs := &logtest.Buffer{}
	opts := Options{
		Token: testToken, APIURL: fake.apiURL(), Commands: commands,
		Logger:     slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		HTTPClient: fake.srv.Client(),
	}
	if edit != nil {
		edit(&opts)
	}
	ctx, cancel := context.WithCancel(context.Background())
	b, err := New(ctx, opts, tu)
	if err != nil {
		t.Fatal(err)
	}
	registered := len(fake.requests("PUT", "/applications/"+testAppID))
	var runErr error
	returned := make(chan struct{})
	go func() { runErr = b.Run(ctx); close(returned) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-returned:
			if runErr != nil {
				t.Errorf("Run: %v", runErr)
			}
		case <-time.After(30 * time.Second):
			t.Errorf("Run did not return after its context ended")
		}
		if strings.Contains(logs.String(), testToken) {
			t.Errorf("a log line holds the bot token:\n%s", logs.String())
		}
		if strings.Contains(logs.String(), ":secret-interaction-token") {
			t.Errorf("a log line holds an interaction token:\n%s", logs.String())
		}
	})
	waitFor(t, "the commands registered", func() bool {
		select {
		case <-returned:
			t.Fatalf("Run returned early: %v", runErr)
		default:
		}
		return len(fake.requests("PUT", "/applications/"+testAppID)) > registered
	})
	if opts.InteractionsListen != "" {
		waitFor(t, "the endpoint to listen", func() bool { return b.endpoint() != "" })
	}
	return &running{t: t, fake: fake, bot: b, logs: logs}
}

// person is someone using the bot; perms are their permissions in the
// channel, as Discord computes them for an interaction.
type person struct {
	id, name string
	perms    int64
}

var (
	manager = person{id: "100000000000000011", name: "Mara", perms: 1<<5 | 1<<11}
	member  = person{id: "100000000000000012", name: "Noor", perms: 1 << 11}
	owner   = person{id: "100000000000000013", name: "Ines", perms: 1 << 3}
)

// where is a chat: a server's channel, or a DM when guild is empty.
type where struct{ guild, channel string }

var (
	serverChannel = where{guild: "300000000000000001", channel: "400000000000000001"}
	dm            = where{channel: "400000000000000099"}
)

// interaction builds an INTERACTION_CREATE payload of the given type and
// data, and returns it with its id and token.
func (r *running) interaction(typ int, at where, who person, data map[string]any) (payload map[string]any, id, token string) {
	r.next++
	id = fmt.Sprint(500000000000000000 + r.next)
	token = "aW50ZXJhY3Rpb246" + id + ":secret-interaction-token"
	return interactionPayload(typ, at, who, data, id, token), id, token
}

func interactionPayload(typ int, at where, who person, data map[string]any, id, token string) map[string]any {
	u := map[string]any{"id": who.id, "username": strings.ToLower(who.name), "global_name": who.name}
	p := map[string]any{
		"id": id, "application_id": testAppID, "type": typ, "token": token, "version": 1,
		"channel_id": at.channel, "data": data, "locale": "en-US",
	}
	if at.guild != "" {
		p["guild_id"] = at.guild
		p["member"] = map[string]any{"user": u, "permissions": strconv.FormatInt(who.perms, 10), "roles": []string{}}
		p["context"] = 0
	} else {
		p["user"] = u
		p["context"] = 1
	}
	return p
}

// option is a slash command option as Discord sends it.
func option(name string, typ int, value any) map[string]any {
	return map[string]any{"name": name, "type": typ, "value": value}
}

func commandData(name string, options ...map[string]any) map[string]any {
	opts := []any{}
	for _, o := range options {
		opts = append(opts, o)
	}
	return map[string]any{"id": "600000000000000001", "name": name, "type": 1, "options": opts}
}

// command sends a slash command over the gateway and waits until the
// deferred answer is edited and wantFollowups follow-ups are sent.
func (r *running) command(at where, who person, name string, wantFollowups int, options ...map[string]any) answer {
	r.t.Helper()
	p, id, token := r.interaction(2, at, who, commandData(name, options...))
	r.fake.dispatch("INTERACTION_CREATE", p)
	return r.wait(id, token, wantFollowups)
}

// press presses a button over the gateway and waits for its answer.
func (r *running) press(at where, who person, customID string, wantFollowups int) answer {
	r.t.Helper()
	p, id, token := r.interaction(3, at, who, map[string]any{"custom_id": customID, "component_type": 2})
	r.fake.dispatch("INTERACTION_CREATE", p)
	return r.wait(id, token, wantFollowups)
}

func (r *running) wait(id, token string, wantFollowups int) answer {
	r.t.Helper()
	var a answer
	waitFor(r.t, "the answer to interaction "+id, func() bool {
		a = r.fake.answerTo(r.t, id, token)
		return a.callback.Type != 0 && len(a.edits) > 0 && len(a.followups) >= wantFollowups
	})
	return a
}

// world is the real tutor on a real SQLite store in a temporary
// directory, with the fixture lessons.
type world struct {
	store   *store.Store
	tutor   *tutor.Tutor
	lessons *lesson.Source
	logs    *logtest.Buffer
}

// fixtureLesson is the fixture lesson's id and title, and its quiz's
// right answers.
const (
	fixtureID    = "solar-ferry"
	fixtureTitle = "A solar ferry starts crossing the bay"
	rightAnswer1 = "Twenty minutes"
	rightAnswer2 = "The ticket price"
)

func newWorld(t testing.TB, now func() time.Time, extra ...*lesson.Lesson) *world {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "lessonbot.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := st.Close(); err != nil {
			t.Errorf("close store: %v", err)
		}
	})
	src, err := os.ReadFile(filepath.Join("testdata", "lessons", fixtureID+".md"))
	if err != nil {
		t.Fatal(err)
	}
	l, problems := lesson.Parse("lessons/"+fixtureID+".md", fixtureID, src)
	if l == nil || len(problems) > 0 {
		t.Fatalf("fixture lesson: %v", problems)
	}
	lib := lesson.NewLibrary(append([]*lesson.Lesson{l}, extra...))
	lessons := lesson.NewSource(func() lesson.Result { return lesson.Result{Library: lib, Files: lib.Len()} })
	logs := &logtest.Buffer{}
	tu := tutor.New(st, lessons, tutor.Settings{
		Hour: 8, Minute: 0, Zone: "UTC", Language: "en", Questions: 2,
		Admins: map[string][]string{chat.Discord: {"100000000000000077"}},
	}, now, slog.New(slog.NewTextHandler(logs, nil)))
	t.Cleanup(func() {
		if strings.Contains(logs.String(), "level=ERROR") {
			t.Errorf("the tutor logged errors:\n%s", logs.String())
		}
	})
	return &world{store: st, tutor: tu, lessons: lessons, logs: logs}
}

// subscription returns the stored subscription of a channel.
func (w *world) subscription(t testing.TB, channel string) store.Subscription {
	t.Helper()
	sub, err := w.store.Chat(context.Background(), chat.Address{Platform: chat.Discord, ChatID: channel})
	if err != nil {
		t.Fatalf("subscription of %s: %v", channel, err)
	}
	return sub
}

// fakeTutor records what it is asked and answers with canned messages;
// panicOn makes a command or a press with that name or data panic.
type fakeTutor struct {
	mu       sync.Mutex
	commands []chat.Command
	presses  []chat.Press
	gone     []string
	reply    func(cmd chat.Command) []chat.Message
	panicOn  string
}

func (f *fakeTutor) Handle(ctx context.Context, cmd chat.Command) []chat.Message {
	f.mu.Lock()
	f.commands = append(f.commands, cmd)
	reply, panicOn := f.reply, f.panicOn
	f.mu.Unlock()
	if cmd.Name == panicOn {
		panic("the tutor fell over on /" + cmd.Name)
	}
	if reply != nil {
		return reply(cmd)
	}
	return []chat.Message{textMessage("ok /" + cmd.Name + " " + cmd.Args)}
}

func (f *fakeTutor) Press(ctx context.Context, p chat.Press) chat.PressReply {
	f.mu.Lock()
	f.presses = append(f.presses, p)
	panicOn := f.panicOn
	f.mu.Unlock()
	if p.Data == panicOn {
		panic("the tutor fell over on a press")
	}
	return chat.PressReply{Notice: "pressed " + p.Data}
}

func (f *fakeTutor) ChatGone(ctx context.Context, addr chat.Address) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.gone = append(f.gone, addr.Key())
}

func (f *fakeTutor) lastCommand() chat.Command {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.commands[len(f.commands)-1]
}

func (f *fakeTutor) goneChats() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.gone...)
}

// tutorCommands are the real tutor's commands (it needs no store to
// list them).
func tutorCommands() []chat.CommandInfo {
	return tutor.New(nil, nil, tutor.Settings{}, time.Now, slog.New(slog.DiscardHandler)).Commands()
}

// longLesson is a lesson whose article is well over 2000 characters.
func longLesson(t testing.TB) *lesson.Lesson {
	t.Helper()
	sentences := []string{
		"The old lighthouse on the cape was switched off forty years ago, when ships began to use satellites instead of lamps to find their way.",
		"Last spring a group of retired engineers asked the council if they could repair it and open it to visitors on summer weekends.",
		"They spent three months scraping rust from the iron stairs, replacing broken windows and painting the tower white and red again.",
		"Schoolchildren from the village helped by collecting old photographs and stories from fishermen who remember the light at work.",
		"On the first open day more than six hundred people climbed the hundred and twelve steps to look at the sea from the lamp room.",
		"The engineers now hope to light the lamp once a year, on the night the lighthouse was first switched on, as a gift to the town.",
	}
	var paras []string
	for i := range 8 {
		paras = append(paras, sentences[i%len(sentences)]+" "+sentences[(i+1)%len(sentences)]+" "+sentences[(i+3)%len(sentences)])
	}
	src := "---\ntitle: Volunteers bring an old lighthouse back to life\nlevel: A2\ndate: 2026-03-09\n---\n" +
		strings.Join(paras, "\n\n") + "\n\n## Summary\nRetired engineers repaired an old lighthouse and opened it to visitors.\n\n" +
		"## Vocabulary\n- lighthouse: phare\n- rust: rouille\n"
	l, problems := lesson.Parse("lessons/old-lighthouse.md", "old-lighthouse", []byte(src))
	if l == nil {
		t.Fatalf("long lesson: %v", problems)
	}
	return l
}

// endpoint is the address the bot's HTTP interactions endpoint listens
// on, or "" before it listens.
func (b *Bot) endpoint() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.listenAddr
}
