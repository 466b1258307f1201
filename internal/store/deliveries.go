package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// DeliveryKind is what a delivery carries.
type DeliveryKind string

// The kinds of delivery: each subscription has at most one of each per
// slot.
const (
	// LessonDelivery is a lesson: its post, its questions and the review.
	LessonDelivery DeliveryKind = "lesson"
	// SummaryDelivery is the weekly summary.
	SummaryDelivery DeliveryKind = "summary"
)

// DeliveryState is where a delivery stands in the outbox.
type DeliveryState string

// The states of a delivery.
const (
	// DeliveryPending is due and waiting to be claimed.
	DeliveryPending DeliveryState = "pending"
	// DeliverySending is claimed by a worker until its lease ends.
	DeliverySending DeliveryState = "sending"
	// DeliverySent has had all its messages sent.
	DeliverySent DeliveryState = "sent"
	// DeliveryFailed gave up after its attempts.
	DeliveryFailed DeliveryState = "failed"
	// DeliveryUnknown may or may not have reached the chat (a timeout after
	// the request was written), and is not sent again.
	DeliveryUnknown DeliveryState = "unknown"
	// DeliveryExhausted is a slot that found no lesson left to send.
	DeliveryExhausted DeliveryState = "exhausted"
)

// Delivery is one lesson for one subscription at one slot: a row of the
// outbox.
type Delivery struct {
	// ID is the row id.
	ID int64
	// SubscriptionID is the subscription the lesson goes to.
	SubscriptionID int64
	// Kind is what the delivery carries.
	Kind DeliveryKind
	// LessonID is the lesson; empty for an exhausted slot.
	LessonID string
	// Slot is the scheduled time, or the time of an on-demand send; unique
	// per subscription.
	Slot time.Time
	// State is where the delivery stands.
	State DeliveryState
	// Attempts counts the sends tried.
	Attempts int
	// MessageIDs are the platform ids of the messages sent so far, in
	// order, so that after a crash only the missing ones are sent; "" for
	// a message that may or may not have arrived.
	MessageIDs []string
	// LastError is the error of the last failed attempt.
	LastError string
	// LeaseUntil is when a claim expires; zero when not claimed.
	LeaseUntil time.Time
	// Inflight is the index of the message whose send is under way, or
	// -1 when none is.
	Inflight int
	// DueAt is when the row may be claimed: its slot, or later for a
	// retry.
	DueAt time.Time
	// ClaimedBy is the holder id of the process whose claim the delivery
	// is being sent under; "" when no one holds it.
	ClaimedBy string
	// Unknown counts the messages that may or may not have arrived; their
	// MessageIDs are "".
	Unknown int
	// Review is what the lesson's review block holds, as the tutor wrote
	// it when it first composed the lesson (SetReview); "" until then.
	Review string
	// CreatedAt and UpdatedAt are when the row was written first and last.
	CreatedAt, UpdatedAt time.Time
}

// deliveryColumns are the columns scanDelivery reads, in order.
const deliveryColumns = `id, subscription_id, lesson_id, slot, state, attempts, message_ids, last_error,
	lease_until, created_at, updated_at, inflight, due_at, claimed_by, unknown, kind, review`

// scanDelivery reads one row of deliveryColumns.
func scanDelivery(row interface{ Scan(...any) error }) (Delivery, error) {
	dest, finish := deliveryDest()
	if err := row.Scan(dest...); err != nil {
		return Delivery{}, err
	}
	return finish()
}

// deliveryDest returns the destinations of a row of deliveryColumns, for
// Scan, and what makes a Delivery of them once it has run; a statement
// may then read a delivery and other columns in one row.
func deliveryDest() ([]any, func() (Delivery, error)) {
	var (
		d                    Delivery
		lesson               sql.NullString
		state, ids           string
		slot, created, updat int64
		lease, inflight      sql.NullInt64
		due                  int64
		holder, review       sql.NullString
		kind                 string
	)
	dest := []any{&d.ID, &d.SubscriptionID, &lesson, &slot, &state, &d.Attempts, &ids, &d.LastError,
		&lease, &created, &updat, &inflight, &due, &holder, &d.Unknown, &kind, &review}
	return dest, func() (Delivery, error) {
		if err := json.Unmarshal([]byte(ids), &d.MessageIDs); err != nil {
			return Delivery{}, fmt.Errorf("message ids of delivery %d: %w", d.ID, err)
		}
		d.LessonID = lesson.String
		d.Slot = fromUnix(slot)
		d.State = DeliveryState(state)
		d.LeaseUntil = fromNullUnix(lease)
		d.CreatedAt = fromUnix(created)
		d.UpdatedAt = fromUnix(updat)
		d.Inflight = -1
		if inflight.Valid {
			d.Inflight = int(inflight.Int64)
		}
		d.DueAt = fromUnix(due)
		d.ClaimedBy = holder.String
		d.Kind = DeliveryKind(kind)
		d.Review = review.String
		return d, nil
	}
}

