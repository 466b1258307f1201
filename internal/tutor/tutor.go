package tutor

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/lessonbot/lessonbot/internal/chat"
	"github.com/lessonbot/lessonbot/internal/lesson"
	"github.com/lessonbot/lessonbot/internal/review"
	"github.com/lessonbot/lessonbot/internal/store"
)

// Lessons is the lesson library in service, reloadable at run time.
type Lessons interface {
	// Library returns the lessons in service now.
	Library() *lesson.Library
	// Reload reads the lessons folder again and returns what it found.
	Reload() lesson.Result
	// Problems returns the problems of the last load.
	Problems() []lesson.Problem
}

// Settings are the defaults and admins the tutor works with.
type Settings struct {
	// Hour and Minute are the delivery time of a new subscription.
	Hour, Minute int
	// Zone is the IANA time zone of a new subscription.
	Zone string
	// Language is the UI language of a chat that has not chosen one.
	Language string
	// Questions is how many quiz questions a lesson gets.
	Questions int
	// Admins are lessonbot's admins: user ids by platform.
	Admins map[string][]string
	// Retention is FSRS's desired retention (config learning.retention);
	// 0 means 0.85.
	Retention float64
	// DailyReviews is how many due words a private chat's daily lesson
	// ends with (config learning.daily_reviews).
	DailyReviews int
	// SummaryDay is the weekday of the weekly summary.
	SummaryDay time.Weekday
	// Answered, when not nil, is told of each learner's first answer to a
	// question, for the operator's metrics.
	Answered func(platform string, correct bool)
}

// Tutor answers commands and button presses. It is safe for concurrent
// use; its state lives in the store.
type Tutor struct {
	store    *store.Store
	lessons  Lessons
	settings Settings
	now      func() time.Time
	log      *slog.Logger
	quizzes  questionCache
	// picking serializes choosing and recording a chat's next lesson on
	// /lesson, so that commands racing in a chat with no current lesson
	// record one lesson rather than several (or fail as duplicates).
	picking sync.Mutex
	// chats serializes the commands of each chat (see chatLocks).
	chats chatLocks
	// learners serializes the streak updates of each learner.
	learners  chatLocks
	scheduler review.Scheduler
	changed   func(store.Subscription)
	// links makes the dashboard's sign-in links; nil while it is off.
	links Links
}

// New returns a tutor. now is the clock (time.Now outside tests).
func New(st *store.Store, lessons Lessons, settings Settings, now func() time.Time, log *slog.Logger) *Tutor {
	if settings.Questions <= 0 {
		settings.Questions = 3
	}
	sched, err := review.NewScheduler(settings.Retention)
	if err != nil {
		// The configuration checks learning.retention; 0 is the default.
		sched, _ = review.NewScheduler(defaultRetention)
	}
	return &Tutor{store: st, lessons: lessons, settings: settings, now: now, log: log, scheduler: sched}
}

// defaultRetention is FSRS's desired retention when Settings has none.
const defaultRetention = 0.85

// handler runs one command for a chat whose stored row is sub (ID 0 when
// the chat has none yet) and whose UI language is lang.
type handler func(ctx context.Context, c *call) ([]chat.Message, error)

// call is one command being handled.
type call struct {
	cmd  chat.Command
	sub  store.Subscription
	lang string
}

// commandSpec describes one command: who may run it and its help line.
type commandSpec struct {
	name    string
	help    key
	manage  bool // changes the chat's settings: chat admins only in groups
	admin   bool // lessonbot's admins only
	private bool // the reply is for the sender alone
	run     handler
}

func (t *Tutor) commands() []commandSpec {
	return []commandSpec{
		{name: "start", help: keyHelpStart, run: t.help},
		{name: "help", help: keyHelpStart, run: t.help},
		{name: "subscribe", help: keyHelpSub, manage: true, run: t.subscribe},
		{name: "unsubscribe", help: keyHelpUnsub, manage: true, run: t.unsubscribe},
		{name: "pause", help: keyHelpPause, manage: true, run: t.pause},
		{name: "resume", help: keyHelpResume, manage: true, run: t.resume},
		{name: "settings", help: keyHelpSettings, run: t.showSettings},
		{name: "time", help: keyHelpTime, manage: true, run: t.setTime},
		{name: "timezone", help: keyHelpTimezone, manage: true, run: t.setZone},
		{name: "days", help: keyHelpDays, manage: true, run: t.setDays},
		{name: "level", help: keyHelpLevel, manage: true, run: t.setLevel},
		{name: "language", help: keyHelpLanguage, manage: true, run: t.setLanguage},
		{name: "lesson", help: keyHelpLesson, run: t.sendLesson},
		{name: "read", help: keyHelpRead, run: t.read},
		{name: "quiz", help: keyHelpQuiz, run: t.quiz},
		{name: "score", help: keyHelpScore, run: t.score},
		{name: "leaderboard", help: keyHelpBoard, run: t.leaderboard},
		{name: "review", help: keyHelpReview, private: true, run: t.reviewCommand},
		{name: "summary", help: keyHelpSummary, manage: true, run: t.setSummary},
		{name: "export", help: keyHelpExport, private: true, run: t.export},
		{name: "deletemydata", help: keyHelpDelete, private: true, run: t.deleteMyData},
		{name: "stats", help: keyHelpStats, admin: true, run: t.stats},
		{name: "reload", help: keyHelpReload, admin: true, run: t.reload},
		{name: "preview", help: keyHelpPreview, admin: true, run: t.preview},
		{name: "dashboard", help: keyHelpDashboard, admin: true, run: t.dashboard},
	}
}

