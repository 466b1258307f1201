package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/lessonbot/lessonbot/internal/alerts"
	"github.com/lessonbot/lessonbot/internal/chat"
	"github.com/lessonbot/lessonbot/internal/config"
	"github.com/lessonbot/lessonbot/internal/delivery"
	"github.com/lessonbot/lessonbot/internal/ratelimit"
	"github.com/lessonbot/lessonbot/internal/store"
)

// alertTarget is one admin chat that gets the alerts, and the sender and
// rate budget of its platform.
type alertTarget struct {
	to     chat.Address
	kind   chat.Kind
	sender delivery.Sender
	budget *ratelimit.Budget
}

// alertTargets returns the configured alert chats whose platform runs;
// a chat configured for a platform that does not run is logged.
func alertTargets(cfg config.Config, platforms map[string]delivery.Platform, log *slog.Logger) []alertTarget {
	var out []alertTarget
	add := func(key, platform, id string, kind chat.Kind) {
		p, ok := platforms[platform]
		if !ok {
			log.Warn(key+" is set but no "+platform+" bot runs; those alerts are not sent", "platform", platform)
			return
		}
		out = append(out, alertTarget{to: chat.Address{Platform: platform, ChatID: id}, kind: kind, sender: p.Sender, budget: p.Budget})
	}
	if id := cfg.Alerts.TelegramChat; id != 0 {
		kind := chat.Private
		if id < 0 {
			kind = chat.Group // a group or a channel: the stricter per-chat limit
		}
		add("alerts.telegram_chat", chat.Telegram, strconv.FormatInt(id, 10), kind)
	}
	if id := cfg.Alerts.DiscordChannel; id != "" {
		add("alerts.discord_channel", chat.Discord, id, chat.Group)
	}
	return out
}

// postAlerts returns the function that posts an alert to every target,
// each message taking its turn from the platform's budget as a reply.
func postAlerts(targets []alertTarget) func(ctx context.Context, text string) error {
	return func(ctx context.Context, text string) error {
		msg := chat.Message{Blocks: []chat.Block{{Kind: chat.Text, Text: text}}}
		var errs []error
		for _, t := range targets {
			if t.budget != nil {
				if err := t.budget.Wait(ctx, t.to, t.kind, ratelimit.Reply); err != nil {
					errs = append(errs, fmt.Errorf("%s chat %s: %w", t.to.Platform, t.to.ChatID, err))
					continue
				}
			}
			if _, err := t.sender.Send(ctx, t.to, t.kind, msg); err != nil {
				errs = append(errs, fmt.Errorf("%s chat %s: %w", t.to.Platform, t.to.ChatID, err))
			}
		}
		return errors.Join(errs...)
	}
}

// lessonErrors returns the errors of the lesson files in service now.
func (a *app) lessonErrors() []string {
	var out []string
	for _, p := range a.lessons.Problems() {
		if !p.Warning {
			out = append(out, p.String())
		}
	}
	return out
}

// meters tells several delivery meters of each send.
type meters []delivery.Meter

// Sent tells each meter of a send.
func (ms meters) Sent(platform string, err error, took time.Duration) {
	for _, m := range ms {
		m.Sent(platform, err, took)
	}
}

// Late tells each meter of a delivery's lateness.
func (ms meters) Late(platform string, d time.Duration) {
	for _, m := range ms {
		m.Late(platform, d)
	}
}

// rateLimits is a delivery meter that records every "too many requests"
// answer of a platform in the store (one upsert each), for the
// dashboard's Delivery page: how many 429s a day, and the waits they
// asked for.
type rateLimits struct {
	store *store.Store
	now   func() time.Time
	log   *slog.Logger
}

// recordTimeout bounds the write of one 429: the pool's worker waits for
// it, and the platform asked it to wait anyway.
const recordTimeout = 5 * time.Second

// Sent records err when it is a platform's rate limit.
func (r rateLimits) Sent(platform string, err error, took time.Duration) {
	var se *chat.SendError
	if !errors.As(err, &se) || se.Kind != chat.RateLimited {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), recordTimeout)
	defer cancel()
	if err := r.store.RecordRateLimited(ctx, platform, r.now(), se.RetryAfter); err != nil {
		r.log.Warn("recording a rate limit for the dashboard failed", "platform", platform, "err", err)
	}
}

// Late is not the dashboard's business: the store records the lateness
// of each delivery with its first message.
func (rateLimits) Late(string, time.Duration) {}

// newAlerts returns the alert watcher for the configured targets, or nil
// when there is none.
func newAlerts(a *app, targets []alertTarget, log *slog.Logger) *alerts.Watcher {
	if len(targets) == 0 {
		return nil
	}
	return alerts.New(alerts.Options{
		Store: a.store, LessonErrors: a.lessonErrors, Post: postAlerts(targets), Log: log,
	})
}
