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
}

// subscriptionColumns are the columns scanSubscription reads, in order.
const subscriptionColumns = `id, platform, chat_id, thread_id, kind, hour, minute, zone, weekdays,
	level, language, paused_until, active, created_by, created_at`

// scanSubscription reads one row of subscriptionColumns.
func scanSubscription(row interface{ Scan(...any) error }) (Subscription, error) {
	var (
		sub       Subscription
		kind      string
		weekdays  int64
		paused    sql.NullInt64
		active    bool
		createdAt int64
	)
	err := row.Scan(&sub.ID, &sub.Address.Platform, &sub.Address.ChatID, &sub.Address.ThreadID, &kind,
		&sub.Hour, &sub.Minute, &sub.Zone, &weekdays, &sub.Level, &sub.Language, &paused, &active,
		&sub.CreatedBy, &createdAt)
	if err != nil {
		return Subscription{}, err
	}
	sub.Kind = chat.Kind(kind)
	sub.Weekdays = Weekdays(weekdays)
	sub.PausedUntil = fromNullUnix(paused)
	sub.Active = active
	sub.CreatedAt = fromUnix(createdAt)
	return sub, nil
}

// Chat returns the row of the chat at addr, or ErrNotFound when the bot has
// none.
func (s *Store) Chat(ctx context.Context, addr chat.Address) (Subscription, error) {
	row := s.db.QueryRowContext(ctx, `SELECT `+subscriptionColumns+` FROM subscriptions
		WHERE platform = ? AND chat_id = ? AND thread_id = ?`,
		addr.Platform, addr.ChatID, addr.ThreadID)
	sub, err := scanSubscription(row)
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
			zone, weekdays, level, language, paused_until, active, created_by, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (platform, chat_id, thread_id) DO NOTHING`,
		sub.Address.Platform, sub.Address.ChatID, sub.Address.ThreadID, string(sub.Kind), sub.Hour, sub.Minute,
		sub.Zone, int64(sub.Weekdays), sub.Level, sub.Language, unixOrNull(sub.PausedUntil), boolInt(sub.Active),
		sub.CreatedBy, sub.CreatedAt.Unix())
	if err != nil {
		return Subscription{}, fmt.Errorf("store: ensure chat %s: %w", sub.Address.Key(), err)
	}
	stored, err := scanSubscription(tx.QueryRowContext(ctx, `SELECT `+subscriptionColumns+` FROM subscriptions
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
// as they are. It returns ErrNotFound when there is no such row.
func (s *Store) SaveSubscription(ctx context.Context, sub Subscription) error {
	if err := s.lockWrite(ctx); err != nil {
		return fmt.Errorf("store: save subscription %d: %w", sub.ID, err)
	}
	defer s.unlockWrite()
	res, err := s.db.ExecContext(ctx, `UPDATE subscriptions
		SET kind = ?, hour = ?, minute = ?, zone = ?, weekdays = ?, level = ?, language = ?,
			paused_until = ?, active = ?
		WHERE id = ?`,
		string(sub.Kind), sub.Hour, sub.Minute, sub.Zone, int64(sub.Weekdays), sub.Level, sub.Language,
		unixOrNull(sub.PausedUntil), boolInt(sub.Active), sub.ID)
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

// TurnOff turns off the subscription at addr and returns how many were on.
// An address with no thread stands for the whole chat: the subscriptions of
// its threads (a Telegram forum's topics) are turned off too. Settings and
// history stay, so /subscribe later picks up where the chat left off.
func (s *Store) TurnOff(ctx context.Context, addr chat.Address) (int, error) {
	what := "turn off " + addr.Key()
	if err := s.lockWrite(ctx); err != nil {
		return 0, fmt.Errorf("store: %s: %w", what, err)
	}
	defer s.unlockWrite()
	res, err := s.db.ExecContext(ctx, `UPDATE subscriptions SET active = 0
		WHERE platform = ? AND chat_id = ? AND (thread_id = ? OR ? = '') AND active = 1`,
		addr.Platform, addr.ChatID, addr.ThreadID, addr.ThreadID)
	if err != nil {
		return 0, fmt.Errorf("store: %s: %w", what, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("store: %s: %w", what, err)
	}
	return int(n), nil
}

// ActiveSubscriptions returns every active subscription, paused ones
// included (whether a pause is over depends on the clock, which is the
// caller's), in id order.
func (s *Store) ActiveSubscriptions(ctx context.Context) ([]Subscription, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+subscriptionColumns+` FROM subscriptions
		WHERE active = 1 ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("store: active subscriptions: %w", err)
	}
	defer rows.Close()
	var subs []Subscription
	for rows.Next() {
		sub, err := scanSubscription(rows)
		if err != nil {
			return nil, fmt.Errorf("store: active subscriptions: %w", err)
		}
		subs = append(subs, sub)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: active subscriptions: %w", err)
	}
	return subs, nil
}

// SubscriptionCounts returns the number of active subscriptions by platform;
// a platform with none is absent.
func (s *Store) SubscriptionCounts(ctx context.Context) (map[string]int, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT platform, count(*) FROM subscriptions
		WHERE active = 1 GROUP BY platform`)
	if err != nil {
		return nil, fmt.Errorf("store: subscription counts: %w", err)
	}
	defer rows.Close()
	counts := make(map[string]int)
	for rows.Next() {
		var platform string
		var n int
		if err := rows.Scan(&platform, &n); err != nil {
			return nil, fmt.Errorf("store: subscription counts: %w", err)
		}
		counts[platform] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: subscription counts: %w", err)
	}
	return counts, nil
}
