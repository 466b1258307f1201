package store

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/lessonbot/lessonbot/internal/pgtest"
)

// TestMain has the PostgreSQL run copy one migrated database for each test
// rather than migrate a new one each time.
func TestMain(m *testing.M) {
	pgtest.SetTemplate(func(ctx context.Context, url string) error {
		s, err := Open(ctx, url)
		if err != nil {
			return err
		}
		return s.Close()
	})
	code := m.Run()
	if err := pgtest.DropTemplate(); err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
	os.Exit(code)
}
