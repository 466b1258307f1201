package telegram

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/lessonbot/lessonbot/internal/chat"
)

// Tutor answers what people send; *tutor.Tutor satisfies it.
type Tutor interface {
	// Handle runs a command and returns the replies, in order.
	Handle(ctx context.Context, cmd chat.Command) []chat.Message
	// Press handles a button press.
	Press(ctx context.Context, p chat.Press) chat.PressReply
	// ChatGone turns off the subscription of a chat the bot left or was
	// removed from.
	ChatGone(ctx context.Context, addr chat.Address)
	// ChatMoved moves a chat's subscription to its new id.
	ChatMoved(ctx context.Context, from chat.Address, newChatID string)
}

// State keeps the bot's few values across restarts; *store.Store
// satisfies it.
type State interface {
	// Value returns the value stored under key, or an error (such as
	// Options.NotFound) when there is none.
	Value(ctx context.Context, key string) (string, error)
	// SetValue stores value under key.
	SetValue(ctx context.Context, key, value string) error
}

// OffsetKey is the State key of the last update handled, from which long
// polling resumes after a restart.
const OffsetKey = "telegram.offset"

// DefaultAPIURL is the Bot API's base URL.
const DefaultAPIURL = "https://api.telegram.org"

// DefaultWorkers is how many chats' updates are handled at once by
// default.
const DefaultWorkers = 64

// allowedUpdates are the update types the bot asks for.
var allowedUpdates = []string{"message", "channel_post", "callback_query", "my_chat_member"}

// Options configure a Bot.
type Options struct {
	// Token is the bot token from @BotFather. It never appears in an
	// error or a log line.
	Token string
	// APIURL is the Bot API's base URL; empty means DefaultAPIURL.
	APIURL string
	// Admins are lessonbot's admins, as Telegram user ids. The tutor
	// lets them manage any chat, so no chat-administrator check is made
	// for them.
	Admins []string
	// WebhookURL, when set, makes Run serve updates by webhook at this
	// public URL instead of long polling; WebhookListen is the local
	// address to listen on (such as ":8443").
	WebhookURL, WebhookListen string
	// WebhookSecret is the secret_token given to setWebhook, which
	// Telegram sends back on every webhook call and the bot checks: 1 to
	// 256 characters of A-Z, a-z, 0-9, _ and -. Empty derives it from the
	// token (hex of HMAC-SHA256 keyed by the token), so that every
	// instance of a bot agrees on it without configuration. It never
	// appears in a log line.
	WebhookSecret string
	// Inbox, when set, lets several instances serve one webhook behind a
	// load balancer: each update is claimed in the Inbox, handled to its
	// end within 8 s and only then answered 200, so that it is handled
	// once across the instances and a chat's updates in order (Telegram
	// sends a chat's next update after a 2xx for the one before). A
	// repeat of an update handled is answered 200, one another instance
	// is handling 503 with Retry-After, one that failed or ran late 500,
	// for Telegram to send it again. The journal is not used then. Long
	// polling ignores the Inbox.
	Inbox Inbox
	// Commands are registered with setMyCommands at start; a command that
	// Manages the chat needs a group administrator (getChatMember).
	Commands []chat.CommandInfo
	// Logger receives the bot's logs; nil discards them.
	Logger *slog.Logger
	// HTTPClient replaces the default client, which has timeouts; for
	// tests.
	HTTPClient *http.Client
	// Workers caps the chats whose updates are handled at once; zero
	// means DefaultWorkers. Button presses get four times as many slots
	// of their own.
	Workers int
	// NotFound is the error State.Value returns for a missing key
	// (store.ErrNotFound), which is not worth a log line.
	NotFound error
	// Pacer, when set, paces the replies within the platform's limits,
	// from the same budget as the scheduled lessons (*ratelimit.Budget);
	// nil sends them at once.
	Pacer Pacer
	// PaidBroadcast sets allow_paid_broadcast on the scheduled lessons
	// (config telegram.paid_broadcast): Telegram then lets up to 1,000
	// messages a second through, for 0.1 Telegram Stars each, withdrawn
	// from the bot's balance. Replies never pay.
	PaidBroadcast bool
	// Up, when set, is told after each long poll whether Telegram
	// answered (a refusal counts as an answer; a network error or a 5xx
	// does not), for the operator's lessonbot_platform_up.
	Up func(up bool)

	// handleDeadline replaces webhookDeadline; for tests.
	handleDeadline time.Duration
}

