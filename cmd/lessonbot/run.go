package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/lessonbot/lessonbot/internal/admin"
	"github.com/lessonbot/lessonbot/internal/backup"
	"github.com/lessonbot/lessonbot/internal/chat"
	"github.com/lessonbot/lessonbot/internal/config"
	"github.com/lessonbot/lessonbot/internal/dashboard"
	"github.com/lessonbot/lessonbot/internal/delivery"
	"github.com/lessonbot/lessonbot/internal/discord"
	"github.com/lessonbot/lessonbot/internal/metrics"
	"github.com/lessonbot/lessonbot/internal/ratelimit"
	"github.com/lessonbot/lessonbot/internal/schedule"
	"github.com/lessonbot/lessonbot/internal/store"
	"github.com/lessonbot/lessonbot/internal/telegram"
)

func runRun(ctx context.Context, env Env, args []string) int {
	f := newFlags(env, "run", "", "serve the configured Telegram and Discord bots and deliver the daily lessons; SIGINT or SIGTERM stops it after the sends under way (up to 10 s)")
	cfg, code, ok := f.noArgsConfig(env, args)
	if !ok {
		return code
	}
	if cfg.Telegram.Token == "" && cfg.Discord.Token == "" {
		fmt.Fprintln(env.Stderr, "lessonbot run: no platform configured: set TELEGRAM_BOT_TOKEN or DISCORD_BOT_TOKEN (or telegram.token / discord.token in the config), or try the bot locally with: lessonbot chat")
		return exitUsage
	}
	log := newLogger(cfg, env.Stderr)
	// One process delivers from a SQLite file: the lock tells a second one
	// to stop, and tells this one that whoever held a claim before it is
	// dead. Instances that share a PostgreSQL database hold their roles by
	// lease instead (roles.go).
	shared := cfg.Postgres()
	if !shared {
		lock, err := store.LockDatabase(cfg.Database)
		if err != nil {
			fmt.Fprintf(env.Stderr, "lessonbot run: %v\n", err)
			return exitFailure
		}
		defer lock.Release()
	}
	holder := delivery.NewHolder()
	var err error
	b := currentBuild()
	log.Info("lessonbot starting", "version", b.Version, "commit", b.Revision, "go", b.GoVersion)
	m := metrics.New(metrics.Build{Version: b.Version, Revision: b.Revision, GoVersion: b.GoVersion})
	// The admin listener opens first, so that a port taken fails the start
	// at once, and closes last: /readyz answers 503 while the rest stops.
	var ln net.Listener
	if cfg.Admin.Listen != "" {
		if ln, err = admin.Listen(cfg.Admin.Listen); err != nil {
			fmt.Fprintf(env.Stderr, "lessonbot run: %v (set admin.listen to a free address, or empty to turn it off)\n", err)
			return exitFailure
		}
		defer ln.Close()
	}
	a, err := openApp(ctx, cfg, log, time.Now, m)
	if err != nil {
		fmt.Fprintf(env.Stderr, "lessonbot run: %v\n", err)
		return exitFailure
	}
	defer a.Close()
	// The dashboard shares the admin listener, and the tutor's /dashboard
	// makes its links, so it is wired before any bot takes a command.
	var dash *dashboard.Server
	var waker poolWaker
	if ln != nil {
		if dash, err = newDashboard(a, ln.Addr().String(), log, waker.Wake); err != nil {
			fmt.Fprintf(env.Stderr, "lessonbot run: %v\n", err)
			return exitFailure
		}
	}

	// The parts stop on their own context, cancelled after /readyz says
	// the process is stopping.
	stop := ctx
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	var adminDone sync.WaitGroup
	adminCtx, stopAdmin := context.WithCancel(context.WithoutCancel(ctx))
	defer adminDone.Wait()
	defer stopAdmin()
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	tut := meteredTutor{Tutor: a.tutor, metrics: m}

	platforms := map[string]delivery.Platform{}
	var bots []func(context.Context) error
	if cfg.Telegram.Token != "" {
		// Replies and scheduled lessons take their turns from one budget.
		limits := ratelimit.Limits{
			PerSecond:         cfg.Telegram.Rate.MessagesPerSecond,
			PerChatPerSecond:  cfg.Telegram.Rate.PerChatPerSecond,
			PerGroupPerMinute: cfg.Telegram.Rate.PerGroupPerMinute,
		}
		budget := ratelimit.New(limits)
		opts := telegramOptions(cfg, a, log)
		opts.Pacer = budget
		opts.Up = func(up bool) { m.PlatformUp(chat.Telegram, up) }
		if shared && opts.WebhookURL != "" {
			// Every instance takes webhook calls: the inbox in the
			// database handles each update once, whichever gets it.
			opts.Inbox = storeInbox{store: a.store, bot: botID(chat.Telegram, cfg), holder: holder}
		}
		bot, err := telegram.New(ctx, opts, tut, a.store)
		if err != nil {
			fmt.Fprintf(env.Stderr, "lessonbot run: %v\n", err)
			return exitFailure
		}
		platforms[chat.Telegram] = delivery.Platform{Sender: bot, Budget: budget, Limits: limits}
		if shared && opts.WebhookURL == "" {
			// One poller per token: the instance that holds the lease
			// polls, from the offset in the database; the others wait on
			// hot standby. Each term polls with a bot of its own.
			bots = append(bots, pollerByLease(a, opts, tut, holder, log))
		} else {
			bots = append(bots, bot.Run)
		}
		log.Info("telegram bot ready", "username", bot.Username())
	}
	if cfg.Discord.Token != "" {
		opts := discord.Options{
			Token: cfg.Discord.Token, APIURL: cfg.Discord.APIURL, GuildID: cfg.Discord.GuildID,
			Admins: cfg.Discord.Admins, Commands: a.tutor.Commands(),
			InteractionsListen: cfg.Discord.Interactions.Listen, PublicKey: cfg.Discord.PublicKey,
			Logger: log, Up: func(up bool) { m.PlatformUp(chat.Discord, up) },
		}
		// Instances that share a database each serve the interactions
		// endpoint and open no gateway: a session each would bring every
		// event to all of them.
		opts.NoGateway = shared && opts.InteractionsListen != ""
		bot, err := discord.New(ctx, opts, tut)
		if err != nil {
			fmt.Fprintf(env.Stderr, "lessonbot run: %v\n", err)
			return exitFailure
		}
		limits := ratelimit.Limits{PerSecond: cfg.Discord.Rate.RequestsPerSecond}
		platforms[chat.Discord] = delivery.Platform{Sender: bot, Budget: ratelimit.New(limits), Limits: limits}
		if shared && !opts.NoGateway {
			// Gateway mode on a shared database: one instance at a time
			// holds the gateway, the others wait on hot standby.
			bots = append(bots, gatewayByLease(a, opts, tut, holder, log))
		} else {
			bots = append(bots, bot.Run)
		}
	}

	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	wg.Go(func() { watchLessons(ctx, cfg.Lessons, a.lessons, log, hup) })
	wg.Go(func() { backup.Run(ctx, a.store, backupOptions(cfg, log)) })
	if dash != nil {
		wg.Go(func() { dash.Run(ctx) })
	}
	// Every 429 is counted in the store too, for the dashboard's Delivery
	// page.
	meter := meters{m, rateLimits{store: a.store, now: a.now, log: log}}
	if watcher := newAlerts(a, alertTargets(cfg, platforms, log), log); watcher != nil {
		meter = append(meter, watcher)
		wg.Go(func() { watcher.Run(ctx) })
	}
	var loops loopWatch
	if shared {
		holderLog(log, holder)
		r := a.deliverShared(ctx, &wg, platforms, holder, meter)
		waker.wake.Store(r.Wake)
		loops = loopWatch{tick: r.LastTick, look: r.LastLook, poll: sharedPoll}
	} else {
		pool, sched := a.deliver(ctx, &wg, platforms, true, meter)
		waker.wake.Store(pool.Wake)
		loops = loopWatch{tick: sched.LastTick, look: pool.LastLook, poll: pool.PollPeriod()}
	}
	srv := adminServer(a, m, loops, dash)
	if ln != nil {
		adminDone.Go(func() {
			if err := admin.Serve(adminCtx, ln, srv); err != nil {
				log.Error("the admin listener stopped", "err", err)
			}
		})
		log.Info("admin listener ready", "addr", ln.Addr().String())
	}

	failed := make(chan error, len(bots))
	for _, run := range bots {
		wg.Go(func() {
			if err := run(ctx); err != nil && ctx.Err() == nil {
				failed <- err
			}
		})
	}
	log.Info("lessonbot running", "platforms", len(platforms), "lessons", a.lessons.Library().Len())
	select {
	case <-stop.Done():
		srv.Stopping()
		if ln != nil {
			// A load balancer polling /readyz sees the 503 before the
			// process stops taking work.
			log.Info("stopping: /readyz answers 503", "waited", stopDrain)
			time.Sleep(stopDrain)
		}
		log.Info("stopping: finishing the sends under way")
		return exitOK
	case err := <-failed:
		fmt.Fprintf(env.Stderr, "lessonbot run: %v\n", err)
		return exitFailure
	}
}

