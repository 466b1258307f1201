package schedule

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/lessonbot/lessonbot/internal/chat"
	"github.com/lessonbot/lessonbot/internal/pgtest"
	"github.com/lessonbot/lessonbot/internal/store"
)

// TestSharedFireOnce has three instances on one PostgreSQL database fire
// the same minute at once, as three schedulers do when the lease changed
// hands at that minute or a split brain lets two run: the slot gets
// exactly one delivery per due chat, however many fire it.
func TestSharedFireOnce(t *testing.T) {
	url := pgtest.Database(t)
	ctx := context.Background()
	now := date(2026, 3, 10, 8, 0)
	var scheds []*Scheduler
	for range 3 {
		st, err := store.Open(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		scheds = append(scheds, New(st, DefaultCatchUp, func() time.Time { return now }, slog.New(slog.DiscardHandler), nil))
	}
	const n = 2000
	st := scheds[0].store
	for i := range n {
		if _, err := st.EnsureChat(ctx, store.Subscription{
			Address: chat.Address{Platform: chat.Telegram, ChatID: fmt.Sprint(1000 + i)}, Kind: chat.Private,
			Hour: 8, Zone: "UTC", Weekdays: store.EveryDay, Language: "en", Active: true, CreatedAt: now.AddDate(0, 0, -1),
		}); err != nil {
			t.Fatal(err)
		}
	}
	e := entry{hour: 8, zone: "UTC", days: store.EveryDay}
	for round := range 3 {
		var wg sync.WaitGroup
		for _, s := range scheds {
			wg.Go(func() { s.fire(e) })
		}
		wg.Wait()
		var rows, distinct int
		if err := st.DB().QueryRowContext(ctx, `SELECT count(*), count(DISTINCT subscription_id) FROM deliveries WHERE slot = $1`,
			now.Unix()).Scan(&rows, &distinct); err != nil {
			t.Fatal(err)
		}
		if rows != n || distinct != n {
			t.Errorf("round %d: three schedulers fired the slot: %d rows for %d chats, want %d", round, rows, distinct, n)
		}
	}
}
