package discord

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/bwmarrin/discordgo"
	"github.com/lessonbot/lessonbot/internal/chat"
)

// Tutor is what the bot needs of the tutor: it answers commands and
// button presses, and hears of channels the bot can no longer post to.
type Tutor interface {
	Handle(ctx context.Context, cmd chat.Command) []chat.Message
	Press(ctx context.Context, p chat.Press) chat.PressReply
	ChatGone(ctx context.Context, addr chat.Address)
}

// Options configure a Bot.
type Options struct {
	// Token is the bot token (config discord.token), with or without its
	// "Bot " prefix.
	Token string
	// APIURL is the base of Discord's API (config discord.api_url;
	// default https://discord.com); every REST request and the gateway
	// discovery go there.
	APIURL string
	// GuildID, when set, registers the commands for that server only,
	// where they update at once; otherwise they are global.
	GuildID string
	// Admins are lessonbot's admins' Discord user ids: the tutor lets
	// them manage any chat; the bot answers their refused-looking
	// commands in public.
	Admins []string
	// Commands are the tutor's commands, registered as slash commands.
	Commands []chat.CommandInfo
	// InteractionsListen is the address of the optional HTTP
	// interactions endpoint, such as ":8080"; it needs PublicKey.
	InteractionsListen string
	// PublicKey is the application's public key (hex), which signs the
	// requests to the HTTP interactions endpoint.
	PublicKey string
	// Logger receives the bot's log lines, with every token redacted.
	Logger *slog.Logger
	// NoGateway, when set, leaves the gateway closed: interactions come
	// only to the HTTP endpoint (so it needs InteractionsListen and
	// PublicKey), the application id is asked for over REST, and the
	// commands are registered as usual. Several instances can then serve
	// one application behind a load balancer, where a gateway session
	// each would deliver every event to each of them. Without the
	// gateway the bot hears of no server or channel removal: a channel
	// gone shows up as ChatGone on the next post to it.
	NoGateway bool
	// HTTPClient, when set, makes the REST requests (tests); its
	// transport is wrapped to send them to APIURL.
	HTTPClient *http.Client
	// Up, when set, is told when the gateway connects (true) and when it
	// loses its connection (false), for the operator's
	// lessonbot_platform_up. With NoGateway it is told after each REST
	// request whether Discord answered (a refusal counts as an answer; a
	// network error, a timeout or a 5xx does not), and false when Run
	// returns.
	Up func(up bool)
}

// Bot is lessonbot on Discord: a gateway session, the slash commands, the
// optional HTTP interactions endpoint, and the delivery Sender.
type Bot struct {
	opts      Options
	tutor     Tutor
	s         *discordgo.Session
	log       *slog.Logger
	red       *redactor
	commands  map[string]chat.CommandInfo
	admins    map[string]bool
	publicKey ed25519.PublicKey
	now       func() time.Time
	guilds    guildChannels
	// startDropped logs, once for the bot's life, that a message came
	// with a button Discord cannot show (see render).
	startDropped sync.Once

	// ctx is the context of the handlers; cancel ends it when the grace
	// period of a shutdown is over.
	ctx    context.Context
	cancel context.CancelFunc
	// mu guards closing and appID; wg counts the handlers running.
	mu        sync.Mutex
	closing   bool
	wg        sync.WaitGroup
	appID     string
	ready     chan struct{}
	readyOnce sync.Once
	// listenAddr is the HTTP endpoint's address once it listens.
	listenAddr string
	// rest reports Options.Up from the REST requests with NoGateway;
	// nil otherwise.
	rest *restUp
}

// Timeouts of the bot.
const (
	// readyTimeout bounds the wait for the gateway's READY after Open.
	readyTimeout = time.Minute
	// appIDRetry is the first wait before asking again for the
	// application id over REST (NoGateway), doubled up to appIDMaxRetry;
	// readyTimeout bounds the whole.
	appIDRetry    = 500 * time.Millisecond
	appIDMaxRetry = 8 * time.Second
	// shutdownGrace is how long handlers under way may take to finish
	// when Run stops.
	shutdownGrace = 10 * time.Second
	// restTimeout bounds one REST request when Options.HTTPClient is not
	// set.
	restTimeout = 20 * time.Second
)

