package store

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/lessonbot/lessonbot/internal/chat"
)

// leaseT0 is when the deliveries of the lease tests fall due and are first
// claimed; leaseLength is the length of their leases.
var leaseT0 = time.Date(2000, 1, 1, 8, 0, 0, 0, time.UTC)

const leaseLength = 2 * time.Minute

// claimForTest enqueues one delivery for an active subscription, due at
// leaseT0, and claims it at leaseT0.
func claimForTest(t *testing.T, s *Store) Claim {
	t.Helper()
	ctx := context.Background()
	sub, err := s.EnsureChat(ctx, Subscription{
		Address: chat.Address{Platform: chat.Telegram, ChatID: "100"}, Kind: chat.Private,
		Hour: 8, Zone: "UTC", Weekdays: EveryDay, Language: "en",
	})
	if err != nil {
		t.Fatal(err)
	}
	sub.Active = true
	if err := s.SaveSubscription(ctx, sub); err != nil {
		t.Fatal(err)
	}
	if n, err := s.EnqueueSlot(ctx, []int64{sub.ID}, leaseT0); err != nil || n != 1 {
		t.Fatalf("EnqueueSlot = %d, %v; want 1 row", n, err)
	}
	claims, _, err := s.ClaimDue(ctx, leaseT0, leaseLength, 10, false, chat.Telegram)
	if err != nil || len(claims) != 1 {
		t.Fatalf("ClaimDue = %d claims, %v; want 1", len(claims), err)
	}
	if want := leaseT0.Add(leaseLength); !claims[0].Delivery.LeaseUntil.Equal(want) {
		t.Fatalf("claimed with lease until %v, want %v", claims[0].Delivery.LeaseUntil, want)
	}
	return claims[0]
}

// deliveryForTest reads the row of a delivery.
func deliveryForTest(t *testing.T, s *Store, c Claim) Delivery {
	t.Helper()
	ds, err := s.Deliveries(context.Background(), c.Subscription.ID)
	if err != nil || len(ds) != 1 {
		t.Fatalf("Deliveries = %+v, %v; want 1", ds, err)
	}
	return ds[0]
}

func TestRenewLease(t *testing.T) {
	ctx := context.Background()

	t.Run("OK", func(t *testing.T) {
		s := openTest(t)
		c := claimForTest(t, s)
		held := c.Delivery.LeaseUntil
		for _, until := range []time.Time{leaseT0.Add(3 * time.Minute), leaseT0.Add(5 * time.Minute), leaseT0.Add(5 * time.Minute)} {
			if err := s.RenewLease(ctx, c.Delivery.ID, held, until); err != nil {
				t.Fatalf("RenewLease(%v, %v) = %v, want nil", held, until, err)
			}
			if d := deliveryForTest(t, s, c); !d.LeaseUntil.Equal(until) || d.State != DeliverySending {
				t.Fatalf("after renewing to %v, delivery = %+v", until, d)
			}
			held = until
		}
		// The lease end the holder wrote before its last renewal names the
		// claim no more.
		err := s.RenewLease(ctx, c.Delivery.ID, c.Delivery.LeaseUntil, leaseT0.Add(6*time.Minute))
		if !errors.Is(err, ErrNotClaimed) {
			t.Errorf("RenewLease with an outdated lease end = %v, want ErrNotClaimed", err)
		}
	})

	t.Run("ErrNotClaimedTakenOver", func(t *testing.T) {
		s := openTest(t)
		c := claimForTest(t, s)
		// The lease runs out between two messages; another worker claims.
		later := leaseT0.Add(10 * time.Minute)
		other, unknown, err := s.ClaimDue(ctx, later, leaseLength, 10, false, chat.Telegram)
		if err != nil || len(other) != 1 || unknown != 0 {
			t.Fatalf("ClaimDue after the lease = %d claims (%d unknown), %v; want 1", len(other), unknown, err)
		}
		err = s.RenewLease(ctx, c.Delivery.ID, c.Delivery.LeaseUntil, later.Add(leaseLength))
		if !errors.Is(err, ErrNotClaimed) {
			t.Errorf("RenewLease by the first worker = %v, want ErrNotClaimed", err)
		}
		if d := deliveryForTest(t, s, c); !d.LeaseUntil.Equal(other[0].Delivery.LeaseUntil) {
			t.Errorf("lease until %v, want the new holder's %v", d.LeaseUntil, other[0].Delivery.LeaseUntil)
		}
		if err := s.RenewLease(ctx, c.Delivery.ID, other[0].Delivery.LeaseUntil, later.Add(2*leaseLength)); err != nil {
			t.Errorf("RenewLease by the new holder = %v, want nil", err)
		}
	})

	t.Run("ErrNotClaimedMarkedUnknown", func(t *testing.T) {
		s := openTest(t)
		c := claimForTest(t, s)
		if err := s.StartMessage(ctx, c.Delivery.ID, c.Delivery.LeaseUntil, 0, c.Delivery.LeaseUntil); err != nil {
			t.Fatal(err)
		}
		// The lease runs out with the message under way: the next claim
		// gives the delivery up as unknown.
		if _, unknown, err := s.ClaimDue(ctx, leaseT0.Add(10*time.Minute), leaseLength, 10, false, chat.Telegram); err != nil || unknown != 1 {
			t.Fatalf("ClaimDue after the lease = %d unknown, %v; want 1", unknown, err)
		}
		err := s.RenewLease(ctx, c.Delivery.ID, c.Delivery.LeaseUntil, leaseT0.Add(12*time.Minute))
		if !errors.Is(err, ErrNotClaimed) {
			t.Errorf("RenewLease = %v, want ErrNotClaimed", err)
		}
		if d := deliveryForTest(t, s, c); d.State != DeliveryUnknown || !d.LeaseUntil.IsZero() {
			t.Errorf("delivery = %+v, want unknown with no lease", d)
		}
	})

	t.Run("ErrNotClaimedFinished", func(t *testing.T) {
		s := openTest(t)
		c := claimForTest(t, s)
		if err := s.FinishDelivery(ctx, c.Delivery.ID, c.Delivery.LeaseUntil, DeliverySent, ""); err != nil {
			t.Fatal(err)
		}
		err := s.RenewLease(ctx, c.Delivery.ID, c.Delivery.LeaseUntil, leaseT0.Add(3*time.Minute))
		if !errors.Is(err, ErrNotClaimed) {
			t.Errorf("RenewLease of a finished delivery = %v, want ErrNotClaimed", err)
		}
		if d := deliveryForTest(t, s, c); d.State != DeliverySent || !d.LeaseUntil.IsZero() {
			t.Errorf("delivery = %+v, want sent with no lease", d)
		}
	})
}

