package main

import (
	"context"
	"encoding/base64"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lessonbot/lessonbot/internal/chat"
	"github.com/lessonbot/lessonbot/internal/config"
	"github.com/lessonbot/lessonbot/internal/delivery"
	"github.com/lessonbot/lessonbot/internal/discord"
	"github.com/lessonbot/lessonbot/internal/lease"
	"github.com/lessonbot/lessonbot/internal/schedule"
	"github.com/lessonbot/lessonbot/internal/store"
	"github.com/lessonbot/lessonbot/internal/telegram"
)

// sharedPoll is how often the delivery pool of an instance among several
// looks at the outbox at least: the scheduler that wrote a slot's rows may
// run in another instance, which cannot wake this one.
const sharedPoll = 2 * time.Second

// sharedRefresh is how often the scheduler of an instance among several
// reads the subscriptions again, for the changes other instances made.
// A slot of a time already in the schedule is never missed meanwhile: a
// firing entry reads its subscriptions from the database.
const sharedRefresh = 30 * time.Second

// roles runs the parts that one instance at a time may run when several
// share a PostgreSQL database: the scheduler, and the sender of each bot
// token, each under a lease (internal/lease). It stands in for the one
// scheduler and pool of a SQLite run in the admin listener's checks.
type roles struct {
	sched *schedule.Scheduler
	// scheduling tells that this instance holds the scheduler's lease.
	scheduling atomic.Bool

	mu sync.Mutex
	// pools are the delivery pools running now, by platform: those whose
	// sender lease this instance holds.
	pools map[string]*delivery.Pool
}

// senderRole names the sender role of the bot of platform: one sender per
// token, named by the bot's id, which is no secret.
func senderRole(platform string, cfg config.Config) string {
	return "sender:" + platform + ":" + botID(platform, cfg)
}

// botID returns the id of the bot of platform: the number before the
// colon of a Telegram token, the user id that a Discord token starts with
// (base64); "bot" when the token does not tell.
func botID(platform string, cfg config.Config) string {
	switch platform {
	case chat.Telegram:
		if id, _, ok := strings.Cut(cfg.Telegram.Token, ":"); ok && id != "" {
			return id
		}
	case chat.Discord:
		head, _, _ := strings.Cut(cfg.Discord.Token, ".")
		if id, err := base64.RawStdEncoding.DecodeString(strings.TrimRight(head, "=")); err == nil && len(id) > 0 {
			return string(id)
		}
	}
	return "bot"
}

// deliverShared starts the scheduler and a delivery pool per platform,
// each running only while this instance (holder) holds its lease; they
// stop when ctx is done, and wg waits for them.
func (a *app) deliverShared(ctx context.Context, wg *sync.WaitGroup, platforms map[string]delivery.Platform, holder string,
	meter delivery.Meter) *roles {
	r := &roles{pools: map[string]*delivery.Pool{}}
	r.sched = schedule.New(a.store, a.cfg.CatchUpDuration(), a.now, a.log, r.Wake)
	r.sched.SendSummaries(a.cfg.SummaryWeekday())
	r.sched.RefreshEvery(sharedRefresh)
	a.tutor.OnChange(r.sched.Update)
	held := func(role string) func(bool) {
		return func(h bool) { a.metrics.LeaseHeld(role, h) }
	}
	wg.Go(func() {
		lease.Run(ctx, a.store, "scheduler", holder, lease.Options{Log: a.log, Held: func(h bool) {
			r.scheduling.Store(h)
			held("scheduler")(h)
		}}, func(ctx context.Context) {
			var janitor sync.WaitGroup
			janitor.Go(func() { forgetUpdates(ctx, a) })
			if err := r.sched.Run(ctx); err != nil && ctx.Err() == nil {
				a.log.Error("the scheduler stopped", "err", err)
			}
			janitor.Wait()
		})
	})
	for name, pl := range platforms {
		role := senderRole(name, a.cfg)
		wg.Go(func() {
			lease.Run(ctx, a.store, role, holder, lease.Options{Log: a.log, Held: held("sender")}, func(ctx context.Context) {
				// The lease was free: whoever held the claims of this
				// platform before has stopped, so they are taken over at
				// once.
				pool := delivery.New(a.store, a.tutor, map[string]delivery.Platform{name: pl}, delivery.Options{
					MaxAttempts:   a.cfg.Delivery.MaxAttempts,
					ResendUnknown: a.cfg.Delivery.ResendUnknown,
					Holder:        holder,
					TakeOver:      true,
					Poll:          sharedPoll,
					Meter:         meter,
				}, a.log.With("platform", name))
				r.mu.Lock()
				r.pools[name] = pool
				r.mu.Unlock()
				if err := pool.Run(ctx); err != nil {
					a.log.Error("the delivery workers stopped", "platform", name, "err", err)
				}
				r.mu.Lock()
				delete(r.pools, name)
				r.mu.Unlock()
			})
		})
	}
	return r
}

