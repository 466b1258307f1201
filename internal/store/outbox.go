package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// enqueueChunk is how many rows one INSERT of EnqueueSlot writes.
const enqueueChunk = 500

// EnqueueSlot writes a pending delivery at slot for each subscription,
// skipping those that already have a row for that slot, in one
// transaction. It returns how many rows it wrote.
func (s *Store) EnqueueSlot(ctx context.Context, subIDs []int64, slot time.Time) (int, error) {
	if len(subIDs) == 0 {
		return 0, nil
	}
	if err := s.lockWrite(ctx); err != nil {
		return 0, fmt.Errorf("store: enqueue slot %s: %w", slot, err)
	}
	defer s.unlockWrite()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("store: enqueue slot %s: %w", slot, err)
	}
	defer tx.Rollback()
	now := s.now().Unix()
	written := 0
	for start := 0; start < len(subIDs); start += enqueueChunk {
		ids := subIDs[start:min(start+enqueueChunk, len(subIDs))]
		var q strings.Builder
		q.WriteString(`INSERT INTO deliveries (subscription_id, slot, state, due_at, created_at, updated_at) VALUES `)
		args := make([]any, 0, len(ids)*4)
		for i, id := range ids {
			if i > 0 {
				q.WriteString(",")
			}
			q.WriteString("(?, ?, 'pending', ?, ?, ?)")
			args = append(args, id, slot.Unix(), slot.Unix(), now, now)
		}
		q.WriteString(` ON CONFLICT (subscription_id, slot) DO NOTHING`)
		res, err := tx.ExecContext(ctx, q.String(), args...)
		if err != nil {
			return 0, fmt.Errorf("store: enqueue slot %s: %w", slot, err)
		}
		n, _ := res.RowsAffected()
		written += int(n)
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("store: enqueue slot %s: %w", slot, err)
	}
	return written, nil
}

// Claim is a delivery claimed by a worker, with its subscription.
type Claim struct {
	Delivery     Delivery
	Subscription Subscription
}

