package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/lessonbot/lessonbot/internal/chat"
)

// Learner returns the id of the learner u, creating the learner on first
// sight and updating the stored name when u.Name differs.
func (s *Store) Learner(ctx context.Context, u chat.User) (int64, error) {
	// Every answer starts here, so the common case (known, same name) is a
	// read that takes no write lock away from the answer committer.
	var (
		id   int64
		name string
	)
	err := s.db.QueryRowContext(ctx, `SELECT id, name FROM learners WHERE platform = ? AND user_id = ?`,
		u.Platform, u.ID).Scan(&id, &name)
	switch {
	case err == nil && name == u.Name:
		return id, nil
	case err != nil && !errors.Is(err, sql.ErrNoRows):
		return 0, fmt.Errorf("store: learner %s:%s: %w", u.Platform, u.ID, err)
	}
	if err := s.lockWrite(ctx); err != nil {
		return 0, fmt.Errorf("store: learner %s:%s: %w", u.Platform, u.ID, err)
	}
	defer s.unlockWrite()
	err = s.db.QueryRowContext(ctx, `INSERT INTO learners (platform, user_id, name, created_at)
		VALUES (?, ?, ?, ?)
		ON CONFLICT (platform, user_id) DO UPDATE SET name = excluded.name
		RETURNING id`,
		u.Platform, u.ID, u.Name, s.now().Unix()).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("store: learner %s:%s: %w", u.Platform, u.ID, err)
	}
	return id, nil
}

// FindLearner returns the id of the learner u, or ErrNotFound when u has
// never answered; unlike Learner it never writes.
func (s *Store) FindLearner(ctx context.Context, u chat.User) (int64, error) {
	var id int64
	err := s.db.QueryRowContext(ctx, `SELECT id FROM learners WHERE platform = ? AND user_id = ?`,
		u.Platform, u.ID).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, ErrNotFound
	}
	if err != nil {
		return 0, fmt.Errorf("store: learner %s:%s: %w", u.Platform, u.ID, err)
	}
	return id, nil
}

// Streak is a learner's streak as the review package keeps it, in the
// columns of the learner's row.
type Streak struct {
	// Current and Best are the streak's length now and at its longest.
	Current, Best int
	// Last is the last day active or frozen; -1 before the first graded
	// answer.
	Last Day
	// Freezes held (0 to 2), and Progress toward the next one earned.
	Freezes, Progress int
	// EverHeldFreeze tells that the learner held a freeze once: the free
	// early one is given only to learners who never did.
	EverHeldFreeze bool
	// Zone is the zone of the chat of the last answer, ZoneOffset its UTC
	// offset then (seconds), ZoneChangedAt when it last changed.
	Zone          string
	ZoneOffset    int
	ZoneChangedAt time.Time
}

// LearnerStreak returns the learner's streak, or ErrNotFound when there
// is no such learner.
func (s *Store) LearnerStreak(ctx context.Context, learnerID int64) (Streak, error) {
	var (
		st      Streak
		last    sql.NullInt64
		changed sql.NullInt64
	)
	err := s.db.QueryRowContext(ctx, `SELECT streak, best_streak, streak_last, freezes, freeze_progress,
			ever_held_freeze, zone, zone_offset, zone_changed_at
		FROM learners WHERE id = ?`, learnerID).Scan(&st.Current, &st.Best, &last, &st.Freezes, &st.Progress,
		&st.EverHeldFreeze, &st.Zone, &st.ZoneOffset, &changed)
	if errors.Is(err, sql.ErrNoRows) {
		return Streak{}, ErrNotFound
	}
	if err != nil {
		return Streak{}, fmt.Errorf("store: streak of learner %d: %w", learnerID, err)
	}
	st.Last = -1
	if last.Valid {
		st.Last = Day(last.Int64)
	}
	st.ZoneChangedAt = fromNullUnix(changed)
	return st, nil
}

// SaveStreak writes the learner's streak after a graded answer on day
// active, and records that day as active and the days a freeze covered as
// frozen, in one transaction.
func (s *Store) SaveStreak(ctx context.Context, learnerID int64, st Streak, active Day, frozen []Day) error {
	what := fmt.Sprintf("save the streak of learner %d", learnerID)
	if err := s.lockWrite(ctx); err != nil {
		return fmt.Errorf("store: %s: %w", what, err)
	}
	defer s.unlockWrite()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: %s: %w", what, err)
	}
	defer tx.Rollback()
	last := any(nil)
	if st.Last >= 0 {
		last = int64(st.Last)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE learners SET streak = ?, best_streak = ?, streak_last = ?, freezes = ?,
			freeze_progress = ?, ever_held_freeze = ?, zone = ?, zone_offset = ?, zone_changed_at = ?
		WHERE id = ?`, st.Current, st.Best, last, st.Freezes, st.Progress, boolInt(st.EverHeldFreeze), st.Zone,
		st.ZoneOffset, unixOrNull(st.ZoneChangedAt), learnerID); err != nil {
		return fmt.Errorf("store: %s: %w", what, err)
	}
	for _, d := range frozen {
		if _, err := tx.ExecContext(ctx, `INSERT INTO streak_days (learner_id, day, kind) VALUES (?, ?, 'frozen')
			ON CONFLICT DO NOTHING`, learnerID, int64(d)); err != nil {
			return fmt.Errorf("store: %s: %w", what, err)
		}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO streak_days (learner_id, day, kind) VALUES (?, ?, 'active')
		ON CONFLICT (learner_id, day) DO UPDATE SET kind = 'active'`, learnerID, int64(active)); err != nil {
		return fmt.Errorf("store: %s: %w", what, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: %s: %w", what, err)
	}
	return nil
}
