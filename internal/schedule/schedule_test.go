package schedule

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/lessonbot/lessonbot/internal/chat"
	"github.com/lessonbot/lessonbot/internal/logtest"
	"github.com/lessonbot/lessonbot/internal/store"
)

var monFri = store.Weekdays(0b0111110)

// date is a time in UTC, to the minute.
func date(y int, m time.Month, d, h, min int) time.Time {
	return time.Date(y, m, d, h, min, 0, 0, time.UTC)
}

// fixture is a store in the test's folder, with a scheduler on it whose
// clock reads now.
type fixture struct {
	tb    testing.TB
	store *store.Store
	sched *Scheduler
	now   time.Time
	woken atomic.Int32 // calls of the scheduler's due function
	logs  *logtest.Buffer
}

func newFixture(tb testing.TB, now time.Time) *fixture {
	tb.Helper()
	st, err := store.Open(context.Background(), filepath.Join(tb.TempDir(), "lessonbot.db"))
	if err != nil {
		tb.Fatal(err)
	}
	f := &fixture{tb: tb, store: st, now: now, logs: &logtest.Buffer{}}
	log := slog.New(slog.NewTextHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	f.sched = New(st, DefaultCatchUp, func() time.Time { return f.now }, log, func() { f.woken.Add(1) })
	tb.Cleanup(func() {
		if err := st.IntegrityCheck(context.Background()); err != nil {
			tb.Error(err)
		}
		st.Close()
		if tb.Failed() {
			tb.Logf("logs:\n%s", f.logs.String())
		}
	})
	return f
}

// subscribe stores an active subscription of chat id at hh:mm in zone on
// days, created at created; change, when not nil, edits it first.
func (f *fixture) subscribe(id string, hour, minute int, zone string, days store.Weekdays, created time.Time, change func(*store.Subscription)) store.Subscription {
	f.tb.Helper()
	sub := store.Subscription{
		Address: chat.Address{Platform: chat.Telegram, ChatID: id}, Kind: chat.Private,
		Hour: hour, Minute: minute, Zone: zone, Weekdays: days, Language: "en", Active: true, CreatedAt: created,
	}
	if change != nil {
		change(&sub)
	}
	stored, err := f.store.EnsureChat(context.Background(), sub)
	if err != nil {
		f.tb.Fatal(err)
	}
	return stored
}

// slots returns the slots of the subscription's deliveries, in order.
func (f *fixture) slots(sub store.Subscription) []time.Time {
	f.tb.Helper()
	ds, err := f.store.Deliveries(context.Background(), sub.ID)
	if err != nil {
		f.tb.Fatal(err)
	}
	var out []time.Time
	for _, d := range ds {
		if d.State != store.DeliveryPending || !d.DueAt.Equal(d.Slot) {
			f.tb.Errorf("delivery %+v, want pending and due at its slot", d)
		}
		out = append(out, d.Slot)
	}
	return out
}

func (f *fixture) load() {
	f.tb.Helper()
	if err := f.sched.Load(context.Background()); err != nil {
		f.tb.Fatal(err)
	}
}

// TestLoadAndUpdate loads the schedule from the subscriptions, then
// follows changes to single chats without reading any subscription.
func TestLoadAndUpdate(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		created := date(2026, 1, 1, 0, 0)
		f := newFixture(t, created)
		a := f.subscribe("100", 8, 0, "Europe/Paris", monFri, created, nil)
		f.subscribe("200", 8, 0, "Europe/Paris", monFri, created, nil) // the same entry as a
		c := f.subscribe("300", 21, 15, "UTC", store.EveryDay, created, nil)
		f.subscribe("400", 9, 5, "Asia/Tokyo", store.Weekdays(1<<time.Saturday|1<<time.Sunday), created, nil)
		f.subscribe("500", 6, 0, "UTC", store.EveryDay, created, func(s *store.Subscription) { s.Active = false })
		f.subscribe("600", 7, 0, "UTC", store.EveryDay, created, func(s *store.Subscription) {
			s.PausedUntil = date(2027, 1, 1, 0, 0) // paused, still scheduled
		})
		f.load()
		want := []string{
			"CRON_TZ=Asia/Tokyo 5 9 * * 0,6",
			"CRON_TZ=Europe/Paris 0 8 * * 1,2,3,4,5",
			"CRON_TZ=UTC 0 7 * * *",
			"CRON_TZ=UTC 15 21 * * *",
		}
		if got := f.sched.Specs(); !slices.Equal(got, want) {
			t.Errorf("specs %q, want %q", got, want)
		}

		// a leaves (its entry stays for 200), c moves to 06:00, and a chat
		// gone is known by its id alone.
		a.Active = false
		c.Hour, c.Minute = 6, 0
		gone := f.subscribe("700", 23, 0, "UTC", store.EveryDay, created, nil)
		f.sched.Update(gone)
		read := f.store.SubscriptionRowsRead()
		f.sched.Update(a)
		f.sched.Update(c)
		f.sched.Update(c) // again: no change
		f.sched.Update(store.Subscription{ID: gone.ID})
		if n := f.store.SubscriptionRowsRead() - read; n != 0 {
			t.Errorf("updates read %d subscription rows, want none", n)
		}
		want = []string{
			"CRON_TZ=Asia/Tokyo 5 9 * * 0,6",
			"CRON_TZ=Europe/Paris 0 8 * * 1,2,3,4,5",
			"CRON_TZ=UTC 0 6 * * *",
			"CRON_TZ=UTC 0 7 * * *",
		}
		if got := f.sched.Specs(); !slices.Equal(got, want) {
			t.Errorf("after changes, specs %q, want %q", got, want)
		}
		if n := len(f.sched.cron.Entries()); n != len(want) {
			t.Errorf("cron has %d entries, want %d", n, len(want))
		}
	})
	t.Run("ErrBadZone", func(t *testing.T) {
		created := date(2026, 1, 1, 0, 0)
		f := newFixture(t, created)
		f.subscribe("100", 8, 0, "Mars/Olympus_Mons", store.EveryDay, created, nil)
		f.subscribe("200", 8, 0, "UTC", store.EveryDay, created, nil)
		f.load()
		if got, want := f.sched.Specs(), []string{"CRON_TZ=UTC 0 8 * * *"}; !slices.Equal(got, want) {
			t.Errorf("specs %q, want %q: an entry that cannot be scheduled is left out", got, want)
		}
	})
	t.Run("Empty", func(t *testing.T) {
		f := newFixture(t, date(2026, 1, 1, 0, 0))
		f.load()
		if got := f.sched.Specs(); len(got) != 0 {
			t.Errorf("specs %q, want none", got)
		}
	})
}