// TestStaleHolderChangesNothing has a worker whose lease another worker
// took over try each write of a claimed delivery, while the new holder is
// between two messages and while it has one under way: each is refused
// and changes nothing. Between messages, the old holder must not start a
// send of its own; with one under way, it must not clear the mark of it,
// which would let the message be sent again after a crash of the new
// holder.
func TestStaleHolderChangesNothing(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name  string
		write func(s *Store, id int64, held time.Time) error
	}{
		{"StartMessage", func(s *Store, id int64, held time.Time) error {
			return s.StartMessage(ctx, id, held, 0, held.Add(time.Hour))
		}},
		{"AbortMessage", func(s *Store, id int64, held time.Time) error {
			return s.AbortMessage(ctx, id, held)
		}},
		{"RetryDelivery", func(s *Store, id int64, held time.Time) error {
			return s.RetryDelivery(ctx, id, held, leaseT0, false, "")
		}},
		{"FinishDelivery", func(s *Store, id int64, held time.Time) error {
			return s.FinishDelivery(ctx, id, held, DeliveryFailed, "stale")
		}},
	}
	for _, tt := range tests {
		for _, underWay := range []bool{false, true} {
			name := tt.name + "/BetweenMessages"
			if underWay {
				name = tt.name + "/MessageUnderWay"
			}
			t.Run(name, func(t *testing.T) {
				s := openTest(t)
				c := claimForTest(t, s)
				later := leaseT0.Add(10 * time.Minute)
				other, _, err := s.ClaimDue(ctx, later, leaseLength, 10, false, chat.Telegram)
				if err != nil || len(other) != 1 {
					t.Fatalf("ClaimDue after the lease = %d claims, %v; want 1", len(other), err)
				}
				newHeld := other[0].Delivery.LeaseUntil
				if underWay {
					if err := s.StartMessage(ctx, c.Delivery.ID, newHeld, 0, newHeld); err != nil {
						t.Fatalf("StartMessage by the new holder = %v", err)
					}
				}
				before := deliveryForTest(t, s, c)
				if err := tt.write(s, c.Delivery.ID, c.Delivery.LeaseUntil); !errors.Is(err, ErrNotClaimed) {
					t.Errorf("%s by the old holder = %v, want ErrNotClaimed", tt.name, err)
				}
				after := deliveryForTest(t, s, c)
				if after.State != DeliverySending || after.Inflight != before.Inflight || !after.LeaseUntil.Equal(newHeld) || !after.UpdatedAt.Equal(before.UpdatedAt) {
					t.Errorf("delivery = %+v, want it as the new holder left it: %+v", after, before)
				}
			})
		}
	}
}
