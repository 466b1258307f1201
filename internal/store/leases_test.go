package store

import (
	"context"
	"sync"
	"testing"
	"time"
)

// TestAcquireLease: one holder at a time; the holder renews; another takes
// the role once the lease ran out, or at once after a release.
func TestAcquireLease(t *testing.T) {
	t.Parallel()
	s := openTest(t)
	ctx := context.Background()
	held, l, err := s.AcquireLease(ctx, "scheduler", "a", time.Minute)
	if err != nil || !held || l.Holder != "a" || time.Until(l.Expires) < 50*time.Second {
		t.Fatalf("first AcquireLease = %v, %+v, %v; want held by a for a minute", held, l, err)
	}
	first := l.Acquired
	if held, l, err := s.AcquireLease(ctx, "scheduler", "b", time.Minute); err != nil || held || l.Holder != "a" ||
		l.Left <= 50*time.Second || l.Left > time.Minute {
		t.Errorf("AcquireLease by b while a holds it = %v, %+v, %v; want refused, held by a for about a minute more", held, l, err)
	}
	if held, l, err := s.AcquireLease(ctx, "scheduler", "a", time.Minute); err != nil || !held || !l.Acquired.Equal(first) {
		t.Errorf("renewal by a = %v, %+v, %v; want held, acquired still %v", held, l, err, first)
	}
	// Another role is another lease.
	if held, _, err := s.AcquireLease(ctx, "sender:telegram:1", "b", time.Minute); err != nil || !held {
		t.Errorf("AcquireLease of another role = %v, %v; want held", held, err)
	}
	// A lease that runs out goes to whoever asks next.
	if held, _, err := s.AcquireLease(ctx, "poller:telegram:1", "a", 50*time.Millisecond); err != nil || !held {
		t.Fatalf("short lease = %v, %v", held, err)
	}
	time.Sleep(100 * time.Millisecond)
	if held, l, err := s.AcquireLease(ctx, "poller:telegram:1", "b", time.Minute); err != nil || !held || l.Holder != "b" {
		t.Errorf("AcquireLease after it ran out = %v, %+v, %v; want held by b", held, l, err)
	}
	// A release by another than the holder changes nothing; the holder's
	// frees the role at once.
	if err := s.ReleaseLease(ctx, "scheduler", "b"); err != nil {
		t.Fatal(err)
	}
	if held, _, _ := s.AcquireLease(ctx, "scheduler", "b", time.Minute); held {
		t.Error("b took the scheduler after releasing a lease it did not hold")
	}
	if err := s.ReleaseLease(ctx, "scheduler", "a"); err != nil {
		t.Fatal(err)
	}
	if held, _, err := s.AcquireLease(ctx, "scheduler", "b", time.Minute); err != nil || !held {
		t.Errorf("AcquireLease after the holder released it = %v, %v; want held", held, err)
	}
	leases, err := s.Leases(ctx)
	if err != nil || len(leases) != 3 {
		t.Fatalf("Leases = %+v, %v; want 3", leases, err)
	}
	for _, l := range leases {
		if l.Holder != "b" {
			t.Errorf("lease %s held by %s, want b", l.Role, l.Holder)
		}
	}
}

// TestAcquireLeaseRace has eight holders ask for the same role at once:
// one gets it.
func TestAcquireLeaseRace(t *testing.T) {
	t.Parallel()
	s := openTest(t)
	ctx := context.Background()
	var mu sync.Mutex
	winners := 0
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			held, _, err := s.AcquireLease(ctx, "sender:telegram:1", string(rune('a'+i)), time.Minute)
			if err != nil {
				t.Error(err)
			}
			if held {
				mu.Lock()
				winners++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if winners != 1 {
		t.Errorf("%d holders got the lease, want 1", winners)
	}
}

// TestClaimUpdate: an update is handled once; a second arrival while it is
// handled waits; after its handler died, another takes it over.
func TestClaimUpdate(t *testing.T) {
	t.Parallel()
	s := openTest(t)
	ctx := context.Background()
	claim := func(id int64, holder string, hold time.Duration) UpdateClaim {
		t.Helper()
		c, err := s.ClaimUpdate(ctx, "bot1", id, holder, hold)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	if c := claim(10, "a", 8*time.Second); c != UpdateNew {
		t.Fatalf("first arrival = %v, want new", c)
	}
	if c := claim(10, "b", 8*time.Second); c != UpdateBusy {
		t.Errorf("arrival while a handles it = %v, want busy", c)
	}
	if err := s.FinishUpdate(ctx, "bot1", 10, "a"); err != nil {
		t.Fatal(err)
	}
	if c := claim(10, "b", 8*time.Second); c != UpdateDone {
		t.Errorf("arrival after it was handled = %v, want done", c)
	}
	// Another bot's update of the same number is another update.
	if c, err := s.ClaimUpdate(ctx, "bot2", 10, "a", 8*time.Second); err != nil || c != UpdateNew {
		t.Errorf("another bot's update = %v, %v; want new", c, err)
	}
	// a dies handling 11: once its claim ran out, b handles it.
	if c := claim(11, "a", 50*time.Millisecond); c != UpdateNew {
		t.Fatal(c)
	}
	time.Sleep(100 * time.Millisecond)
	if c := claim(11, "b", 8*time.Second); c != UpdateNew {
		t.Errorf("arrival after the claim ran out = %v, want new", c)
	}
	// a's late finish is not b's.
	if err := s.FinishUpdate(ctx, "bot1", 11, "a"); err != nil {
		t.Fatal(err)
	}
	if c := claim(11, "c", 8*time.Second); c != UpdateBusy {
		t.Errorf("after the dead holder's late finish = %v, want busy (b handles it)", c)
	}
	if n, err := s.ForgetUpdates(ctx, time.Hour); err != nil || n != 0 {
		t.Errorf("ForgetUpdates(1h) = %d, %v; want 0", n, err)
	}
	time.Sleep(20 * time.Millisecond)
	if n, err := s.ForgetUpdates(ctx, 10*time.Millisecond); err != nil || n != 3 {
		t.Errorf("ForgetUpdates(10ms) = %d, %v; want 3", n, err)
	}
}
