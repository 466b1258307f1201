package store

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lessonbot/lessonbot/internal/chat"
)

func TestSaveChat(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openTest(t)
	addr := chat.Address{Platform: chat.Telegram, ChatID: "-100"}
	sub := newSub(addr)
	id, err := s.SaveChat(ctx, sub)
	if err != nil || id == 0 {
		t.Fatalf("SaveChat of a new chat = %d, %v", id, err)
	}
	stored, err := s.Chat(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	sub.ID = id
	if !sameSettings(stored, sub) || stored.CreatedBy != "u1" || !stored.CreatedAt.Equal(sub.CreatedAt) {
		t.Errorf("stored %+v, want %+v", stored, sub)
	}
	// A second save changes the settings, and keeps the id and the first
	// creator.
	sub.Hour, sub.Zone, sub.Active, sub.CreatedBy = 6, "Asia/Tokyo", false, "u2"
	sub.PausedUntil = time.Date(2025, 4, 1, 0, 0, 0, 0, time.UTC)
	if again, err := s.SaveChat(ctx, sub); err != nil || again != id {
		t.Fatalf("SaveChat of a known chat = %d, %v; want id %d", again, err, id)
	}
	if stored, err = s.Chat(ctx, addr); err != nil || !sameSettings(stored, sub) || stored.CreatedBy != "u1" {
		t.Errorf("stored %+v (%v), want the new settings of %+v created by u1", stored, err, sub)
	}
}

func sameSettings(a, b Subscription) bool {
	return a.ID == b.ID && a.Address == b.Address && a.Kind == b.Kind && a.Hour == b.Hour && a.Minute == b.Minute &&
		a.Zone == b.Zone && a.Weekdays == b.Weekdays && a.Level == b.Level && a.Language == b.Language &&
		a.PausedUntil.Equal(b.PausedUntil) && a.Active == b.Active
}

// TestScheduledSubscriptions reads one entry of the schedule: the active
// subscriptions of one time, zone and days, and no other row.
func TestScheduledSubscriptions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openTest(t)
	save := func(id string, hour int, zone string, days Weekdays, active bool) int64 {
		sub := newSub(chat.Address{Platform: chat.Telegram, ChatID: id})
		sub.Hour, sub.Zone, sub.Weekdays, sub.Active = hour, zone, days, active
		n, err := s.SaveChat(ctx, sub)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	a := save("1", 8, "UTC", EveryDay, true)
	b := save("2", 8, "UTC", EveryDay, true)
	save("3", 9, "UTC", EveryDay, true)
	save("4", 8, "Europe/Paris", EveryDay, true)
	save("5", 8, "UTC", 0b0111110, true)
	save("6", 8, "UTC", EveryDay, false)
	before := s.SubscriptionRowsRead()
	subs, err := s.ScheduledSubscriptions(ctx, 8, 30, "UTC", EveryDay)
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for _, sub := range subs {
		ids = append(ids, sub.ID)
	}
	slices.Sort(ids)
	if !slices.Equal(ids, []int64{a, b}) {
		t.Errorf("ScheduledSubscriptions = %v, want %v", ids, []int64{a, b})
	}
	if read := s.SubscriptionRowsRead() - before; read != 2 {
		t.Errorf("%d subscription rows read, want 2", read)
	}
}

// TestMigrationMarksUnknownMessages opens a database made before holders
// and unknown messages were recorded: a delivery left unknown then counts
// one unknown message.
func TestMigrationMarksUnknownMessages(t *testing.T) {
	t.Parallel()
	sqliteOnly(t)
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	db := oldSchema(t, path, 2)
	if _, err := db.ExecContext(ctx, `INSERT INTO subscriptions (id, platform, chat_id, kind, hour, minute, zone, active, created_at)
			VALUES (1, 'telegram', '100', 'private', 8, 0, 'UTC', 1, 0);
		INSERT INTO deliveries (subscription_id, lesson_id, slot, state, created_at, updated_at, due_at) VALUES
			(1, 'l1', 100, 'unknown', 0, 0, 100), (1, 'l2', 200, 'sent', 0, 0, 200), (1, 'l3', 300, 'sending', 0, 0, 300)`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ds, err := s.Deliveries(ctx, 1)
	if err != nil || len(ds) != 3 {
		t.Fatalf("Deliveries = %+v, %v", ds, err)
	}
	if ds[0].Unknown != 1 || ds[1].Unknown != 0 || ds[2].Unknown != 0 {
		t.Errorf("unknown messages = %d, %d, %d; want 1, 0, 0", ds[0].Unknown, ds[1].Unknown, ds[2].Unknown)
	}
	// A claim of the old binary names no holder: a takeover releases it.
	if released, _, err := s.TakeOver(ctx, holderA, false, chat.Telegram); err != nil || released != 1 {
		t.Errorf("TakeOver = %d, %v; want the unnamed claim released", released, err)
	}
}

func TestLockDatabase(t *testing.T) {
	t.Parallel()
	sqliteOnly(t)
	path := filepath.Join(t.TempDir(), "lessonbot.db")
	if err := CheckUnlocked(path); err != nil {
		t.Fatalf("CheckUnlocked with no lock file = %v", err)
	}
	l, err := LockDatabase(path)
	if err != nil {
		t.Fatal(err)
	}
	// A second lock is refused, by another open file as another process
	// would have: flock locks belong to the open file.
	_, err = LockDatabase(path)
	var locked *LockedError
	if !errors.As(err, &locked) || locked.PID == 0 || !strings.Contains(err.Error(), path) {
		t.Fatalf("second LockDatabase = %v, want a LockedError naming the database and a pid", err)
	}
	if err := CheckUnlocked(path); !errors.As(err, &locked) {
		t.Errorf("CheckUnlocked while locked = %v, want a LockedError", err)
	}
	if err := l.Release(); err != nil {
		t.Fatal(err)
	}
	if err := CheckUnlocked(path); err != nil {
		t.Errorf("CheckUnlocked after the release = %v", err)
	}
	again, err := LockDatabase(path)
	if err != nil {
		t.Fatalf("LockDatabase after the release = %v", err)
	}
	again.Release()
}
