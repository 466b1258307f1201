package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// Answer is a learner's answer to one quiz question.
type Answer struct {
	// LearnerID is the learner, from Learner.
	LearnerID int64
	// Chat is the chat.Address.Key() of the chat the answer was given in.
	Chat string
	// LessonID is the lesson the question belongs to.
	LessonID string
	// QuestionKey identifies the question across edits of its lesson.
	QuestionKey string
	// Choice is the index of the choice picked.
	Choice int
	// Correct is whether that choice was right.
	Correct bool
	// At is when the answer was given; stored to the millisecond.
	At time.Time
	// Week is the week of At in the chat's time zone then (WeekOf), kept
	// with the answer: a week counts the answers given during it as the
	// chat's calendar showed them, and a later change of zone moves none.
	// 0 stands for the week of At in UTC.
	Week int64
}

// maxAnswerBatch bounds how many answers share one transaction, and is the
// length of the committer's queue: a caller beyond it waits in its send
// (or until its context ends).
const maxAnswerBatch = 512

// lingerAnswers bounds how long the committer waits for a batch to fill up
// (see gatherAnswers).
const lingerAnswers = 200 * time.Microsecond

// The statements that record one answer in a transaction of its own
// (recordAnswerTx), prepared in Open; a batch uses the multi-row ones of
// insertAnswers instead. An answer to a question the learner already
// answered inserts nothing (the first answer counts), and the earlier
// answer is read back.
const (
	insertAnswerSQL = `INSERT INTO answers (learner_id, chat, lesson_id, question_key, choice, correct, answered_at, week, delay)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (question_key, learner_id) DO NOTHING`
	selectAnswerSQL = `SELECT chat, lesson_id, choice, correct, answered_at, week FROM answers
		WHERE learner_id = ? AND question_key = ?`
)

// week returns a's week, that of At in UTC when Week is unset.
func (a Answer) week() int64 {
	if a.Week != 0 {
		return a.Week
	}
	return WeekOf(a.At, time.UTC)
}

// answerRequest is one RecordAnswer call waiting for the committer.
type answerRequest struct {
	ctx    context.Context
	answer Answer
	reply  chan answerResult // buffered: the committer never waits for a caller
}

// answerResult is what the committer hands back to a RecordAnswer call.
type answerResult struct {
	stored Answer
	first  bool
	err    error
}

// RecordAnswer stores a's answer unless the learner already answered that
// question, and returns the stored answer and whether a was the first. When
// it was not, stored is the earlier answer and nothing changes.
//
// It returns once the answer is durable: committed with synchronous FULL.
// Concurrent calls are batched into one transaction (group commit), so one
// fsync serves them all. When ctx ends first, RecordAnswer returns ctx's
// error and the answer may or may not have been recorded; calling again
// with the same answer is safe, and reports the stored one.
func (s *Store) RecordAnswer(ctx context.Context, a Answer) (stored Answer, first bool, err error) {
	if a.QuestionKey == "" {
		return Answer{}, false, errors.New("store: record answer: empty question key")
	}
	if err := ctx.Err(); err != nil {
		return Answer{}, false, fmt.Errorf("store: record answer: %w", err)
	}
	req := &answerRequest{ctx: ctx, answer: a, reply: make(chan answerResult, 1)}
	select {
	case s.answers <- req:
		s.answerQueued()
	case <-s.stopped:
		return Answer{}, false, fmt.Errorf("store: record answer: %w", errClosed)
	case <-ctx.Done():
		return Answer{}, false, fmt.Errorf("store: record answer: %w", ctx.Err())
	}
	var res answerResult
	select {
	case res = <-req.reply:
	case <-s.stopped:
		// The committer replies before it stops; a request it never took
		// was not recorded.
		select {
		case res = <-req.reply:
		default:
			res.err = errClosed
		}
	case <-ctx.Done():
		res.err = ctx.Err()
	}
	if res.err != nil {
		return Answer{}, false, fmt.Errorf("store: record answer: %w", res.err)
	}
	return res.stored, res.first, nil
}

