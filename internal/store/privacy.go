package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/lessonbot/lessonbot/internal/chat"
)

// Deleted counts the rows DeleteLearner removed, by what they held.
type Deleted struct {
	Answers, Items, StreakDays, Learners, Subscriptions, Deliveries int
	// SubscriptionIDs are the subscriptions removed, for the schedule.
	SubscriptionIDs []int64
}

// Total is every row removed.
func (d Deleted) Total() int {
	return d.Answers + d.Items + d.StreakDays + d.Learners + d.Subscriptions + d.Deliveries
}

// DeleteLearner deletes, in one transaction, every row keyed to the person
// u: their answers, review items and streak days, their learner row, their
// private chat's subscription and its deliveries, and an admin's
// dashboard sign-in links and sessions. Counts kept per chat
// that name nobody (a group's missed words) stay. It returns what it
// removed; a person the bot never saw removes nothing.
func (s *Store) DeleteLearner(ctx context.Context, u chat.User) (Deleted, error) {
	what := "delete the data of " + u.Platform + ":" + u.ID
	var del Deleted
	if u.ID == "" {
		return del, fmt.Errorf("store: %s: no user id", what)
	}
	if err := s.lockWrite(ctx); err != nil {
		return del, fmt.Errorf("store: %s: %w", what, err)
	}
	defer s.unlockWrite()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return del, fmt.Errorf("store: %s: %w", what, err)
	}
	defer tx.Rollback()
	exec := func(n *int, query string, args ...any) error {
		res, err := tx.ExecContext(ctx, query, args...)
		if err != nil {
			return err
		}
		m, err := res.RowsAffected()
		*n += int(m)
		return err
	}
	var learner int64
	switch err := tx.QueryRowContext(ctx, `SELECT id FROM learners WHERE platform = ? AND user_id = ?`,
		u.Platform, u.ID).Scan(&learner); {
	case errors.Is(err, sql.ErrNoRows):
		learner = 0
	case err != nil:
		return del, fmt.Errorf("store: %s: %w", what, err)
	}
	if learner != 0 {
		n, err := deleteAnswersOf(ctx, tx, learner)
		if err != nil {
			return del, fmt.Errorf("store: %s: %w", what, err)
		}
		del.Answers = n
		for _, step := range []struct {
			n     *int
			query string
		}{
			{nil, `DELETE FROM chat_scores WHERE learner_id = ?`},
			{nil, `DELETE FROM week_scores WHERE learner_id = ?`},
			{&del.Items, `DELETE FROM review_items WHERE learner_id = ?`},
			{&del.StreakDays, `DELETE FROM streak_days WHERE learner_id = ?`},
			{&del.Learners, `DELETE FROM learners WHERE id = ?`},
		} {
			var ignored int
			if step.n == nil {
				step.n = &ignored
			}
			if err := exec(step.n, step.query, learner); err != nil {
				return del, fmt.Errorf("store: %s: %w", what, err)
			}
		}
	}
	// Their private chat: on Telegram its id is theirs; elsewhere, the
	// private chat they opened. One still subscribed is turned off first,
	// now, so that the dashboard counts it as gone today.
	private := `platform = ? AND kind = 'private' AND (chat_id = ? OR created_by = ?)`
	var ignored int
	if err := exec(&ignored, `UPDATE subscriptions SET active = 0, gone = 0, updated_at = ? WHERE active = 1 AND `+private,
		s.now().Unix(), u.Platform, u.ID, u.ID); err != nil {
		return del, fmt.Errorf("store: %s: %w", what, err)
	}
	rows, err := tx.QueryContext(ctx, `SELECT id FROM subscriptions WHERE `+private, u.Platform, u.ID, u.ID)
	if err != nil {
		return del, fmt.Errorf("store: %s: %w", what, err)
	}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return del, fmt.Errorf("store: %s: %w", what, err)
		}
		del.SubscriptionIDs = append(del.SubscriptionIDs, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return del, fmt.Errorf("store: %s: %w", what, err)
	}
	if err := exec(&del.Deliveries, `DELETE FROM deliveries WHERE subscription_id IN
		(SELECT id FROM subscriptions WHERE `+private+`)`, u.Platform, u.ID, u.ID); err != nil {
		return del, fmt.Errorf("store: %s: %w", what, err)
	}
	if err := exec(&del.Subscriptions, `DELETE FROM subscriptions WHERE `+private, u.Platform, u.ID, u.ID); err != nil {
		return del, fmt.Errorf("store: %s: %w", what, err)
	}
	// An admin's dashboard sign-ins name them too: they are signed out.
	for _, table := range []string{"dashboard_logins", "dashboard_sessions"} {
		var ignored int
		if err := exec(&ignored, `DELETE FROM `+table+` WHERE platform = ? AND user_id = ?`, u.Platform, u.ID); err != nil {
			return del, fmt.Errorf("store: %s: %w", what, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return del, fmt.Errorf("store: %s: %w", what, err)
	}
	return del, nil
}

// deleteAnswersOf deletes the answers of a learner and takes them out of
// the counts that name nobody (question_stats, answer_quarters and the
// dashboard's), so that these still equal a recount of the answers kept.
// The answers have no index by learner (see migration 0005): they are
// found through their questions, every one of which has a row in
// question_stats.
func deleteAnswersOf(ctx context.Context, tx *sql.Tx, learner int64) (int, error) {
	rows, err := tx.QueryContext(ctx, `SELECT a.id, a.question_key, a.correct, a.answered_at, a.chat, a.lesson_id, a.choice, a.delay
		FROM question_stats q CROSS JOIN answers a ON a.question_key = q.question_key AND a.learner_id = ?`, learner)
	if err != nil {
		return 0, err
	}
	var ids []int64
	var gone []deletedAnswer
	questions := map[string]*tally{}
	quarters := map[int64]*tally{}
	for rows.Next() {
		var (
			id int64
			d  deletedAnswer
		)
		if err := rows.Scan(&id, &d.question, &d.correct, &d.at, &d.chat, &d.lesson, &d.choice, &d.delay); err != nil {
			rows.Close()
			return 0, err
		}
		ids = append(ids, id)
		gone = append(gone, d)
		a := Answer{Correct: d.correct, At: time.UnixMilli(d.at)}
		tallyOf(questions, d.question).add(a)
		tallyOf(quarters, quarterOf(d.at)).add(a)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	for key, t := range questions {
		if err := subtract(ctx, tx, "question_stats", "question_key", key, t); err != nil {
			return 0, err
		}
	}
	for q, t := range quarters {
		if err := subtract(ctx, tx, "answer_quarters", "quarter", q, t); err != nil {
			return 0, err
		}
	}
	for chunk := range slices.Chunk(ids, 500) {
		args := make([]any, len(chunk))
		for i, id := range chunk {
			args[i] = id
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM answers WHERE id IN (?`+strings.Repeat(", ?", len(chunk)-1)+`)`, args...); err != nil {
			return 0, err
		}
	}
	if err := removeDashboard(ctx, tx, gone); err != nil {
		return 0, err
	}
	return len(ids), nil
}

// subtract takes t out of the row of table whose column is key, and
// removes the row when nothing is left in it.
func subtract(ctx context.Context, tx *sql.Tx, table, column string, key any, t *tally) error {
	if _, err := tx.ExecContext(ctx, `UPDATE `+table+` SET answered = answered - ?, correct = correct - ? WHERE `+column+` = ?`,
		t.answered, t.correct, key); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, `DELETE FROM `+table+` WHERE `+column+` = ? AND answered = 0`, key)
	return err
}
