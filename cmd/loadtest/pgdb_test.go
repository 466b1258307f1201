package main

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/lessonbot/lessonbot/internal/pgtest"
	"github.com/lessonbot/lessonbot/internal/store"
)

// TestPGQueries checks the instances mode's own SQL against the schema
// lessonbot's store makes, written to by the store's own methods.
func TestPGQueries(t *testing.T) {
	url := pgtest.Database(t)
	ctx := context.Background()
	db, err := openPG(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if ok, err := db.hasSchema(ctx); err != nil || ok {
		t.Fatalf("hasSchema of a new database = %v, %v", ok, err)
	}
	st, err := store.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if ok, err := db.hasSchema(ctx); err != nil || !ok {
		t.Fatalf("hasSchema after the migrations = %v, %v", ok, err)
	}

	now := time.Now().UTC()
	if err := db.seed(ctx, 5, 8, 30, now.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	if n, err := db.chatsKnown(ctx); err != nil || n != 5 {
		t.Fatalf("chatsKnown = %d, %v", n, err)
	}
	subs, err := st.ActiveSubscriptions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	var chats []string
	for _, s := range subs {
		if s.Hour != 8 || s.Minute != 30 || s.Zone != "UTC" || s.Address.Platform != "telegram" || s.Kind != "private" {
			t.Errorf("subscription %+v: want telegram at 08:30 UTC", s)
		}
		ids = append(ids, s.ID)
		chats = append(chats, s.Address.ChatID)
	}
	slices.Sort(chats)
	if len(chats) != 5 || chats[0] != fmt.Sprint(firstChat) || chats[4] != fmt.Sprint(firstChat+4) {
		t.Fatalf("chats %v", chats)
	}
	slot := now.Truncate(time.Minute)
	if n, err := st.EnqueueSlot(ctx, ids, slot); err != nil || n != 5 {
		t.Fatalf("EnqueueSlot = %d, %v", n, err)
	}

	const holder = "box:4321:0a0b0c0d"
	claims, _, err := st.ClaimDue(ctx, time.Now(), holder, time.Minute, 10, false, "telegram")
	if err != nil || len(claims) != 5 {
		t.Fatalf("ClaimDue = %d claims, %v", len(claims), err)
	}
	full, under, unknown := claims[0].Delivery.ID, claims[1].Delivery.ID, claims[2].Delivery.ID
	for i, id := range []string{"77", "78"} {
		if err := st.StartMessage(ctx, full, holder, i); err != nil {
			t.Fatal(err)
		}
		if err := st.MessageSent(ctx, full, i, id); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.FinishDelivery(ctx, full, holder, store.DeliverySent, ""); err != nil {
		t.Fatal(err)
	}
	if err := st.StartMessage(ctx, under, holder, 0); err != nil {
		t.Fatal(err)
	}
	if err := st.StartMessage(ctx, unknown, holder, 0); err != nil {
		t.Fatal(err)
	}
	if err := st.MessageUnknown(ctx, unknown, holder, 0, "cut short"); err != nil {
		t.Fatal(err)
	}

	ob, err := db.outbox(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if ob.rows != 5 || ob.subscriptions != 5 || ob.byState["sent"] != 1 || ob.byState["unknown"] != 1 || ob.open() != 3 || ob.unknown != 1 {
		t.Errorf("outbox %+v; want 5 rows: 1 sent, 1 unknown, 3 sending; 1 unknown message", ob)
	}
	var underChat string
	for _, c := range claims {
		if c.Delivery.ID == under {
			underChat = c.Subscription.Address.ChatID
		}
	}
	if rows, err := db.underWay(ctx, holder); err != nil || len(rows) != 1 || rows[0] != (underWayRow{underChat, 0}) {
		t.Errorf("underWay = %v, %v; want message 0 of chat %s", rows, err, underChat)
	}
	if n, err := db.perDelivery(ctx); err != nil || n != 2 {
		t.Errorf("perDelivery = %d, %v; want 2", n, err)
	}
	recs, err := db.deliveries(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var sent, unsure []recorded
	for _, r := range recs {
		switch r.state {
		case "sent":
			sent = append(sent, r)
		case "unknown":
			unsure = append(unsure, r)
		}
	}
	if len(sent) != 1 || fmt.Sprint(sent[0].messages) != "[77 78]" || len(unsure) != 1 || unsure[0].uncertain != 1 || unsure[0].unknown != 1 {
		t.Errorf("deliveries: sent %+v, unknown %+v", sent, unsure)
	}

	if _, ok, err := db.senderLease(ctx); err != nil || ok {
		t.Errorf("senderLease before any = %v, %v", ok, err)
	}
	if held, _, err := st.AcquireLease(ctx, "sender:telegram:7000001", holder, 15*time.Second); err != nil || !held {
		t.Fatalf("AcquireLease = %v, %v", held, err)
	}
	l, ok, err := db.senderLease(ctx)
	if err != nil || !ok || !l.live || l.holder != holder {
		t.Fatalf("senderLease = %+v, %v, %v", l, ok, err)
	}
	if pid, err := l.pid(); err != nil || pid != 4321 {
		t.Errorf("pid = %d, %v", pid, err)
	}
	if _, err := db.activities(ctx); err != nil {
		t.Errorf("activities: %v", err)
	}
	row, ok, err := db.senderLeaseRow(ctx)
	if err != nil || !ok || row.holder != holder || row.expires.Sub(row.acquired) < 14*time.Second || time.Since(row.acquired).Abs() > 5*time.Second {
		t.Errorf("senderLeaseRow = %+v, %v, %v; want acquired now, for 15 s", row, ok, err)
	}
}
