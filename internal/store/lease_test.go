package store

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/lessonbot/lessonbot/internal/chat"
)

// leaseT0 is when the deliveries of the lease tests fall due and are first
// claimed; leaseLength is the length of their leases.
var leaseT0 = time.Date(2000, 1, 1, 8, 0, 0, 0, time.UTC)

const leaseLength = 2 * time.Minute

// The holders of the lease tests: two processes.
const (
	holderA = "host:1:a"
	holderB = "host:2:b"
)

// subscribeForTest adds an active subscription for chat id on platform.
func subscribeForTest(t *testing.T, s *Store, platform, id string) Subscription {
	t.Helper()
	ctx := context.Background()
	sub, err := s.EnsureChat(ctx, Subscription{
		Address: chat.Address{Platform: platform, ChatID: id}, Kind: chat.Private,
		Hour: 8, Zone: "UTC", Weekdays: EveryDay, Language: "en",
	})
	if err != nil {
		t.Fatal(err)
	}
	sub.Active = true
	if err := s.SaveSubscription(ctx, sub); err != nil {
		t.Fatal(err)
	}
	return sub
}

// claimForTest enqueues one delivery for an active subscription, due at
// leaseT0, and claims it for holderA at leaseT0.
func claimForTest(t *testing.T, s *Store) Claim {
	t.Helper()
	ctx := context.Background()
	sub := subscribeForTest(t, s, chat.Telegram, "100")
	if n, err := s.EnqueueSlot(ctx, []int64{sub.ID}, leaseT0); err != nil || n != 1 {
		t.Fatalf("EnqueueSlot = %d, %v; want 1 row", n, err)
	}
	claims, _, err := s.ClaimDue(ctx, leaseT0, holderA, leaseLength, 10, false, chat.Telegram)
	if err != nil || len(claims) != 1 {
		t.Fatalf("ClaimDue = %d claims, %v; want 1", len(claims), err)
	}
	c := claims[0].Delivery
	if want := leaseT0.Add(leaseLength); !c.LeaseUntil.Equal(want) || c.ClaimedBy != holderA || c.State != DeliverySending {
		t.Fatalf("claimed as %+v, want sending by %s with lease until %v", c, holderA, want)
	}
	if claims[0].Subscription.ID != sub.ID {
		t.Fatalf("claimed with subscription %+v, want %d", claims[0].Subscription, sub.ID)
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

func TestRenewLeases(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openTest(t)
	c := claimForTest(t, s)
	other := subscribeForTest(t, s, chat.Telegram, "200")
	if _, err := s.EnqueueSlot(ctx, []int64{other.ID}, leaseT0); err != nil {
		t.Fatal(err)
	}
	if claims, _, err := s.ClaimDue(ctx, leaseT0, holderB, leaseLength, 10, false, chat.Telegram); err != nil || len(claims) != 1 {
		t.Fatalf("ClaimDue by B = %d claims, %v; want 1", len(claims), err)
	}
	until := leaseT0.Add(5 * time.Minute)
	if n, err := s.RenewLeases(ctx, holderA, until); err != nil || n != 1 {
		t.Fatalf("RenewLeases(A) = %d, %v; want 1 renewed", n, err)
	}
	if d := deliveryForTest(t, s, c); !d.LeaseUntil.Equal(until) {
		t.Errorf("A's lease until %v, want %v", d.LeaseUntil, until)
	}
	ds, err := s.Deliveries(ctx, other.ID)
	if err != nil || len(ds) != 1 || !ds[0].LeaseUntil.Equal(leaseT0.Add(leaseLength)) {
		t.Errorf("B's delivery = %+v, %v; want its own lease untouched", ds, err)
	}
	// A finished delivery is no longer renewed.
	if err := s.FinishDelivery(ctx, c.Delivery.ID, holderA, DeliverySent, ""); err != nil {
		t.Fatal(err)
	}
	if n, err := s.RenewLeases(ctx, holderA, until.Add(time.Minute)); err != nil || n != 0 {
		t.Errorf("RenewLeases after the finish = %d, %v; want 0", n, err)
	}
}

// TestClaimDueExpired lets a holder's lease run out: another holder claims
// the delivery, and the first holder's writes change nothing from then
// on; a holder never takes over its own claims that way.
func TestClaimDueExpired(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openTest(t)
	c := claimForTest(t, s)
	later := leaseT0.Add(10 * time.Minute)
	if own, _, err := s.ClaimDue(ctx, later, holderA, leaseLength, 10, false, chat.Telegram); err != nil || len(own) != 0 {
		t.Fatalf("ClaimDue by the holder itself = %d claims, %v; want none", len(own), err)
	}
	other, unknown, err := s.ClaimDue(ctx, later, holderB, leaseLength, 10, false, chat.Telegram)
	if err != nil || len(other) != 1 || unknown != 0 {
		t.Fatalf("ClaimDue by B after the lease = %d claims (%d unknown), %v; want 1", len(other), unknown, err)
	}
	if got := other[0].Delivery; got.ClaimedBy != holderB || !got.LeaseUntil.Equal(later.Add(leaseLength)) {
		t.Errorf("claimed as %+v, want by B until %v", got, later.Add(leaseLength))
	}
	if err := s.StartMessage(ctx, c.Delivery.ID, holderA, 0); !errors.Is(err, ErrNotClaimed) {
		t.Errorf("StartMessage by A = %v, want ErrNotClaimed", err)
	}
	if err := s.StartMessage(ctx, c.Delivery.ID, holderB, 0); err != nil {
		t.Errorf("StartMessage by B = %v, want nil", err)
	}
}

// TestTakeOver releases another holder's claims whatever their lease, and
// leaves unknown a message it had under way: a post ends the delivery, a
// question is skipped; with resendUnknown, both are sent again.
func TestTakeOver(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tests := []struct {
		name          string
		sent          int // messages recorded before the one under way
		underWay      bool
		resendUnknown bool
		wantState     DeliveryState
		wantIDs       []string
		wantUnknown   int
	}{
		{"BetweenMessages", 1, false, false, DeliveryPending, []string{"m0"}, 0},
		{"PostUnderWay", 0, true, false, DeliveryUnknown, []string{""}, 1},
		{"QuestionUnderWay", 1, true, false, DeliveryPending, []string{"m0", ""}, 1},
		{"PostUnderWayResend", 0, true, true, DeliveryPending, nil, 0},
		{"QuestionUnderWayResend", 2, true, true, DeliveryPending, []string{"m0", "m1"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := openTest(t)
			c := claimForTest(t, s)
			id := c.Delivery.ID
			for i := range tt.sent {
				if err := s.StartMessage(ctx, id, holderA, i); err != nil {
					t.Fatal(err)
				}
				if err := s.MessageSent(ctx, id, i, "m"+string(rune('0'+i))); err != nil {
					t.Fatal(err)
				}
			}
			if tt.underWay {
				if err := s.StartMessage(ctx, id, holderA, tt.sent); err != nil {
					t.Fatal(err)
				}
			}
			// A delivery of another platform, and one of B's own, stay.
			console := subscribeForTest(t, s, chat.Console, "me")
			mine := subscribeForTest(t, s, chat.Telegram, "300")
			if _, err := s.EnqueueSlot(ctx, []int64{console.ID, mine.ID}, leaseT0); err != nil {
				t.Fatal(err)
			}
			if n := len(mustClaim(t, s, holderA, chat.Console)); n != 1 {
				t.Fatalf("claimed %d console deliveries, want 1", n)
			}
			if n := len(mustClaim(t, s, holderB, chat.Telegram)); n != 1 {
				t.Fatalf("B claimed %d deliveries, want 1", n)
			}

			released, unknown, err := s.TakeOver(ctx, holderB, tt.resendUnknown, chat.Telegram)
			if err != nil || released != 1 || unknown != tt.wantUnknown {
				t.Fatalf("TakeOver = %d released, %d unknown, %v; want 1, %d", released, unknown, err, tt.wantUnknown)
			}
			d := deliveryForTest(t, s, c)
			if d.State != tt.wantState || !slices.Equal(d.MessageIDs, tt.wantIDs) || d.Unknown != tt.wantUnknown ||
				d.ClaimedBy != "" || !d.LeaseUntil.IsZero() || d.Inflight != -1 {
				t.Errorf("after the takeover: %+v; want %s with ids %q and %d unknown, unclaimed", d, tt.wantState, tt.wantIDs, tt.wantUnknown)
			}
			for _, sub := range []Subscription{console, mine} {
				ds, err := s.Deliveries(ctx, sub.ID)
				if err != nil || len(ds) != 1 || ds[0].State != DeliverySending {
					t.Errorf("%s's delivery = %+v, %v; want still sending", sub.Address.Key(), ds, err)
				}
			}
			if tt.wantState != DeliveryPending {
				return
			}
			// Due at once: the new holder claims it now.
			claims := mustClaim(t, s, holderB, chat.Telegram)
			if len(claims) != 1 || claims[0].Delivery.ID != id {
				t.Errorf("claims after the takeover = %+v, want the delivery taken over", claims)
			}
		})
	}
}

// mustClaim claims what is due at leaseT0 for holder on platform.
func mustClaim(t *testing.T, s *Store, holder, platform string) []Claim {
	t.Helper()
	claims, _, err := s.ClaimDue(context.Background(), leaseT0, holder, leaseLength, 100, false, platform)
	if err != nil {
		t.Fatal(err)
	}
	return claims
}

// TestMessageUnknown records uncertain messages: a question is skipped and
// the delivery goes on; the post ends it as unknown.
func TestMessageUnknown(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	t.Run("Question", func(t *testing.T) {
		s := openTest(t)
		c := claimForTest(t, s)
		id := c.Delivery.ID
		mustStart(t, s, id, 0)
		if err := s.MessageSent(ctx, id, 0, "m0"); err != nil {
			t.Fatal(err)
		}
		mustStart(t, s, id, 1)
		if err := s.MessageUnknown(ctx, id, holderA, 1, "timeout"); err != nil {
			t.Fatal(err)
		}
		mustStart(t, s, id, 2)
		if err := s.MessageSent(ctx, id, 2, "m2"); err != nil {
			t.Fatal(err)
		}
		if err := s.FinishDelivery(ctx, id, holderA, DeliverySent, ""); err != nil {
			t.Fatal(err)
		}
		d := deliveryForTest(t, s, c)
		if d.State != DeliverySent || !slices.Equal(d.MessageIDs, []string{"m0", "", "m2"}) || d.Unknown != 1 {
			t.Errorf("delivery = %+v, want sent with ids m0, \"\", m2 and 1 unknown", d)
		}
		if n, err := s.UnknownMessages(ctx, leaseT0); err != nil || n != 1 {
			t.Errorf("UnknownMessages = %d, %v; want 1", n, err)
		}
	})
	t.Run("Post", func(t *testing.T) {
		s := openTest(t)
		c := claimForTest(t, s)
		mustStart(t, s, c.Delivery.ID, 0)
		if err := s.MessageUnknown(ctx, c.Delivery.ID, holderA, 0, "timeout"); err != nil {
			t.Fatal(err)
		}
		d := deliveryForTest(t, s, c)
		if d.State != DeliveryUnknown || d.ClaimedBy != "" || !d.LeaseUntil.IsZero() || d.Unknown != 1 {
			t.Errorf("delivery = %+v, want unknown, unclaimed, 1 unknown message", d)
		}
		if err := s.StartMessage(ctx, c.Delivery.ID, holderA, 1); !errors.Is(err, ErrNotClaimed) {
			t.Errorf("StartMessage after an uncertain post = %v, want ErrNotClaimed", err)
		}
	})
	t.Run("ErrNotClaimed", func(t *testing.T) {
		s := openTest(t)
		c := claimForTest(t, s)
		mustStart(t, s, c.Delivery.ID, 0)
		if err := s.MessageUnknown(ctx, c.Delivery.ID, holderB, 0, "timeout"); !errors.Is(err, ErrNotClaimed) {
			t.Errorf("MessageUnknown by another holder = %v, want ErrNotClaimed", err)
		}
	})
}

func mustStart(t *testing.T, s *Store, id int64, index int) {
	t.Helper()
	if err := s.StartMessage(context.Background(), id, holderA, index); err != nil {
		t.Fatalf("StartMessage(%d) = %v", index, err)
	}
}

// TestReleaseClaims puts back a stopping holder's deliveries with nothing
// under way, and leaves one with a message under way to be judged later.
func TestReleaseClaims(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openTest(t)
	c := claimForTest(t, s)
	busy := subscribeForTest(t, s, chat.Telegram, "200")
	if _, err := s.EnqueueSlot(ctx, []int64{busy.ID}, leaseT0); err != nil {
		t.Fatal(err)
	}
	claims := mustClaim(t, s, holderA, chat.Telegram)
	if len(claims) != 1 {
		t.Fatalf("claimed %d, want 1", len(claims))
	}
	mustStart(t, s, claims[0].Delivery.ID, 0)
	if n, err := s.ReleaseClaims(ctx, holderA); err != nil || n != 1 {
		t.Fatalf("ReleaseClaims = %d, %v; want 1", n, err)
	}
	if d := deliveryForTest(t, s, c); d.State != DeliveryPending || d.ClaimedBy != "" {
		t.Errorf("released delivery = %+v, want pending and unclaimed", d)
	}
	ds, _ := s.Deliveries(ctx, busy.ID)
	if len(ds) != 1 || ds[0].State != DeliverySending || ds[0].Inflight != 0 {
		t.Errorf("delivery under way = %+v, want still sending with message 0 under way", ds)
	}
}

// TestStaleHolderChangesNothing has a holder whose delivery another holder
// took over try each write of a claimed delivery, while the new holder is
// between two messages and while it has one under way: each is refused
// and changes nothing. Between messages, the old holder must not start a
// send of its own; with one under way, it must not clear the mark of it,
// which would let the message be sent again after a crash of the new
// holder.
func TestStaleHolderChangesNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tests := []struct {
		name  string
		write func(s *Store, id int64) error
	}{
		{"StartMessage", func(s *Store, id int64) error { return s.StartMessage(ctx, id, holderA, 0) }},
		{"MessageUnknown", func(s *Store, id int64) error { return s.MessageUnknown(ctx, id, holderA, 0, "stale") }},
		{"AbortMessage", func(s *Store, id int64) error { return s.AbortMessage(ctx, id, holderA) }},
		{"RetryDelivery", func(s *Store, id int64) error { return s.RetryDelivery(ctx, id, holderA, leaseT0, false, "") }},
		{"FinishDelivery", func(s *Store, id int64) error {
			return s.FinishDelivery(ctx, id, holderA, DeliveryFailed, "stale")
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
				other, _, err := s.ClaimDue(ctx, later, holderB, leaseLength, 10, false, chat.Telegram)
				if err != nil || len(other) != 1 {
					t.Fatalf("ClaimDue after the lease = %d claims, %v; want 1", len(other), err)
				}
				if underWay {
					if err := s.StartMessage(ctx, c.Delivery.ID, holderB, 0); err != nil {
						t.Fatalf("StartMessage by the new holder = %v", err)
					}
				}
				before := deliveryForTest(t, s, c)
				if err := tt.write(s, c.Delivery.ID); !errors.Is(err, ErrNotClaimed) {
					t.Errorf("%s by the old holder = %v, want ErrNotClaimed", tt.name, err)
				}
				after := deliveryForTest(t, s, c)
				if after.State != DeliverySending || after.Inflight != before.Inflight || after.ClaimedBy != holderB ||
					!after.UpdatedAt.Equal(before.UpdatedAt) || len(after.MessageIDs) != 0 {
					t.Errorf("delivery = %+v, want it as the new holder left it: %+v", after, before)
				}
			})
		}
	}
}
