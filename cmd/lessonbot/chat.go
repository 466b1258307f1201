package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/lessonbot/lessonbot/internal/chat"
	"github.com/lessonbot/lessonbot/internal/console"
	"github.com/lessonbot/lessonbot/internal/delivery"
)

func runChat(ctx context.Context, env Env, args []string) int {
	f := newFlags(env, "chat", "[--now TIME]", "chat with the tutor in this terminal: a private chat with the same lessons and database as the bots; type a command, or the number of a choice when a question is asked")
	nowFlag := f.String("now", "", "run the chat as if it were `TIME` (RFC 3339, such as 2026-03-02T08:00:00+01:00), to try review and streaks across days")
	cfg, code, ok := f.noArgsConfig(env, args)
	if !ok {
		return code
	}
	clock := time.Now
	if *nowFlag != "" {
		start, err := time.Parse(time.RFC3339, *nowFlag)
		if err != nil {
			fmt.Fprintf(env.Stderr, "lessonbot chat: --now %q is not an RFC 3339 time (want such as 2026-03-02T08:00:00+01:00)\n", *nowFlag)
			return exitUsage
		}
		// The chat's clock starts at TIME and runs on from there.
		began := time.Now()
		clock = func() time.Time { return start.Add(time.Since(began)) }
	}
	log := slog.New(slog.NewTextHandler(env.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	a, err := openApp(ctx, cfg, log, clock, nil)
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

	// Files, such as /export's, go beside the database.
	terminal := console.New(a.tutor, env.Stdout, filepath.Dir(cfg.Database))
	// The terminal chat does not take the database lock: it runs beside a
	// lessonbot run, and delivers only to its own chat.
	a.deliver(ctx, &wg, map[string]delivery.Platform{chat.Console: {Sender: terminal}}, false, nil)
	if err := terminal.Run(ctx, env.Stdin); err != nil {
		fmt.Fprintf(env.Stderr, "lessonbot chat: read input: %v\n", err)
		return exitFailure
	}
	return exitOK
}