// New checks the options and makes a bot; it connects nothing until Run.
// Its handlers run with a context derived from ctx.
func New(ctx context.Context, opts Options, t Tutor) (*Bot, error) {
	token := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(opts.Token), "Bot "))
	if token == "" {
		return nil, errors.New("discord: no bot token")
	}
	if t == nil {
		return nil, errors.New("discord: no tutor")
	}
	base, err := parseBase(opts.APIURL)
	if err != nil {
		return nil, err
	}
	red := newRedactor(token)
	logger := opts.Logger
	if logger == nil {
		logger = slog.Default()
	}
	b := &Bot{
		opts: opts, tutor: t, red: red,
		log:      slog.New(redactHandler{next: logger.Handler(), r: red}),
		commands: map[string]chat.CommandInfo{},
		admins:   map[string]bool{},
		now:      time.Now,
		guilds:   guildChannels{m: map[string]map[string]bool{}},
		ready:    make(chan struct{}),
	}
	for _, c := range opts.Commands {
		b.commands[c.Name] = c
	}
	for _, id := range opts.Admins {
		b.admins[id] = true
	}
	if opts.PublicKey != "" {
		key, err := hex.DecodeString(strings.TrimSpace(opts.PublicKey))
		if err != nil || len(key) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("discord: public_key is not %d bytes of hex", ed25519.PublicKeySize)
		}
		b.publicKey = key
	}
	if opts.InteractionsListen != "" && b.publicKey == nil {
		return nil, errors.New("discord: the interactions endpoint needs public_key")
	}
	if opts.NoGateway && (opts.InteractionsListen == "" || b.publicKey == nil) {
		return nil, errors.New("discord: without the gateway, interactions need the HTTP endpoint: set interactions.listen and public_key")
	}

	s, err := discordgo.New("Bot " + token)
	if err != nil {
		return nil, b.red.Error(err)
	}
	client := &http.Client{Timeout: restTimeout}
	if opts.HTTPClient != nil {
		c := *opts.HTTPClient
		client = &c
	}
	next := client.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	rw := &rewriter{base: base, next: next}
	if opts.NoGateway && opts.Up != nil {
		b.rest = &restUp{up: opts.Up}
		rw.observe = b.rest.observe
	}
	client.Transport = rw
	s.Client = client
	// Never s.Debug: it logs the Authorization header. discordgo's own
	// lines, errors only, go through discordgoLog, redacted.
	s.Debug = false
	s.LogLevel = discordgo.LogError
	// Guilds brings GUILD_CREATE and GUILD_DELETE; interactions need no
	// intent. The bot reads no message, member or presence.
	s.Identify.Intents = discordgo.IntentsGuilds
	// The bot keeps no cache of servers, channels or members.
	s.StateEnabled = false
	b.s = s
	b.ctx, b.cancel = context.WithCancel(ctx)
	if opts.NoGateway {
		return b, nil
	}

	s.AddHandler(b.onReady)
	if up := opts.Up; up != nil {
		s.AddHandler(func(*discordgo.Session, *discordgo.Connect) { up(true) })
		s.AddHandler(func(*discordgo.Session, *discordgo.Disconnect) { up(false) })
	}
	s.AddHandler(b.onGuildCreate)
	s.AddHandler(b.onGuildDelete)
	s.AddHandler(b.onChannelDelete)
	s.AddHandler(b.onInteraction)
	return b, nil
}

