package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Lease is a role that one lessonbot instance holds at a time (see
// AcquireLease).
type Lease struct {
	// Role names the role: "scheduler", "sender:telegram:ID"...
	Role string
	// Holder is the instance that holds it, by its holder id.
	Holder string
	// Expires is when the lease runs out unless its holder renews it.
	Expires time.Time
	// Acquired is when the holder took it.
	Acquired time.Time
	// Left is how long the lease still ran, by the database's clock, when
	// it was read: a standby asks again then rather than at its next turn.
	Left time.Duration
}

// nowMillis is the SQL of the database's clock in unix milliseconds:
// leases are timed by it, so that instances whose clocks differ agree.
func (s *Store) nowMillis() string {
	if s.pg() {
		return `(extract(epoch FROM clock_timestamp()) * 1000)::bigint`
	}
	return `CAST(unixepoch('subsec') * 1000 AS INTEGER)`
}

// AcquireLease takes role for holder for ttl, by the database's clock,
// when no one holds it or its lease ran out, or renews it when holder
// holds it already. held tells whether holder holds it now; current is
// the lease as it stands, whoever holds it (zero when no one does).
func (s *Store) AcquireLease(ctx context.Context, role, holder string, ttl time.Duration) (held bool, current Lease, err error) {
	now := s.nowMillis()
	var expires, acquired int64
	var by string
	err = s.queryRow(ctx, "acquire the lease "+role, []any{&by, &expires, &acquired},
		`INSERT INTO leases (role, holder, expires_at, acquired_at) VALUES (?, ?, `+now+` + ?, `+now+`)
		ON CONFLICT (role) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at,
			acquired_at = CASE WHEN leases.holder = excluded.holder THEN leases.acquired_at ELSE excluded.acquired_at END
		WHERE leases.holder = excluded.holder OR leases.expires_at < excluded.acquired_at
		RETURNING holder, expires_at, acquired_at`, role, holder, ttl.Milliseconds())
	switch {
	case err == nil:
		return true, Lease{Role: role, Holder: by, Expires: time.UnixMilli(expires).UTC(), Acquired: time.UnixMilli(acquired).UTC()}, nil
	case errors.Is(err, sql.ErrNoRows):
		// Held by another, and not run out.
		current, err := s.lease(ctx, role)
		return false, current, err
	default:
		return false, Lease{}, err
	}
}

// lease reads the lease of role, zero when there is none.
func (s *Store) lease(ctx context.Context, role string) (Lease, error) {
	var l Lease
	var expires, acquired, left int64
	err := s.db.QueryRowContext(ctx, `SELECT role, holder, expires_at, acquired_at, expires_at - `+s.nowMillis()+`
		FROM leases WHERE role = ?`, role).Scan(&l.Role, &l.Holder, &expires, &acquired, &left)
	if errors.Is(err, sql.ErrNoRows) {
		return Lease{}, nil
	}
	if err != nil {
		return Lease{}, fmt.Errorf("store: lease %s: %w", role, err)
	}
	l.Expires, l.Acquired = time.UnixMilli(expires).UTC(), time.UnixMilli(acquired).UTC()
	l.Left = time.Duration(left) * time.Millisecond
	return l, nil
}

// ReleaseLease gives role up, if holder holds it, so that another instance
// may take it at once rather than when it would have run out.
func (s *Store) ReleaseLease(ctx context.Context, role, holder string) error {
	_, err := s.exec(ctx, "release the lease "+role, `DELETE FROM leases WHERE role = ? AND holder = ?`, role, holder)
	return err
}

// Leases returns the leases held, run out or not, by role.
func (s *Store) Leases(ctx context.Context) ([]Lease, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT role, holder, expires_at, acquired_at FROM leases ORDER BY role`)
	if err != nil {
		return nil, fmt.Errorf("store: leases: %w", err)
	}
	defer rows.Close()
	var out []Lease
	for rows.Next() {
		var l Lease
		var expires, acquired int64
		if err := rows.Scan(&l.Role, &l.Holder, &expires, &acquired); err != nil {
			return nil, fmt.Errorf("store: leases: %w", err)
		}
		l.Expires, l.Acquired = time.UnixMilli(expires).UTC(), time.UnixMilli(acquired).UTC()
		out = append(out, l)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: leases: %w", err)
	}
	return out, nil
}

// UpdateClaim is what ClaimUpdate found of an update.
type UpdateClaim int

const (
	// UpdateNew: the caller holds the update now and is to handle it.
	UpdateNew UpdateClaim = iota
	// UpdateDone: the update was handled already; nothing is to be done.
	UpdateDone
	// UpdateBusy: another holder is handling it; ask again later.
	UpdateBusy
)

// ClaimUpdate claims update id of bot for holder for hold, by the
// database's clock (as leases are, so that instances whose clocks differ
// agree): it returns UpdateNew when the update is new, or when its
// earlier holder's claim ran out without its handling ending (that holder
// died); UpdateDone when it was handled; UpdateBusy while another holder's
// claim runs.
func (s *Store) ClaimUpdate(ctx context.Context, bot string, id int64, holder string, hold time.Duration) (UpdateClaim, error) {
	now := s.nowMillis()
	var by string
	err := s.queryRow(ctx, fmt.Sprintf("claim update %d", id), []any{&by},
		`INSERT INTO inbound_updates (bot, update_id, holder, until, received_at) VALUES (?, ?, ?, `+now+` + ?, `+now+`)
		ON CONFLICT (bot, update_id) DO UPDATE SET holder = excluded.holder, until = excluded.until
		WHERE inbound_updates.done_at IS NULL AND inbound_updates.until < excluded.received_at
		RETURNING holder`, bot, id, holder, hold.Milliseconds())
	if err == nil {
		return UpdateNew, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return 0, err
	}
	var done sql.NullInt64
	if err := s.db.QueryRowContext(ctx, `SELECT done_at FROM inbound_updates WHERE bot = ? AND update_id = ?`, bot, id).Scan(&done); err != nil {
		return 0, fmt.Errorf("store: claim update %d: %w", id, err)
	}
	if done.Valid {
		return UpdateDone, nil
	}
	return UpdateBusy, nil
}

// FinishUpdate records that update id of bot, claimed by holder, was
// handled.
func (s *Store) FinishUpdate(ctx context.Context, bot string, id int64, holder string) error {
	_, err := s.exec(ctx, fmt.Sprintf("finish update %d", id),
		`UPDATE inbound_updates SET done_at = `+s.nowMillis()+` WHERE bot = ? AND update_id = ? AND holder = ?`, bot, id, holder)
	return err
}

// ForgetUpdates deletes the updates received more than age ago, by the
// database's clock, and returns how many.
func (s *Store) ForgetUpdates(ctx context.Context, age time.Duration) (int, error) {
	res, err := s.exec(ctx, "forget old updates", `DELETE FROM inbound_updates WHERE received_at < `+s.nowMillis()+` - ?`, age.Milliseconds())
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}
