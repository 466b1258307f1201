package store

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/lessonbot/lessonbot/internal/chat"
)

func days(ds ...time.Weekday) Weekdays {
	var w Weekdays
	for _, d := range ds {
		w |= 1 << d
	}
	return w
}

func TestWeekdaysString(t *testing.T) {
	t.Parallel()
	const (
		sun = time.Sunday
		mon = time.Monday
		tue = time.Tuesday
		wed = time.Wednesday
		thu = time.Thursday
		fri = time.Friday
		sat = time.Saturday
	)
	tests := []struct {
		name string
		w    Weekdays
		want string
	}{
		{"EveryDay", EveryDay, "every day"},
		{"None", 0, "none"},
		{"Weekdays", days(mon, tue, wed, thu, fri), "mon-fri"},
		{"Weekend", days(sat, sun), "sat,sun"},
		{"Alternate", days(mon, wed, fri), "mon,wed,fri"},
		{"One", days(wed), "wed"},
		{"TwoConsecutive", days(tue, wed), "tue,wed"},
		{"RangeEndingSunday", days(fri, sat, sun), "fri-sun"},
		{"NoWrapPastSunday", days(sat, sun, mon), "mon,sat,sun"},
		{"TwoRanges", days(mon, tue, wed, fri, sat, sun), "mon-wed,fri-sun"},
		{"AllButSunday", days(mon, tue, wed, thu, fri, sat), "mon-sat"},
		{"HighBitIgnored", 0x80 | days(mon), "mon"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.w.String(); got != tt.want {
				t.Errorf("Weekdays(%#x).String() = %q, want %q", uint8(tt.w), got, tt.want)
			}
		})
	}
}

func TestWeekdaysHas(t *testing.T) {
	t.Parallel()
	w := days(time.Monday, time.Sunday)
	for d := time.Sunday; d <= time.Saturday; d++ {
		want := d == time.Monday || d == time.Sunday
		if got := w.Has(d); got != want {
			t.Errorf("Has(%v) = %v, want %v", d, got, want)
		}
	}
	if !EveryDay.Has(time.Saturday) || w.Has(7) || w.Has(-1) {
		t.Error("Has out of range")
	}
}

// newSub is a subscription for tests, at 08:30 Paris time.
func newSub(addr chat.Address) Subscription {
	return Subscription{
		Address: addr, Kind: chat.Group, Hour: 8, Minute: 30, Zone: "Europe/Paris",
		Weekdays: EveryDay, Language: "en", Active: true, CreatedBy: "u1",
		CreatedAt: time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC),
	}
}

func TestChat(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openTest(t)
	addr := chat.Address{Platform: chat.Telegram, ChatID: "-100", ThreadID: "7"}
	stored, err := s.EnsureChat(ctx, newSub(addr))
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name    string
		addr    chat.Address
		wantErr error
	}{
		{"OK", addr, nil},
		{"ErrNotFoundOtherThread", chat.Address{Platform: chat.Telegram, ChatID: "-100"}, ErrNotFound},
		{"ErrNotFoundOtherPlatform", chat.Address{Platform: chat.Discord, ChatID: "-100", ThreadID: "7"}, ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.Chat(ctx, tt.addr)
			if err != tt.wantErr { // ErrNotFound is returned unwrapped
				t.Fatalf("Chat(%v) error = %v, want %v", tt.addr, err, tt.wantErr)
			}
			if err == nil && !reflect.DeepEqual(got, stored) {
				t.Errorf("Chat = %+v, want %+v", got, stored)
			}
		})
	}
}