func TestCatchUp(t *testing.T) {
	created := date(2026, 1, 1, 0, 0) // a Thursday
	slot := date(2026, 1, 7, 8, 0)    // a Wednesday
	tests := []struct {
		name   string
		now    time.Time
		zone   string
		days   store.Weekdays
		change func(*store.Subscription)
		want   []time.Time
	}{
		{name: "WithinCatchUp", now: slot.Add(2 * time.Hour), want: []time.Time{slot}},
		{name: "AtSlot", now: slot, want: []time.Time{slot}},
		{name: "AtCatchUpLimit", now: slot.Add(DefaultCatchUp), want: []time.Time{slot}},
		{name: "PastCatchUp", now: slot.Add(DefaultCatchUp + time.Minute)},
		{name: "DownThreeDays", now: slot.Add(3*24*time.Hour + time.Hour), want: []time.Time{slot.AddDate(0, 0, 3)}},
		{name: "BeforeTodaysSlot", now: slot.Add(-time.Minute)}, // yesterday's is 24 h ago
		{name: "InZone", now: date(2026, 1, 7, 9, 0), zone: "America/New_York", // 04:00 there
			want: []time.Time{date(2026, 1, 7, 8, 0)}}, // 03:00 New York time
		{name: "NotOnWeekdays", now: date(2026, 1, 10, 9, 0), days: monFri}, // Saturday: the last slot was Friday's
		{name: "CreatedAfterLastSlot", now: slot.Add(2 * time.Hour),
			change: func(s *store.Subscription) { s.CreatedAt = slot.Add(time.Minute) }},
		{name: "PausedAtSlot", now: slot.Add(2 * time.Hour),
			change: func(s *store.Subscription) { s.PausedUntil = slot.Add(time.Hour) }},
		{name: "PauseOverBeforeSlot", now: slot.Add(2 * time.Hour),
			change: func(s *store.Subscription) { s.PausedUntil = slot }, want: []time.Time{slot}},
		{name: "Inactive", now: slot.Add(2 * time.Hour),
			change: func(s *store.Subscription) { s.Active = false }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, tt.now)
			zone, days := tt.zone, tt.days
			if zone == "" {
				zone = "UTC"
			}
			hour := 8
			if zone == "America/New_York" {
				hour = 3
			}
			if days == 0 {
				days = store.EveryDay
			}
			sub := f.subscribe("100", hour, 0, zone, days, created, tt.change)
			for range 2 { // a second catch-up finds nothing more to write
				if err := f.sched.CatchUp(context.Background()); err != nil {
					t.Fatal(err)
				}
			}
			if got := f.slots(sub); !slices.EqualFunc(got, tt.want, time.Time.Equal) {
				t.Errorf("deliveries at %v, want %v", got, tt.want)
			}
			if wantWoken := int32(min(len(tt.want), 1)); f.woken.Load() != wantWoken {
				t.Errorf("the pool was woken %d times, want %d", f.woken.Load(), wantWoken)
			}
		})
	}
}