// Run connects to the gateway, registers the commands with one bulk
// overwrite, serves the HTTP interactions endpoint when configured, and
// serves until ctx is done; then it disconnects, lets the handlers under
// way finish for a while, and returns. A failed command registration is
// logged and leaves the commands registered before in place. With
// NoGateway it asks for the application id over REST instead of
// connecting, and fails when Discord refuses that request or has not
// answered it within a minute.
func (b *Bot) Run(ctx context.Context) error {
	detach := attachLogger(b)
	defer detach()
	var srv *http.Server
	srvErr := make(chan error, 1)
	if b.opts.NoGateway {
		if b.rest != nil {
			// Deferred first, so it runs last: after the handlers under
			// way have made their requests.
			defer b.rest.stop()
		}
		defer func() { b.shutdown(srv) }()
		if err := b.learnApplication(ctx); err != nil || ctx.Err() != nil {
			return err
		}
	} else {
		if err := b.s.Open(); err != nil {
			return fmt.Errorf("discord: open the gateway: %w", b.red.Error(err))
		}
		defer func() { b.shutdown(srv) }()
		timer := time.NewTimer(readyTimeout)
		defer timer.Stop()
		select {
		case <-b.ready:
		case <-ctx.Done():
			return nil
		case <-timer.C:
			return errors.New("discord: no READY from the gateway")
		}
	}
	b.register(ctx)

	if b.opts.InteractionsListen != "" {
		ln, err := net.Listen("tcp", b.opts.InteractionsListen)
		if err != nil {
			return fmt.Errorf("discord: interactions endpoint: %w", err)
		}
		b.mu.Lock()
		b.listenAddr = ln.Addr().String()
		b.mu.Unlock()
		srv = &http.Server{
			Handler:           b.InteractionsHandler(),
			ReadHeaderTimeout: 10 * time.Second,
			ReadTimeout:       30 * time.Second,
			ErrorLog:          slog.NewLogLogger(b.log.Handler(), slog.LevelWarn),
		}
		go func() { srvErr <- srv.Serve(ln) }()
		b.log.Info("serving Discord interactions over HTTP", "addr", ln.Addr().String(), "gateway", !b.opts.NoGateway)
	}
	select {
	case <-ctx.Done():
		return nil
	case err := <-srvErr:
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return fmt.Errorf("discord: interactions endpoint: %w", err)
	}
}

// learnApplication asks Discord over REST for the bot's application,
// whose id the command registration needs, where the gateway's READY
// would have told it. A refusal (a 4xx other than 429: a bad token) ends
// it at once; a failure that may pass is tried again after a growing
// wait, for readyTimeout at most. It returns nil when ctx ends first.
func (b *Bot) learnApplication(ctx context.Context) error {
	deadline := time.Now().Add(readyTimeout)
	wait := appIDRetry
	for {
		id, err := b.applicationID(ctx)
		if err == nil {
			b.mu.Lock()
			b.appID = id
			b.mu.Unlock()
			b.log.Info("found the Discord application over REST; no gateway, interactions over HTTP only", "application_id", id)
			return nil
		}
		if ctx.Err() != nil {
			return nil
		}
		var re *discordgo.RESTError
		if errors.As(err, &re) && re.Response != nil && re.Response.StatusCode >= 400 && re.Response.StatusCode < 500 && re.Response.StatusCode != http.StatusTooManyRequests {
			return fmt.Errorf("discord: ask for the application: HTTP %d", re.Response.StatusCode)
		}
		if time.Now().Add(wait).After(deadline) {
			return fmt.Errorf("discord: ask for the application: %w", b.red.Error(err))
		}
		b.log.Warn("asking Discord for the application failed; trying again", "retry_after", wait, "err", b.red.Error(err))
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
		wait = min(2*wait, appIDMaxRetry)
	}
}

// applicationID is GET /oauth2/applications/@me, with ctx (discordgo's
// Session.Application takes none).
func (b *Bot) applicationID(ctx context.Context) (string, error) {
	endpoint := discordgo.EndpointOAuth2Application("@me")
	body, err := b.s.RequestWithBucketID(http.MethodGet, endpoint, nil, discordgo.EndpointOAuth2Application(""), discordgo.WithContext(ctx))
	if err != nil {
		return "", err
	}
	var app discordgo.Application
	if err := json.Unmarshal(body, &app); err != nil {
		return "", fmt.Errorf("discord: the application: %w", err)
	}
	if app.ID == "" {
		return "", errors.New("discord: the application has no id")
	}
	return app.ID, nil
}

