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
	var exists int
	if err := s.db.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM kv)`).Scan(&exists); err != nil {
		if ctx.Err() != nil {
			return errors.New("the database did not answer in time")
		}
		return fmt.Errorf("the database does not answer: %w", err)
	}
	return nil
}

// OutboxRow is one group of the outbox's rows: a platform and a state.
type OutboxRow struct {
	Platform string
	State    DeliveryState
}

// OutboxStats tells the operator how the outbox stands.
type OutboxStats struct {
	// Rows counts the deliveries by platform and state: every pending and
	// sending one, and the others of the slots since the time asked for.
	Rows map[OutboxRow]int
	// OldestDue is, by platform, when the pending delivery of an active
	// subscription that fell due first did so; a platform with no pending
	// delivery due is absent.
	OldestDue map[string]time.Time
}

// Outbox returns the outbox's figures at now: the deliveries waiting or
// under way, those of the slots from since on by state, and the oldest
// pending delivery due by platform. The pending rows are read through
// the (state, due_at) index and the recent ones through the slot index,
// so the cost follows the rows counted, not the outbox's whole history.
func (s *Store) Outbox(ctx context.Context, now, since time.Time) (OutboxStats, error) {
	st := OutboxStats{Rows: map[OutboxRow]int{}, OldestDue: map[string]time.Time{}}
	count := func(query string, args ...any) error {
		rows, err := s.db.QueryContext(ctx, query, args...)
		if err != nil {
			return fmt.Errorf("store: outbox: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var r OutboxRow
			var n int
			if err := rows.Scan(&r.Platform, &r.State, &n); err != nil {
				return fmt.Errorf("store: outbox: %w", err)
			}
			st.Rows[r] += n
		}
		return rows.Err()
	}
	if err := count(`
		SELECT s.platform, d.state, count(*) FROM deliveries d JOIN subscriptions s ON s.id = d.subscription_id
		WHERE d.state IN ('pending', 'sending') GROUP BY 1, 2`); err != nil {
		return st, err
	}
	if err := count(`
		SELECT s.platform, d.state, count(*) FROM deliveries d JOIN subscriptions s ON s.id = d.subscription_id
		WHERE d.slot >= ? AND d.state NOT IN ('pending', 'sending') GROUP BY 1, 2`, since.Unix()); err != nil {
		return st, err
	}
	rows, err := s.db.QueryContext(ctx, `
		SELECT s.platform, min(d.due_at) FROM deliveries d JOIN subscriptions s ON s.id = d.subscription_id
		WHERE d.state = 'pending' AND d.due_at <= ? AND s.active = 1 GROUP BY 1`, now.Unix())
	if err != nil {
		return st, fmt.Errorf("store: outbox: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var platform string
		var due int64
		if err := rows.Scan(&platform, &due); err != nil {
			return st, fmt.Errorf("store: outbox: %w", err)
		}
		st.OldestDue[platform] = fromUnix(due)
	}
	return st, rows.Err()
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
		SELECT slot, count(*), sum(state IN ('pending', 'sending')), sum(state = 'sent'), sum(state = 'failed'), sum(unknown)
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
