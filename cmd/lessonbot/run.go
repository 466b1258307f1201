package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/lessonbot/lessonbot/internal/backup"
	"github.com/lessonbot/lessonbot/internal/chat"
	"github.com/lessonbot/lessonbot/internal/config"
	"github.com/lessonbot/lessonbot/internal/delivery"
	"github.com/lessonbot/lessonbot/internal/discord"
	"github.com/lessonbot/lessonbot/internal/ratelimit"
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
	// One process delivers from a database: the lock tells a second one to
	// stop, and tells this one that whoever held a claim before it is dead.
	lock, err := store.LockDatabase(cfg.Database)
	if err != nil {
		fmt.Fprintf(env.Stderr, "lessonbot run: %v\n", err)
		return exitFailure
	}
	defer lock.Release()
	b := currentBuild()
	log.Info("lessonbot starting", "version", b.Version, "commit", b.Revision, "go", b.GoVersion)
	a, err := openApp(ctx, cfg, log, time.Now)
	if err != nil {
		fmt.Fprintf(env.Stderr, "lessonbot run: %v\n", err)
		return exitFailure
	}
	defer a.Close()

	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()

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
		bot, err := telegram.New(ctx, opts, a.tutor, a.store)
		if err != nil {
			fmt.Fprintf(env.Stderr, "lessonbot run: %v\n", err)
			return exitFailure
		}
		platforms[chat.Telegram] = delivery.Platform{Sender: bot, Budget: budget, Limits: limits}
		bots = append(bots, bot.Run)
		log.Info("telegram bot ready", "username", bot.Username())
	}
	if cfg.Discord.Token != "" {
		bot, err := discord.New(ctx, discord.Options{
			Token: cfg.Discord.Token, APIURL: cfg.Discord.APIURL, GuildID: cfg.Discord.GuildID,
			Admins: cfg.Discord.Admins, Commands: a.tutor.Commands(),
			InteractionsListen: cfg.Discord.Interactions.Listen, PublicKey: cfg.Discord.PublicKey,
			Logger: log,
		}, a.tutor)
		if err != nil {
			fmt.Fprintf(env.Stderr, "lessonbot run: %v\n", err)
			return exitFailure
		}
		platforms[chat.Discord] = delivery.Platform{Sender: bot, Limits: ratelimit.Limits{PerSecond: cfg.Discord.Rate.RequestsPerSecond}}
		bots = append(bots, bot.Run)
	}

	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	wg.Go(func() { watchLessons(ctx, cfg.Lessons, a.lessons, log, hup) })
	wg.Go(func() { backup.Run(ctx, a.store, backupOptions(cfg, log)) })
	a.deliver(ctx, &wg, platforms, true)

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
	case <-ctx.Done():
		log.Info("stopping: finishing the sends under way")
		return exitOK
	case err := <-failed:
		fmt.Fprintf(env.Stderr, "lessonbot run: %v\n", err)
		return exitFailure
	}
}

func telegramOptions(cfg config.Config, a *app, log *slog.Logger) telegram.Options {
	admins := make([]string, len(cfg.Telegram.Admins))
	for i, id := range cfg.Telegram.Admins {
		admins[i] = strconv.FormatInt(id, 10)
	}
	return telegram.Options{
		Token: cfg.Telegram.Token, APIURL: cfg.Telegram.APIURL, Admins: admins,
		WebhookURL: cfg.Telegram.Webhook.URL, WebhookListen: cfg.Telegram.Webhook.Listen,
		Commands: a.tutor.Commands(), Logger: log, NotFound: store.ErrNotFound,
		PaidBroadcast: cfg.Telegram.PaidBroadcast,
	}
}