// TestCatchUpManyChats gives each chat its own last slot, at most one.
func TestCatchUpManyChats(t *testing.T) {
	now := date(2026, 1, 7, 12, 0)
	created := date(2026, 1, 1, 0, 0)
	f := newFixture(t, now)
	var subs []store.Subscription
	for i, hour := range []int{7, 8, 8, 11, 12, 13, 5} {
		subs = append(subs, f.subscribe(fmt.Sprint(100+i), hour, 30, "UTC", store.EveryDay, created, nil))
	}
	if err := f.sched.CatchUp(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := [][]time.Time{
		{date(2026, 1, 7, 7, 30)},
		{date(2026, 1, 7, 8, 30)},
		{date(2026, 1, 7, 8, 30)},
		{date(2026, 1, 7, 11, 30)},
		nil, // 12:30 today has not come; yesterday's is more than 6 h ago
		nil,
		nil, // 05:30 is 6 h 30 min ago
	}
	for i, sub := range subs {
		if got := f.slots(sub); !slices.EqualFunc(got, want[i], time.Time.Equal) {
			t.Errorf("chat %s: deliveries at %v, want %v", sub.Address.ChatID, got, want[i])
		}
	}
}

// TestFire writes one row per active, unpaused subscription of the entry
// that fires, at its slot, and nothing twice.
func TestFire(t *testing.T) {
	created := date(2026, 1, 1, 0, 0)
	slot := date(2026, 1, 7, 7, 30) // 08:30 in Paris
	f := newFixture(t, slot.Add(200*time.Millisecond))
	on := f.subscribe("100", 8, 30, "Europe/Paris", store.EveryDay, created, nil)
	alsoOn := f.subscribe("200", 8, 30, "Europe/Paris", store.EveryDay, created, nil)
	paused := f.subscribe("300", 8, 30, "Europe/Paris", store.EveryDay, created, func(s *store.Subscription) {
		s.PausedUntil = slot.Add(time.Minute)
	})
	inactive := f.subscribe("400", 8, 30, "Europe/Paris", store.EveryDay, created, func(s *store.Subscription) { s.Active = false })
	otherTime := f.subscribe("500", 8, 31, "Europe/Paris", store.EveryDay, created, nil)
	otherZone := f.subscribe("600", 8, 30, "UTC", store.EveryDay, created, nil)
	otherDays := f.subscribe("700", 8, 30, "Europe/Paris", monFri, created, nil)

	e := entryOf(on)
	f.sched.fire(e)
	f.sched.fire(e) // cron firing twice for one slot writes nothing more
	for _, sub := range []store.Subscription{on, alsoOn} {
		if got := f.slots(sub); !slices.EqualFunc(got, []time.Time{slot}, time.Time.Equal) {
			t.Errorf("chat %s: deliveries at %v, want one at %v", sub.Address.ChatID, got, slot)
		}
	}
	for _, sub := range []store.Subscription{paused, inactive, otherTime, otherZone, otherDays} {
		if got := f.slots(sub); len(got) != 0 {
			t.Errorf("chat %s: deliveries at %v, want none", sub.Address.ChatID, got)
		}
	}
	if n := f.woken.Load(); n != 1 {
		t.Errorf("the pool was woken %d times, want once", n)
	}
}

// TestRunFiresEachSlot runs the scheduler in virtual time across Paris's
// spring-forward day: 02:30 does not exist on 29 March 2026, and the chat
// gets that day's slot at 03:00.
func TestRunFiresEachSlot(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		paris, err := time.LoadLocation("Europe/Paris")
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Until(date(2026, 3, 27, 12, 0)))
		f := newFixture(t, time.Time{})
		f.sched.now = time.Now
		gap := f.subscribe("100", 2, 30, "Europe/Paris", store.EveryDay, time.Now(), nil)
		weekdays := f.subscribe("200", 7, 0, "America/New_York", monFri, time.Now(), nil)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); f.sched.Run(ctx) }()
		time.Sleep(time.Until(date(2026, 3, 31, 0, 0)))
		cancel()
		<-done
		want := []time.Time{
			time.Date(2026, 3, 28, 2, 30, 0, 0, paris),
			time.Date(2026, 3, 29, 3, 0, 0, 0, paris),
			time.Date(2026, 3, 30, 2, 30, 0, 0, paris),
		}
		if got := f.slots(gap); !slices.EqualFunc(got, want, time.Time.Equal) {
			t.Errorf("deliveries at %v, want %v", got, want)
		}
		want = []time.Time{date(2026, 3, 30, 11, 0)} // Monday 07:00 in New York
		if got := f.slots(weekdays); !slices.EqualFunc(got, want, time.Time.Equal) {
			t.Errorf("weekdays: deliveries at %v, want %v", got, want)
		}
	})
}

