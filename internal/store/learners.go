package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

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