func TestEnsureChat(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("OK", func(t *testing.T) {
		s := openTest(t)
		want := newSub(chat.Address{Platform: chat.Telegram, ChatID: "42"})
		want.PausedUntil = time.Date(2025, 4, 1, 0, 0, 0, 0, time.UTC)
		want.Level = "B1"
		want.Weekdays = days(time.Monday, time.Friday)
		got, err := s.EnsureChat(ctx, want)
		if err != nil {
			t.Fatal(err)
		}
		if got.ID == 0 {
			t.Error("no ID")
		}
		want.ID = got.ID
		if !reflect.DeepEqual(got, want) {
			t.Errorf("EnsureChat = %+v, want %+v", got, want)
		}
	})

	t.Run("OKIdempotent", func(t *testing.T) {
		s := openTest(t)
		addr := chat.Address{Platform: chat.Discord, ChatID: "9"}
		first, err := s.EnsureChat(ctx, newSub(addr))
		if err != nil {
			t.Fatal(err)
		}
		other := newSub(addr)
		other.Hour, other.Active, other.CreatedBy = 20, false, "u2"
		second, err := s.EnsureChat(ctx, other)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(first, second) {
			t.Errorf("second EnsureChat changed the row: %+v, want %+v", second, first)
		}
		subs, err := s.ActiveSubscriptions(ctx)
		if err != nil || len(subs) != 1 {
			t.Errorf("ActiveSubscriptions = %d rows, %v; want 1", len(subs), err)
		}
	})

	t.Run("OKZeroCreatedAtIsNow", func(t *testing.T) {
		s := openTest(t)
		now := time.Date(2025, 5, 6, 7, 8, 9, 0, time.UTC)
		s.now = func() time.Time { return now }
		sub := newSub(chat.Address{Platform: chat.Console, ChatID: "local"})
		sub.CreatedAt = time.Time{}
		got, err := s.EnsureChat(ctx, sub)
		if err != nil {
			t.Fatal(err)
		}
		if !got.CreatedAt.Equal(now) {
			t.Errorf("CreatedAt = %v, want %v", got.CreatedAt, now)
		}
	})

	t.Run("ErrBadKind", func(t *testing.T) {
		s := openTest(t)
		sub := newSub(chat.Address{Platform: chat.Console, ChatID: "local"})
		sub.Kind = "forum"
		if _, err := s.EnsureChat(ctx, sub); err == nil {
			t.Error("EnsureChat accepted kind forum")
		}
	})
}

func TestSaveSubscription(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openTest(t)
	addr := chat.Address{Platform: chat.Telegram, ChatID: "42"}
	stored, err := s.EnsureChat(ctx, newSub(addr))
	if err != nil {
		t.Fatal(err)
	}

	t.Run("OK", func(t *testing.T) {
		want := stored
		want.Kind = chat.Private
		want.Hour, want.Minute, want.Zone = 21, 5, "America/New_York"
		want.Weekdays = days(time.Saturday, time.Sunday)
		want.Level, want.Language = "C1", "fr"
		want.PausedUntil = time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
		want.Active = false
		changed := want
		changed.Address = chat.Address{Platform: chat.Discord, ChatID: "other"} // not saved
		changed.CreatedBy, changed.CreatedAt = "someone else", time.Unix(1, 0)  // not saved
		if err := s.SaveSubscription(ctx, changed); err != nil {
			t.Fatal(err)
		}
		got, err := s.Chat(ctx, addr)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("after save = %+v, want %+v", got, want)
		}
	})

	t.Run("OKUnpause", func(t *testing.T) {
		sub, err := s.Chat(ctx, addr)
		if err != nil {
			t.Fatal(err)
		}
		sub.PausedUntil = time.Time{}
		if err := s.SaveSubscription(ctx, sub); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.Chat(ctx, addr); !got.PausedUntil.IsZero() {
			t.Errorf("PausedUntil = %v, want zero", got.PausedUntil)
		}
	})

	t.Run("ErrNotFound", func(t *testing.T) {
		sub := stored
		sub.ID = 9999
		if err := s.SaveSubscription(ctx, sub); !errors.Is(err, ErrNotFound) {
			t.Errorf("error = %v, want ErrNotFound", err)
		}
	})

	t.Run("ErrBadHour", func(t *testing.T) {
		sub := stored
		sub.Hour = 24
		if err := s.SaveSubscription(ctx, sub); err == nil {
			t.Error("SaveSubscription accepted hour 24")
		}
	})
}