// TestRunSlotDuringStart writes the slot that passes while the scheduler
// starts (catching up takes a while with many subscriptions): cron must
// already be running by then, or the slot is lost until the next day.
func TestRunSlotDuringStart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		time.Sleep(time.Until(date(2026, 1, 7, 7, 59).Add(59*time.Second + 500*time.Millisecond)))
		f := newFixture(t, time.Time{})
		sub := f.subscribe("100", 8, 0, "UTC", store.EveryDay, date(2026, 1, 1, 0, 0), nil)
		var slow atomic.Bool
		slow.Store(true)
		f.sched.now = func() time.Time {
			now := time.Now()
			if slow.CompareAndSwap(true, false) {
				time.Sleep(time.Second) // the first reading of the clock is a second old when used
			}
			return now
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); f.sched.Run(ctx) }()
		time.Sleep(time.Minute)
		cancel()
		<-done
		if got, want := f.slots(sub), []time.Time{date(2026, 1, 7, 8, 0)}; !slices.EqualFunc(got, want, time.Time.Equal) {
			t.Errorf("deliveries at %v, want %v", got, want)
		}
	})
}

// manyChats subscribes n chats to one entry, 08:00 UTC every day.
func manyChats(tb testing.TB, f *fixture, n int) []int64 {
	tb.Helper()
	ids := make([]int64, n)
	for i := range ids {
		ids[i] = f.subscribe(fmt.Sprint(1_000_000+i), 8, 0, "UTC", store.EveryDay, date(2026, 1, 1, 0, 0), nil).ID
	}
	return ids
}

// TestFire10k fires one entry that 10,000 subscriptions share.
func TestFire10k(t *testing.T) {
	if testing.Short() {
		t.Skip("subscribes 10,000 chats")
	}
	slot := date(2026, 1, 7, 8, 0)
	f := newFixture(t, slot.Add(time.Second))
	ids := manyChats(t, f, 10_000)
	start := time.Now()
	f.sched.fire(entry{hour: 8, minute: 0, zone: "UTC", days: store.EveryDay})
	t.Logf("fire wrote the deliveries of %d subscriptions in %v", len(ids), time.Since(start))
	counts, err := f.store.DeliveryCounts(context.Background(), slot)
	if err != nil {
		t.Fatal(err)
	}
	if counts[store.DeliveryPending] != len(ids) || len(counts) != 1 {
		t.Errorf("deliveries by state %v, want %d pending", counts, len(ids))
	}
}