// ClaimDue claims up to limit deliveries to the given platforms that are
// due at now: pending rows
// whose due time has come, and rows whose worker's lease ran out between
// two messages. A row whose lease ran out while a message was being sent
// may have posted it: unless resendUnknown, it is marked unknown and not
// claimed, because a duplicate lesson is worse than a late one. It returns
// the claims, each leased until now+lease, and how many rows it marked
// unknown.
func (s *Store) ClaimDue(ctx context.Context, now time.Time, lease time.Duration, limit int, resendUnknown bool, platforms ...string) ([]Claim, int, error) {
	if len(platforms) == 0 || limit <= 0 {
		return nil, 0, nil
	}
	if err := s.lockWrite(ctx); err != nil {
		return nil, 0, fmt.Errorf("store: claim deliveries: %w", err)
	}
	defer s.unlockWrite()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, 0, fmt.Errorf("store: claim deliveries: %w", err)
	}
	defer tx.Rollback()

	unknown := 0
	if resendUnknown {
		_, err = tx.ExecContext(ctx, `UPDATE deliveries SET inflight = NULL
			WHERE state = 'sending' AND lease_until < ? AND inflight IS NOT NULL`, now.Unix())
	} else {
		var res sql.Result
		res, err = tx.ExecContext(ctx, `UPDATE deliveries SET state = 'unknown', lease_until = NULL,
				last_error = 'interrupted while sending message ' || inflight, updated_at = ?
			WHERE state = 'sending' AND lease_until < ? AND inflight IS NOT NULL`, now.Unix(), now.Unix())
		if err == nil {
			n, _ := res.RowsAffected()
			unknown = int(n)
		}
	}
	if err != nil {
		return nil, 0, fmt.Errorf("store: claim deliveries: %w", err)
	}

	args := []any{now.Add(lease).Unix(), now.Unix(), now.Unix(), now.Unix()}
	for _, p := range platforms {
		args = append(args, p)
	}
	args = append(args, limit)
	rows, err := tx.QueryContext(ctx, `UPDATE deliveries SET state = 'sending', lease_until = ?, updated_at = ?
		WHERE id IN (
			SELECT d.id FROM deliveries d JOIN subscriptions s ON s.id = d.subscription_id
			WHERE s.active = 1 AND (
				(d.state = 'pending' AND d.due_at <= ?) OR
				(d.state = 'sending' AND d.lease_until < ? AND d.inflight IS NULL))
				AND s.platform IN (?`+strings.Repeat(", ?", len(platforms)-1)+`)
			ORDER BY d.due_at, d.id LIMIT ?)
		RETURNING `+deliveryColumns, args...)
	if err != nil {
		return nil, 0, fmt.Errorf("store: claim deliveries: %w", err)
	}
	var claims []Claim
	for rows.Next() {
		d, err := scanDelivery(rows)
		if err != nil {
			rows.Close()
			return nil, 0, fmt.Errorf("store: claim deliveries: %w", err)
		}
		claims = append(claims, Claim{Delivery: d})
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("store: claim deliveries: %w", err)
	}
	for i := range claims {
		row := tx.QueryRowContext(ctx, `SELECT `+subscriptionColumns+` FROM subscriptions WHERE id = ?`, claims[i].Delivery.SubscriptionID)
		if claims[i].Subscription, err = scanSubscription(row); err != nil {
			return nil, 0, fmt.Errorf("store: claim deliveries: subscription %d: %w", claims[i].Delivery.SubscriptionID, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, 0, fmt.Errorf("store: claim deliveries: %w", err)
	}
	return claims, unknown, nil
}

// NextDue returns when the next delivery to the given platforms falls
// due: a pending row's due time, or for a claimed row the second after its
// lease end, when ClaimDue may take it over (leases are whole seconds, and
// one runs out once lease_until < now). ok is false when there is none. It
// only reads, so a worker can wait without writing.
func (s *Store) NextDue(ctx context.Context, platforms ...string) (next time.Time, ok bool, err error) {
	if len(platforms) == 0 {
		return time.Time{}, false, nil
	}
	args := make([]any, len(platforms))
	for i, p := range platforms {
		args[i] = p
	}
	var at sql.NullInt64
	err = s.db.QueryRowContext(ctx, `SELECT min(CASE d.state WHEN 'pending' THEN d.due_at ELSE d.lease_until + 1 END)
		FROM deliveries d JOIN subscriptions s ON s.id = d.subscription_id
		WHERE d.state IN ('pending', 'sending') AND s.active = 1
			AND s.platform IN (?`+strings.Repeat(", ?", len(platforms)-1)+`)`, args...).Scan(&at)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("store: next due delivery: %w", err)
	}
	if !at.Valid {
		return time.Time{}, false, nil
	}
	return fromUnix(at.Int64), true, nil
}

// exec runs one write statement of the outbox and returns once it is
// committed. Statements that callers hand in while another batch is being
// committed wait and then share one transaction, and one fsync (group
// commit): the delivery workers write twice per message they send, and one
// commit each would cap the rate at what the disk syncs a second. A
// statement's own error, such as a unique constraint, fails only that
// statement; once queued, a statement runs even if ctx ends.
func (s *Store) exec(ctx context.Context, what string, query string, args ...any) (sql.Result, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("store: %s: %w", what, err)
	}
	req := &execRequest{query: query, args: args, done: make(chan bool, 1)}
	b := &s.execs
	b.mu.Lock()
	b.queue = append(b.queue, req)
	lead := !b.leading
	b.leading = true
	b.mu.Unlock()
	if !lead {
		lead = <-req.done
	}
	if lead {
		s.commitExecs()
	}
	if req.err != nil {
		return nil, fmt.Errorf("store: %s: %w", what, req.err)
	}
	return req.res, nil
}

// execBatch is the queue of exec's statements. The caller that finds no
// one committing leads: it commits the statements queued by then, its own
// among them, and hands the lead to the first statement queued since.
type execBatch struct {
	mu      sync.Mutex
	queue   []*execRequest
	leading bool
}

// execRequest is one statement waiting in exec.
type execRequest struct {
	query string
	args  []any
	res   sql.Result
	err   error
	// done receives false once the statement is committed (or failed),
	// and true when its caller is to lead instead.
	done chan bool
}

