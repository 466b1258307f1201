package store

import (
	"context"
	"testing"
	"time"

	"github.com/lessonbot/lessonbot/internal/chat"
)

func TestMoveChatKeepsHistory(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	old := chat.Address{Platform: chat.Telegram, ChatID: "-100"}
	sub, err := s.EnsureChat(ctx, Subscription{Address: old, Kind: chat.Group, Hour: 8, Zone: "UTC", Weekdays: EveryDay, Active: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.RecordSent(ctx, sub.ID, "l1", time.Unix(1000, 0)); err != nil {
		t.Fatal(err)
	}
	learner, err := s.Learner(ctx, chat.User{Platform: chat.Telegram, ID: "7", Name: "Ann"})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.RecordAnswer(ctx, Answer{LearnerID: learner, Chat: old.Key(), LessonID: "l1", QuestionKey: "l1:00000000", Correct: true, At: time.Unix(1000, 0)}); err != nil {
		t.Fatal(err)
	}
	if err := s.MoveChat(ctx, sub.ID, "-1001"); err != nil {
		t.Fatal(err)
	}
	moved := chat.Address{Platform: chat.Telegram, ChatID: "-1001"}
	got, err := s.Chat(ctx, moved)
	if err != nil || got.ID != sub.ID {
		t.Fatalf("Chat(moved) = %+v, %v; want subscription %d", got, err, sub.ID)
	}
	if _, err := s.Chat(ctx, old); err != ErrNotFound {
		t.Errorf("Chat(old) err = %v, want ErrNotFound", err)
	}
	if done, _ := s.DeliveredLessons(ctx, sub.ID); !done["l1"] {
		t.Errorf("deliveries did not move: %v", done)
	}
	ranks, err := s.Leaderboard(ctx, moved.Key(), AllTime, 10)
	if err != nil || len(ranks) != 1 || ranks[0].Correct != 1 {
		t.Errorf("leaderboard of the moved chat = %+v, %v; want Ann with 1", ranks, err)
	}
}