// RecordSent records a lesson sent on demand (/lesson) at time at: a
// delivery in state sent whose slot is at, so the schedule continues after
// that lesson. A lesson already delivered to the subscription, or a second
// delivery in the same second, is refused with an error wrapping
// ErrDuplicate.
func (s *Store) RecordSent(ctx context.Context, subID int64, lessonID string, at time.Time) (Delivery, error) {
	if lessonID == "" {
		return Delivery{}, fmt.Errorf("store: record sent to %d: empty lesson id", subID)
	}
	if err := s.lockWrite(ctx); err != nil {
		return Delivery{}, fmt.Errorf("store: record sent %s to %d: %w", lessonID, subID, err)
	}
	defer s.unlockWrite()
	row := s.db.QueryRowContext(ctx, `INSERT INTO deliveries (subscription_id, lesson_id, slot, state,
			attempts, message_ids, last_error, created_at, updated_at, due_at)
		VALUES (?, ?, ?, 'sent', 1, '[]', '', ?, ?, ?)
		RETURNING `+deliveryColumns,
		subID, lessonID, at.Unix(), at.Unix(), at.Unix(), at.Unix())
	d, err := scanDelivery(row)
	if isUnique(err) {
		err = ErrDuplicate
	}
	if err != nil {
		return Delivery{}, fmt.Errorf("store: record sent %s to %d: %w", lessonID, subID, err)
	}
	return d, nil
}

// LastDelivered returns the subscription's latest delivery, by slot, that
// carries a lesson and was sent, or may have been (state unknown); it
// returns ErrNotFound when there is none.
func (s *Store) LastDelivered(ctx context.Context, subID int64) (Delivery, error) {
	row := s.db.QueryRowContext(ctx, `SELECT `+deliveryColumns+` FROM deliveries
		WHERE subscription_id = ? AND kind = 'lesson' AND lesson_id IS NOT NULL AND state IN ('sent', 'unknown')
		ORDER BY slot DESC LIMIT 1`, subID)
	d, err := scanDelivery(row)
	if errors.Is(err, sql.ErrNoRows) {
		return Delivery{}, ErrNotFound
	}
	if err != nil {
		return Delivery{}, fmt.Errorf("store: last delivered to %d: %w", subID, err)
	}
	return d, nil
}

// DeliveredLessons returns the id of every lesson that has a delivery row
// for the subscription, whatever its state: a lesson once queued is never
// picked again for that chat.
func (s *Store) DeliveredLessons(ctx context.Context, subID int64) (map[string]bool, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT lesson_id FROM deliveries
		WHERE subscription_id = ? AND lesson_id IS NOT NULL`, subID)
	if err != nil {
		return nil, fmt.Errorf("store: delivered lessons of %d: %w", subID, err)
	}
	defer rows.Close()
	ids := make(map[string]bool)
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("store: delivered lessons of %d: %w", subID, err)
		}
		ids[id] = true
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: delivered lessons of %d: %w", subID, err)
	}
	return ids, nil
}

// DeliveryCounts returns the number of deliveries whose slot is at or after
// since, by state; a state with none is absent.
func (s *Store) DeliveryCounts(ctx context.Context, since time.Time) (map[DeliveryState]int, error) {
	// Without INDEXED BY the planner walks the whole state index to group
	// by state; the range of recent slots is a small part of it.
	rows, err := s.db.QueryContext(ctx, `SELECT state, count(*) FROM deliveries INDEXED BY deliveries_slot
		WHERE slot >= ? GROUP BY state`, since.Unix())
	if err != nil {
		return nil, fmt.Errorf("store: delivery counts: %w", err)
	}
	defer rows.Close()
	counts := make(map[DeliveryState]int)
	for rows.Next() {
		var state string
		var n int
		if err := rows.Scan(&state, &n); err != nil {
			return nil, fmt.Errorf("store: delivery counts: %w", err)
		}
		counts[DeliveryState(state)] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: delivery counts: %w", err)
	}
	return counts, nil
}

// UnknownMessages returns how many messages of the deliveries whose slot
// is at or after since may or may not have arrived.
func (s *Store) UnknownMessages(ctx context.Context, since time.Time) (int, error) {
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT coalesce(sum(unknown), 0) FROM deliveries WHERE slot >= ?`,
		since.Unix()).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: unknown messages: %w", err)
	}
	return n, nil
}

// SetReview records what a lesson's review block holds, unless it holds
// something already, and returns what it holds: the first composition of
// a lesson chooses its review items, and a delivery resumed after a crash
// sends the same ones.
func (s *Store) SetReview(ctx context.Context, id int64, review string) (string, error) {
	var stored string
	err := s.queryRow(ctx, fmt.Sprintf("set the review of delivery %d", id), []any{&stored},
		`UPDATE deliveries SET review = coalesce(review, ?) WHERE id = ? RETURNING review`, review, id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", ErrNotFound
	}
	return stored, err
}

// LessonsSent counts the lessons sent to a subscription whose slot is in
// [from, to).
func (s *Store) LessonsSent(ctx context.Context, subID int64, from, to time.Time) (int, error) {
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM deliveries
		WHERE subscription_id = ? AND kind = 'lesson' AND state = 'sent' AND slot >= ? AND slot < ?`,
		subID, from.Unix(), to.Unix()).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: lessons sent to %d: %w", subID, err)
	}
	return n, nil
}
