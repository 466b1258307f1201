package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// pgdb is the instances mode's own view of the shared PostgreSQL database:
// it seeds the subscriptions and reads the leases and the outbox, in SQL of
// its own, so that it checks lessonbot rather than trusting lessonbot's
// store code.
type pgdb struct{ pool *pgxpool.Pool }

func openPG(ctx context.Context, url string) (*pgdb, error) {
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		return nil, fmt.Errorf("database: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("database: %w", err)
	}
	return &pgdb{pool: pool}, nil
}

func (d *pgdb) Close() { d.pool.Close() }

// hasSchema tells whether the database has lessonbot's tables.
func (d *pgdb) hasSchema(ctx context.Context) (bool, error) {
	var name *string
	err := d.pool.QueryRow(ctx, `SELECT to_regclass('subscriptions')::text`).Scan(&name)
	return name != nil, err
}

// chatsKnown counts the chats the database knows.
func (d *pgdb) chatsKnown(ctx context.Context) (int, error) {
	var n int
	err := d.pool.QueryRow(ctx, `SELECT count(*) FROM subscriptions`).Scan(&n)
	return n, err
}

// seed subscribes n private Telegram chats, ids firstChat on, to a lesson
// every day at hour:minute UTC, as /subscribe would have.
func (d *pgdb) seed(ctx context.Context, n, hour, minute int, now time.Time) error {
	_, err := d.pool.Exec(ctx, `
		INSERT INTO subscriptions (platform, chat_id, kind, hour, minute, zone, weekdays, active, created_at)
		SELECT 'telegram', ($1::bigint + g)::text, 'private', $2, $3, 'UTC', 127, 1, $4
		FROM generate_series(0, $5::bigint - 1) AS g`,
		firstChat, hour, minute, now.Unix(), n)
	if err != nil {
		return fmt.Errorf("seeding %d subscriptions: %w", n, err)
	}
	// The chats stand for a bot's chats that subscribed over days, by
	// which time autovacuum has long analyzed the table. Written all at
	// once a minute before the slot, the table would have no statistics
	// until autovacuum's next round (naptime 1 min): measured, lessonbot's
	// NextDue and claim statements then take 1.3 s and 1.7 s (a nested
	// loop planned for 37 subscriptions) instead of 0.4 ms and 27 ms, and
	// a new sender's start 3-5 s instead of 0.3 s.
	if _, err := d.pool.Exec(ctx, `ANALYZE subscriptions`); err != nil {
		return fmt.Errorf("analyzing the subscriptions: %w", err)
	}
	return nil
}

// lease is a role's lease row.
type lease struct {
	role, holder string
	// live tells that it had not expired by the database's clock.
	live bool
}

// pid returns the process id in the holder id "host:pid:random".
func (l lease) pid() (int, error) {
	f := strings.Split(l.holder, ":")
	if len(f) < 3 {
		return 0, fmt.Errorf("holder %q is not host:pid:random", l.holder)
	}
	return strconv.Atoi(f[len(f)-2])
}

// senderLease returns the Telegram sender's lease, or false when no row
// holds it.
func (d *pgdb) senderLease(ctx context.Context) (lease, bool, error) {
	var l lease
	err := d.pool.QueryRow(ctx, `
		SELECT role, holder, expires_at > (extract(epoch FROM clock_timestamp()) * 1000)::bigint
		FROM leases WHERE role LIKE 'sender:telegram:%'`).Scan(&l.role, &l.holder, &l.live)
	if errors.Is(err, pgx.ErrNoRows) {
		return lease{}, false, nil
	}
	return l, err == nil, err
}

// outbox is the outbox's state at an instant.
type outbox struct {
	rows int
	// subscriptions counts the distinct subscriptions that have a row.
	subscriptions int
	byState       map[string]int
	unknown       int // the sum of deliveries.unknown
}

// open counts the rows not yet in a terminal state.
func (o outbox) open() int { return o.byState["pending"] + o.byState["sending"] }

func (d *pgdb) outbox(ctx context.Context) (outbox, error) {
	o := outbox{byState: map[string]int{}}
	rows, err := d.pool.Query(ctx, `SELECT state, count(*), coalesce(sum(unknown), 0) FROM deliveries GROUP BY state`)
	if err != nil {
		return o, err
	}
	for rows.Next() {
		var state string
		var n, unknown int
		if err := rows.Scan(&state, &n, &unknown); err != nil {
			rows.Close()
			return o, err
		}
		o.byState[state] = n
		o.rows += n
		o.unknown += unknown
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return o, err
	}
	err = d.pool.QueryRow(ctx, `SELECT count(DISTINCT subscription_id) FROM deliveries`).Scan(&o.subscriptions)
	return o, err
}