// answerQueued wakes the committer if it is waiting for its queue to fill
// up to a batch and the answer just queued filled it (see gatherAnswers).
func (s *Store) answerQueued() {
	if n := s.gathering.Load(); n > 0 && len(s.answers) >= int(n) {
		select {
		case s.filled <- struct{}{}:
		default:
		}
	}
}

// commitAnswers is the group committer, started by Open. It takes the
// answers waiting, writes them in one transaction on its own connection,
// commits, and only then replies to each caller. Answers that arrive during
// a commit form the next batch, so the batch grows with the load. After
// Close it commits what is still queued, then stops.
func (s *Store) commitAnswers() {
	defer close(s.stopped)
	batch := make([]*answerRequest, 0, maxAnswerBatch)
	linger := time.NewTimer(time.Hour)
	linger.Stop()
	want := 1
	for {
		select {
		case req := <-s.answers:
			batch = s.gatherAnswers(append(batch[:0], req), want, linger)
			queued := s.commitBatch(batch)
			// The callers of this batch will soon answer again, and the
			// ones queued behind it are waiting already: the next batch
			// waits for them all. (The size of this batch alone would
			// leave the late ones behind each time: 28 and 4, say, instead
			// of 32.)
			want = min(len(batch)+queued, maxAnswerBatch)
		case <-s.quit:
			for {
				batch = s.gatherAnswers(batch[:0], 0, linger)
				if len(batch) == 0 {
					return
				}
				s.commitBatch(batch)
			}
		}
	}
}

// gatherAnswers adds the requests already queued to batch, up to
// maxAnswerBatch. While batch is smaller than want (see commitAnswers), it
// waits a little (s.linger in all) for more: the callers just
// answered are about to send their next answers, and without the wait they
// would miss this batch and wait a whole commit for the next one. Under a
// steady load, that keeps the batches full instead of alternating between
// two half-full ones.
//
// It waits on s.filled, not on the queue: the caller whose answer brings the
// queue up to the rest of the batch wakes it, once. Waiting on the queue
// would wake the committer for every answer, taking CPU from the very
// callers it waits for. A wakeup lost to a race costs at most the linger.
func (s *Store) gatherAnswers(batch []*answerRequest, want int, linger *time.Timer) []*answerRequest {
	batch = s.takeQueued(batch)
	if len(batch) >= want {
		return batch
	}
	linger.Reset(s.linger)
	defer linger.Stop()
	for len(batch) < want {
		select { // a wakeup meant for an earlier wait
		case <-s.filled:
		default:
		}
		need := want - len(batch)
		s.gathering.Store(int64(need))
		if len(s.answers) < need { // checked again now that callers can see need
			select {
			case <-s.filled:
			case <-linger.C:
				s.gathering.Store(0)
				return s.takeQueued(batch)
			}
		}
		s.gathering.Store(0)
		batch = s.takeQueued(batch)
	}
	return batch
}

// takeQueued adds the requests already queued to batch, up to
// maxAnswerBatch, without waiting.
func (s *Store) takeQueued(batch []*answerRequest) []*answerRequest {
	for len(batch) < maxAnswerBatch {
		select {
		case req := <-s.answers:
			batch = append(batch, req)
		default:
			return batch
		}
	}
	return batch
}

// commitBatch records batch in one transaction and replies to each caller.
// A caller whose context has ended is answered with its error and skipped.
// When the transaction cannot begin, every caller gets that error. When a
// statement or the commit fails, the batch is rolled back and each answer is
// retried alone in its own transaction, so that one bad answer (say, an
// unknown learner) fails only its own caller.
//
// It returns how many answers were queued behind the batch when it was
// done, counted before the replies, so that none of the callers it replies
// to is counted twice (see commitAnswers).
func (s *Store) commitBatch(batch []*answerRequest) (queued int) {
	// The transaction does not use any caller's context: it serves them all.
	ctx := context.Background()
	live := batch[:0]
	for _, req := range batch {
		if err := req.ctx.Err(); err != nil {
			req.reply <- answerResult{err: err}
			continue
		}
		live = append(live, req)
	}
	if len(live) == 0 {
		return len(s.answers)
	}

	results, err := s.writeBatch(ctx, live)
	queued = len(s.answers)
	var begin beginError
	switch {
	case errors.As(err, &begin):
		for _, req := range live {
			req.reply <- answerResult{err: err}
		}
	case err != nil:
		for _, req := range live {
			if err := req.ctx.Err(); err != nil {
				req.reply <- answerResult{err: err}
				continue
			}
			var res answerResult
			res.stored, res.first, res.err = s.recordAnswerTx(ctx, s.committer, req.answer)
			req.reply <- res
		}
	default:
		for i, req := range live {
			req.reply <- results[i]
		}
	}
	return queued
}

