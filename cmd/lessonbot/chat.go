package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/lessonbot/lessonbot/internal/chat"
	"github.com/lessonbot/lessonbot/internal/console"
	"github.com/lessonbot/lessonbot/internal/delivery"
)

func runChat(ctx context.Context, env Env, args []string) int {
	f := newFlags(env, "chat", "", "chat with the tutor in this terminal: a private chat with the same lessons and database as the bots; type a command, or the number of a choice when a question is asked")
	cfg, code, ok := f.noArgsConfig(env, args)
	if !ok {
		return code
	}
	log := slog.New(slog.NewTextHandler(env.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	a, err := openApp(ctx, cfg, log, time.Now)
	if err != nil {
		fmt.Fprintf(env.Stderr, "lessonbot chat: %v\n", err)
		return exitFailure
	}
	defer a.Close()

	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	wg.Go(func() { watchLessons(ctx, cfg.Lessons, a.lessons, log, hup) })

	terminal := console.New(a.tutor, env.Stdout)
	// The terminal chat does not take the database lock: it runs beside a
	// lessonbot run, and delivers only to its own chat.
	a.deliver(ctx, &wg, map[string]delivery.Platform{chat.Console: {Sender: terminal}}, false)
	if err := terminal.Run(ctx, env.Stdin); err != nil {
		fmt.Fprintf(env.Stderr, "lessonbot chat: read input: %v\n", err)
		return exitFailure
	}
	return exitOK
}
