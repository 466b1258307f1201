package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/lessonbot/lessonbot/internal/chat"
)

// Weekdays is a set of days of the week: bit i is time.Weekday(i), so
// Sunday is bit 0. It is stored as that integer.
type Weekdays uint8

// EveryDay is the set of all seven days.
const EveryDay Weekdays = 0x7f

// Has reports whether d is in the set.
func (w Weekdays) Has(d time.Weekday) bool {
	return d >= time.Sunday && d <= time.Saturday && w&(1<<d) != 0
}

// String names the set the way /days accepts it: "every day", "mon-fri",
// "sat,sun", "mon,wed,fri". Days are listed Monday to Sunday, and three or
// more consecutive days are shortened to a range such as "fri-sun". The
// empty set is "none".
func (w Weekdays) String() string {
	switch w & EveryDay {
	case EveryDay:
		return "every day"
	case 0:
		return "none"
	}
	return w.Format(func(d time.Weekday) string { return strings.ToLower(d.String()[:3]) })
}

// Format lists the days of w, Monday first, each written by name: three
// days or more in a row as a range ("mon-fri"), others one by one, all
// separated by commas ("mon,wed,fri-sun"). Every day is the range from
// Monday to Sunday; no day is "".
func (w Weekdays) Format(name func(time.Weekday) string) string {
	w &= EveryDay
	// The week as people list it, Monday first.
	weekOrder := [...]time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday,
		time.Friday, time.Saturday, time.Sunday}
	var parts []string
	for i := 0; i < len(weekOrder); {
		if !w.Has(weekOrder[i]) {
			i++
			continue
		}
		j := i
		for j+1 < len(weekOrder) && w.Has(weekOrder[j+1]) {
			j++
		}
		if j-i >= 2 {
			parts = append(parts, name(weekOrder[i])+"-"+name(weekOrder[j]))
		} else {
			for k := i; k <= j; k++ {
				parts = append(parts, name(weekOrder[k]))
			}
		}
		i = j + 1
	}
	return strings.Join(parts, ",")
}

// Subscription is a chat the bot knows and its lesson settings. A chat that
// only asked for a lesson on demand has one too, with Active false.
type Subscription struct {
	// ID is the row id; 0 for a subscription not stored yet.
	ID int64
	// Address is the chat, unique among subscriptions.
	Address chat.Address
	// Kind is the sort of chat.
	Kind chat.Kind
	// Hour and Minute are the time of day of the lesson, in Zone.
	Hour, Minute int
	// Zone is an IANA time zone name such as "Europe/Paris".
	Zone string
	// Weekdays are the days a lesson comes.
	Weekdays Weekdays
	// Level restricts lessons to one CEFR level; empty means any.
	Level string
	// Language is the bot's UI language in this chat.
	Language string
	// PausedUntil is when a pause ends; the zero time means not paused.
	PausedUntil time.Time
	// Active is whether the chat is subscribed to scheduled lessons.
	Active bool
	// CreatedBy is the platform user id of whoever first used the bot in
	// the chat.
	CreatedBy string
	// CreatedAt is when the row was created.
	CreatedAt time.Time
	// Summary is the chat's choice of the weekly summary: nil for the
	// default (on in a private chat, off elsewhere).
	Summary *bool
}

// SummaryOn reports whether the chat gets the weekly summary: its own
// choice, or the default for its kind (on in a private chat).
func (s Subscription) SummaryOn() bool {
	if s.Summary != nil {
		return *s.Summary
	}
	return s.Kind == chat.Private
}

// subscriptionColumns are the columns scanSubscription reads, in order.
const subscriptionColumns = `id, platform, chat_id, thread_id, kind, hour, minute, zone, weekdays,
	level, language, paused_until, active, created_by, created_at, summary`