// beginError marks a failure to begin a transaction: retrying each answer
// alone would meet the same lock.
type beginError struct{ err error }

func (e beginError) Error() string { return "begin: " + e.err.Error() }
func (e beginError) Unwrap() error { return e.err }

// writeBatch records every answer of batch in one transaction on the
// committer's connection and commits it. See insertAnswers for how.
func (s *Store) writeBatch(ctx context.Context, batch []*answerRequest) ([]answerResult, error) {
	if err := s.lockWrite(ctx); err != nil {
		return nil, beginError{err}
	}
	defer s.unlockWrite()
	tx, err := s.committer.BeginTx(ctx, nil)
	if err != nil {
		return nil, beginError{err}
	}
	defer tx.Rollback()
	results, err := s.insertAnswers(ctx, tx, batch)
	if err != nil {
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, err
	}
	return results, nil
}

// maxRowsPerStatement bounds the rows of one multi-row statement of a batch;
// a larger batch is written in chunks of this many. It also bounds how many
// statements the committer keeps prepared (one per row count and kind), and
// keeps the parameters (8 a row) far below SQLite's limit.
const maxRowsPerStatement = 64

// batchStmts are the committer's multi-row statements, indexed by their
// number of rows, each prepared on first use and kept until Close. Only a
// writer holding the write turn (lockWrite) touches them.
type batchStmts struct {
	insert [maxRowsPerStatement + 1]*sql.Stmt
	find   [maxRowsPerStatement + 1]*sql.Stmt
	// lookup reads the chats' cohorts and deliveries (see answerContext).
	lookup [maxRowsPerStatement + 1]*sql.Stmt
}

// close closes every statement prepared so far.
func (b *batchStmts) close() error {
	var errs []error
	for _, sts := range [][]*sql.Stmt{b.insert[:], b.find[:], b.lookup[:]} {
		for _, st := range sts {
			if st != nil {
				errs = append(errs, st.Close())
			}
		}
	}
	return errors.Join(errs...)
}

// insertAnswersSQL inserts n answers in one statement. An answer whose
// learner already answered the question inserts nothing (the first answer
// counts).
//
// OR IGNORE, rather than ON CONFLICT DO NOTHING, makes every constraint that
// could abort the statement midway skip its row instead; with the foreign
// key on learners deferred to COMMIT, nothing is left that could, so SQLite
// needs no statement journal, which would copy every page the statement
// touches before changing it (about 30% of a batch's CPU time, measured).
// Nothing is let through: a row skipped for a NOT NULL or CHECK constraint
// (which the Go types rule out anyway) is either found as an earlier answer,
// which is what it would get alone, or not found at all, which fails the
// batch; an unknown learner fails the COMMIT. A failed batch is retried one
// answer at a time with insertAnswerSQL, which reports the error to its own
// caller only.
//
// There is no RETURNING clause: it made the statement half as slow again,
// and the row count and last rowid tell the same (see insertAnswers).
func insertAnswersSQL(n int) string {
	var b strings.Builder
	b.WriteString(`INSERT OR IGNORE INTO answers (learner_id, chat, lesson_id, question_key, choice, correct, answered_at, week, delay) VALUES `)
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("(?, ?, ?, ?, ?, ?, ?, ?, ?)")
	}
	return b.String()
}