// Pacer spaces the messages the bot sends within Telegram's limits; the
// delivery pool's budget for the platform satisfies it, so that replies
// and scheduled lessons share one budget.
type Pacer interface {
	// Reply waits for a turn to send a reply to the chat at to; replies
	// are served before scheduled lessons.
	Reply(ctx context.Context, to chat.Address, kind chat.Kind) error
	// Pause holds every turn for d, as a 429's retry_after asks.
	Pause(d time.Duration)
}

// Bot is one Telegram bot: it receives updates, hands them to the tutor
// and sends the replies, and it is the Sender of scheduled lessons.
type Bot struct {
	opts    Options
	api     *tgbotapi.BotAPI // a template: each call runs on a copy
	client  tgbotapi.HTTPClient
	tutor   Tutor
	state   State
	log     *slog.Logger
	redact  redactor
	self    tgbotapi.User
	manage  map[string]bool // command name → changes the chat's settings
	admins  map[string]bool
	workers int

	seen    *recentIDs
	journal journal
	offsets *offsetTracker
	queue   *dispatcher
	presses chan struct{}
	members memberCache

	running atomic.Bool
	wg      sync.WaitGroup

	// webhookReady is closed once the webhook listens and is set;
	// webhookAddr is then the address it listens on.
	webhookReady chan struct{}
	webhookAddr  net.Addr

	// inline makes the bot handle each update to its end before taking
	// the next, as a naive bot does; for the benchmark that compares.
	inline bool
}

// New connects to the Bot API (getMe, which checks the token) and returns
// the bot. It neither receives updates nor registers commands until Run.
func New(ctx context.Context, opts Options, tutor Tutor, state State) (*Bot, error) {
	if opts.Token == "" {
		return nil, errors.New("telegram: no bot token")
	}
	if opts.APIURL == "" {
		opts.APIURL = DefaultAPIURL
	}
	if u, err := url.Parse(opts.APIURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("telegram: the API URL %q is not an http or https URL", newRedactor(opts.Token).string(opts.APIURL))
	}
	if opts.WebhookURL != "" {
		if u, err := url.Parse(opts.WebhookURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("telegram: the webhook URL %q is not an http or https URL", newRedactor(opts.Token).string(opts.WebhookURL))
		}
		if opts.WebhookListen == "" {
			return nil, errors.New("telegram: a webhook URL needs an address to listen on")
		}
	}
	if opts.WebhookSecret == "" {
		opts.WebhookSecret = deriveSecret(opts.Token)
	} else if !validSecret(opts.WebhookSecret) {
		return nil, errors.New("telegram: the webhook secret must be 1 to 256 characters of A-Z, a-z, 0-9, _ and -")
	}
	if opts.handleDeadline <= 0 {
		opts.handleDeadline = webhookDeadline
	}
	if opts.Workers <= 0 {
		opts.Workers = DefaultWorkers
	}
	b := &Bot{
		opts:         opts,
		tutor:        tutor,
		state:        state,
		redact:       newRedactor(opts.Token, opts.WebhookSecret),
		manage:       map[string]bool{},
		admins:       map[string]bool{},
		workers:      opts.Workers,
		seen:         newRecentIDs(recentUpdates),
		offsets:      newOffsetTracker(),
		presses:      make(chan struct{}, 4*opts.Workers),
		webhookReady: make(chan struct{}),
	}
	b.members.entries = map[memberKey]memberEntry{}
	var handler slog.Handler = slog.DiscardHandler
	if opts.Logger != nil {
		handler = opts.Logger.Handler()
	}
	b.log = slog.New(&redactHandler{inner: handler, r: b.redact})
	for _, c := range opts.Commands {
		b.manage[c.Name] = c.Manage
	}
	for _, id := range opts.Admins {
		b.admins[id] = true
	}
	if opts.HTTPClient != nil {
		b.client = opts.HTTPClient
	} else {
		b.client = defaultClient()
	}
	getMeCtx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	tc := &tracedClient{ctx: getMeCtx, base: b.client}
	api, err := tgbotapi.NewBotAPIWithClient(opts.Token, endpoint(opts.APIURL), tc)
	if err != nil {
		return nil, fmt.Errorf("telegram: getMe: %w", b.redact.error(err))
	}
	api.Client = b.client
	api.Debug = false // never: it logs requests, and so the token
	b.api, b.self = api, api.Self
	return b, nil
}

