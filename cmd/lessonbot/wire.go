package main

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/lessonbot/lessonbot/internal/chat"
	"github.com/lessonbot/lessonbot/internal/config"
	"github.com/lessonbot/lessonbot/internal/console"
	"github.com/lessonbot/lessonbot/internal/delivery"
	"github.com/lessonbot/lessonbot/internal/lesson"
	"github.com/lessonbot/lessonbot/internal/metrics"
	"github.com/lessonbot/lessonbot/internal/schedule"
	"github.com/lessonbot/lessonbot/internal/store"
	"github.com/lessonbot/lessonbot/internal/tutor"
)

// app is the running program's shared parts, wired from the config.
type app struct {
	cfg     config.Config
	log     *slog.Logger
	store   *store.Store
	lessons *lesson.Source
	tutor   *tutor.Tutor
	// now is the clock of the tutor and the scheduler.
	now func() time.Time
	// metrics counts what the program does; nil counts nothing.
	metrics *metrics.Metrics
}

// openApp opens the database, loads the lessons and makes the tutor; m,
// which may be nil, counts their work.
func openApp(ctx context.Context, cfg config.Config, log *slog.Logger, now func() time.Time, m *metrics.Metrics) (*app, error) {
	st, err := store.Open(ctx, cfg.Database)
	if err != nil {
		return nil, err
	}
	lessons := lesson.NewSource(func() lesson.Result {
		r := loadLessons(cfg.Lessons)
		m.Reload(len(r.Rejected) > 0)
		return r
	})
	logProblems(log, lessons.Problems())
	hour, minute := cfg.DeliveryClock()
	admins := map[string][]string{
		chat.Console: {console.User.ID},
		chat.Discord: cfg.Discord.Admins,
	}
	for _, id := range cfg.Telegram.Admins {
		admins[chat.Telegram] = append(admins[chat.Telegram], strconv.FormatInt(id, 10))
	}
	t := tutor.New(st, lessons, tutor.Settings{
		Hour: hour, Minute: minute, Zone: cfg.Timezone, Language: cfg.Language,
		Questions: cfg.Quiz.Questions, Admins: admins,
		Retention: cfg.Learning.Retention, DailyReviews: cfg.Learning.DailyReviews, SummaryDay: cfg.SummaryWeekday(),
		Answered: m.Answer,
	}, now, log)
	if _, err := t.Upgrade(ctx); err != nil {
		st.Close()
		return nil, fmt.Errorf("make review items of the answers stored before: %w", err)
	}
	return &app{cfg: cfg, log: log, store: st, lessons: lessons, tutor: t, now: now, metrics: m}, nil
}

// deliver starts the scheduler and the delivery workers for the given
// platforms; they stop when ctx is done, and wg waits for them. locked
// tells that this process holds the database lock, so that the workers
// take over at once what a dead predecessor left; meter, when not nil,
// is told of every send.
func (a *app) deliver(ctx context.Context, wg *sync.WaitGroup, platforms map[string]delivery.Platform, locked bool, meter delivery.Meter) (*delivery.Pool, *schedule.Scheduler) {
	pool := delivery.New(a.store, a.tutor, platforms, delivery.Options{
		MaxAttempts:   a.cfg.Delivery.MaxAttempts,
		ResendUnknown: a.cfg.Delivery.ResendUnknown,
		TakeOver:      locked,
		Meter:         meter,
	}, a.log)
	sched := schedule.New(a.store, a.cfg.CatchUpDuration(), a.now, a.log, pool.Wake)
	sched.SendSummaries(a.cfg.SummaryWeekday())
	a.tutor.OnChange(sched.Update)
	wg.Go(func() {
		if err := sched.Run(ctx); err != nil && ctx.Err() == nil {
			a.log.Error("the scheduler stopped", "err", err)
		}
	})
	wg.Go(func() {
		if err := pool.Run(ctx); err != nil {
			a.log.Error("the delivery workers stopped", "err", err)
		}
	})
	return pool, sched
}

func (a *app) Close() error {
	if err := a.store.Close(); err != nil {
		return fmt.Errorf("close database: %w", err)
	}
	return nil
}

// logProblems logs the problems of a lessons load, one line each.
func logProblems(log *slog.Logger, problems []lesson.Problem) {
	for _, p := range problems {
		level := slog.LevelError
		if p.Warning {
			level = slog.LevelWarn
		}
		log.Log(context.Background(), level, "lesson problem", "problem", p.String())
	}
}