// loopWatch is what /livez watches of the scheduler and the delivery
// pool: their heartbeats, and the pool's longest period between looks.
type loopWatch struct {
	tick, look func() time.Time
	poll       time.Duration
}

// stopDrain is how long run keeps working after /readyz turns 503 on a
// stop signal.
const stopDrain = time.Second

// adminServer makes the admin listener's handler: metrics, the loops'
// heartbeats for /livez, the readiness checks, and the dashboard (nil for
// none) on every other path.
func adminServer(a *app, m *metrics.Metrics, loops loopWatch, dash *dashboard.Server) *admin.Server {
	m.WatchDB(a.store.DB(), "lessonbot")
	m.WatchStore(a.store, time.Now, 5*time.Second)
	m.WatchLoops(loops.tick, loops.look)
	m.WatchLessons(func() int { return a.lessons.Library().Len() })
	var dashboard http.Handler
	if dash != nil {
		dashboard = dash
	}
	return admin.New(admin.Options{
		Metrics:   m.Handler(),
		Dashboard: dashboard,
		Loops: []admin.Loop{
			{Name: "scheduler", Last: loops.tick, Period: schedule.TickPeriod},
			{Name: "delivery", Last: loops.look, Period: loops.poll},
		},
		Ready: []admin.Check{
			{Name: "database", Run: a.store.Ping},
			{Name: "migrations", Run: func(ctx context.Context) error {
				have, head, err := a.store.SchemaVersion(ctx)
				if err == nil && have != head {
					err = fmt.Errorf("schema version %d, want %d", have, head)
				}
				return err
			}},
			{Name: "lessons", Run: func(context.Context) error {
				if a.lessons.Library().Len() == 0 {
					return errors.New("no valid lesson loaded (run lessonbot check on the lessons folder)")
				}
				return nil
			}},
		},
	})
}

func telegramOptions(cfg config.Config, a *app, log *slog.Logger) telegram.Options {
	admins := make([]string, len(cfg.Telegram.Admins))
	for i, id := range cfg.Telegram.Admins {
		admins[i] = strconv.FormatInt(id, 10)
	}
	return telegram.Options{
		Token: cfg.Telegram.Token, APIURL: cfg.Telegram.APIURL, Admins: admins,
		WebhookURL: cfg.Telegram.Webhook.URL, WebhookListen: cfg.Telegram.Webhook.Listen, WebhookSecret: cfg.Telegram.Webhook.Secret,
		Commands: a.tutor.Commands(), Logger: log, NotFound: store.ErrNotFound,
		PaidBroadcast: cfg.Telegram.PaidBroadcast,
	}
}