// commitExecs commits the queued statements in one transaction, answers
// their callers, and passes the lead on.
func (s *Store) commitExecs() {
	b := &s.execs
	ctx := context.Background()
	s.lockWrite(ctx) // cannot fail: ctx never ends
	b.mu.Lock()
	batch := b.queue // taken under the write lock: latecomers join it
	b.queue = nil
	b.mu.Unlock()
	s.runExecs(ctx, batch)
	s.unlockWrite()
	b.mu.Lock()
	if len(b.queue) > 0 {
		b.queue[0].done <- true
	} else {
		b.leading = false
	}
	b.mu.Unlock()
	for _, r := range batch {
		r.done <- false // buffered, and each gets one answer
	}
}

// runExecs runs batch in one transaction and sets each statement's result.
func (s *Store) runExecs(ctx context.Context, batch []*execRequest) {
	fail := func(err error) {
		for _, r := range batch {
			if r.err == nil {
				r.res, r.err = nil, err
			}
		}
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		fail(err)
		return
	}
	for _, r := range batch {
		r.res, r.err = tx.ExecContext(ctx, r.query, r.args...)
		if r.err != nil && !isConstraint(r.err) {
			// SQLite may have rolled the whole transaction back: the
			// other statements fail too, rather than run outside it.
			tx.Rollback()
			fail(fmt.Errorf("a statement committed with it failed: %w", r.err))
			return
		}
	}
	if err := tx.Commit(); err != nil {
		fail(err)
	}
}

// isConstraint reports whether err is a violation of any constraint, an
// error that fails one statement and leaves its transaction going.
func isConstraint(err error) bool {
	var e *sqlite.Error
	return errors.As(err, &e) && e.Code()&0xff == sqlite3.SQLITE_CONSTRAINT
}

// AssignLesson sets the lesson of a claimed delivery. A lesson the
// subscription already has a delivery of is refused with an error
// wrapping ErrDuplicate.
func (s *Store) AssignLesson(ctx context.Context, id int64, lessonID string) error {
	_, err := s.exec(ctx, fmt.Sprintf("assign lesson %s to delivery %d", lessonID, id),
		`UPDATE deliveries SET lesson_id = ?, updated_at = ? WHERE id = ?`, lessonID, s.now().Unix(), id)
	if isUnique(errors.Unwrap(err)) || isUnique(err) {
		return fmt.Errorf("store: assign lesson %s to delivery %d: %w", lessonID, id, ErrDuplicate)
	}
	return err
}

// ErrNotClaimed is returned, wrapped, by the writes of a claimed delivery
// (RenewLease, StartMessage, AbortMessage, RetryDelivery, FinishDelivery)
// when the delivery is no longer the caller's: its lease ran out and
// another worker took it over, or it has moved on. They change nothing
// then, so that a worker that outlived its lease cannot send, or undo the
// records of, a delivery another worker now sends.
var ErrNotClaimed = errors.New("delivery not claimed")

// heldBy is the condition of the writes of a claimed delivery. They name
// the claim by held, the lease end the caller last wrote (or was given by
// ClaimDue), and change the row only while it is still being sent under
// that very lease. The lease end serves as the claim's token, with no
// column of its own: another worker can claim the row only once
// lease_until < now, and its claim writes now+lease, a later value, which
// no write of the old holder matches; and as long as the clock does not go
// back, no later claim writes the old value again, nor does a holder, which
// never moves its lease back.
const heldBy = `state = 'sending' AND lease_until = ?`

// claimResult turns a write of a claimed delivery that changed no row into
// an error wrapping ErrNotClaimed.
func claimResult(what string, res sql.Result, err error) error {
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("store: %s: %w", what, err)
	} else if n == 0 {
		return fmt.Errorf("store: %s: %w", what, ErrNotClaimed)
	}
	return nil
}