// BenchmarkEnqueue10k writes the deliveries of one slot for 10,000
// subscriptions: with store.EnqueueSlot alone, and as an entry firing
// does, loading the subscriptions first.
func BenchmarkEnqueue10k(b *testing.B) {
	base := date(2026, 1, 7, 8, 0)
	f := newFixture(b, base)
	ids := manyChats(b, f, 10_000)
	e := entry{hour: 8, minute: 0, zone: "UTC", days: store.EveryDay}
	day := 0 // each run writes the next day's slot, so every row is new
	b.Run("EnqueueSlot", func(b *testing.B) {
		for b.Loop() {
			n, err := f.store.EnqueueSlot(context.Background(), ids, base.AddDate(0, 0, day))
			if err != nil || n != len(ids) {
				b.Fatalf("wrote %d rows (%v), want %d", n, err, len(ids))
			}
			day++
		}
		b.ReportMetric(float64(len(ids))*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	})
	b.Run("fire", func(b *testing.B) {
		for b.Loop() {
			f.now = base.AddDate(0, 0, day).Add(time.Second)
			f.sched.fire(e)
			day++
		}
		b.ReportMetric(float64(len(ids))*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		counts, err := f.store.DeliveryCounts(context.Background(), base)
		if err != nil {
			b.Fatal(err)
		}
		if counts[store.DeliveryPending] != day*len(ids) {
			b.Errorf("%d pending deliveries, want %d", counts[store.DeliveryPending], day*len(ids))
		}
	})
}

// TestFireSummaries writes a weekly summary, on the summary day, for each
// chat on the entry that wants one, even one whose days have no lesson
// then; and a lesson only on the chat's days.
func TestFireSummaries(t *testing.T) {
	created := date(2026, 1, 1, 0, 0)
	sunday := date(2026, 1, 4, 7, 0) // 08:00 in Paris, a Sunday
	monday := sunday.AddDate(0, 0, 1)
	f := newFixture(t, sunday.Add(time.Second))
	f.sched.SendSummaries(time.Sunday)
	private := f.subscribe("100", 8, 0, "Europe/Paris", monFri, created, nil)
	group := f.subscribe("-200", 8, 0, "Europe/Paris", monFri, created, func(s *store.Subscription) { s.Kind = chat.Group })
	on := true
	groupOn := f.subscribe("-300", 8, 0, "Europe/Paris", monFri, created, func(s *store.Subscription) {
		s.Kind, s.Summary = chat.Group, &on
	})
	f.load()
	if got := f.sched.Specs(); !slices.Equal(got, []string{"CRON_TZ=Europe/Paris 0 8 * * 1,2,3,4,5"}) {
		t.Errorf("specs %q", got)
	}
	e := entryOf(private)
	f.sched.fire(e)
	f.now = monday.Add(time.Second)
	f.sched.fire(e)
	kinds := func(sub store.Subscription) []string {
		ds, err := f.store.Deliveries(context.Background(), sub.ID)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, d := range ds {
			out = append(out, fmt.Sprintf("%s %s", d.Slot.Format("Mon"), d.Kind))
		}
		return out
	}
	for sub, want := range map[*store.Subscription][]string{
		&private: {"Sun summary", "Mon lesson"},
		&group:   {"Mon lesson"},
		&groupOn: {"Sun summary", "Mon lesson"},
	} {
		if got := kinds(*sub); !slices.Equal(got, want) {
			t.Errorf("chat %s: %q, want %q", sub.Address.ChatID, got, want)
		}
	}
}

// TestRefresh brings the schedule in step with changes it was not told
// of (made by another instance), touching only the entries that changed.
func TestRefresh(t *testing.T) {
	created := date(2026, 1, 1, 0, 0)
	f := newFixture(t, created)
	a := f.subscribe("100", 8, 0, "UTC", store.EveryDay, created, nil)
	f.subscribe("200", 9, 0, "UTC", store.EveryDay, created, nil)
	f.load()
	kept := map[string]bool{}
	for _, e := range f.sched.cron.Entries() {
		kept[fmt.Sprint(e.ID)] = true
	}
	// Another instance: a moves to 10:00, 300 subscribes, nothing is told.
	a.Hour = 10
	if err := f.store.SaveSubscription(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	f.subscribe("300", 21, 30, "UTC", store.EveryDay, created, nil)
	if err := f.sched.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := []string{"CRON_TZ=UTC 0 10 * * *", "CRON_TZ=UTC 0 9 * * *", "CRON_TZ=UTC 30 21 * * *"}
	if got := f.sched.Specs(); !slices.Equal(got, want) {
		t.Errorf("after Refresh, specs %q, want %q", got, want)
	}
	// The 09:00 entry, unchanged, kept its cron entry.
	f.sched.mu.Lock()
	id := f.sched.ids[entry{hour: 9, zone: "UTC", days: store.EveryDay}]
	f.sched.mu.Unlock()
	if !kept[fmt.Sprint(id)] {
		t.Errorf("the unchanged 09:00 entry was made again (cron id %d)", id)
	}
	// 300 leaves, elsewhere.
	sub, err := f.store.Chat(context.Background(), chat.Address{Platform: chat.Telegram, ChatID: "300"})
	if err != nil {
		t.Fatal(err)
	}
	sub.Active = false
	if err := f.store.SaveSubscription(context.Background(), sub); err != nil {
		t.Fatal(err)
	}
	if err := f.sched.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got, want := f.sched.Specs(), want[:2]; !slices.Equal(got, want) {
		t.Errorf("after 300 left, specs %q, want %q", got, want)
	}
}