func TestActiveSubscriptions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openTest(t)

	t.Run("OKEmpty", func(t *testing.T) {
		subs, err := s.ActiveSubscriptions(ctx)
		if err != nil || len(subs) != 0 {
			t.Errorf("ActiveSubscriptions = %v, %v; want none", subs, err)
		}
		counts, err := s.SubscriptionCounts(ctx)
		if err != nil || len(counts) != 0 {
			t.Errorf("SubscriptionCounts = %v, %v; want none", counts, err)
		}
	})

	rows := []struct {
		addr   chat.Address
		active bool
		paused bool
	}{
		{chat.Address{Platform: chat.Telegram, ChatID: "1"}, true, false},
		{chat.Address{Platform: chat.Telegram, ChatID: "2"}, false, false}, // only used /lesson
		{chat.Address{Platform: chat.Telegram, ChatID: "3"}, true, true},
		{chat.Address{Platform: chat.Discord, ChatID: "4"}, true, false},
		{chat.Address{Platform: chat.Console, ChatID: "5"}, false, false},
	}
	var wantIDs []int64
	for _, r := range rows {
		sub := newSub(r.addr)
		sub.Active = r.active
		if r.paused {
			sub.PausedUntil = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
		}
		stored, err := s.EnsureChat(ctx, sub)
		if err != nil {
			t.Fatal(err)
		}
		if r.active {
			wantIDs = append(wantIDs, stored.ID)
		}
	}

	t.Run("OK", func(t *testing.T) {
		subs, err := s.ActiveSubscriptions(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var ids []int64
		for _, sub := range subs {
			ids = append(ids, sub.ID)
		}
		if !reflect.DeepEqual(ids, wantIDs) {
			t.Errorf("active ids = %v, want %v", ids, wantIDs)
		}
	})

	t.Run("OKCounts", func(t *testing.T) {
		counts, err := s.SubscriptionCounts(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]int{chat.Telegram: 2, chat.Discord: 1}
		if !reflect.DeepEqual(counts, want) {
			t.Errorf("SubscriptionCounts = %v, want %v", counts, want)
		}
	})
}

// TestTurnOff turns off a thread alone, then a whole chat with its
// threads, and checks that no other chat and no setting changes.
func TestTurnOff(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openTest(t)
	group := chat.Address{Platform: chat.Telegram, ChatID: "-100"}
	topic := func(id string) chat.Address { a := group; a.ThreadID = id; return a }
	sameIDOtherPlatform := chat.Address{Platform: chat.Discord, ChatID: "-100"}
	for _, addr := range []chat.Address{group, topic("7"), topic("9"), sameIDOtherPlatform} {
		sub := newSub(addr)
		sub.Active = true
		if _, err := s.EnsureChat(ctx, sub); err != nil {
			t.Fatal(err)
		}
	}
	active := func(addr chat.Address) bool {
		t.Helper()
		sub, err := s.Chat(ctx, addr)
		if err != nil {
			t.Fatal(err)
		}
		return sub.Active
	}
	ids := map[chat.Address]int64{}
	for _, addr := range []chat.Address{group, topic("7"), topic("9")} {
		sub, err := s.Chat(ctx, addr)
		if err != nil {
			t.Fatal(err)
		}
		ids[addr] = sub.ID
	}
	turnOff := func(addr chat.Address, want ...chat.Address) {
		t.Helper()
		var wantIDs []int64
		for _, a := range want {
			wantIDs = append(wantIDs, ids[a])
		}
		got, err := s.TurnOff(ctx, addr)
		slices.Sort(got)
		if err != nil || !slices.Equal(got, wantIDs) {
			t.Errorf("TurnOff(%s) = %v, %v; want %v", addr.Key(), got, err, wantIDs)
		}
	}

	turnOff(topic("9"), topic("9"))
	if !active(group) || !active(topic("7")) || active(topic("9")) {
		t.Errorf("after topic 9: group %v, topic 7 %v, topic 9 %v", active(group), active(topic("7")), active(topic("9")))
	}
	turnOff(group, group, topic("7"))
	if active(group) || active(topic("7")) {
		t.Errorf("after the group: group %v, topic 7 %v", active(group), active(topic("7")))
	}
	if !active(sameIDOtherPlatform) {
		t.Error("the same chat id on another platform was turned off")
	}
	turnOff(group)
	turnOff(chat.Address{Platform: chat.Telegram, ChatID: "-404"})
	if sub, err := s.Chat(ctx, topic("7")); err != nil || sub.Hour != newSub(topic("7")).Hour || sub.Zone != newSub(topic("7")).Zone {
		t.Errorf("topic 7's settings changed: %+v, %v", sub, err)
	}
}