// underWayRow is a message a holder recorded as under way: its chat and
// its index in the delivery's messages.
type underWayRow struct {
	chat  string
	index int
}

// underWay returns the messages a holder left recorded as under way in
// the deliveries it was sending (the messages of uncertain fate it
// leaves).
func (d *pgdb) underWay(ctx context.Context, holder string) ([]underWayRow, error) {
	rows, err := d.pool.Query(ctx, `
		SELECT s.chat_id, d.inflight FROM deliveries d JOIN subscriptions s ON s.id = d.subscription_id
		WHERE d.state = 'sending' AND d.claimed_by = $1 AND d.inflight IS NOT NULL`, holder)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []underWayRow
	for rows.Next() {
		var r underWayRow
		if err := rows.Scan(&r.chat, &r.index); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// perDelivery returns the number of messages of a delivery sent in full,
// or 0 when none is yet.
func (d *pgdb) perDelivery(ctx context.Context) (int, error) {
	var ids string
	err := d.pool.QueryRow(ctx, `SELECT message_ids FROM deliveries WHERE state = 'sent' AND unknown = 0 LIMIT 1`).Scan(&ids)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	var list []json.RawMessage
	if err := json.Unmarshal([]byte(ids), &list); err != nil {
		return 0, fmt.Errorf("message_ids %q: %w", ids, err)
	}
	return len(list), nil
}

// recorded is a delivery as its row says it went.
type recorded struct {
	chat    string
	state   string
	unknown int
	// messages are the ids of the messages recorded as sent; uncertain
	// counts the messages recorded as of unknown fate (null ids).
	messages  []int
	uncertain int
}

// deliveries returns every delivery row with its chat.
func (d *pgdb) deliveries(ctx context.Context) ([]recorded, error) {
	rows, err := d.pool.Query(ctx, `
		SELECT s.chat_id, d.state, d.unknown, d.message_ids
		FROM deliveries d JOIN subscriptions s ON s.id = d.subscription_id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []recorded
	for rows.Next() {
		var r recorded
		var ids string
		if err := rows.Scan(&r.chat, &r.state, &r.unknown, &ids); err != nil {
			return nil, err
		}
		var list []json.RawMessage
		if err := json.Unmarshal([]byte(ids), &list); err != nil {
			return nil, fmt.Errorf("message_ids %q: %w", ids, err)
		}
		for _, raw := range list {
			if string(raw) == "null" {
				r.uncertain++ // a message of unknown fate
				continue
			}
			// An id is stored as a string; a number would do as well.
			id, err := strconv.Atoi(strings.Trim(string(raw), `"`))
			if err != nil {
				return nil, fmt.Errorf("message id %s: %w", raw, err)
			}
			r.messages = append(r.messages, id)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// leaseState is the Telegram sender's lease row as read at an instant;
// times are the database's (this machine's clock).
type leaseState struct {
	holder            string
	expires, acquired time.Time
}

// senderLeaseRow returns the sender lease's row, or false when there is
// none.
func (d *pgdb) senderLeaseRow(ctx context.Context) (leaseState, bool, error) {
	var l leaseState
	var expires, acquired int64
	err := d.pool.QueryRow(ctx, `SELECT holder, expires_at, acquired_at FROM leases WHERE role LIKE 'sender:telegram:%'`).
		Scan(&l.holder, &expires, &acquired)
	if errors.Is(err, pgx.ErrNoRows) {
		return leaseState{}, false, nil
	}
	if err != nil {
		return leaseState{}, false, err
	}
	l.expires, l.acquired = time.UnixMilli(expires), time.UnixMilli(acquired)
	return l, true, nil
}

// activity is one busy backend of the database, from pg_stat_activity.
type activity struct {
	state, wait, query string
	running            time.Duration // since its query began
}

// activities returns the database's backends that are not idle, but this
// one's.
func (d *pgdb) activities(ctx context.Context) ([]activity, error) {
	rows, err := d.pool.Query(ctx, `
		SELECT coalesce(state, ''), coalesce(wait_event_type || ':' || wait_event, ''),
			left(regexp_replace(query, '\s+', ' ', 'g'), 70),
			extract(epoch FROM clock_timestamp() - query_start)
		FROM pg_stat_activity
		WHERE datname = current_database() AND pid <> pg_backend_pid() AND state <> 'idle'`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []activity
	for rows.Next() {
		var a activity
		var secs float64
		if err := rows.Scan(&a.state, &a.wait, &a.query, &secs); err != nil {
			return nil, err
		}
		a.running = time.Duration(secs * float64(time.Second))
		out = append(out, a)
	}
	return out, rows.Err()
}