// Username is the bot's username, without "@".
func (b *Bot) Username() string { return b.self.UserName }

// Run registers the commands, then receives updates until ctx is done:
// by long polling, or by webhook when Options.WebhookURL is set. Updates
// of different chats are handled concurrently, those of one chat in
// order; button presses are answered at once. With Options.Inbox, a
// webhook update is handled within the call that brings it instead.
// Run returns when every goroutine it started has ended. A Bot runs once.
func (b *Bot) Run(ctx context.Context) error {
	if !b.running.CompareAndSwap(false, true) {
		return errors.New("telegram: the bot is already running")
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	b.offsets.start(b.loadOffset(ctx))
	b.queue = newDispatcher(ctx, b.workers*16)
	for range b.workers {
		b.wg.Go(func() { b.queue.work(ctx) })
	}
	b.wg.Go(func() { b.persistOffsets(ctx) })
	if b.inbox() {
		// Several instances share the State: the journal is one
		// instance's, and Telegram keeps an update until it gets a 200.
		b.warnJournal(ctx)
	} else {
		b.replay(ctx)
	}
	b.setCommands(ctx)

	var err error
	if b.opts.WebhookURL != "" {
		err = b.serveWebhook(ctx)
	} else {
		err = b.poll(ctx)
	}
	cancel()
	b.wg.Wait()
	b.saveOffset(context.WithoutCancel(ctx))
	return err
}

// loadOffset returns the last update handled before, or 0.
func (b *Bot) loadOffset(ctx context.Context) int {
	v, err := b.state.Value(ctx, OffsetKey)
	if err != nil {
		if b.opts.NotFound == nil || !errors.Is(err, b.opts.NotFound) {
			b.log.Warn("reading the last update handled failed; starting from Telegram's", "err", err)
		}
		return 0
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		b.log.Warn("the last update handled is not a number; starting from Telegram's", "value", v)
		return 0
	}
	return n
}

// persistOffsets stores the last update handled whenever it moves, until
// ctx is done; writes coalesce while one is under way.
func (b *Bot) persistOffsets(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-b.offsets.changed:
			b.saveOffset(ctx)
		}
	}
}

func (b *Bot) saveOffset(ctx context.Context) {
	mark, ok := b.offsets.unsaved()
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := b.state.SetValue(ctx, OffsetKey, strconv.Itoa(mark)); err != nil {
		if ctx.Err() == nil {
			b.log.Error("saving the last update handled failed", "update_id", mark, "err", err)
		}
		return
	}
	b.offsets.saved(mark)
}