// scanSubscription reads one row of subscriptionColumns, and counts it
// (see SubscriptionRowsRead).
func (s *Store) scanSubscription(row interface{ Scan(...any) error }) (Subscription, error) {
	dest, finish := s.subscriptionDest()
	if err := row.Scan(dest...); err != nil {
		return Subscription{}, err
	}
	return finish(), nil
}

// subscriptionDest returns the destinations of a row of
// subscriptionColumns, for Scan, and what makes a Subscription of them
// (and counts it) once it has run.
func (s *Store) subscriptionDest() ([]any, func() Subscription) {
	var (
		sub       Subscription
		kind      string
		weekdays  int64
		paused    sql.NullInt64
		active    bool
		createdAt int64
		summary   sql.NullBool
	)
	dest := []any{&sub.ID, &sub.Address.Platform, &sub.Address.ChatID, &sub.Address.ThreadID, &kind,
		&sub.Hour, &sub.Minute, &sub.Zone, &weekdays, &sub.Level, &sub.Language, &paused, &active,
		&sub.CreatedBy, &createdAt, &summary}
	return dest, func() Subscription {
		s.subscriptionRows.Add(1)
		sub.Kind = chat.Kind(kind)
		sub.Weekdays = Weekdays(weekdays)
		sub.PausedUntil = fromNullUnix(paused)
		sub.Active = active
		sub.CreatedAt = fromUnix(createdAt)
		if summary.Valid {
			on := summary.Bool
			sub.Summary = &on
		}
		return sub
	}
}

// Chat returns the row of the chat at addr, or ErrNotFound when the bot has
// none.
func (s *Store) Chat(ctx context.Context, addr chat.Address) (Subscription, error) {
	row := s.db.QueryRowContext(ctx, `SELECT `+subscriptionColumns+` FROM subscriptions
		WHERE platform = ? AND chat_id = ? AND thread_id = ?`,
		addr.Platform, addr.ChatID, addr.ThreadID)
	sub, err := s.scanSubscription(row)
	if errors.Is(err, sql.ErrNoRows) {
		return Subscription{}, ErrNotFound
	}
	if err != nil {
		return Subscription{}, fmt.Errorf("store: chat %s: %w", addr.Key(), err)
	}
	return sub, nil
}

// EnsureChat inserts sub (its ID ignored) when its address has no row yet,
// and returns the stored row either way: an existing row is left unchanged,
// so two first commands racing in one chat end up with one row. A zero
// CreatedAt is set to now.
func (s *Store) EnsureChat(ctx context.Context, sub Subscription) (Subscription, error) {
	if sub.CreatedAt.IsZero() {
		sub.CreatedAt = s.now()
	}
	if err := s.lockWrite(ctx); err != nil {
		return Subscription{}, fmt.Errorf("store: ensure chat %s: %w", sub.Address.Key(), err)
	}
	defer s.unlockWrite()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return Subscription{}, fmt.Errorf("store: ensure chat %s: %w", sub.Address.Key(), err)
	}
	defer tx.Rollback()
	_, err = tx.ExecContext(ctx, `INSERT INTO subscriptions (platform, chat_id, thread_id, kind, hour, minute,
			zone, weekdays, level, language, paused_until, active, created_by, created_at, summary, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (platform, chat_id, thread_id) DO NOTHING`,
		sub.Address.Platform, sub.Address.ChatID, sub.Address.ThreadID, string(sub.Kind), sub.Hour, sub.Minute,
		sub.Zone, int64(sub.Weekdays), sub.Level, sub.Language, unixOrNull(sub.PausedUntil), boolInt(sub.Active),
		sub.CreatedBy, sub.CreatedAt.Unix(), nullBool(sub.Summary), s.now().Unix())
	if err != nil {
		return Subscription{}, fmt.Errorf("store: ensure chat %s: %w", sub.Address.Key(), err)
	}
	stored, err := s.scanSubscription(tx.QueryRowContext(ctx, `SELECT `+subscriptionColumns+` FROM subscriptions
		WHERE platform = ? AND chat_id = ? AND thread_id = ?`,
		sub.Address.Platform, sub.Address.ChatID, sub.Address.ThreadID))
	if err != nil {
		return Subscription{}, fmt.Errorf("store: ensure chat %s: %w", sub.Address.Key(), err)
	}
	if err := tx.Commit(); err != nil {
		return Subscription{}, fmt.Errorf("store: ensure chat %s: %w", sub.Address.Key(), err)
	}
	return stored, nil
}

