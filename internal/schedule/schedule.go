// Package schedule turns subscriptions into due deliveries: one cron entry
// per distinct (time, zone, weekdays) among the active subscriptions, and
// when an entry fires, one outbox row per subscription on it. It also
// catches up a slot missed while the program was down.
//
// The scheduler reads every active subscription once, at start. After
// that, a change to one chat (a command, a chat gone) updates that chat's
// place in the schedule alone, in constant time however many chats there
// are; an entry that fires reads only its own subscriptions, by an index.
package schedule

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/lessonbot/lessonbot/internal/store"
)

// DefaultCatchUp is how late a missed slot may still be delivered after a
// restart (config catch_up).
const DefaultCatchUp = 6 * time.Hour

// Scheduler keeps the cron entries in step with the subscriptions and
// writes due deliveries. It is safe for concurrent use.
type Scheduler struct {
	store   *store.Store
	catchUp time.Duration
	now     func() time.Time
	log     *slog.Logger
	// due is told, without blocking, that rows were written.
	due func()
	// summaries tells that the weekly summaries are on, on summaryDay.
	summaries  bool
	summaryDay time.Weekday

	cron *cron.Cron
	mu   sync.Mutex
	// subs is the entry of each active subscription, by id; refs counts
	// the subscriptions of each entry, and ids holds the cron entry of
	// each entry that has any.
	subs map[int64]entry
	refs map[entry]int
	ids  map[entry]cron.EntryID

	// ticked is when the clock entry last ran (unix nanoseconds).
	ticked atomic.Int64
	// tick adds the clock entry once, however many times Run runs.
	tick sync.Once
	// refresh, when not zero, is how often Run reads the subscriptions
	// again (see RefreshEvery).
	refresh time.Duration
}

// RefreshEvery makes Run read the active subscriptions again every d and
// bring the schedule in step with them: for an instance among several on
// one database, where a command handled by another instance changes a
// subscription this scheduler is not told of. Only the entries whose
// subscriptions changed are touched. Call it before Run.
func (s *Scheduler) RefreshEvery(d time.Duration) { s.refresh = d }

// TickPeriod is how often the scheduler's clock entry runs: its heartbeat,
// proof that cron's loop still fires entries.
const TickPeriod = time.Minute

// New returns a scheduler. now is the clock; due, when not nil, is called
// after rows are written, so that the delivery workers look at once.
func New(st *store.Store, catchUp time.Duration, now func() time.Time, log *slog.Logger, due func()) *Scheduler {
	if due == nil {
		due = func() {}
	}
	s := &Scheduler{store: st, catchUp: catchUp, now: now, log: log, due: due,
		subs: map[int64]entry{}, refs: map[entry]int{}, ids: map[entry]cron.EntryID{}}
	s.ticked.Store(time.Now().UnixNano())
	s.cron = cron.New(
		cron.WithLocation(time.UTC),
		cron.WithChain(cron.Recover(cronLogger{log})),
		cron.WithLogger(cronLogger{log}),
	)
	return s
}

// SendSummaries makes the scheduler write, on day (in each chat's zone,
// at its lesson time), a weekly summary for each subscription that wants
// one (Subscription.SummaryOn), even on a day without a lesson. Call it
// before Run. A summary missed while the program was down is not caught
// up: it would tell of a week already past.
func (s *Scheduler) SendSummaries(day time.Weekday) {
	s.summaries, s.summaryDay = true, day
}

// Run starts the cron entries, catches up missed slots, and keeps the
// entries until ctx is done; then it waits for a running job to finish.
// Cron runs before the catch-up reads the clock: a slot that passes while
// the program starts (loading every subscription takes a while) is then
// fired by cron, and one that passed before is caught up; a slot both
// write is written once.
//
// Run may run again after it returned, as an instance that holds the
// scheduler's lease does each time it wins it.
func (s *Scheduler) Run(ctx context.Context) error {
	if err := s.Load(ctx); err != nil {
		return err
	}
	s.ticked.Store(time.Now().UnixNano())
	s.tick.Do(func() {
		s.cron.Schedule(cron.Every(TickPeriod), cron.FuncJob(func() { s.ticked.Store(time.Now().UnixNano()) }))
	})
	s.cron.Start()
	if err := s.CatchUp(ctx); err != nil {
		s.log.Error("catch-up failed", "err", err)
	}
	if s.refresh > 0 {
		t := time.NewTicker(s.refresh)
		defer t.Stop()
	loop:
		for {
			select {
			case <-ctx.Done():
				break loop
			case <-t.C:
				if err := s.Refresh(ctx); err != nil && ctx.Err() == nil {
					s.log.Error("reading the subscriptions again failed", "err", err)
				}
			}
		}
	}
	<-ctx.Done()
	<-s.cron.Stop().Done()
	return nil
}

