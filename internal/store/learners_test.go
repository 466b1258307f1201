package store

import (
	"context"
	"testing"
	"time"

	"github.com/lessonbot/lessonbot/internal/chat"
)

func TestLearner(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openTest(t)
	s.now = func() time.Time { return time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC) }
	ada := chat.User{Platform: chat.Telegram, ID: "100", Name: "Ada"}
	first, err := s.Learner(ctx, ada)
	if err != nil {
		t.Fatal(err)
	}

	name := func(id int64) string {
		var n string
		if err := s.db.QueryRowContext(ctx, `SELECT name FROM learners WHERE id = ?`, id).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	tests := []struct {
		name     string
		user     chat.User
		sameID   bool
		wantName string
	}{
		{"OKSameUser", ada, true, "Ada"},
		{"OKRenamed", chat.User{Platform: chat.Telegram, ID: "100", Name: "Ada L."}, true, "Ada L."},
		{"OKOtherPlatform", chat.User{Platform: chat.Discord, ID: "100", Name: "Ada"}, false, "Ada"},
		{"OKOtherUser", chat.User{Platform: chat.Telegram, ID: "101", Name: "Ada"}, false, "Ada"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := s.Learner(ctx, tt.user)
			if err != nil {
				t.Fatal(err)
			}
			if (id == first) != tt.sameID {
				t.Errorf("id = %d, first learner %d, want same = %v", id, first, tt.sameID)
			}
			if got := name(id); got != tt.wantName {
				t.Errorf("name = %q, want %q", got, tt.wantName)
			}
		})
	}
}