// Commands lists every command with its descriptions, for registering
// them with a platform (Telegram's setMyCommands, Discord's slash
// commands).
func (t *Tutor) Commands() []chat.CommandInfo {
	var out []chat.CommandInfo
	for _, c := range t.commands() {
		if c.name == "start" {
			continue
		}
		info := chat.CommandInfo{Name: c.name, Manage: c.manage, Admin: c.admin, Private: c.private, Description: map[string]string{}}
		for _, lang := range Languages {
			head, desc, _ := strings.Cut(say(lang, c.help), ": ")
			info.Description[lang] = desc
			if lang == "en" {
				_, info.Args, _ = strings.Cut(head, " ")
			}
		}
		out = append(out, info)
	}
	return out
}

// ChatGone turns off the subscription of a chat the bot can no longer post
// to (it was blocked, kicked or removed); the chat's history stays. An
// address with no thread is the whole chat: the subscriptions of its
// threads (forum topics) are turned off too.
func (t *Tutor) ChatGone(ctx context.Context, addr chat.Address) {
	ids, err := t.store.TurnOff(ctx, addr)
	if err != nil {
		t.log.Error("turning off the subscription of a gone chat failed", "platform", addr.Platform, "chat_id", addr.ChatID, "err", err)
		return
	}
	if len(ids) == 0 {
		return
	}
	t.log.Info("chat gone; subscriptions turned off", "platform", addr.Platform, "chat_id", addr.ChatID, "subscriptions", len(ids))
	if t.changed != nil {
		for _, id := range ids {
			t.changed(store.Subscription{ID: id})
		}
	}
}

// ChatMoved moves a chat's subscription and history to its new id (a
// Telegram group upgraded to a supergroup).
func (t *Tutor) ChatMoved(ctx context.Context, from chat.Address, newChatID string) {
	defer t.chats.lock(from.Key())()
	sub, err := t.store.Chat(ctx, from)
	if err != nil {
		return
	}
	merged, err := t.store.MoveChat(ctx, sub.ID, newChatID)
	if err != nil {
		t.log.Error("moving a chat failed", "platform", from.Platform, "chat_id", from.ChatID, "new_chat_id", newChatID, "err", err)
		return
	}
	if merged {
		t.log.Info("chat moved to a chat with its own subscription: this one is turned off, its answers joined the new chat's", "platform", from.Platform, "chat_id", from.ChatID, "new_chat_id", newChatID)
		if t.changed != nil {
			t.changed(store.Subscription{ID: sub.ID})
		}
		return
	}
	t.log.Info("chat moved", "platform", from.Platform, "chat_id", from.ChatID, "new_chat_id", newChatID)
}

// Handle runs a command and returns the messages to send back to its
// chat, in order. Bad input gets a one-line explanation and changes
// nothing; a failure on the bot's side is logged and the user told so.
//
// The commands of one chat run one at a time, in the order they arrive
// here; those of different chats run concurrently.
func (t *Tutor) Handle(ctx context.Context, cmd chat.Command) []chat.Message {
	defer t.chats.lock(cmd.Chat.Key())()
	sub, err := t.chat(ctx, cmd.Chat, cmd.Kind)
	if err != nil {
		return t.trouble(t.settings.Language, "load chat", err, cmd.Chat)
	}
	c := &call{cmd: cmd, sub: sub, lang: t.language(sub)}
	if cmd.Name == "start" && strings.EqualFold(strings.TrimSpace(cmd.Args), "review") {
		// The deep link of /review in a Telegram group.
		cmd.Name, cmd.Args = "review", ""
	}
	var spec *commandSpec
	for _, s := range t.commands() {
		if s.name == cmd.Name {
			spec = &s
			break
		}
	}
	switch {
	case spec == nil:
		name := cmd.Name
		if utf8.RuneCountInString(name) > 32 {
			name = string([]rune(name)[:32]) + "…"
		}
		return text(say(c.lang, keyUnknownCommand, name))
	case len(cmd.Args) > chat.MaxCommandLength:
		return text(say(c.lang, keyTooLong, cmd.Name))
	case spec.admin && !t.isAdmin(cmd.From):
		return text(say(c.lang, keyAdminOnly, cmd.Name))
	case spec.manage && !t.canManage(cmd):
		return text(say(c.lang, keyNotAllowed))
	}
	msgs, err := spec.run(ctx, c)
	if err != nil {
		return t.trouble(c.lang, cmd.Name, err, cmd.Chat)
	}
	if spec.manage && t.changed != nil && c.sub.ID != 0 {
		t.changed(c.sub)
	}
	return msgs
}

