package store

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/lessonbot/lessonbot/internal/chat"
)

// enqueueChunk is how many rows one INSERT of EnqueueSlot writes.
const enqueueChunk = 500

// EnqueueSlot writes a pending lesson delivery at slot for each
// subscription, skipping those that already have one for that slot, in
// one transaction. It returns how many rows it wrote.
func (s *Store) EnqueueSlot(ctx context.Context, subIDs []int64, slot time.Time) (int, error) {
	return s.Enqueue(ctx, LessonDelivery, subIDs, slot)
}

// Enqueue writes a pending delivery of kind at slot for each subscription,
// skipping those that already have one of that kind for that slot, in one
// transaction. It returns how many rows it wrote.
func (s *Store) Enqueue(ctx context.Context, kind DeliveryKind, subIDs []int64, slot time.Time) (int, error) {
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
		q.WriteString(`INSERT INTO deliveries (subscription_id, kind, slot, state, due_at, created_at, updated_at) VALUES `)
		args := make([]any, 0, len(ids)*6)
		for i, id := range ids {
			if i > 0 {
				q.WriteString(",")
			}
			q.WriteString("(?, ?, ?, 'pending', ?, ?, ?)")
			args = append(args, id, string(kind), slot.Unix(), slot.Unix(), now, now)
		}
		q.WriteString(` ON CONFLICT (subscription_id, slot, kind) DO NOTHING`)
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

// platformIn is the condition on a delivery's subscription that it is to
// one of n platforms, with the platforms as its n arguments.
func platformIn(n int) string {
	return `subscription_id IN (SELECT id FROM subscriptions WHERE platform IN (?` + strings.Repeat(", ?", n-1) + `))`
}

// ClaimDue claims, for holder, up to limit deliveries to the given
// platforms that are due at now, each leased until now+lease. Before it
// claims, it releases the claims of other holders whose lease ran out (see
// TakeOver for what becomes of a message that was under way then) and
// returns how many messages that left unknown. A holder never loses a
// claim of its own this way: while it runs, it knows what it holds.
func (s *Store) ClaimDue(ctx context.Context, now time.Time, holder string, lease time.Duration, limit int, resendUnknown bool, platforms ...string) ([]Claim, int, error) {
	if len(platforms) == 0 || limit <= 0 {
		return nil, 0, nil
	}
	if s.pg() {
		return s.claimDuePostgres(ctx, now, holder, lease, limit, resendUnknown, platforms)
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
	key, released := s.releasedAt(now, holder, resendUnknown, platforms)
	unknown := 0
	if !released {
		if _, unknown, err = s.releaseExpired(ctx, tx, now, holder, resendUnknown, platforms); err != nil {
			return nil, 0, fmt.Errorf("store: claim deliveries: %w", err)
		}
	}
	args := []any{holder, now.Add(lease).Unix(), now.Unix(), now.Unix()}
	for _, p := range platforms {
		args = append(args, p)
	}
	args = append(args, limit)
	claim, err := s.txStmt(ctx, tx, `UPDATE deliveries SET state = 'sending', claimed_by = ?, lease_until = ?, updated_at = ?
		WHERE id IN (
			SELECT d.id FROM deliveries d JOIN subscriptions s ON s.id = d.subscription_id
			WHERE d.state = 'pending' AND d.due_at <= ? AND s.active = 1
				AND s.platform IN (?`+strings.Repeat(", ?", len(platforms)-1)+`)
			ORDER BY d.due_at, d.id LIMIT ?)
		RETURNING `+deliveryColumns)
	if err != nil {
		return nil, 0, fmt.Errorf("store: claim deliveries: %w", err)
	}
	rows, err := claim.QueryContext(ctx, args...)
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
	if err := s.claimedSubscriptions(ctx, tx, claims); err != nil {
		return nil, 0, fmt.Errorf("store: claim deliveries: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return nil, 0, fmt.Errorf("store: claim deliveries: %w", err)
	}
	if !released {
		s.lastRelease.Store(key)
	}
	return claims, unknown, nil
}

// releasedAt returns the key of a look for claims whose lease ran out by
// now, and whether this store has already made that look. Leases end on
// whole seconds: the claims that ran out by now were all released if this
// holder released them earlier in the same second, and another look would
// only scan every row being sent again.
func (s *Store) releasedAt(now time.Time, holder string, resendUnknown bool, platforms []string) (string, bool) {
	key := fmt.Sprint(now.Unix(), holder, resendUnknown, platforms)
	return key, s.lastRelease.Load() == key
}

// releaseExpired releases the claims of other holders than holder whose
// lease ran out by now (see TakeOver for what becomes of a message that
// was under way then).
func (s *Store) releaseExpired(ctx context.Context, tx *sql.Tx, now time.Time, holder string, resendUnknown bool, platforms []string) (released, unknown int, err error) {
	return s.release(ctx, tx, now, `lease_until < ? AND claimed_by IS DISTINCT FROM ?`, []any{now.Unix(), holder}, resendUnknown, platforms)
}

// claimDuePostgres is ClaimDue on PostgreSQL. Claims run concurrently, in
// this process and in others: each skips the rows that another has locked
// (SKIP LOCKED; without it, an UPDATE that waited for another would
// re-check only the id once that one commits, and claim the row a second
// time). The claim and the read of its subscriptions are one statement,
// one round trip.
func (s *Store) claimDuePostgres(ctx context.Context, now time.Time, holder string, lease time.Duration, limit int, resendUnknown bool, platforms []string) ([]Claim, int, error) {
	key, released := s.releasedAt(now, holder, resendUnknown, platforms)
	unknown := 0
	if !released {
		tx, err := s.db.BeginTx(ctx, nil)
		if err != nil {
			return nil, 0, fmt.Errorf("store: claim deliveries: %w", err)
		}
		defer tx.Rollback()
		if _, unknown, err = s.releaseExpired(ctx, tx, now, holder, resendUnknown, platforms); err != nil {
			return nil, 0, fmt.Errorf("store: claim deliveries: %w", err)
		}
		if err := tx.Commit(); err != nil {
			return nil, 0, fmt.Errorf("store: claim deliveries: %w", err)
		}
		s.lastRelease.Store(key)
	}
	// The rows are picked in a WITH of their own, which runs once: as the
	// IN (subquery) of the UPDATE, as on SQLite, the planner may run the
	// subquery again for each row, and each run skips the rows locked by
	// the run before, so a claim of one row could take several.
	query := `WITH picked AS (
			SELECT d.id FROM deliveries d JOIN subscriptions s ON s.id = d.subscription_id
			WHERE d.state = 'pending' AND d.due_at <= ? AND s.active = 1
				AND s.platform IN (?` + strings.Repeat(", ?", len(platforms)-1) + `)
			ORDER BY d.due_at, d.id LIMIT ? FOR UPDATE OF d SKIP LOCKED),
		claimed AS (
			UPDATE deliveries SET state = 'sending', claimed_by = ?, lease_until = ?, updated_at = ?
			FROM picked WHERE deliveries.id = picked.id AND deliveries.state = 'pending'
			RETURNING ` + qualified("deliveries", deliveryColumns) + `)
		SELECT c.*, ` + qualified("s", subscriptionColumns) + ` FROM claimed c JOIN subscriptions s ON s.id = c.subscription_id`
	args := []any{now.Unix()}
	for _, p := range platforms {
		args = append(args, p)
	}
	args = append(args, limit, holder, now.Add(lease).Unix(), now.Unix())
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, 0, fmt.Errorf("store: claim deliveries: %w", err)
	}
	defer rows.Close()
	var claims []Claim
	for rows.Next() {
		dd, delivery := deliveryDest()
		sd, subscription := s.subscriptionDest()
		if err := rows.Scan(append(dd, sd...)...); err != nil {
			return nil, 0, fmt.Errorf("store: claim deliveries: %w", err)
		}
		d, err := delivery()
		if err != nil {
			return nil, 0, fmt.Errorf("store: claim deliveries: %w", err)
		}
		claims = append(claims, Claim{Delivery: d, Subscription: subscription()})
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("store: claim deliveries: %w", err)
	}
	// Claims come in the order of the deliveries, as on SQLite.
	slices.SortFunc(claims, func(a, b Claim) int {
		return cmp.Or(a.Delivery.DueAt.Compare(b.Delivery.DueAt), cmp.Compare(a.Delivery.ID, b.Delivery.ID))
	})
	return claims, unknown, nil
}

// qualified prefixes each of a list of columns with table and a dot.
func qualified(table, columns string) string {
	cols := strings.Split(columns, ",")
	for i, c := range cols {
		cols[i] = table + "." + strings.TrimSpace(c)
	}
	return strings.Join(cols, ", ")
}

// claimedSubscriptions reads the subscriptions of claims, all with one
// statement (on PostgreSQL, one round trip rather than one per claim).
func (s *Store) claimedSubscriptions(ctx context.Context, tx *sql.Tx, claims []Claim) error {
	if len(claims) == 0 {
		return nil
	}
	ids := make([]any, 0, len(claims))
	seen := make(map[int64]bool, len(claims))
	for _, c := range claims {
		if id := c.Delivery.SubscriptionID; !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	rows, err := tx.QueryContext(ctx, `SELECT `+subscriptionColumns+` FROM subscriptions
		WHERE id IN (?`+strings.Repeat(", ?", len(ids)-1)+`)`, ids...)
	if err != nil {
		return err
	}
	defer rows.Close()
	subs := make(map[int64]Subscription, len(ids))
	for rows.Next() {
		sub, err := s.scanSubscription(rows)
		if err != nil {
			return err
		}
		subs[sub.ID] = sub
	}
	if err := rows.Err(); err != nil {
		return err
	}
	for i := range claims {
		id := claims[i].Delivery.SubscriptionID
		sub, ok := subs[id]
		if !ok {
			return fmt.Errorf("subscription %d: %w", id, ErrNotFound)
		}
		claims[i].Subscription = sub
	}
	return rows.Close()
}

// TakeOver releases every claim that another holder than holder has on a
// delivery to the given platforms, however long its lease still runs. Only
// a process that knows the other holders are dead may call it: one that
// holds the database lock, which a dead process's kernel released.
//
// A released delivery is pending again, due at once, and resumes after its
// last recorded message. A message that was under way when its holder died
// may or may not have arrived: unless resendUnknown, it is recorded as
// unknown and not sent again; the messages after it are sent, unless it
// was the post, for questions without their article make no sense, and the
// delivery ends as unknown. It returns how many claims it released and how
// many messages it left unknown.
func (s *Store) TakeOver(ctx context.Context, holder string, resendUnknown bool, platforms ...string) (released, unknown int, err error) {
	if len(platforms) == 0 {
		return 0, 0, nil
	}
	if err := s.lockWrite(ctx); err != nil {
		return 0, 0, fmt.Errorf("store: take over claims: %w", err)
	}
	defer s.unlockWrite()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, 0, fmt.Errorf("store: take over claims: %w", err)
	}
	defer tx.Rollback()
	released, unknown, err = s.release(ctx, tx, s.now(), `claimed_by IS DISTINCT FROM ?`, []any{holder}, resendUnknown, platforms)
	if err != nil {
		return 0, 0, fmt.Errorf("store: take over claims: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return 0, 0, fmt.Errorf("store: take over claims: %w", err)
	}
	return released, unknown, nil
}

// release puts the claims that match cond (with its args) among the
// deliveries being sent to platforms back in the queue, as TakeOver
// describes, and returns how many it released and how many messages it
// left unknown.
func (s *Store) release(ctx context.Context, tx *sql.Tx, now time.Time, cond string, condArgs []any, resendUnknown bool, platforms []string) (released, unknown int, err error) {
	where := `state = 'sending' AND ` + cond + ` AND ` + platformIn(len(platforms))
	whereArgs := append([]any{}, condArgs...)
	for _, p := range platforms {
		whereArgs = append(whereArgs, p)
	}
	exec := func(query string, args ...any) (int, error) {
		st, err := s.txStmt(ctx, tx, query)
		if err != nil {
			return 0, err
		}
		res, err := st.ExecContext(ctx, append(args, whereArgs...)...)
		if err != nil {
			return 0, err
		}
		n, err := res.RowsAffected()
		return int(n), err
	}
	if resendUnknown {
		if _, err := exec(`UPDATE deliveries SET inflight = NULL WHERE inflight IS NOT NULL AND ` + where); err != nil {
			return 0, 0, err
		}
	} else {
		// An uncertain post ends the delivery.
		n, err := exec(`UPDATE deliveries SET state = 'unknown', message_ids = `+s.appendMessageID(`'null'`)+`,
				unknown = unknown + 1, inflight = NULL, claimed_by = NULL, lease_until = NULL,
				last_error = 'interrupted while sending the post', updated_at = ?
			WHERE inflight = 0 AND `+where, now.Unix())
		if err != nil {
			return 0, 0, err
		}
		unknown += n
		released += n
		// An uncertain question is skipped.
		n, err = exec(`UPDATE deliveries SET message_ids = `+s.appendMessageID(`'null'`)+`,
				unknown = unknown + 1, inflight = NULL,
				last_error = 'interrupted while sending message ' || inflight, updated_at = ?
			WHERE inflight > 0 AND `+where, now.Unix())
		if err != nil {
			return 0, 0, err
		}
		unknown += n
	}
	n, err := exec(`UPDATE deliveries SET state = 'pending', claimed_by = NULL, lease_until = NULL, updated_at = ?
		WHERE inflight IS NULL AND `+where, now.Unix())
	if err != nil {
		return 0, 0, err
	}
	return released + n, unknown, nil
}

// RenewLeases extends to until the lease of every delivery that holder has
// claimed and is sending, and returns how many it renewed. A holder renews
// all its claims at once, however many it has.
func (s *Store) RenewLeases(ctx context.Context, holder string, until time.Time) (int, error) {
	// updated_at stays: it tells when a delivery last made progress.
	res, err := s.exec(ctx, "renew the leases of "+holder,
		`UPDATE deliveries SET lease_until = ? WHERE claimed_by = ? AND state = 'sending'`, until.Unix(), holder)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// ReleaseClaims puts back in the queue every delivery holder has claimed
// with no message under way, for a holder that stops: they are due at once
// for whoever delivers next. A claim with a message under way stays: only
// TakeOver or the end of its lease may judge whether that message arrived.
func (s *Store) ReleaseClaims(ctx context.Context, holder string) (int, error) {
	res, err := s.exec(ctx, "release the claims of "+holder,
		`UPDATE deliveries SET state = 'pending', claimed_by = NULL, lease_until = NULL, updated_at = ?
		WHERE claimed_by = ? AND state = 'sending' AND inflight IS NULL`, s.now().Unix(), holder)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// NextDue returns when the next delivery to the given platforms falls
// due for holder: a pending row's due time, or for a row another holder
// claimed the second after its lease end, when ClaimDue may release it
// (leases are whole seconds, and one runs out once lease_until < now). ok
// is false when there is none. It only reads, so a worker can wait
// without writing.
func (s *Store) NextDue(ctx context.Context, holder string, platforms ...string) (next time.Time, ok bool, err error) {
	if len(platforms) == 0 {
		return time.Time{}, false, nil
	}
	args := make([]any, 0, 2*len(platforms)+1)
	for _, p := range platforms {
		args = append(args, p)
	}
	args = append(args, holder)
	for _, p := range platforms {
		args = append(args, p)
	}
	in := `(?` + strings.Repeat(", ?", len(platforms)-1) + `)`
	// Each part walks an index in time order and stops at its first row.
	var at sql.NullInt64
	st, err := s.prepared(ctx, `SELECT min(t) FROM (
			SELECT * FROM (SELECT d.due_at AS t FROM deliveries d JOIN subscriptions s ON s.id = d.subscription_id
				WHERE d.state = 'pending' AND s.active = 1 AND s.platform IN `+in+`
				ORDER BY d.due_at LIMIT 1) AS pending
			UNION ALL
			SELECT * FROM (SELECT d.lease_until + 1 AS t FROM deliveries d JOIN subscriptions s ON s.id = d.subscription_id
				WHERE d.state = 'sending' AND d.claimed_by IS DISTINCT FROM ? AND s.platform IN `+in+`
				ORDER BY d.lease_until LIMIT 1) AS expired) AS due`)
	if err == nil {
		err = st.QueryRowContext(ctx, args...).Scan(&at)
	}
	if err != nil {
		return time.Time{}, false, fmt.Errorf("store: next due delivery: %w", err)
	}
	if !at.Valid {
		return time.Time{}, false, nil
	}
	return fromUnix(at.Int64), true, nil
}

// exec runs one write statement and returns once it is committed.
// Statements that callers hand in while another batch is being committed
// wait and then share one transaction, and one fsync (group commit): the
// delivery workers write twice per message they send, and one commit each
// would cap the rate at what the disk syncs a second. A statement's own
// error, such as a unique constraint, fails only that statement; once
// queued, a statement runs even if ctx ends.
func (s *Store) exec(ctx context.Context, what string, query string, args ...any) (sql.Result, error) {
	req := &execRequest{query: query, args: args}
	if err := s.batched(ctx, req); err != nil {
		return nil, fmt.Errorf("store: %s: %w", what, err)
	}
	return req.res, nil
}

// queryRow runs one write statement that returns a row (RETURNING) as
// exec does, in a shared transaction, and scans that row into dest. A
// statement that returns no row fails with sql.ErrNoRows.
func (s *Store) queryRow(ctx context.Context, what string, dest []any, query string, args ...any) error {
	req := &execRequest{query: query, args: args, dest: dest}
	if err := s.batched(ctx, req); err != nil {
		return fmt.Errorf("store: %s: %w", what, err)
	}
	return nil
}

// batched queues req and returns its error once it is committed. On
// PostgreSQL, which commits many transactions at once by itself and aborts
// a whole transaction on a statement's error, req runs at once in its own.
func (s *Store) batched(ctx context.Context, req *execRequest) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.pg() {
		ctx := context.WithoutCancel(ctx) // as a queued statement: it runs
		if req.dest != nil {
			return s.db.QueryRowContext(ctx, req.query, req.args...).Scan(req.dest...)
		}
		req.res, req.err = s.db.ExecContext(ctx, req.query, req.args...)
		return req.err
	}
	req.done = make(chan bool, 1)
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
	return req.err
}

// execBatch is the queue of exec's statements. The caller that finds no
// one committing leads: it commits the statements queued by then, its own
// among them, and hands the lead to the first statement queued since.
type execBatch struct {
	mu      sync.Mutex
	queue   []*execRequest
	leading bool
}

// execRequest is one statement waiting in exec or queryRow.
type execRequest struct {
	query string
	args  []any
	// dest, when set, receives the row the statement returns.
	dest []any
	res  sql.Result
	err  error
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
		st, err := s.txStmt(ctx, tx, r.query)
		switch {
		case err != nil:
			r.err = err
		case r.dest != nil:
			r.err = st.QueryRowContext(ctx, r.args...).Scan(r.dest...)
		default:
			r.res, r.err = st.ExecContext(ctx, r.args...)
		}
		if r.err != nil && !isConstraint(r.err) && !errors.Is(r.err, sql.ErrNoRows) {
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
	if pgErrorClass(err) == "23" {
		return true
	}
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
// (StartMessage, MessageUnknown, AbortMessage, RetryDelivery,
// FinishDelivery) when the delivery is no longer the caller's: another
// holder took it over, or it has moved on. They change nothing then, so
// that a holder that lost a delivery cannot send, or undo the records of,
// a delivery another one now sends.
var ErrNotClaimed = errors.New("delivery not claimed")

// heldBy is the condition of the writes of a claimed delivery, with the
// holder's id as its argument: the row is still being sent under that
// holder's claim.
const heldBy = `state = 'sending' AND claimed_by = ?`

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

// StartMessage records that message index of a delivery is about to be
// sent, before the send: if the process dies during the send, the row
// shows that the message may have been posted. It does so only while
// holder holds the claim, with no message under way and exactly index
// messages recorded, and otherwise returns an error wrapping
// ErrNotClaimed: a holder whose delivery was taken over must not send too.
func (s *Store) StartMessage(ctx context.Context, id int64, holder string, index int) error {
	what := fmt.Sprintf("start message %d of delivery %d", index, id)
	res, err := s.exec(ctx, what,
		`UPDATE deliveries SET inflight = ?, updated_at = ?
		WHERE id = ? AND `+heldBy+` AND inflight IS NULL AND `+s.messageCount()+` = ?`,
		index, s.now().Unix(), id, holder, index)
	return claimResult(what, res, err)
}

// MessageSent records the platform id of message index of a delivery,
// whose send succeeded, and that no send is under way. It names no holder:
// a message that reached the chat is recorded whoever holds the delivery
// by now, so that it is not sent again.
func (s *Store) MessageSent(ctx context.Context, id int64, index int, messageID string) error {
	idJSON, err := json.Marshal(messageID)
	if err != nil {
		return fmt.Errorf("store: message %d of delivery %d sent: %w", index, id, err)
	}
	query := `UPDATE deliveries SET message_ids = ` + s.appendMessageID(`?`) + `, inflight = NULL, updated_at = ?
		WHERE id = ? AND ` + s.messageCount() + ` = ?`
	if index == 0 {
		// The first message's time is the delivery's lateness against its
		// slot, and where the delays of its answers start.
		query = `UPDATE deliveries SET message_ids = ` + s.appendMessageID(`?`) + `, inflight = NULL, updated_at = ?,
			first_sent_at = coalesce(first_sent_at, ?)
		WHERE id = ? AND ` + s.messageCount() + ` = ?`
	}
	now := s.now().Unix()
	args := []any{string(idJSON), now, id, index}
	if index == 0 {
		args = []any{string(idJSON), now, now, id, index}
	}
	_, err = s.exec(ctx, fmt.Sprintf("message %d of delivery %d sent", index, id), query, args...)
	return err
}

// MessageUnknown records that message index of a delivery holder holds
// may or may not have arrived (its send timed out after the request was
// written), so that it is never sent again; its id is recorded as empty.
// An uncertain post (index 0) ends the delivery as unknown, for questions
// without their article make no sense; after an uncertain question the
// delivery goes on with the next one.
func (s *Store) MessageUnknown(ctx context.Context, id int64, holder string, index int, lastError string) error {
	what := fmt.Sprintf("message %d of delivery %d unknown", index, id)
	res, err := s.exec(ctx, what,
		`UPDATE deliveries SET message_ids = `+s.appendMessageID(`'null'`)+`, unknown = unknown + 1,
			inflight = NULL, last_error = ?, updated_at = ?,
			state = CASE WHEN ? = 0 THEN 'unknown' ELSE state END,
			claimed_by = CASE WHEN ? = 0 THEN NULL ELSE claimed_by END,
			lease_until = CASE WHEN ? = 0 THEN NULL ELSE lease_until END
		WHERE id = ? AND `+heldBy+` AND `+s.messageCount()+` = ?`,
		lastError, s.now().Unix(), index, index, index, id, holder, index)
	return claimResult(what, res, err)
}

// AbortMessage records that the message under way was not sent (the
// platform refused it for now, such as with a rate limit), so it may be
// sent again safely. A holder that lost the delivery must not clear the
// mark of a send that the new holder has under way: it gets an error
// wrapping ErrNotClaimed.
func (s *Store) AbortMessage(ctx context.Context, id int64, holder string) error {
	what := fmt.Sprintf("abort message of delivery %d", id)
	res, err := s.exec(ctx, what,
		`UPDATE deliveries SET inflight = NULL, updated_at = ? WHERE id = ? AND `+heldBy,
		s.now().Unix(), id, holder)
	return claimResult(what, res, err)
}

// FinishDelivery ends a delivery holder holds in a final state (sent,
// failed, unknown or exhausted), with the last error if any.
func (s *Store) FinishDelivery(ctx context.Context, id int64, holder string, state DeliveryState, lastError string) error {
	what := fmt.Sprintf("finish delivery %d as %s", id, state)
	res, err := s.exec(ctx, what,
		`UPDATE deliveries SET state = ?, last_error = ?, claimed_by = NULL, lease_until = NULL, inflight = NULL, updated_at = ?
		WHERE id = ? AND `+heldBy,
		string(state), lastError, s.now().Unix(), id, holder)
	return claimResult(what, res, err)
}

// RetryDelivery puts a delivery holder holds back in the queue, due at
// dueAt. countAttempt adds a failed attempt (a transient error); a wait
// the platform asked for, or a shutdown, does not count.
func (s *Store) RetryDelivery(ctx context.Context, id int64, holder string, dueAt time.Time, countAttempt bool, lastError string) error {
	what := fmt.Sprintf("retry delivery %d", id)
	res, err := s.exec(ctx, what,
		`UPDATE deliveries SET state = 'pending', due_at = ?, attempts = attempts + ?, last_error = ?,
			claimed_by = NULL, lease_until = NULL, inflight = NULL, updated_at = ? WHERE id = ? AND `+heldBy,
		dueAt.Unix(), boolInt(countAttempt), lastError, s.now().Unix(), id, holder)
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
	if _, err := tx.ExecContext(ctx, `UPDATE subscriptions SET active = 0, gone = 1, updated_at = ? WHERE id = ? AND active = 1`,
		now, subID); err != nil {
		return fmt.Errorf("store: chat of delivery %d gone: %w", deliveryID, err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE deliveries SET state = 'failed', last_error = ?, claimed_by = NULL,
			lease_until = NULL, inflight = NULL, updated_at = ? WHERE id = ?`, lastError, now, deliveryID); err != nil {
		return fmt.Errorf("store: chat of delivery %d gone: %w", deliveryID, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: chat of delivery %d gone: %w", deliveryID, err)
	}
	return nil
}

// MoveChat moves a subscription, with its history (deliveries and the
// chat's answers), to a new chat id on the same platform (a Telegram group
// upgraded to a supergroup). When the new chat already has a row of its
// own (someone used the bot there), that row is removed first if it was
// never subscribed. If it is subscribed, the new chat keeps its own
// subscription: the old one is turned off where it is, the chat's answers
// join the new chat's, and merged is true.
func (s *Store) MoveChat(ctx context.Context, subID int64, newChatID string) (merged bool, err error) {
	if err := s.lockWrite(ctx); err != nil {
		return false, fmt.Errorf("store: move subscription %d: %w", subID, err)
	}
	defer s.unlockWrite()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("store: move subscription %d: %w", subID, err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `DELETE FROM subscriptions
		WHERE active = 0 AND chat_id = ? AND id != ?
			AND (platform, thread_id) = (SELECT platform, thread_id FROM subscriptions WHERE id = ?)`,
		newChatID, subID, subID); err != nil {
		return false, fmt.Errorf("store: move subscription %d: %w", subID, err)
	}
	sub, err := s.scanSubscription(tx.QueryRowContext(ctx, `SELECT `+subscriptionColumns+` FROM subscriptions WHERE id = ?`, subID))
	if err != nil {
		return false, fmt.Errorf("store: move subscription %d: %w", subID, err)
	}
	moved := sub.Address
	moved.ChatID = newChatID
	from, to := sub.Address.Key(), moved.Key()
	// The weeks the two chats answered in leave their cohorts' counts
	// until the answers have moved.
	for _, addr := range []chat.Address{sub.Address, moved} {
		if err := countChatWeeks(ctx, tx, addr, -1); err != nil {
			return false, fmt.Errorf("store: move subscription %d: %w", subID, err)
		}
	}
	// Asked first rather than learnt from a failed UPDATE: on PostgreSQL a
	// failed statement ends its transaction.
	if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM subscriptions
		WHERE platform = ? AND chat_id = ? AND thread_id = ? AND id != ?)`,
		moved.Platform, moved.ChatID, moved.ThreadID, subID).Scan(&merged); err != nil {
		return false, fmt.Errorf("store: move subscription %d to %s: %w", subID, newChatID, err)
	}
	if merged {
		if _, err := tx.ExecContext(ctx, `UPDATE subscriptions SET active = 0, gone = 0, updated_at = ? WHERE id = ?`,
			s.now().Unix(), subID); err != nil {
			return false, fmt.Errorf("store: turn off subscription %d, moved to %s: %w", subID, newChatID, err)
		}
	} else if _, err := tx.ExecContext(ctx, `UPDATE subscriptions SET chat_id = ? WHERE id = ?`, newChatID, subID); err != nil {
		return false, fmt.Errorf("store: move subscription %d to %s: %w", subID, newChatID, err)
	}
	// The chat's answers move too, so its leaderboard keeps its history,
	// and with them its aggregates, added to any the new id has already.
	for _, q := range []string{
		`UPDATE answers SET chat = ? WHERE chat = ?`,
		`INSERT INTO chat_scores (chat, learner_id, answered, correct, last_at)
			SELECT ?, learner_id, answered, correct, last_at FROM chat_scores WHERE chat = ?
			ON CONFLICT (chat, learner_id) DO UPDATE SET answered = chat_scores.answered + excluded.answered,
				correct = chat_scores.correct + excluded.correct, last_at = max(chat_scores.last_at, excluded.last_at)`,
		`INSERT INTO week_scores (chat, week, learner_id, answered, correct, last_at)
			SELECT ?, week, learner_id, answered, correct, last_at FROM week_scores WHERE chat = ?
			ON CONFLICT (chat, week, learner_id) DO UPDATE SET answered = week_scores.answered + excluded.answered,
				correct = week_scores.correct + excluded.correct, last_at = max(week_scores.last_at, excluded.last_at)`,
		`INSERT INTO chat_words (chat, lesson_id, term, misses, last_missed, shown)
			SELECT ?, lesson_id, term, misses, last_missed, shown FROM chat_words WHERE chat = ?
			ON CONFLICT (chat, lesson_id, term) DO UPDATE SET misses = chat_words.misses + excluded.misses,
				last_missed = max(chat_words.last_missed, excluded.last_missed)`,
	} {
		if _, err := tx.ExecContext(ctx, q, to, from); err != nil {
			return false, fmt.Errorf("store: move the answers of subscription %d: %w", subID, err)
		}
	}
	for _, q := range []string{`DELETE FROM chat_scores WHERE chat = ?`, `DELETE FROM week_scores WHERE chat = ?`,
		`DELETE FROM chat_words WHERE chat = ?`} {
		if _, err := tx.ExecContext(ctx, q, from); err != nil {
			return false, fmt.Errorf("store: move the answers of subscription %d: %w", subID, err)
		}
	}
	if err := moveChatWeeks(ctx, tx, from, to); err != nil {
		return false, fmt.Errorf("store: move the answers of subscription %d: %w", subID, err)
	}
	for _, addr := range []chat.Address{sub.Address, moved} {
		if err := countChatWeeks(ctx, tx, addr, 1); err != nil {
			return false, fmt.Errorf("store: move subscription %d: %w", subID, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("store: move subscription %d: %w", subID, err)
	}
	return merged, nil
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