// insertAnswersPostgresSQL is insertAnswersSQL for PostgreSQL: the first
// answer counts there by ON CONFLICT DO NOTHING, and the statement returns
// the rows it added (see insertedAnswers).
func insertAnswersPostgresSQL(n int) string {
	return strings.Replace(insertAnswersSQL(n), "INSERT OR IGNORE INTO", "INSERT INTO", 1) +
		` ON CONFLICT DO NOTHING RETURNING learner_id, question_key`
}

// findAnswersSQL reads the stored answers of n (learner, question) pairs,
// with their rowids, through the UNIQUE (question_key, learner_id) index.
func findAnswersSQL(n int) string {
	var b strings.Builder
	b.WriteString(`SELECT id, learner_id, question_key, chat, lesson_id, choice, correct, answered_at, week FROM answers
		WHERE (learner_id, question_key) IN (VALUES `)
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("(CAST(? AS BIGINT), ?)") // a type for PostgreSQL
	}
	b.WriteString(")")
	return b.String()
}

// batchStmt returns the statement of n rows from stmts, preparing it with
// build(n) on first use.
func (s *Store) batchStmt(ctx context.Context, stmts []*sql.Stmt, n int, build func(int) string) (*sql.Stmt, error) {
	if st := stmts[n]; st != nil {
		return st, nil
	}
	st, err := s.db.PrepareContext(ctx, build(n))
	if err != nil {
		return nil, fmt.Errorf("prepare %d-row statement: %w", n, err)
	}
	stmts[n] = st
	return st, nil
}

// answerKey is what makes an answer unique: its learner and question.
type answerKey struct {
	learner  int64
	question string
}

// insertAnswers records the answers of batch inside tx and returns each
// one's result, in batch order, with one multi-row INSERT per chunk of up to
// maxRowsPerStatement distinct answers.
//
// When a chunk's INSERT adds as many rows as it has answers, every one was
// the first, and that is all. Otherwise one SELECT reads the chunk's stored
// answers back, and the rowid tells which are new: SQLite gives a new row
// the largest rowid plus one, so the k rows one statement adds have rowids
// last-k+1..last, last being the statement's last insert rowid, and every
// row stored before has a smaller one. (Only a table whose rowids had
// reached 2^63-1 would get random ones; the counts are checked, so that
// would fail the batch, not misreport it.)
//
// Requests for the same learner and question within the batch are settled
// here, not by SQLite: the first in arrival (batch) order is the one
// inserted, and each later one gets its stored answer with first false, as
// if it had come in a later batch.
//
// Any error fails the whole batch: the caller rolls it back and retries the
// answers one by one, so a bad answer fails only its own caller.
func (s *Store) insertAnswers(ctx context.Context, tx *sql.Tx, batch []*answerRequest) ([]answerResult, error) {
	results := make([]answerResult, len(batch))
	// leaderOf[i] is the index of the first request with batch[i]'s key.
	leaderOf := make([]int, len(batch))
	first := make(map[answerKey]int, len(batch))
	leaders := make([]int, 0, len(batch))
	for i, req := range batch {
		k := answerKey{req.answer.LearnerID, req.answer.QuestionKey}
		if j, ok := first[k]; ok {
			leaderOf[i] = j
			continue
		}
		first[k] = i
		leaderOf[i] = i
		leaders = append(leaders, i)
	}

	// What the dashboard's aggregates need to know of the chats and their
	// deliveries, read before the answers are written: their delays are
	// stored with them.
	leading := make([]Answer, len(leaders))
	for k, i := range leaders {
		leading[k] = batch[i].answer
	}
	about, err := s.answerContext(ctx, tx, leading)
	if err != nil {
		return nil, err
	}

	args := make([]any, 0, 9*min(len(leaders), maxRowsPerStatement))
	for chunk := range slices.Chunk(leaders, maxRowsPerStatement) {
		build := insertAnswersSQL
		if s.pg() {
			build = insertAnswersPostgresSQL
		}
		st, err := s.batchStmt(ctx, s.batch.insert[:], len(chunk), build)
		if err != nil {
			return nil, err
		}
		args = args[:0]
		for _, i := range chunk {
			a := &batch[i].answer
			args = append(args, a.LearnerID, a.Chat, a.LessonID, a.QuestionKey, a.Choice, boolInt(a.Correct), a.At.UnixMilli(), a.week(),
				about.delay(*a))
		}
		var added int64
		var isNew func(id int64, k answerKey) bool
		if s.pg() {
			added, isNew, err = insertedAnswers(ctx, tx.StmtContext(ctx, st), args)
		} else {
			added, isNew, err = insertedByRowid(ctx, tx.StmtContext(ctx, st), args)
		}
		if err != nil {
			return nil, err
		}
		if int(added) == len(chunk) {
			for _, i := range chunk {
				a := batch[i].answer
				a.At, a.Week = time.UnixMilli(a.At.UnixMilli()).UTC(), a.week()
				results[i] = answerResult{stored: a, first: true}
			}
			continue
		}
		if err := s.settleAnswers(ctx, tx, batch, chunk, first, isNew, int(added), results); err != nil {
			return nil, err
		}
	}

	var fresh []Answer
	for _, i := range leaders {
		if results[i].first {
			fresh = append(fresh, results[i].stored)
		}
	}
	if err := s.addAggregates(ctx, tx, fresh, about); err != nil {
		return nil, err
	}
	for i, j := range leaderOf {
		if i != j {
			results[i] = answerResult{stored: results[j].stored}
		}
	}
	return results, nil
}

