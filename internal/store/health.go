package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"time"
)

// DB returns the store's connection pool, for the database/sql statistics
// of the operator's metrics. Write nothing through it.
func (s *Store) DB() *sql.DB { return s.db }

// Ping checks that the database still answers, for a readiness probe: its
// file is still the one this store opened (not deleted, moved or
// replaced), it can be opened for reading, and a query returns before ctx
// ends. An open connection keeps answering from a deleted or unreadable
// file, so the query alone would not tell.
func (s *Store) Ping(ctx context.Context) error {
	if s.file != nil {
		now, err := os.Stat(s.path)
		switch {
		case errors.Is(err, os.ErrNotExist):
			return fmt.Errorf("the database file %s is gone", s.path)
		case err != nil:
			return fmt.Errorf("the database file: %w", err)
		case !os.SameFile(now, s.file):
			return fmt.Errorf("the database file %s was replaced while open (restart lessonbot)", s.path)
		}
		f, err := os.Open(s.path)
		if err != nil {
			return fmt.Errorf("the database file cannot be read: %w", err)
		}
		f.Close()
	}
	var exists bool
	if err := s.db.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM kv)`).Scan(&exists); err != nil {
		if ctx.Err() != nil {
			return errors.New("the database did not answer in time")
		}
		return fmt.Errorf("the database does not answer: %w", err)
	}
	return nil
}

// OutboxStats tells the operator how the outbox stands.
type OutboxStats struct {
	// Rows counts the deliveries waiting (pending, due or not yet) and
	// under way (sending), by state.
	Rows map[DeliveryState]int
	// OldestDue is when the pending delivery of an active subscription
	// that fell due first did so, and OldestPlatform its platform; the
	// zero time when none is due.
	OldestDue      time.Time
	OldestPlatform string
}

// Outbox returns the deliveries waiting and under way, and the oldest
// pending delivery due at now. Both read the (state, due_at) index: the
// counts from the index alone (a join to the chats, for their platform,
// would read a row per delivery waiting: 80 times slower at 40,000), the
// oldest as the first entry whose chat is subscribed.
func (s *Store) Outbox(ctx context.Context, now time.Time) (OutboxStats, error) {
	st := OutboxStats{Rows: map[DeliveryState]int{}}
	rows, err := s.db.QueryContext(ctx, `SELECT state, count(*) FROM deliveries INDEXED BY deliveries_state_due
		WHERE state IN ('pending', 'sending') GROUP BY state`)
	if err != nil {
		return st, fmt.Errorf("store: outbox: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var state DeliveryState
		var n int
		if err := rows.Scan(&state, &n); err != nil {
			return st, fmt.Errorf("store: outbox: %w", err)
		}
		st.Rows[state] = n
	}
	if err := rows.Err(); err != nil {
		return st, fmt.Errorf("store: outbox: %w", err)
	}
	var due int64
	err = s.db.QueryRowContext(ctx, `
		SELECT d.due_at, s.platform FROM deliveries d INDEXED BY deliveries_state_due
			CROSS JOIN subscriptions s ON s.id = d.subscription_id
		WHERE d.state = 'pending' AND d.due_at <= ? AND s.active = 1
		ORDER BY d.due_at LIMIT 1`, now.Unix()).Scan(&due, &st.OldestPlatform)
	switch {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return st, fmt.Errorf("store: outbox: %w", err)
	default:
		st.OldestDue = fromUnix(due)
	}
	return st, nil
}

// SlotOutcome is how the deliveries of one slot fared.
type SlotOutcome struct {
	// Slot is the slot's time.
	Slot time.Time
	// Deliveries counts the slot's deliveries; Open those still pending or
	// sending (the slot has ended when none is).
	Deliveries, Open int
	// Sent and Failed count the deliveries sent and failed; Unknown counts
	// the messages that may or may not have arrived.
	Sent, Failed, Unknown int
}

// SlotOutcomes returns the outcome of each slot from since on, oldest
// first, read from a range of the slot index.
func (s *Store) SlotOutcomes(ctx context.Context, since time.Time) ([]SlotOutcome, error) {
	rows, err := s.db.QueryContext(ctx, `
		SELECT slot, count(*), count(*) FILTER (WHERE state IN ('pending', 'sending')), count(*) FILTER (WHERE state = 'sent'), count(*) FILTER (WHERE state = 'failed'), sum(unknown)
		FROM deliveries INDEXED BY deliveries_slot WHERE slot >= ? GROUP BY slot ORDER BY slot`, since.Unix())
	if err != nil {
		return nil, fmt.Errorf("store: slot outcomes: %w", err)
	}
	defer rows.Close()
	var out []SlotOutcome
	for rows.Next() {
		var o SlotOutcome
		var slot int64
		if err := rows.Scan(&slot, &o.Deliveries, &o.Open, &o.Sent, &o.Failed, &o.Unknown); err != nil {
			return nil, fmt.Errorf("store: slot outcomes: %w", err)
		}
		o.Slot = fromUnix(slot)
		out = append(out, o)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: slot outcomes: %w", err)
	}
	return out, nil
}
