package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// Value returns the value stored under key, or ErrNotFound.
func (s *Store) Value(ctx context.Context, key string) (string, error) {
	var value string
	err := s.db.QueryRowContext(ctx, `SELECT value FROM kv WHERE key = ?`, key).Scan(&value)
	if errors.Is(err, sql.ErrNoRows) {
		return "", ErrNotFound
	}
	if err != nil {
		return "", fmt.Errorf("store: value %q: %w", key, err)
	}
	return value, nil
}

// SetValue stores value under key, replacing any earlier value.
func (s *Store) SetValue(ctx context.Context, key, value string) error {
	if err := s.lockWrite(ctx); err != nil {
		return fmt.Errorf("store: set value %q: %w", key, err)
	}
	defer s.unlockWrite()
	_, err := s.db.ExecContext(ctx, `INSERT INTO kv (key, value) VALUES (?, ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, value)
	if err != nil {
		return fmt.Errorf("store: set value %q: %w", key, err)
	}
	return nil
}
