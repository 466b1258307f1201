package store

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/lessonbot/lessonbot/internal/chat"
)

func TestMoveChatKeepsHistory(t *testing.T) {
	t.Parallel()
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
	if merged, err := s.MoveChat(ctx, sub.ID, "-1001"); err != nil || merged {
		t.Fatalf("MoveChat = %v, %v; want a plain move", merged, err)
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

// TestMoveChatIntoSubscribedChat moves a group to an id that has its own
// subscription already (someone subscribed in the supergroup before the
// old group's pending lesson found out it had moved): the new chat keeps
// its subscription and zone, the old one is turned off, and the old
// chat's answers join the new chat's board, each in the week it was
// given in.
func TestMoveChatIntoSubscribedChat(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openTest(t)
	old := chat.Address{Platform: chat.Telegram, ChatID: "-100"}
	moved := chat.Address{Platform: chat.Telegram, ChatID: "-1001"}
	oldSub, err := s.EnsureChat(ctx, Subscription{Address: old, Kind: chat.Group, Hour: 8, Zone: "America/New_York", Weekdays: EveryDay, Active: true})
	if err != nil {
		t.Fatal(err)
	}
	newSub, err := s.EnsureChat(ctx, Subscription{Address: moved, Kind: chat.Group, Hour: 9, Zone: "Asia/Tokyo", Weekdays: EveryDay, Active: true})
	if err != nil {
		t.Fatal(err)
	}
	ann, _ := s.Learner(ctx, chat.User{Platform: chat.Telegram, ID: "7", Name: "Ann"})
	bob, _ := s.Learner(ctx, chat.User{Platform: chat.Telegram, ID: "8", Name: "Bob"})
	// Sunday 22:00 in New York is Monday 12:00 in Tokyo: another week.
	newYork, tokyo := mustZone(t, "America/New_York"), mustZone(t, "Asia/Tokyo")
	sunday := time.Date(2026, 3, 8, 22, 0, 0, 0, newYork)
	for _, a := range []Answer{
		{LearnerID: ann, Chat: old.Key(), LessonID: "l1", QuestionKey: "l1:1", Correct: true, At: sunday, Week: WeekOf(sunday, newYork)},
		{LearnerID: ann, Chat: moved.Key(), LessonID: "l1", QuestionKey: "l1:2", Correct: true, At: sunday, Week: WeekOf(sunday, tokyo)},
		{LearnerID: bob, Chat: moved.Key(), LessonID: "l1", QuestionKey: "l1:2", Correct: false, At: sunday, Week: WeekOf(sunday, tokyo)},
	} {
		if _, _, err := s.RecordAnswer(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	merged, err := s.MoveChat(ctx, oldSub.ID, moved.ChatID)
	if err != nil || !merged {
		t.Fatalf("MoveChat = %v, %v; want merged", merged, err)
	}
	if got, err := s.Chat(ctx, moved); err != nil || got.ID != newSub.ID || got.Zone != "Asia/Tokyo" || !got.Active {
		t.Errorf("Chat(new) = %+v, %v; want subscription %d, still active in Asia/Tokyo", got, err, newSub.ID)
	}
	if got, err := s.Chat(ctx, old); err != nil || got.Active {
		t.Errorf("Chat(old) = %+v, %v; want it turned off", got, err)
	}
	for _, tt := range []struct {
		week          int64
		ann, annFirst bool
		correct       []int
	}{
		{AllTime, true, true, []int{2, 0}},
		{WeekOf(sunday, tokyo), true, true, []int{1, 0}},
		{WeekOf(sunday, newYork), true, true, []int{1}},
	} {
		ranks, err := s.Leaderboard(ctx, moved.Key(), tt.week, 10)
		var got []int
		for _, r := range ranks {
			got = append(got, r.Correct)
		}
		if err != nil || !slices.Equal(got, tt.correct) || ranks[0].LearnerID != ann {
			t.Errorf("leaderboard %d of the new chat = %+v, %v; want Ann first, correct %v", tt.week, ranks, err, tt.correct)
		}
	}
	if diffs, err := s.CheckAggregates(ctx); err != nil || len(diffs) > 0 {
		t.Errorf("aggregates after the merge: %v, %v", diffs, err)
	}
}
