package lease

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lessonbot/lessonbot/internal/pgtest"
	"github.com/lessonbot/lessonbot/internal/store"
)

// testTTL is the lease length of the tests: short, so that they wait
// little; the margin is then ttl/4.
const testTTL = 900 * time.Millisecond

// openStore opens a store on a new database: PostgreSQL when the tests
// run beside a server, else a SQLite file.
func openStore(t *testing.T) *store.Store {
	t.Helper()
	where := filepath.Join(t.TempDir(), "lessonbot.db")
	if pgtest.ServerURL() != "" {
		where = pgtest.Database(t)
	}
	st, err := store.Open(context.Background(), where)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// span is one term of work in a role: when it began and ended.
type span struct {
	holder     string
	start, end time.Time
}

// recorder records the terms of work of several holders.
type recorder struct {
	mu    sync.Mutex
	spans []span
}

// work returns the work of holder: it records its term.
func (r *recorder) work(holder string) func(ctx context.Context) {
	return func(ctx context.Context) {
		start := time.Now()
		<-ctx.Done()
		r.mu.Lock()
		r.spans = append(r.spans, span{holder, start, time.Now()})
		r.mu.Unlock()
	}
}

// overlaps reports two terms of different holders that overlap.
func (r *recorder) overlaps(t *testing.T) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	for i, a := range r.spans {
		for _, b := range r.spans[i+1:] {
			if a.holder != b.holder && a.start.Before(b.end) && b.start.Before(a.end) {
				t.Errorf("%s acted %v–%v while %s acted %v–%v", a.holder, a.start.Format("05.000"), a.end.Format("05.000"),
					b.holder, b.start.Format("05.000"), b.end.Format("05.000"))
			}
		}
	}
}

// TestHandOverOnStop: the holder's clean stop gives the role up, and the
// other instance takes it at its next turn, before the lease would have
// run out. (The lease is longer than the other tests' so that a turn
// delayed by a busy machine still comes well before it runs out.)
func TestHandOverOnStop(t *testing.T) {
	t.Parallel()
	const ttl = 3 * time.Second
	st := openStore(t)
	var rec recorder
	var won atomic.Int32
	ctxA, stopA := context.WithCancel(context.Background())
	doneA := make(chan struct{})
	go func() {
		defer close(doneA)
		Run(ctxA, st, "scheduler", "a", Options{TTL: ttl, Held: func(h bool) {
			if h {
				won.Add(1)
			}
		}}, rec.work("a"))
	}()
	waitFor(t, "a to win the role", func() bool { return won.Load() == 1 })
	ctxB, stopB := context.WithCancel(context.Background())
	defer stopB()
	bWon := make(chan time.Time, 4)
	go Run(ctxB, st, "scheduler", "b", Options{TTL: ttl, Held: func(h bool) {
		if h {
			bWon <- time.Now()
		}
	}}, rec.work("b"))
	time.Sleep(ttl) // b asks about three times
	select {
	case <-bWon:
		t.Fatal("b won the role while a held it")
	default:
	}
	leases, err := st.Leases(context.Background())
	if err != nil || len(leases) != 1 || leases[0].Holder != "a" {
		t.Fatalf("Leases = %+v, %v; want a's", leases, err)
	}
	runsOut := leases[0].Expires // by the database's clock: the same machine's here
	stopped := time.Now()
	stopA()
	<-doneA
	select {
	case at := <-bWon:
		if !at.Before(runsOut) {
			t.Errorf("b took the role %v after a stopped, %v after a's lease ran out: a did not give it up",
				at.Sub(stopped), at.Sub(runsOut))
		}
	case <-time.After(5 * ttl):
		t.Fatal("b never took the role")
	}
	stopB()
	time.Sleep(50 * time.Millisecond)
	rec.overlaps(t)
}

// failing is a Store whose calls fail once fail is set, as they do when
// the database is out of reach (or its instance frozen).
type failing struct {
	Store
	fail atomic.Bool
}

func (f *failing) AcquireLease(ctx context.Context, role, holder string, ttl time.Duration) (bool, store.Lease, error) {
	if f.fail.Load() {
		return false, store.Lease{}, errors.New("connection refused")
	}
	return f.Store.AcquireLease(ctx, role, holder, ttl)
}