// shutdown stops taking events, closes the gateway and the HTTP
// endpoint, and waits for the handlers under way, for shutdownGrace at
// most before cancelling their context.
func (b *Bot) shutdown(srv *http.Server) {
	b.mu.Lock()
	b.closing = true
	b.mu.Unlock()
	if srv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := srv.Shutdown(ctx); err != nil {
			srv.Close()
		}
		cancel()
	}
	if !b.opts.NoGateway {
		if err := b.s.Close(); err != nil {
			b.log.Warn("closing the Discord gateway failed", "err", err)
		}
	}
	done := make(chan struct{})
	go func() { b.wg.Wait(); close(done) }()
	grace := time.NewTimer(shutdownGrace)
	defer grace.Stop()
	select {
	case <-done:
	case <-grace.C:
		b.log.Warn("Discord handlers still running after the grace period; cancelling them")
		b.cancel()
		<-done
	}
	b.cancel()
}

// register overwrites the application's commands with the tutor's.
func (b *Bot) register(ctx context.Context) {
	b.mu.Lock()
	appID := b.appID
	b.mu.Unlock()
	cmds := applicationCommands(b.opts.Commands)
	_, err := b.s.ApplicationCommandBulkOverwrite(appID, b.opts.GuildID, cmds, discordgo.WithContext(ctx))
	if err != nil {
		b.log.Error("registering the slash commands failed; those registered before stay", "err", err)
		return
	}
	where := "globally"
	if b.opts.GuildID != "" {
		where = "for server " + b.opts.GuildID
	}
	b.log.Info("slash commands registered", "count", len(cmds), "where", where)
}

// enter counts a handler in, unless the bot is shutting down.
func (b *Bot) enter() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closing {
		return false
	}
	b.wg.Add(1)
	return true
}

// handle runs an event handler: counted, so that shutdown waits for it,
// and with its panics recovered and logged, so that the bot keeps
// serving (discordgo runs handlers in goroutines of their own, which a
// panic would otherwise bring the process down from).
func (b *Bot) handle(what string, f func(ctx context.Context)) {
	if !b.enter() {
		return
	}
	defer b.wg.Done()
	b.protect(what, func() { f(b.ctx) })
}

// goHandle runs f in a goroutine of its own, as handle does.
func (b *Bot) goHandle(what string, f func(ctx context.Context)) {
	if !b.enter() {
		return
	}
	go func() {
		defer b.wg.Done()
		b.protect(what, func() { f(b.ctx) })
	}()
}