// Wake wakes the pools running now.
func (r *roles) Wake() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, p := range r.pools {
		p.Wake()
	}
}

// LastTick is the scheduler's heartbeat while this instance schedules, and
// now while it does not: there is no loop of its own to watch then.
func (r *roles) LastTick() time.Time {
	if !r.scheduling.Load() {
		return time.Now()
	}
	return r.sched.LastTick()
}

// LastLook is the oldest heartbeat of the pools running now, or now when
// none runs.
func (r *roles) LastLook() time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	last := time.Now()
	for _, p := range r.pools {
		if t := p.LastLook(); t.Before(last) {
			last = t
		}
	}
	return last
}

// holderLog names the instance in the log, once.
func holderLog(log *slog.Logger, holder string) {
	log.Info("sharing the database with other instances: roles by lease", "holder", holder, "lease_ttl", lease.TTL)
}

// pollerByLease returns the receiving side of a Telegram bot in polling
// mode on a shared database: Telegram ends a getUpdates with 409 when a
// second one comes, so only the instance that holds the poller's lease
// polls, and the others wait on hot standby, asking for the lease every
// TTL/3. Each term polls with a bot of its own (a Bot runs once); it
// resumes from the offset and the journal in the database, where the last
// poller left them.
func pollerByLease(a *app, opts telegram.Options, tut telegram.Tutor, holder string, log *slog.Logger) func(context.Context) error {
	role := "poller:" + chat.Telegram + ":" + botID(chat.Telegram, a.cfg)
	return func(ctx context.Context) error {
		lease.Run(ctx, a.store, role, holder, lease.Options{Log: log, Held: func(h bool) { a.metrics.LeaseHeld("poller", h) }},
			func(ctx context.Context) {
				bot, err := telegram.New(ctx, opts, tut, a.store)
				if err != nil {
					if ctx.Err() == nil {
						log.Error("cannot start polling", "platform", chat.Telegram, "err", err)
					}
					return
				}
				if err := bot.Run(ctx); err != nil && ctx.Err() == nil {
					log.Error("polling stopped", "platform", chat.Telegram, "err", err)
				}
			})
		return nil
	}
}

// updatesKept is how long the inbox remembers a webhook update: Telegram
// keeps an update 24 hours at most, so one older cannot come again.
const updatesKept = 48 * time.Hour

// forgetUpdates deletes the inbox's old updates every hour until ctx ends;
// the scheduler's holder does it, for one instance is enough.
func forgetUpdates(ctx context.Context, a *app) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		if n, err := a.store.ForgetUpdates(ctx, updatesKept); err != nil && ctx.Err() == nil {
			a.log.Warn("forgetting old webhook updates failed", "err", err)
		} else if n > 0 {
			a.log.Debug("forgot old webhook updates", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// storeInbox is the Telegram webhook's inbox in the shared database: the
// store's claims of updates, for the bot, by this instance.
type storeInbox struct {
	store       *store.Store
	bot, holder string
}

// ClaimUpdate claims update id until until.
func (s storeInbox) ClaimUpdate(ctx context.Context, id int64, now, until time.Time) (telegram.InboxClaim, error) {
	c, err := s.store.ClaimUpdate(ctx, s.bot, id, s.holder, until.Sub(now))
	if err != nil {
		return 0, err
	}
	switch c {
	case store.UpdateDone:
		return telegram.InboxDone, nil
	case store.UpdateBusy:
		return telegram.InboxBusy, nil
	}
	return telegram.InboxNew, nil
}

// FinishUpdate records that update id was handled.
func (s storeInbox) FinishUpdate(ctx context.Context, id int64, _ time.Time) error {
	return s.store.FinishUpdate(ctx, s.bot, id, s.holder)
}

// gatewayByLease returns the receiving side of a Discord bot in gateway
// mode on a shared database: only the instance that holds the gateway's
// lease opens a gateway session, so that each event comes once; the
// others wait on hot standby. Each term runs a bot of its own.
func gatewayByLease(a *app, opts discord.Options, tut discord.Tutor, holder string, log *slog.Logger) func(context.Context) error {
	role := "gateway:" + chat.Discord + ":" + botID(chat.Discord, a.cfg)
	return func(ctx context.Context) error {
		lease.Run(ctx, a.store, role, holder, lease.Options{Log: log, Held: func(h bool) { a.metrics.LeaseHeld("gateway", h) }},
			func(ctx context.Context) {
				bot, err := discord.New(ctx, opts, tut)
				if err != nil {
					if ctx.Err() == nil {
						log.Error("cannot open the gateway", "platform", chat.Discord, "err", err)
					}
					return
				}
				if err := bot.Run(ctx); err != nil && ctx.Err() == nil {
					log.Error("the gateway stopped", "platform", chat.Discord, "err", err)
				}
			})
		return nil
	}
}