// TestStopActingBeforeTheLeaseRunsOut: a holder that cannot renew stops
// acting TTL−margin after its last renewal, before its lease runs out by
// the database's clock, and the other instance takes the role only after
// it ran out: never both at once.
func TestStopActingBeforeTheLeaseRunsOut(t *testing.T) {
	t.Parallel()
	const ttl = 3 * time.Second // a margin of 750 ms: a busy machine's delays fit in it
	st := openStore(t)
	a := &failing{Store: st}
	var rec recorder
	var aHeld atomic.Bool
	aStopped := make(chan time.Time, 1)
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	var wg sync.WaitGroup
	defer wg.Wait()
	defer stop()
	wg.Go(func() {
		Run(ctx, a, "sender:telegram:1", "a", Options{TTL: ttl, Held: func(h bool) {
			aHeld.Store(h)
			if !h {
				select {
				case aStopped <- time.Now():
				default:
				}
			}
		}}, rec.work("a"))
	})
	waitFor(t, "a to win the role", aHeld.Load)
	var bHeld atomic.Bool
	wg.Go(func() {
		Run(ctx, st, "sender:telegram:1", "b", Options{TTL: ttl, Held: bHeld.Store}, rec.work("b"))
	})
	a.fail.Store(true)
	leases, err := st.Leases(ctx) // a renews no more: this is its last lease
	if err != nil || len(leases) != 1 || leases[0].Holder != "a" {
		t.Fatalf("Leases = %+v, %v; want a's", leases, err)
	}
	expires := leases[0].Expires // by the database's clock: the same machine's here
	if at := <-aStopped; !at.Before(expires) {
		t.Errorf("a stopped acting %v after its lease ran out, want before", at.Sub(expires))
	}
	waitFor(t, "b to win the role", bHeld.Load)
	leases, err = st.Leases(ctx)
	if err != nil || len(leases) != 1 || leases[0].Holder != "b" {
		t.Fatalf("Leases = %+v, %v; want b's", leases, err)
	}
	if took := leases[0].Acquired; took.Before(expires) {
		t.Errorf("b took the role %v before a's lease ran out", expires.Sub(took))
	}
	stop()
	wg.Wait()
	rec.overlaps(t)
}

// TestLostToAnother: a holder whose row another instance took (its lease
// ran out while it was frozen) stops at its next renewal.
func TestLostToAnother(t *testing.T) {
	t.Parallel()
	st := openStore(t)
	var held atomic.Bool
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	done := make(chan struct{})
	go func() {
		defer close(done)
		Run(ctx, st, "scheduler", "a", Options{TTL: testTTL, Held: held.Store}, func(ctx context.Context) { <-ctx.Done() })
	}()
	waitFor(t, "a to win the role", held.Load)
	// b takes the row over, as after a's lease ran out.
	if err := st.ReleaseLease(ctx, "scheduler", "a"); err != nil {
		t.Fatal(err)
	}
	if won, _, err := st.AcquireLease(ctx, "scheduler", "b", time.Minute); err != nil || !won {
		t.Fatalf("b's AcquireLease = %v, %v", won, err)
	}
	waitFor(t, "a to stop acting", func() bool { return !held.Load() })
	stop()
	<-done
	if won, l, err := st.AcquireLease(context.Background(), "scheduler", "c", time.Minute); err != nil || won || l.Holder != "b" {
		t.Errorf("after a stopped: lease %+v (c won %v, %v); want still b's: a must not delete another's lease", l, won, err)
	}
}

// waitFor polls cond until it holds, failing t after 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestStandbyAsksAsTheLeaseRunsOut: a standby asks again when the lease
// it was refused runs out, not a whole turn later, so that a dead
// holder's role passes on about TTL after its last renewal.
func TestStandbyAsksAsTheLeaseRunsOut(t *testing.T) {
	t.Parallel()
	st := openStore(t)
	// A turn of 3 s: asking a turn late would come 1.5 s after the lease
	// ran out, far from the 50 ms of asking as it runs out, so that a busy
	// machine's delays do not blur the two.
	const ttl = 9 * time.Second
	dead := &failing{Store: st}
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	var wg sync.WaitGroup
	defer wg.Wait()
	defer stop()
	var aHeld atomic.Bool
	wg.Go(func() {
		Run(ctx, dead, "sender:telegram:1", "a", Options{TTL: ttl, Held: aHeld.Store}, func(ctx context.Context) { <-ctx.Done() })
	})
	waitFor(t, "a to win the role", aHeld.Load)
	dead.fail.Store(true) // a renews no more: as if killed
	leases, err := st.Leases(ctx)
	if err != nil || len(leases) != 1 {
		t.Fatalf("Leases = %+v, %v", leases, err)
	}
	expires := leases[0].Expires
	// b starts half a turn later: a turn of b lands half a turn after
	// the lease runs out.
	time.Sleep(ttl / 6)
	var bHeld atomic.Bool
	wg.Go(func() {
		Run(ctx, st, "sender:telegram:1", "b", Options{TTL: ttl, Held: bHeld.Store}, func(ctx context.Context) { <-ctx.Done() })
	})
	waitFor(t, "b to win the role", bHeld.Load)
	leases, err = st.Leases(ctx)
	if err != nil || len(leases) != 1 || leases[0].Holder != "b" {
		t.Fatalf("Leases = %+v, %v; want b's", leases, err)
	}
	late := leases[0].Acquired.Sub(expires)
	if late < 0 || late > 750*time.Millisecond {
		t.Errorf("b took the role %v after the lease ran out, want within 750 ms (a turn is %v)", late, ttl/3)
	}
	t.Logf("b took the role %v after a's lease ran out", late)
}