// Refresh reads every active subscription and moves those whose place in
// the schedule changed, taking off those no longer active. Unlike Load it
// leaves the entries of unchanged subscriptions as they are, so no slot is
// missed while it runs.
func (s *Scheduler) Refresh(ctx context.Context) error {
	// Updates wait for the read, as in Load: one that came between the
	// read and the moves would be undone by an older row.
	s.mu.Lock()
	defer s.mu.Unlock()
	subs, err := s.store.ActiveSubscriptions(ctx)
	if err != nil {
		return fmt.Errorf("schedule: refresh: %w", err)
	}
	active := make(map[int64]bool, len(subs))
	for _, sub := range subs {
		active[sub.ID] = true
		s.putLocked(sub)
	}
	for id := range s.subs {
		if !active[id] {
			s.putLocked(store.Subscription{ID: id})
		}
	}
	return nil
}

// LastTick returns when the scheduler's clock entry last ran, or when the
// scheduler started. It runs every TickPeriod while cron works.
func (s *Scheduler) LastTick() time.Time { return time.Unix(0, s.ticked.Load()) }

// entry is one distinct schedule among the subscriptions.
type entry struct {
	hour, minute int
	zone         string
	days         store.Weekdays
}

// Spec writes the entry as a cron spec with its zone, such as
// "CRON_TZ=Europe/Paris 30 7 * * 1-5".
func (e entry) Spec() string {
	return fmt.Sprintf("CRON_TZ=%s %d %d * * %s", e.zone, e.minute, e.hour, cronDays(e.days))
}

// cronDays writes weekdays as a cron day-of-week field.
func cronDays(w store.Weekdays) string {
	if w&store.EveryDay == store.EveryDay {
		return "*"
	}
	var days []string
	for d := time.Sunday; d <= time.Saturday; d++ {
		if w.Has(d) {
			days = append(days, fmt.Sprint(int(d)))
		}
	}
	return strings.Join(days, ",")
}

func entryOf(sub store.Subscription) entry {
	return entry{hour: sub.Hour, minute: sub.Minute, zone: sub.Zone, days: sub.Weekdays}
}

// Load reads every active subscription and puts each in the schedule,
// replacing what the scheduler knew. Run calls it at start; call it again
// only if every subscription may have changed at once (a new time zone
// database).
func (s *Scheduler) Load(ctx context.Context) error {
	// Updates wait for the read: one that came between the read and the
	// reset of the maps would be lost.
	s.mu.Lock()
	defer s.mu.Unlock()
	subs, err := s.store.ActiveSubscriptions(ctx)
	if err != nil {
		return fmt.Errorf("schedule: load: %w", err)
	}
	for _, id := range s.ids {
		s.cron.Remove(id)
	}
	s.subs, s.refs, s.ids = map[int64]entry{}, map[entry]int{}, map[entry]cron.EntryID{}
	for _, sub := range subs {
		s.putLocked(sub)
	}
	return nil
}

// Update puts one subscription, as it stands after a change, in its place
// in the schedule: on the entry of its time, zone and days when it is
// active, on none when it is not (a subscription given with only its ID is
// taken off). It reads nothing and costs the same however many
// subscriptions there are; an entry is added to cron when its first
// subscription comes and removed when its last one goes.
func (s *Scheduler) Update(sub store.Subscription) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.putLocked(sub)
}

// putLocked moves sub to its entry; s.mu is held.
func (s *Scheduler) putLocked(sub store.Subscription) {
	old, had := s.subs[sub.ID]
	e := entryOf(sub)
	if had && sub.Active && old == e {
		return
	}
	if had {
		delete(s.subs, sub.ID)
		if s.refs[old]--; s.refs[old] <= 0 {
			delete(s.refs, old)
			if id, ok := s.ids[old]; ok {
				s.cron.Remove(id)
				delete(s.ids, old)
			}
		}
	}
	if !sub.Active {
		return
	}
	s.subs[sub.ID] = e
	if s.refs[e]++; s.refs[e] > 1 {
		return
	}
	sched, err := s.scheduleOf(e)
	if err != nil {
		s.log.Error("cannot schedule", "spec", e.Spec(), "subscription", sub.ID, "err", err)
		return
	}
	s.ids[e] = s.cron.Schedule(sched, cron.FuncJob(func() { s.fire(e) }))
}

