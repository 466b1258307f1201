package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

// TestExecBatched runs many outbox writes at once: each is committed, and
// one refused by a constraint fails alone.
func TestExecBatched(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openTest(t)
	const n = 200
	var ids []int64
	for i := range n {
		sub := subForTest(t, s, fmt.Sprint(i))
		if _, err := s.EnqueueSlot(ctx, []int64{sub.ID}, time.Unix(1000, 0)); err != nil {
			t.Fatal(err)
		}
		ds, err := s.Deliveries(ctx, sub.ID)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, ds[0].ID)
	}
	// The first subscription already has lesson "l0" at another slot.
	first, err := s.Deliveries(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	addDelivery(t, s, first[0].SubscriptionID, "l0", time.Unix(2000, 0), DeliverySent)

	errs := make([]error, n)
	var wg sync.WaitGroup
	for i, id := range ids {
		wg.Go(func() { errs[i] = s.AssignLesson(ctx, id, "l0") })
	}
	wg.Wait()
	for i, err := range errs {
		if i == 0 {
			if !errors.Is(err, ErrDuplicate) {
				t.Errorf("delivery %d: err %v, want ErrDuplicate", ids[i], err)
			}
			continue
		}
		if err != nil {
			t.Errorf("delivery %d: %v", ids[i], err)
		}
	}
	for i, id := range ids[1:] {
		ds, err := s.Deliveries(ctx, int64(i+2))
		if err != nil {
			t.Fatal(err)
		}
		if len(ds) != 1 || ds[0].ID != id || ds[0].LessonID != "l0" {
			t.Errorf("deliveries of %d = %+v, want %d with lesson l0", i+2, ds, id)
		}
	}
}