// protect runs f and recovers a panic in it, logging it with its stack;
// ok is false after a panic.
func (b *Bot) protect(what string, f func()) (ok bool) {
	defer func() {
		if r := recover(); r != nil {
			b.log.Error("panic in a Discord handler; still serving", "handler", what, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			ok = false
		}
	}()
	f()
	return true
}

func (b *Bot) onReady(_ *discordgo.Session, r *discordgo.Ready) {
	b.handle("ready", func(ctx context.Context) {
		if r.Application == nil || r.Application.ID == "" {
			b.log.Error("the gateway's READY names no application")
			return
		}
		b.readyOnce.Do(func() {
			b.mu.Lock()
			b.appID = r.Application.ID
			b.mu.Unlock()
			close(b.ready)
		})
		b.log.Info("connected to the Discord gateway", "servers", len(r.Guilds))
	})
}

func (b *Bot) onGuildCreate(_ *discordgo.Session, g *discordgo.GuildCreate) {
	b.handle("guild create", func(ctx context.Context) {
		if g.Guild == nil {
			return
		}
		var ids []string
		for _, c := range append(append([]*discordgo.Channel(nil), g.Channels...), g.Threads...) {
			if c != nil {
				ids = append(ids, c.ID)
			}
		}
		b.guilds.add(g.ID, ids...)
	})
}

// onGuildDelete turns off the subscriptions of a server that removed the
// bot: every channel of it the bot knows. A GUILD_DELETE with unavailable
// set is an outage, not a removal.
func (b *Bot) onGuildDelete(_ *discordgo.Session, g *discordgo.GuildDelete) {
	b.handle("guild delete", func(ctx context.Context) {
		if g.Guild == nil || g.Unavailable {
			return
		}
		channels := b.guilds.remove(g.ID)
		b.log.Info("removed from a Discord server; turning off its subscriptions", "guild", g.ID, "channels", len(channels))
		for _, c := range channels {
			b.tutor.ChatGone(ctx, chat.Address{Platform: chat.Discord, ChatID: c})
		}
	})
}

func (b *Bot) onChannelDelete(_ *discordgo.Session, c *discordgo.ChannelDelete) {
	b.handle("channel delete", func(ctx context.Context) {
		if c.Channel == nil || c.ID == "" {
			return
		}
		b.guilds.forget(c.GuildID, c.ID)
		b.tutor.ChatGone(ctx, chat.Address{Platform: chat.Discord, ChatID: c.ID})
	})
}

// remember notes an interaction's channel as one of its server's, for a
// later GUILD_DELETE. Without the gateway no GUILD_DELETE comes, and
// nothing is kept: each request stands alone, whichever instance serves
// it.
func (b *Bot) remember(i *discordgo.Interaction) {
	if !b.opts.NoGateway {
		b.guilds.add(i.GuildID, i.ChannelID)
	}
}

// restUp tells Options.Up, with NoGateway, whether Discord answers the
// REST requests, as the gateway's connection tells it otherwise.
type restUp struct {
	mu      sync.Mutex
	up      func(bool)
	stopped bool
}

// observe is told of each REST request's outcome. A request cancelled by
// the bot says nothing of Discord; one that timed out says it did not
// answer.
func (r *restUp) observe(req *http.Request, resp *http.Response, err error) {
	if resp == nil && errors.Is(req.Context().Err(), context.Canceled) {
		return
	}
	answered := err == nil && resp != nil && resp.StatusCode < 500
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.stopped {
		r.up(answered)
	}
}

// stop reports the bot down, for good: Run has returned.
func (r *restUp) stop() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stopped = true
	r.up(false)
}

// guildChannels are the channels the bot knows in each server: from
// GUILD_CREATE and from interactions.
type guildChannels struct {
	mu sync.Mutex
	m  map[string]map[string]bool
}

func (g *guildChannels) add(guild string, channels ...string) {
	if guild == "" {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	set := g.m[guild]
	if set == nil {
		set = map[string]bool{}
		g.m[guild] = set
	}
	for _, c := range channels {
		if c != "" {
			set[c] = true
		}
	}
}

// remove forgets a server and returns its channels, sorted.
func (g *guildChannels) remove(guild string) []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	var out []string
	for c := range g.m[guild] {
		out = append(out, c)
	}
	delete(g.m, guild)
	sort.Strings(out)
	return out
}

func (g *guildChannels) forget(guild, channel string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.m[guild], channel)
}

// render lays out a message for Discord as renderMessage does. A button
// that opens the bot's private chat (chat.Button.Start) has no Discord
// equivalent and is dropped; that is logged once, at debug level, since
// the tutor is not meant to send one here and the rest of the message is
// whole.
func (b *Bot) render(m chat.Message, asText bool) ([]outgoing, error) {
	for _, btn := range m.Buttons {
		if btn.Start != "" {
			b.startDropped.Do(func() {
				b.log.Debug("dropping a button that opens the bot's private chat: Discord has no such link", "start", btn.Start)
			})
			break
		}
	}
	return renderMessage(m, asText)
}