// Specs returns the cron specs in service, sorted; for tests and logs.
func (s *Scheduler) Specs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	specs := make([]string, 0, len(s.ids))
	for e := range s.ids {
		specs = append(specs, e.Spec())
	}
	sort.Strings(specs)
	return specs
}

// scheduleOf parses the entry's spec, which validates it, and returns the
// schedule cron runs: store.Daily, because cron's own never fires a time
// that falls in a spring-forward gap, where a chat should still get its
// lesson at the first valid minute after it, and a day must have exactly
// one slot when a time repeats on fall-back.
// With summaries on, the schedule also fires on the summary day.
func (s *Scheduler) scheduleOf(e entry) (store.Daily, error) {
	if _, err := cron.ParseStandard(e.Spec()); err != nil {
		return store.Daily{}, err
	}
	loc, err := time.LoadLocation(e.zone)
	if err != nil {
		return store.Daily{}, err
	}
	days := e.days
	if s.summaries {
		days |= 1 << s.summaryDay
	}
	return store.Daily{Hour: e.hour, Minute: e.minute, Weekdays: days, Location: loc}, nil
}

// fire writes the deliveries of the slot that is due now on entry e.
func (s *Scheduler) fire(e entry) {
	ctx := context.Background()
	sched, err := s.scheduleOf(e)
	if err != nil {
		s.log.Error("cannot schedule", "spec", e.Spec(), "err", err)
		return
	}
	slot := sched.Prev(s.now())
	weekday := slot.In(sched.Location).Weekday()
	lessons := e.days.Has(weekday)
	summaries := s.summaries && weekday == s.summaryDay
	subs, err := s.store.ScheduledSubscriptions(ctx, e.hour, e.minute, e.zone, e.days)
	if err != nil {
		s.log.Error("reading the subscriptions of a slot failed", "spec", e.Spec(), "slot", slot, "err", err)
		return
	}
	var ids, wants []int64
	for _, sub := range subs {
		if paused(sub, slot) {
			continue
		}
		if lessons {
			ids = append(ids, sub.ID)
		}
		if summaries && sub.SummaryOn() {
			wants = append(wants, sub.ID)
		}
	}
	n, err := s.store.EnqueueSlot(ctx, ids, slot)
	if err == nil && len(wants) > 0 {
		var m int
		m, err = s.store.Enqueue(ctx, store.SummaryDelivery, wants, slot)
		n += m
	}
	if n > 0 {
		s.due()
	}
	if err != nil {
		s.log.Error("writing due deliveries failed", "spec", e.Spec(), "slot", slot, "err", err)
		return
	}
	s.log.Info("slot due", "spec", e.Spec(), "slot", slot, "deliveries", n, "summaries", len(wants))
}

func paused(sub store.Subscription, at time.Time) bool {
	return !sub.PausedUntil.IsZero() && at.Before(sub.PausedUntil)
}

// CatchUp gives every active subscription whose last slot passed while
// the program was down, no longer than catch_up ago, that slot now; older
// missed slots are skipped, so a chat gets at most one catch-up lesson
// however long the outage.
func (s *Scheduler) CatchUp(ctx context.Context) error {
	subs, err := s.store.ActiveSubscriptions(ctx)
	if err != nil {
		return fmt.Errorf("schedule: catch up: %w", err)
	}
	now := s.now()
	bySlot := map[time.Time][]int64{}
	for _, sub := range subs {
		d, err := sub.Daily()
		if err != nil {
			s.log.Error("cannot schedule", "subscription", sub.ID, "err", err)
			continue
		}
		last := d.Prev(now)
		if last.IsZero() || now.Sub(last) > s.catchUp || last.Before(sub.CreatedAt) || paused(sub, last) {
			continue
		}
		bySlot[last] = append(bySlot[last], sub.ID)
	}
	total := 0
	for slot, ids := range bySlot {
		n, err := s.store.EnqueueSlot(ctx, ids, slot)
		if err != nil {
			return fmt.Errorf("schedule: catch up: %w", err)
		}
		total += n
	}
	if total > 0 {
		s.log.Info("caught up missed slots", "deliveries", total)
		s.due()
	}
	return nil
}

// cronLogger sends cron's own messages, such as a recovered panic, to
// slog.
type cronLogger struct{ log *slog.Logger }

func (l cronLogger) Info(msg string, keysAndValues ...any) {
	l.log.Debug("cron: "+msg, keysAndValues...)
}

func (l cronLogger) Error(err error, msg string, keysAndValues ...any) {
	l.log.Error("cron: "+msg, append(keysAndValues, "err", err)...)
}