// RenewLease extends the lease of a delivery the caller claimed, from held
// (the lease end it last wrote) to until, so that a worker that waits long
// (for a rate limit) keeps it: other workers take over only deliveries
// whose lease ran out. It fails with an error wrapping ErrNotClaimed when
// the lease is no longer held: another worker took the delivery over, or it
// is no longer being sent. until must not be before held; equal to it, the
// call only checks that the lease is still held.
func (s *Store) RenewLease(ctx context.Context, id int64, held, until time.Time) error {
	what := fmt.Sprintf("renew the lease of delivery %d", id)
	// updated_at stays: it tells when the delivery last made progress.
	res, err := s.exec(ctx, what, `UPDATE deliveries SET lease_until = ? WHERE id = ? AND `+heldBy,
		until.Unix(), id, held.Unix())
	return claimResult(what, res, err)
}

// StartMessage records that message index of a delivery is about to be
// sent, and extends the lease from held to until, before the send: if the
// process dies during the send, the row shows that the message may have
// been posted. It does so only if the caller still holds the lease, with
// no message under way and exactly index messages sent, and otherwise
// returns an error wrapping ErrNotClaimed: a worker whose lease ran out
// while it waited (for a rate limit) and whose delivery was claimed again
// must not send too.
func (s *Store) StartMessage(ctx context.Context, id int64, held time.Time, index int, until time.Time) error {
	what := fmt.Sprintf("start message %d of delivery %d", index, id)
	res, err := s.exec(ctx, what,
		`UPDATE deliveries SET inflight = ?, lease_until = ?, updated_at = ?
		WHERE id = ? AND `+heldBy+` AND inflight IS NULL AND json_array_length(message_ids) = ?`,
		index, until.Unix(), s.now().Unix(), id, held.Unix(), index)
	return claimResult(what, res, err)
}

// MessageSent records the platform id of message index of a delivery,
// whose send succeeded, and that no send is under way. It holds no lease:
// a message that reached the chat is recorded whoever holds the delivery
// by now, so that it is not sent again.
func (s *Store) MessageSent(ctx context.Context, id int64, index int, messageID string) error {
	idJSON, err := json.Marshal(messageID)
	if err != nil {
		return fmt.Errorf("store: message %d of delivery %d sent: %w", index, id, err)
	}
	_, err = s.exec(ctx, fmt.Sprintf("message %d of delivery %d sent", index, id),
		`UPDATE deliveries SET message_ids = json_insert(message_ids, '$[#]', json(?)), inflight = NULL, updated_at = ?
		WHERE id = ? AND json_array_length(message_ids) = ?`,
		string(idJSON), s.now().Unix(), id, index)
	return err
}

// AbortMessage records that the message under way was not sent (the
// platform refused it for now, such as with a rate limit), so it may be
// sent again safely. held is the caller's lease, as for StartMessage: a
// worker that lost the delivery must not clear the mark of a send that
// the new holder has under way.
func (s *Store) AbortMessage(ctx context.Context, id int64, held time.Time) error {
	what := fmt.Sprintf("abort message of delivery %d", id)
	res, err := s.exec(ctx, what,
		`UPDATE deliveries SET inflight = NULL, updated_at = ? WHERE id = ? AND `+heldBy,
		s.now().Unix(), id, held.Unix())
	return claimResult(what, res, err)
}

// FinishDelivery ends a delivery the caller holds the lease of (held, as
// for StartMessage) in a final state (sent, failed, unknown or exhausted),
// with the last error if any.
func (s *Store) FinishDelivery(ctx context.Context, id int64, held time.Time, state DeliveryState, lastError string) error {
	what := fmt.Sprintf("finish delivery %d as %s", id, state)
	res, err := s.exec(ctx, what,
		`UPDATE deliveries SET state = ?, last_error = ?, lease_until = NULL, inflight = NULL, updated_at = ?
		WHERE id = ? AND `+heldBy,
		string(state), lastError, s.now().Unix(), id, held.Unix())
	return claimResult(what, res, err)
}