// setCommands registers the command menu: English as the default and
// for "en", French for "fr". A failure is only a warning: the commands
// work without a menu.
func (b *Bot) setCommands(ctx context.Context) {
	if len(b.opts.Commands) == 0 {
		return
	}
	for _, lang := range []string{"", "en", "fr"} {
		var cmds []tgbotapi.BotCommand
		for _, c := range b.opts.Commands {
			if c.Admin {
				continue // for lessonbot's admins only: not in everyone's menu
			}
			cmds = append(cmds, tgbotapi.BotCommand{Command: c.Name, Description: description(c, lang)})
		}
		cfg := tgbotapi.NewSetMyCommands(cmds...)
		cfg.LanguageCode = lang
		if _, err := b.request(ctx, callTimeout, cfg, "setMyCommands"); err != nil {
			if ctx.Err() != nil {
				return
			}
			b.log.Warn("registering the command menu failed; the commands still work", "language", lang, "err", err)
		}
	}
}

// description is a command's menu line in lang (English when it has none),
// within Telegram's 3 to 256 characters.
func description(c chat.CommandInfo, lang string) string {
	d := c.Description[lang]
	if d == "" {
		d = c.Description["en"]
	}
	if utf8.RuneCountInString(d) < 3 {
		d = "/" + c.Name
	}
	if utf8.RuneCountInString(d) > 256 {
		d = string([]rune(d)[:255]) + "…"
	}
	return d
}

// poll receives updates by long polling until ctx is done.
func (b *Bot) poll(ctx context.Context) error {
	// getUpdates fails while a webhook is set, such as after running in
	// webhook mode: remove it (the updates it holds stay).
	if _, err := b.request(ctx, callTimeout, tgbotapi.DeleteWebhookConfig{}, "deleteWebhook"); err != nil && ctx.Err() == nil {
		b.log.Warn("removing the webhook failed", "err", err)
	}
	offset := b.offsets.mark() + 1
	if offset == 1 {
		offset = 0 // nothing handled yet: Telegram's oldest unconfirmed update
	}
	wait := time.Duration(0)
	for ctx.Err() == nil {
		if !b.queue.waitRoom(ctx) {
			break
		}
		raw, err := b.request(ctx, pollTimeout+pollSlack, tgbotapi.UpdateConfig{
			Offset: offset, Limit: 100, Timeout: int(pollTimeout / time.Second), AllowedUpdates: allowedUpdates,
		}, "getUpdates")
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			se := classify(err)
			b.up(se.Kind != chat.Transient && se.Kind != chat.Ambiguous)
			switch {
			case se.Kind == chat.RateLimited:
				wait = se.RetryAfter
			case apiErrorCode(err) == http.StatusConflict:
				wait = min(max(2*wait, 5*time.Second), 30*time.Second)
				b.log.Error("another client is getting this bot's updates, or a webhook is set", "err", err, "retry_after", wait)
			default:
				wait = min(max(2*wait, time.Second), 30*time.Second)
				b.log.Warn("getting updates failed", "err", err, "retry_after", wait)
			}
			if !sleep(ctx, wait) {
				break
			}
			continue
		}
		wait = 0
		b.up(true)
		var updates []json.RawMessage
		if err := json.Unmarshal(raw, &updates); err != nil {
			b.log.Error("getUpdates answered something that is not a list of updates", "err", err)
			if !sleep(ctx, time.Second) {
				break
			}
			continue
		}
		if len(updates) > 0 {
			// Saved before the next getUpdates confirms them.
			b.record(ctx, updates)
		}
		for _, u := range updates {
			if id, ok := updateID(u); ok && id >= offset {
				offset = id + 1
			}
			b.accept(ctx, u)
		}
	}
	return nil
}

// truncate cuts s to at most n UTF-16 units, as Telegram counts.
func truncate(s string, n int) string {
	if utf16Len(s) <= n {
		return s
	}
	var out strings.Builder
	used := 0
	for _, r := range s {
		w := 1
		if r >= 0x10000 {
			w = 2
		}
		if used+w > n-1 {
			break
		}
		out.WriteRune(r)
		used += w
	}
	return out.String() + "…"
}

// up tells Options.Up whether Telegram answers.
func (b *Bot) up(answered bool) {
	if b.opts.Up != nil {
		b.opts.Up(answered)
	}
}
