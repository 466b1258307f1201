package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

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
// private chat's subscription and its deliveries. Counts kept per chat
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
		// The counts that name nobody lose the learner's answers too, so
		// that they still equal a recount of the answers kept.
		for _, q := range []string{
			`UPDATE question_stats SET answered = answered - d.n, correct = correct - d.c
				FROM (SELECT question_key AS k, count(*) AS n, sum(correct) AS c FROM answers WHERE learner_id = ?
					GROUP BY question_key) AS d
				WHERE question_key = d.k`,
			`UPDATE answer_quarters SET answered = answered - d.n, correct = correct - d.c
				FROM (SELECT answered_at / 900000 AS q, count(*) AS n, sum(correct) AS c FROM answers WHERE learner_id = ?
					GROUP BY 1) AS d
				WHERE quarter = d.q`,
			`DELETE FROM chat_scores WHERE learner_id = ?`,
			`DELETE FROM week_scores WHERE learner_id = ?`,
		} {
			if _, err := tx.ExecContext(ctx, q, learner); err != nil {
				return del, fmt.Errorf("store: %s: %w", what, err)
			}
		}
		for _, q := range []string{
			`DELETE FROM question_stats WHERE answered = 0
				AND question_key IN (SELECT question_key FROM answers WHERE learner_id = ?)`,
			`DELETE FROM answer_quarters WHERE answered = 0
				AND quarter IN (SELECT answered_at / 900000 FROM answers WHERE learner_id = ?)`,
		} {
			if _, err := tx.ExecContext(ctx, q, learner); err != nil {
				return del, fmt.Errorf("store: %s: %w", what, err)
			}
		}
		for _, step := range []struct {
			n     *int
			query string
		}{
			{&del.Answers, `DELETE FROM answers WHERE learner_id = ?`},
			{&del.Items, `DELETE FROM review_items WHERE learner_id = ?`},
			{&del.StreakDays, `DELETE FROM streak_days WHERE learner_id = ?`},
			{&del.Learners, `DELETE FROM learners WHERE id = ?`},
		} {
			if err := exec(step.n, step.query, learner); err != nil {
				return del, fmt.Errorf("store: %s: %w", what, err)
			}
		}
	}
	// Their private chat: on Telegram its id is theirs; elsewhere, the
	// private chat they opened.
	private := `platform = ? AND kind = 'private' AND (chat_id = ? OR created_by = ?)`
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
	if err := tx.Commit(); err != nil {
		return del, fmt.Errorf("store: %s: %w", what, err)
	}
	return del, nil
}