// RetryDelivery puts a delivery the caller holds the lease of (held, as
// for StartMessage) back in the queue, due at dueAt. countAttempt adds a
// failed attempt (a transient error); a wait the platform asked for, or a
// shutdown, does not count.
func (s *Store) RetryDelivery(ctx context.Context, id int64, held time.Time, dueAt time.Time, countAttempt bool, lastError string) error {
	what := fmt.Sprintf("retry delivery %d", id)
	res, err := s.exec(ctx, what,
		`UPDATE deliveries SET state = 'pending', due_at = ?, attempts = attempts + ?, last_error = ?,
			lease_until = NULL, inflight = NULL, updated_at = ? WHERE id = ? AND `+heldBy,
		dueAt.Unix(), boolInt(countAttempt), lastError, s.now().Unix(), id, held.Unix())
	return claimResult(what, res, err)
}

// ChatGone deactivates the subscription of a delivery whose chat is gone
// and fails the delivery, in one transaction.
func (s *Store) ChatGone(ctx context.Context, deliveryID, subID int64, lastError string) error {
	if err := s.lockWrite(ctx); err != nil {
		return fmt.Errorf("store: chat of delivery %d gone: %w", deliveryID, err)
	}
	defer s.unlockWrite()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: chat of delivery %d gone: %w", deliveryID, err)
	}
	defer tx.Rollback()
	now := s.now().Unix()
	if _, err := tx.ExecContext(ctx, `UPDATE subscriptions SET active = 0 WHERE id = ?`, subID); err != nil {
		return fmt.Errorf("store: chat of delivery %d gone: %w", deliveryID, err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE deliveries SET state = 'failed', last_error = ?, lease_until = NULL,
			inflight = NULL, updated_at = ? WHERE id = ?`, lastError, now, deliveryID); err != nil {
		return fmt.Errorf("store: chat of delivery %d gone: %w", deliveryID, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: chat of delivery %d gone: %w", deliveryID, err)
	}
	return nil
}

// MoveChat moves a subscription, with its history (deliveries and the
// chat's answers), to a new chat id on the same platform (a Telegram group
// upgraded to a supergroup). When the new
// chat already has a row of its own (someone used the bot there), that
// row is removed first if it was never subscribed; otherwise the move is
// refused with an error wrapping ErrDuplicate.
func (s *Store) MoveChat(ctx context.Context, subID int64, newChatID string) error {
	if err := s.lockWrite(ctx); err != nil {
		return fmt.Errorf("store: move subscription %d: %w", subID, err)
	}
	defer s.unlockWrite()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: move subscription %d: %w", subID, err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `DELETE FROM subscriptions
		WHERE active = 0 AND chat_id = ? AND id != ?
			AND (platform, thread_id) = (SELECT platform, thread_id FROM subscriptions WHERE id = ?)`,
		newChatID, subID, subID); err != nil {
		return fmt.Errorf("store: move subscription %d: %w", subID, err)
	}
	sub, err := scanSubscription(tx.QueryRowContext(ctx, `SELECT `+subscriptionColumns+` FROM subscriptions WHERE id = ?`, subID))
	if err != nil {
		return fmt.Errorf("store: move subscription %d: %w", subID, err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE subscriptions SET chat_id = ? WHERE id = ?`, newChatID, subID); err != nil {
		if isUnique(err) {
			err = ErrDuplicate
		}
		return fmt.Errorf("store: move subscription %d to %s: %w", subID, newChatID, err)
	}
	// The chat's answers move too, so its leaderboard keeps its history.
	moved := sub.Address
	moved.ChatID = newChatID
	if _, err := tx.ExecContext(ctx, `UPDATE answers SET chat = ? WHERE chat = ?`, moved.Key(), sub.Address.Key()); err != nil {
		return fmt.Errorf("store: move the answers of subscription %d: %w", subID, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: move subscription %d: %w", subID, err)
	}
	return nil
}

// Deliveries returns every delivery of a subscription, by slot; for
// tests and the admin's eyes.
func (s *Store) Deliveries(ctx context.Context, subID int64) ([]Delivery, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+deliveryColumns+` FROM deliveries
		WHERE subscription_id = ? ORDER BY slot, id`, subID)
	if err != nil {
		return nil, fmt.Errorf("store: deliveries of %d: %w", subID, err)
	}
	defer rows.Close()
	var out []Delivery
	for rows.Next() {
		d, err := scanDelivery(rows)
		if err != nil {
			return nil, fmt.Errorf("store: deliveries of %d: %w", subID, err)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}