// insertedByRowid runs SQLite's INSERT of a chunk of answers and returns
// how many rows it added and which stored rows are new: on SQLite, those
// whose rowid is above the statement's last insert rowid minus the rows
// added (see insertAnswers).
func insertedByRowid(ctx context.Context, st *sql.Stmt, args []any) (int64, func(int64, answerKey) bool, error) {
	res, err := st.ExecContext(ctx, args...)
	if err != nil {
		return 0, nil, err
	}
	added, err := res.RowsAffected()
	if err != nil {
		return 0, nil, err
	}
	newAbove := int64(math.MaxInt64) // no row is new
	if added > 0 {
		last, err := res.LastInsertId()
		if err != nil {
			return 0, nil, err
		}
		newAbove = last - added
	}
	return added, func(id int64, _ answerKey) bool { return id > newAbove }, nil
}

// insertedAnswers runs PostgreSQL's INSERT of a chunk of answers, which
// returns the (learner, question) of each row it added, and returns how
// many it added and which stored rows are new. PostgreSQL numbers the rows
// of concurrent transactions in any order, so only RETURNING can tell.
func insertedAnswers(ctx context.Context, st *sql.Stmt, args []any) (int64, func(int64, answerKey) bool, error) {
	rows, err := st.QueryContext(ctx, args...)
	if err != nil {
		return 0, nil, err
	}
	defer rows.Close()
	added := map[answerKey]bool{}
	for rows.Next() {
		var k answerKey
		if err := rows.Scan(&k.learner, &k.question); err != nil {
			return 0, nil, err
		}
		added[k] = true
	}
	if err := rows.Err(); err != nil {
		return 0, nil, err
	}
	return int64(len(added)), func(_ int64, k answerKey) bool { return added[k] }, rows.Close()
}