// Links makes the dashboard's sign-in links (the dashboard package's
// Links satisfies it).
type Links interface {
	// LoginLink makes a single-use sign-in link for admin. It fails,
	// wrapping store.ErrTooManyLinks, for an admin who asked for too many
	// lately.
	LoginLink(ctx context.Context, admin chat.User) (string, error)
}

// SetLinks sets what makes /dashboard's sign-in links; without it (nil,
// the default) /dashboard says the dashboard is off. Call it before the
// tutor serves commands.
func (t *Tutor) SetLinks(l Links) { t.links = l }

// OnChange sets f to be called with a chat's subscription as it stands
// after a command may have changed it, or with only its ID (inactive) when
// the chat turned out gone, so that the schedule follows that one chat
// without a restart. Call it before the tutor serves commands.
func (t *Tutor) OnChange(f func(store.Subscription)) { t.changed = f }

// chat returns the stored row of a chat, or a new unsaved one (ID 0)
// with the default settings.
func (t *Tutor) chat(ctx context.Context, addr chat.Address, kind chat.Kind) (store.Subscription, error) {
	sub, err := t.store.Chat(ctx, addr)
	if err == nil {
		return sub, nil
	}
	if err != store.ErrNotFound {
		return sub, err
	}
	return store.Subscription{
		Address: addr, Kind: kind,
		Hour: t.settings.Hour, Minute: t.settings.Minute, Zone: t.settings.Zone,
		Weekdays: store.EveryDay, Language: t.settings.Language,
	}, nil
}

// save stores a chat's settings, creating its row when it has none.
func (t *Tutor) save(ctx context.Context, c *call) error {
	if c.sub.ID == 0 {
		c.sub.CreatedBy = c.cmd.From.ID
		c.sub.CreatedAt = t.now()
	}
	id, err := t.store.SaveChat(ctx, c.sub)
	if err != nil {
		return err
	}
	c.sub.ID = id
	return nil
}

func (t *Tutor) language(sub store.Subscription) string {
	if _, ok := catalog[sub.Language]; ok {
		return sub.Language
	}
	return t.settings.Language
}

func (t *Tutor) isAdmin(u chat.User) bool {
	if u.ID == "" {
		return false
	}
	for _, id := range t.settings.Admins[u.Platform] {
		if id == u.ID {
			return true
		}
	}
	return false
}

// canManage reports whether the sender may change the chat's settings:
// anyone in a private chat, chat administrators elsewhere (as the
// platform says), and lessonbot's admins everywhere.
func (t *Tutor) canManage(cmd chat.Command) bool {
	return cmd.Kind == chat.Private || cmd.CanManage || t.isAdmin(cmd.From)
}

func (t *Tutor) trouble(lang, what string, err error, addr chat.Address) []chat.Message {
	t.log.Error("command failed", "command", what, "platform", addr.Platform, "chat_id", addr.ChatID, "err", err)
	return text(say(lang, keyTrouble))
}

// text makes a reply of one plain message.
func text(s string) []chat.Message {
	return []chat.Message{{Blocks: []chat.Block{{Kind: chat.Text, Text: s}}}}
}

func (t *Tutor) help(ctx context.Context, c *call) ([]chat.Message, error) {
	lines := []string{say(c.lang, keyCommands)}
	var admin []string
	for _, s := range t.commands() {
		if s.name == "start" {
			continue
		}
		if s.admin {
			admin = append(admin, say(c.lang, s.help))
			continue
		}
		lines = append(lines, say(c.lang, s.help))
	}
	blocks := []chat.Block{{Kind: chat.Text, Text: say(c.lang, keyWelcome)}, {Kind: chat.Text, Text: strings.Join(lines, "\n")}}
	if t.isAdmin(c.cmd.From) {
		blocks = append(blocks, chat.Block{Kind: chat.Text, Text: say(c.lang, keyAdminHelp) + "\n" + strings.Join(admin, "\n")})
	}
	return []chat.Message{{Blocks: blocks}}, nil
}
