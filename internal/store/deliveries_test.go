package store

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/lessonbot/lessonbot/internal/chat"
)

// addDelivery writes a delivery row directly, as the scheduler will.
func addDelivery(t *testing.T, s *Store, subID int64, lessonID string, slot time.Time, state DeliveryState) {
	t.Helper()
	var lesson any
	if lessonID != "" {
		lesson = lessonID
	}
	_, err := s.db.ExecContext(context.Background(), `INSERT INTO deliveries
		(subscription_id, lesson_id, slot, state, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)`,
		subID, lesson, slot.Unix(), string(state), slot.Unix(), slot.Unix())
	if err != nil {
		t.Fatal(err)
	}
}

func subForTest(t *testing.T, s *Store, chatID string) Subscription {
	t.Helper()
	sub, err := s.EnsureChat(context.Background(), newSub(chat.Address{Platform: chat.Telegram, ChatID: chatID}))
	if err != nil {
		t.Fatal(err)
	}
	return sub
}

func TestRecordSent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openTest(t)
	sub := subForTest(t, s, "1")
	at := time.Date(2025, 3, 2, 9, 15, 30, 0, time.UTC)

	t.Run("OK", func(t *testing.T) {
		d, err := s.RecordSent(ctx, sub.ID, "2025-03-02-halt", at)
		if err != nil {
			t.Fatal(err)
		}
		want := Delivery{
			ID: d.ID, SubscriptionID: sub.ID, Kind: LessonDelivery, LessonID: "2025-03-02-halt", Slot: at, State: DeliverySent,
			Attempts: 1, MessageIDs: []string{}, CreatedAt: at, UpdatedAt: at, Inflight: -1, DueAt: at,
		}
		if d.ID == 0 || !reflect.DeepEqual(d, want) {
			t.Errorf("RecordSent = %+v, want %+v", d, want)
		}
	})

	tests := []struct {
		name   string
		subID  int64
		lesson string
		at     time.Time
		dup    bool
	}{
		{"ErrDuplicateLesson", sub.ID, "2025-03-02-halt", at.Add(time.Hour), true},
		{"ErrDuplicateSlot", sub.ID, "another", at, true},
		{"ErrUnknownSubscription", 9999, "another", at, false},
		{"ErrEmptyLesson", sub.ID, "", at.Add(2 * time.Hour), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.RecordSent(ctx, tt.subID, tt.lesson, tt.at)
			if err == nil {
				t.Fatal("RecordSent succeeded")
			}
			if got := errors.Is(err, ErrDuplicate); got != tt.dup {
				t.Errorf("error %v: errors.Is(ErrDuplicate) = %v, want %v", err, got, tt.dup)
			}
		})
	}
}

func TestLastDelivered(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openTest(t)
	day := time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC)

	rows := []struct {
		lesson string
		day    int
		state  DeliveryState
	}{
		{"l1", 0, DeliverySent},
		{"l2", 1, DeliveryUnknown},
		{"l3", 2, DeliveryFailed},
		{"", 3, DeliveryExhausted},
		{"l4", 4, DeliveryPending},
		{"l5", 5, DeliverySending},
	}
	unknownLast := subForTest(t, s, "1")
	for _, r := range rows {
		addDelivery(t, s, unknownLast.ID, r.lesson, day.AddDate(0, 0, r.day), r.state)
	}
	sentLast := subForTest(t, s, "2")
	addDelivery(t, s, sentLast.ID, "l1", day, DeliveryUnknown)
	addDelivery(t, s, sentLast.ID, "l9", day.AddDate(0, 0, 1), DeliverySent)
	none := subForTest(t, s, "3")
	addDelivery(t, s, none.ID, "", day, DeliveryExhausted)
	addDelivery(t, s, none.ID, "l1", day.AddDate(0, 0, 1), DeliveryFailed)

	tests := []struct {
		name       string
		subID      int64
		wantLesson string
		wantSlot   time.Time
		wantErr    error
	}{
		{"OKUnknownCounts", unknownLast.ID, "l2", day.AddDate(0, 0, 1), nil},
		{"OKLatestSent", sentLast.ID, "l9", day.AddDate(0, 0, 1), nil},
		{"ErrNotFound", none.ID, "", time.Time{}, ErrNotFound},
		{"ErrNotFoundNoRows", 9999, "", time.Time{}, ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := s.LastDelivered(ctx, tt.subID)
			if err != tt.wantErr {
				t.Fatalf("error = %v, want %v", err, tt.wantErr)
			}
			if d.LessonID != tt.wantLesson || !d.Slot.Equal(tt.wantSlot) {
				t.Errorf("LastDelivered = %s at %v, want %s at %v", d.LessonID, d.Slot, tt.wantLesson, tt.wantSlot)
			}
		})
	}

	t.Run("OKDeliveredLessons", func(t *testing.T) {
		got, err := s.DeliveredLessons(ctx, unknownLast.ID)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]bool{"l1": true, "l2": true, "l3": true, "l4": true, "l5": true}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("DeliveredLessons = %v, want %v", got, want)
		}
		got, err = s.DeliveredLessons(ctx, 9999)
		if err != nil || len(got) != 0 {
			t.Errorf("DeliveredLessons(unknown) = %v, %v; want empty", got, err)
		}
	})

	t.Run("OKDeliveryCounts", func(t *testing.T) {
		got, err := s.DeliveryCounts(ctx, day.AddDate(0, 0, 1))
		if err != nil {
			t.Fatal(err)
		}
		want := map[DeliveryState]int{
			DeliveryUnknown: 1, DeliveryFailed: 2, DeliveryExhausted: 1,
			DeliveryPending: 1, DeliverySending: 1, DeliverySent: 1,
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("DeliveryCounts = %v, want %v", got, want)
		}
	})

	t.Run("OKCascadeDelete", func(t *testing.T) {
		if _, err := s.db.ExecContext(ctx, `DELETE FROM subscriptions WHERE id = ?`, none.ID); err != nil {
			t.Fatal(err)
		}
		got, err := s.DeliveredLessons(ctx, none.ID)
		if err != nil || len(got) != 0 {
			t.Errorf("deliveries left after deleting their subscription: %v, %v", got, err)
		}
	})
}