// SaveSubscription writes every setting of the row sub.ID: kind, time, zone,
// days, level, language, pause and active. The address and created_* stay
// as they are. It returns ErrNotFound when there is no such row. A chat it
// turns off unsubscribed (see Growth).
func (s *Store) SaveSubscription(ctx context.Context, sub Subscription) error {
	if err := s.lockWrite(ctx); err != nil {
		return fmt.Errorf("store: save subscription %d: %w", sub.ID, err)
	}
	defer s.unlockWrite()
	res, err := s.db.ExecContext(ctx, `UPDATE subscriptions
		SET kind = ?, hour = ?, minute = ?, zone = ?, weekdays = ?, level = ?, language = ?,
			paused_until = ?, active = ?, summary = ?, gone = 0, updated_at = ?
		WHERE id = ?`,
		string(sub.Kind), sub.Hour, sub.Minute, sub.Zone, int64(sub.Weekdays), sub.Level, sub.Language,
		unixOrNull(sub.PausedUntil), boolInt(sub.Active), nullBool(sub.Summary), s.now().Unix(), sub.ID)
	if err != nil {
		return fmt.Errorf("store: save subscription %d: %w", sub.ID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("store: save subscription %d: %w", sub.ID, err)
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}

// SaveChat stores every setting of sub at its address (kind, time, zone,
// days, level, language, pause and active), creating the chat's row when
// it has none, with sub's CreatedBy and CreatedAt (now when zero), and
// returns the row's id. It is one statement, committed together with the
// writes of others under way (group commit): a wave of new subscribers
// costs a few fsyncs, not two each. A chat it turns off unsubscribed (see
// Growth).
func (s *Store) SaveChat(ctx context.Context, sub Subscription) (int64, error) {
	if sub.CreatedAt.IsZero() {
		sub.CreatedAt = s.now()
	}
	var id int64
	err := s.queryRow(ctx, "save chat "+sub.Address.Key(), []any{&id}, `INSERT INTO subscriptions (platform, chat_id,
			thread_id, kind, hour, minute, zone, weekdays, level, language, paused_until, active, created_by, created_at, summary,
			updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (platform, chat_id, thread_id) DO UPDATE SET kind = excluded.kind, hour = excluded.hour,
			minute = excluded.minute, zone = excluded.zone, weekdays = excluded.weekdays, level = excluded.level,
			language = excluded.language, paused_until = excluded.paused_until, active = excluded.active,
			summary = excluded.summary, gone = 0, updated_at = excluded.updated_at
		RETURNING id`,
		sub.Address.Platform, sub.Address.ChatID, sub.Address.ThreadID, string(sub.Kind), sub.Hour, sub.Minute,
		sub.Zone, int64(sub.Weekdays), sub.Level, sub.Language, unixOrNull(sub.PausedUntil), boolInt(sub.Active),
		sub.CreatedBy, sub.CreatedAt.Unix(), nullBool(sub.Summary), s.now().Unix())
	return id, err
}

// TurnOff turns off the subscription at addr and returns the ids of those
// it turned off. An address with no thread stands for the whole chat: the
// subscriptions of its threads (a Telegram forum's topics) are turned off
// too. Settings and history stay, so /subscribe later picks up where the
// chat left off. The dashboard counts the chats it turns off as gone: the
// bot lost them (see Growth).
func (s *Store) TurnOff(ctx context.Context, addr chat.Address) ([]int64, error) {
	what := "turn off " + addr.Key()
	if err := s.lockWrite(ctx); err != nil {
		return nil, fmt.Errorf("store: %s: %w", what, err)
	}
	defer s.unlockWrite()
	rows, err := s.db.QueryContext(ctx, `UPDATE subscriptions SET active = 0, gone = 1, updated_at = ?
		WHERE platform = ? AND chat_id = ? AND (thread_id = ? OR ? = '') AND active = 1
		RETURNING id`,
		s.now().Unix(), addr.Platform, addr.ChatID, addr.ThreadID, addr.ThreadID)
	if err != nil {
		return nil, fmt.Errorf("store: %s: %w", what, err)
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("store: %s: %w", what, err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: %s: %w", what, err)
	}
	return ids, nil
}

// ActiveSubscriptions returns every active subscription, paused ones
// included (whether a pause is over depends on the clock, which is the
// caller's), in id order. It reads them all: the scheduler calls it once,
// at start.
func (s *Store) ActiveSubscriptions(ctx context.Context) ([]Subscription, error) {
	return s.subscriptions(ctx, "active subscriptions", `SELECT `+subscriptionColumns+` FROM subscriptions
		WHERE active = 1 ORDER BY id`)
}

// ScheduledSubscriptions returns the active subscriptions, paused ones
// included, whose lessons come at hour:minute in zone on days: one entry
// of the schedule, read by an index when it fires.
func (s *Store) ScheduledSubscriptions(ctx context.Context, hour, minute int, zone string, days Weekdays) ([]Subscription, error) {
	return s.subscriptions(ctx, "scheduled subscriptions", `SELECT `+subscriptionColumns+` FROM subscriptions
		WHERE active = 1 AND hour = ? AND minute = ? AND zone = ? AND weekdays = ?`, hour, minute, zone, int64(days))
}

// subscriptions runs query and reads the subscriptions it returns.
func (s *Store) subscriptions(ctx context.Context, what, query string, args ...any) ([]Subscription, error) {
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("store: %s: %w", what, err)
	}
	defer rows.Close()
	var subs []Subscription
	for rows.Next() {
		sub, err := s.scanSubscription(rows)
		if err != nil {
			return nil, fmt.Errorf("store: %s: %w", what, err)
		}
		subs = append(subs, sub)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: %s: %w", what, err)
	}
	return subs, nil
}

// SubscriptionRowsRead returns how many subscription rows the store has
// read since it was opened: what a change to one chat costs the schedule
// shows here (a test holds it to a few rows, where reading them all would
// make a wave of new subscribers quadratic).
func (s *Store) SubscriptionRowsRead() int64 { return s.subscriptionRows.Load() }

// SubscriptionCounts returns the number of active subscriptions by platform;
// a platform with none is absent.
func (s *Store) SubscriptionCounts(ctx context.Context) (map[string]int, error) {
	counts, err := s.ChatCounts(ctx)
	if err != nil {
		return nil, err
	}
	out := map[string]int{}
	for k, n := range counts {
		if n > 0 {
			out[k.Platform] += n
		}
	}
	return out, nil
}

// ChatKind is a platform and a kind of chat.
type ChatKind struct {
	Platform string
	Kind     chat.Kind
}

// ChatCounts returns the number of active subscriptions by platform and
// kind of chat, kept by triggers on every write of a subscription.
func (s *Store) ChatCounts(ctx context.Context) (map[ChatKind]int, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT platform, kind, active FROM chat_counts`)
	if err != nil {
		return nil, fmt.Errorf("store: chat counts: %w", err)
	}
	defer rows.Close()
	counts := map[ChatKind]int{}
	for rows.Next() {
		var k ChatKind
		var n int
		if err := rows.Scan(&k.Platform, &k.Kind, &n); err != nil {
			return nil, fmt.Errorf("store: chat counts: %w", err)
		}
		counts[k] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: chat counts: %w", err)
	}
	return counts, nil
}