// settleAnswers reads back the stored answers of chunk (indexes of batch),
// whose INSERT added only added of them, and sets their results: a row
// that isNew is one that INSERT added, any other an earlier answer.
func (s *Store) settleAnswers(ctx context.Context, tx *sql.Tx, batch []*answerRequest, chunk []int,
	first map[answerKey]int, isNew func(int64, answerKey) bool, added int, results []answerResult) error {
	st, err := s.batchStmt(ctx, s.batch.find[:], len(chunk), findAnswersSQL)
	if err != nil {
		return err
	}
	args := make([]any, 0, 2*len(chunk))
	for _, i := range chunk {
		args = append(args, batch[i].answer.LearnerID, batch[i].answer.QuestionKey)
	}
	rows, err := tx.StmtContext(ctx, st).QueryContext(ctx, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	found, fresh := 0, 0
	for rows.Next() {
		var id, ms int64
		var a Answer
		if err := rows.Scan(&id, &a.LearnerID, &a.QuestionKey, &a.Chat, &a.LessonID, &a.Choice, &a.Correct, &ms, &a.Week); err != nil {
			return err
		}
		a.At = time.UnixMilli(ms).UTC()
		k := answerKey{a.LearnerID, a.QuestionKey}
		i, ok := first[k]
		if !ok {
			return fmt.Errorf("read back an answer not asked for (%d, %q)", a.LearnerID, a.QuestionKey)
		}
		inserted := isNew(id, k)
		results[i] = answerResult{stored: a, first: inserted}
		found++
		if inserted {
			fresh++
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if found != len(chunk) || fresh != added {
		return fmt.Errorf("read back %d of %d answers, %d of them new by rowid; the insert added %d", found, len(chunk), fresh, added)
	}
	return rows.Close()
}

// txBeginner is what recordAnswerTx runs its transaction on: the pool
// (*sql.DB) or one connection (*sql.Conn).
type txBeginner interface {
	BeginTx(ctx context.Context, opts *sql.TxOptions) (*sql.Tx, error)
}

// recordAnswerTx records a in a transaction of its own, BEGIN IMMEDIATE to
// COMMIT, one row at a time: the committer's fallback for a failed batch,
// and the one-transaction-per-answer baseline of BenchmarkRecordAnswer.
func (s *Store) recordAnswerTx(ctx context.Context, on txBeginner, a Answer) (Answer, bool, error) {
	if err := s.lockWrite(ctx); err != nil {
		return Answer{}, false, err
	}
	defer s.unlockWrite()
	tx, err := on.BeginTx(ctx, nil)
	if err != nil {
		return Answer{}, false, err
	}
	defer tx.Rollback()
	about, err := s.answerContext(ctx, tx, []Answer{a})
	if err != nil {
		return Answer{}, false, err
	}
	stored, first, err := recordAnswerIn(ctx, tx.StmtContext(ctx, s.insertAnswer), tx.StmtContext(ctx, s.selectAnswer), a, about.delay(a))
	if err != nil {
		return Answer{}, false, err
	}
	if first {
		if err := s.addAggregates(ctx, tx, []Answer{stored}, about); err != nil {
			return Answer{}, false, err
		}
	}
	if err := tx.Commit(); err != nil {
		return Answer{}, false, err
	}
	return stored, first, nil
}

// recordAnswerIn runs the insert, and the read-back of the earlier answer
// when there is one, inside the caller's transaction. delay is the
// answer's delay column (see answerContext).
func recordAnswerIn(ctx context.Context, ins, sel *sql.Stmt, a Answer, delay any) (Answer, bool, error) {
	ms := a.At.UnixMilli()
	res, err := ins.ExecContext(ctx, a.LearnerID, a.Chat, a.LessonID, a.QuestionKey, a.Choice, boolInt(a.Correct), ms, a.week(), delay)
	if err != nil {
		return Answer{}, false, err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return Answer{}, false, err
	}
	if n == 1 {
		a.At, a.Week = time.UnixMilli(ms).UTC(), a.week()
		return a, true, nil
	}
	prev := Answer{LearnerID: a.LearnerID, QuestionKey: a.QuestionKey}
	err = sel.QueryRowContext(ctx, a.LearnerID, a.QuestionKey).Scan(&prev.Chat, &prev.LessonID, &prev.Choice, &prev.Correct, &ms, &prev.Week)
	if err != nil {
		return Answer{}, false, err
	}
	prev.At = time.UnixMilli(ms).UTC()
	return prev, false, nil
}

// Score returns how many of the learner's answers were correct, and how
// many there are, in every chat: a few rows of chat_scores.
func (s *Store) Score(ctx context.Context, learnerID int64) (correct, answered int, err error) {
	err = s.db.QueryRowContext(ctx, `SELECT coalesce(sum(correct), 0), coalesce(sum(answered), 0) FROM chat_scores
		WHERE learner_id = ?`, learnerID).Scan(&correct, &answered)
	if err != nil {
		return 0, 0, fmt.Errorf("store: score of %d: %w", learnerID, err)
	}
	return correct, answered, nil
}

// Rank is one line of a leaderboard.
type Rank struct {
	// LearnerID is the learner.
	LearnerID int64
	// Name is the learner's display name.
	Name string
	// Correct and Answered count the learner's answers in the period.
	Correct, Answered int
}

// AllTime asks Leaderboard for the board of every week.
const AllTime = -1

// Leaderboard ranks the learners who answered in chat (a chat.Address.Key())
// in week (WeekOf), or ever with AllTime: more correct first, then fewer
// answered, then who got there first (whose last answer came earlier),
// then the learner's id. It returns at most limit ranks, read from an
// index in that order.
func (s *Store) Leaderboard(ctx context.Context, chat string, week int64, limit int) ([]Rank, error) {
	if limit <= 0 {
		limit = math.MaxInt64 // no limit
	}
	var rows *sql.Rows
	var err error
	if week == AllTime {
		rows, err = s.db.QueryContext(ctx, `SELECT b.learner_id, l.name, b.correct, b.answered
			FROM chat_scores b JOIN learners l ON l.id = b.learner_id
			WHERE b.chat = ?
			ORDER BY b.correct DESC, b.answered, b.last_at, b.learner_id LIMIT ?`, chat, limit)
	} else {
		rows, err = s.db.QueryContext(ctx, `SELECT b.learner_id, l.name, b.correct, b.answered
			FROM week_scores b JOIN learners l ON l.id = b.learner_id
			WHERE b.chat = ? AND b.week = ?
			ORDER BY b.correct DESC, b.answered, b.last_at, b.learner_id LIMIT ?`, chat, week, limit)
	}
	if err != nil {
		return nil, fmt.Errorf("store: leaderboard of %s: %w", chat, err)
	}
	defer rows.Close()
	var ranks []Rank
	for rows.Next() {
		var r Rank
		if err := rows.Scan(&r.LearnerID, &r.Name, &r.Correct, &r.Answered); err != nil {
			return nil, fmt.Errorf("store: leaderboard of %s: %w", chat, err)
		}
		ranks = append(ranks, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: leaderboard of %s: %w", chat, err)
	}
	return ranks, nil
}

// AnswerCount returns the number of answers given at or after since, in
// every chat, counted by quarters of an hour: since is taken back to the
// start of its quarter (a day starts on one in every time zone).
func (s *Store) AnswerCount(ctx context.Context, since time.Time) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT coalesce(sum(answered), 0) FROM answer_quarters WHERE quarter >= ?`,
		quarterOf(since.UnixMilli())).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("store: answer count: %w", err)
	}
	return n, nil
}

// QuestionStat counts the answers to one question, in every chat.
type QuestionStat struct {
	// LessonID and QuestionKey identify the question.
	LessonID, QuestionKey string
	// Correct and Answered count its answers.
	Correct, Answered int
}

// QuestionStats returns the counts of every question that has answers,
// ordered by lesson and question key.
func (s *Store) QuestionStats(ctx context.Context) ([]QuestionStat, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT lesson_id, question_key, correct, answered
		FROM question_stats WHERE answered > 0 ORDER BY lesson_id, question_key`)
	if err != nil {
		return nil, fmt.Errorf("store: question stats: %w", err)
	}
	defer rows.Close()
	var stats []QuestionStat
	for rows.Next() {
		var q QuestionStat
		if err := rows.Scan(&q.LessonID, &q.QuestionKey, &q.Correct, &q.Answered); err != nil {
			return nil, fmt.Errorf("store: question stats: %w", err)
		}
		stats = append(stats, q)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: question stats: %w", err)
	}
	return stats, nil
}

// ChatAnswers counts the answers given in chat (a chat.Address.Key())
// between from and to, and the right ones.
func (s *Store) ChatAnswers(ctx context.Context, chat string, from, to time.Time) (answered, correct int, err error) {
	err = s.db.QueryRowContext(ctx, `SELECT count(*), coalesce(sum(correct), 0) FROM answers
		WHERE chat = ? AND answered_at >= ? AND answered_at < ?`, chat, from.UnixMilli(), to.UnixMilli()).Scan(&answered, &correct)
	if err != nil {
		return 0, 0, fmt.Errorf("store: answers in %s: %w", chat, err)
	}
	return answered, correct, nil
}
