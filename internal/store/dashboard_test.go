package store

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lessonbot/lessonbot/internal/chat"
)

// dashboardStore is a store whose clock the test sets: the times of
// subscriptions, first messages and the like are the store's now.
type dashboardStore struct {
	*Store
	t   *testing.T
	now time.Time
}

func openDashboard(t *testing.T) *dashboardStore {
	d := &dashboardStore{Store: openTest(t), t: t}
	d.Store.now = func() time.Time { return d.now }
	return d
}

// at sets the store's clock.
func (d *dashboardStore) at(s string) time.Time {
	d.t.Helper()
	d.now = mustTime(d.t, s)
	return d.now
}

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	at, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return at
}

// save stores a chat with the given state at the store's now.
func (d *dashboardStore) save(key string, kind chat.Kind, active bool) int64 {
	d.t.Helper()
	a := addressOf(key)
	sub := Subscription{Address: a, Kind: kind, Hour: 8, Zone: "UTC", Weekdays: EveryDay, Language: "en", Active: active,
		CreatedBy: a.ChatID, CreatedAt: d.now}
	id, err := d.SaveChat(context.Background(), sub)
	if err != nil {
		d.t.Fatal(err)
	}
	return id
}

// answer records a first answer at at.
func (d *dashboardStore) answer(learner int64, key, lesson, question string, choice int, correct bool, at time.Time) {
	d.t.Helper()
	record(d.t, d.Store, Answer{LearnerID: learner, Chat: key, LessonID: lesson, QuestionKey: question, Choice: choice,
		Correct: correct, At: at})
}

// The ways sendLesson ends a delivery.
const (
	outSent            = "sent"             // two messages sent
	outUnknownPost     = "unknown-post"     // the post may or may not have arrived
	outUnknownLast     = "unknown-last"     // the post sent, the question uncertain: sent
	outUnknownMiddle   = "unknown-middle"   // post sent, question 1 uncertain, question 2 sent: sent
	outFailed          = "failed"           // failed before any message
	outExhausted       = "exhausted"        // no lesson left
	outChatGone        = "chat-gone"        // the chat blocked the bot at the post
	outPending         = "pending"          // enqueued, never claimed
	deliveryTestHolder = "dashboard-holder" // the holder of the claims
)

// sendLesson enqueues a delivery of lesson at slot for an active
// subscription, and delivers it through the outbox's own methods as out
// says, its first message at first (the store's clock then). It returns
// the delivery's id.
func (d *dashboardStore) sendLesson(subID int64, platform, lesson string, slot, first time.Time, out string) int64 {
	d.t.Helper()
	ctx := context.Background()
	t := d.t
	d.now = slot
	if n, err := d.EnqueueSlot(ctx, []int64{subID}, slot); err != nil || n != 1 {
		t.Fatalf("EnqueueSlot = %d, %v", n, err)
	}
	if out == outPending {
		ds, _ := d.Deliveries(ctx, subID)
		return ds[len(ds)-1].ID
	}
	d.now = first
	claims, _, err := d.ClaimDue(ctx, first, deliveryTestHolder, time.Hour, 1, false, platform)
	if err != nil || len(claims) != 1 || claims[0].Delivery.SubscriptionID != subID {
		t.Fatalf("ClaimDue = %+v, %v; want the delivery to %d", claims, err, subID)
	}
	id := claims[0].Delivery.ID
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	if out != outExhausted {
		must(d.AssignLesson(ctx, id, lesson))
	}
	send := func(i int) {
		t.Helper()
		must(d.StartMessage(ctx, id, deliveryTestHolder, i))
		must(d.MessageSent(ctx, id, i, fmt.Sprint("m", i)))
	}
	uncertain := func(i int) {
		t.Helper()
		must(d.StartMessage(ctx, id, deliveryTestHolder, i))
		must(d.MessageUnknown(ctx, id, deliveryTestHolder, i, "timeout"))
	}
	switch out {
	case outSent:
		send(0)
		send(1)
		must(d.FinishDelivery(ctx, id, deliveryTestHolder, DeliverySent, ""))
	case outUnknownPost:
		uncertain(0)
	case outUnknownLast:
		send(0)
		uncertain(1)
		must(d.FinishDelivery(ctx, id, deliveryTestHolder, DeliverySent, ""))
	case outUnknownMiddle:
		send(0)
		uncertain(1)
		send(2)
		must(d.FinishDelivery(ctx, id, deliveryTestHolder, DeliverySent, ""))
	case outFailed:
		must(d.FinishDelivery(ctx, id, deliveryTestHolder, DeliveryFailed, "refused"))
	case outExhausted:
		must(d.FinishDelivery(ctx, id, deliveryTestHolder, DeliveryExhausted, ""))
	case outChatGone:
		must(d.ChatGone(ctx, id, subID, "blocked"))
	default:
		t.Fatalf("no outcome %q", out)
	}
	return id
}

func TestBucketOf(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openTest(t)
	var values []int64
	for v := int64(-3); v < 5000; v++ {
		values = append(values, v)
	}
	for e := 4; e <= 24; e++ {
		p := int64(1) << e
		values = append(values, p-1, p, p+1, p+p/3)
	}
	for _, v := range values {
		var want int64
		if err := s.db.QueryRowContext(ctx, `SELECT coalesce(max(lo), 0) FROM delay_buckets WHERE lo <= ?`, v).Scan(&want); err != nil {
			t.Fatal(err)
		}
		if got := bucketOf(v); got != want {
			t.Fatalf("bucketOf(%d) = %d, the table says %d", v, got, want)
		}
		if mid := bucketMid(bucketOf(v)); v >= 16 && v < 1<<22 && (mid-v > v/16+1 || v-mid > v/16+1) {
			t.Errorf("bucketMid(bucketOf(%d)) = %d: more than 6.25%% off", v, mid)
		}
	}
	var n int
	s.db.QueryRow(`SELECT count(*) FROM delay_buckets`).Scan(&n)
	if n != 16+8*18+1 {
		t.Errorf("%d buckets, want %d", n, 16+8*18+1)
	}
}

func TestGrowth(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d := openDashboard(t)
	kolkata, newYork := mustZone(t, "Asia/Kolkata"), mustZone(t, "America/New_York")

	// Kolkata is UTC+5:30: its days start at 18:30 UTC.
	d.at("2026-02-28T19:00:00Z") // 1 March 00:30 in Kolkata
	d.save("telegram:1", chat.Private, true)
	d.at("2026-02-28T18:00:00Z") // 28 February 23:30
	b := d.save("telegram:-2", chat.Group, true)
	d.at("2026-03-01T18:29:00Z") // 1 March 23:59
	d.save("discord:3", chat.Channel, true)
	d.at("2026-03-01T18:30:00Z") // 2 March 00:00
	d.save("discord:3", chat.Channel, false)
	d.at("2026-03-02T10:00:00Z")
	if ids, err := d.TurnOff(ctx, chat.Address{Platform: chat.Telegram, ChatID: "-2"}); err != nil || !slices.Equal(ids, []int64{b}) {
		t.Fatalf("TurnOff = %v, %v", ids, err)
	}
	d.at("2026-03-03T05:00:00Z")
	gone := d.save("telegram:4", chat.Private, true)
	d.sendLesson(gone, chat.Telegram, "l1", d.now, mustTime(t, "2026-03-03T06:00:00Z"), outChatGone)
	d.at("2026-03-03T07:00:00Z")
	e := d.save("telegram:5", chat.Group, true)
	d.save("telegram:6", chat.Group, true)
	d.at("2026-03-04T01:00:00Z")
	if merged, err := d.MoveChat(ctx, e, "6"); err != nil || !merged {
		t.Fatalf("MoveChat = %v, %v; want merged", merged, err)
	}
	d.at("2026-03-04T02:00:00Z")
	if _, err := d.DeleteLearner(ctx, chat.User{Platform: chat.Telegram, ID: "1"}); err != nil {
		t.Fatal(err)
	}
	d.at("2026-03-04T10:00:00Z")
	d.save("discord:3", chat.Channel, true)
	// Around the start of daylight saving time in New York, 8 March 2026
	// (a day of 23 hours).
	d.at("2026-03-08T04:30:00Z") // 7 March 23:30 EST
	d.save("telegram:7", chat.Private, true)
	d.at("2026-03-09T04:30:00Z") // 9 March 00:30 EDT (23:30 on 8 March at the winter offset)
	d.save("telegram:8", chat.Private, true)

	day := func(loc *time.Location, date string, sub, unsub, gone int) GrowthDay {
		at, err := time.ParseInLocation(time.DateOnly, date, loc)
		if err != nil {
			t.Fatal(err)
		}
		return GrowthDay{Day: at, Subscribed: sub, Unsubscribed: unsub, Gone: gone, Net: sub - unsub - gone}
	}
	tests := []struct {
		name     string
		from, to string
		loc      *time.Location
		want     []GrowthDay
	}{
		{"OKHalfHourZone", "2026-02-28T18:30:00Z", "2026-03-04T12:00:00Z", kolkata, []GrowthDay{
			day(kolkata, "2026-03-01", 2, 0, 0),
			day(kolkata, "2026-03-02", 0, 1, 1),
			day(kolkata, "2026-03-03", 3, 0, 1),
			day(kolkata, "2026-03-04", 1, 2, 0),
		}},
		{"OKUTC", "2026-02-28T00:00:00Z", "2026-03-05T23:59:59Z", time.UTC, []GrowthDay{
			day(time.UTC, "2026-02-28", 2, 0, 0),
			day(time.UTC, "2026-03-01", 1, 1, 0),
			day(time.UTC, "2026-03-02", 0, 0, 1),
			day(time.UTC, "2026-03-03", 3, 0, 1),
			day(time.UTC, "2026-03-04", 1, 2, 0),
			day(time.UTC, "2026-03-05", 0, 0, 0),
		}},
		{"OKDaylightSaving", "2026-03-07T12:00:00Z", "2026-03-09T12:00:00Z", newYork, []GrowthDay{
			day(newYork, "2026-03-07", 1, 0, 0),
			day(newYork, "2026-03-08", 0, 0, 0),
			day(newYork, "2026-03-09", 1, 0, 0),
		}},
		{"OKOneDay", "2026-03-03T00:00:00Z", "2026-03-03T00:00:00Z", time.UTC, []GrowthDay{day(time.UTC, "2026-03-03", 3, 0, 1)}},
		{"ErrBadRange", "2026-03-03T00:00:00Z", "2026-03-02T00:00:00Z", time.UTC, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := d.Growth(ctx, mustTime(t, tt.from), mustTime(t, tt.to), tt.loc)
			if tt.want == nil {
				if !errors.Is(err, ErrBadRange) {
					t.Errorf("Growth = %v, %v; want ErrBadRange", got, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Growth =\n%v\nwant\n%v", got, tt.want)
			}
		})
	}
	checkAggregates(t, d.Store)
}

func TestRetention(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d := openDashboard(t)
	now := mustTime(t, "2026-03-18T12:00:00Z") // a Wednesday
	w := WeekOf(now, time.UTC)
	learner := func(name string) int64 { return learnerForTest(t, d.Store, name) }

	d.at("2026-02-26T10:00:00Z") // week w-3: before the weeks asked about
	d.save("telegram:-6", chat.Group, true)
	d.answer(learner("p6"), "telegram:-6", "l1", "q1", 0, true, mustTime(t, "2026-03-17T09:00:00Z"))

	d.at("2026-03-02T10:00:00Z") // Monday of week w-2
	d.save("telegram:-1", chat.Group, true)
	p1 := learner("p1")
	d.answer(p1, "telegram:-1", "l1", "q1", 0, true, mustTime(t, "2026-03-03T09:00:00Z"))
	d.answer(p1, "telegram:-1", "l1", "q2", 0, true, mustTime(t, "2026-03-17T09:00:00Z"))

	d.at("2026-03-04T10:00:00Z")
	d.save("telegram:-2", chat.Group, true)
	p2 := learner("p2")
	d.answer(p2, "telegram:-2", "l1", "q1", 0, true, mustTime(t, "2026-03-15T23:30:00Z")) // Sunday: week w-1
	d.answer(p2, "telegram:-2", "l1", "q2", 0, true, mustTime(t, "2026-03-10T08:00:00Z")) // week w-1 again
	d.answer(p2, "telegram:-2", "l1", "q3", 0, true, mustTime(t, "2026-03-16T00:30:00Z")) // Monday: week w

	d.save("telegram:7", chat.Private, true) // leaves with its person's data
	p7, err := d.Learner(ctx, chat.User{Platform: chat.Telegram, ID: "7", Name: "Seven"})
	if err != nil {
		t.Fatal(err)
	}
	d.answer(p7, "telegram:7", "l1", "q1", 1, false, mustTime(t, "2026-03-04T11:00:00Z"))

	d.at("2026-03-05T10:00:00Z") // asked for a lesson only: not subscribed yet
	d.save("telegram:-3", chat.Group, false)
	p3 := learner("p3")
	d.answer(p3, "telegram:-3", "l1", "q1", 0, true, mustTime(t, "2026-03-05T11:00:00Z"))
	d.at("2026-03-09T10:00:00Z") // subscribes in week w-1
	d.save("telegram:-3", chat.Group, true)
	d.answer(p3, "telegram:-3", "l1", "q2", 0, true, mustTime(t, "2026-03-18T08:00:00Z"))

	d.save("telegram:-4", chat.Group, true)
	d.answer(learner("p4"), "telegram:-4", "l1", "q1", 0, true, mustTime(t, "2026-03-10T08:00:00Z"))
	d.at("2026-03-16T10:00:00Z")
	d.save("telegram:-4", chat.Group, false) // unsubscribed: still in its cohort

	d.answer(learner("p5"), "telegram:-5", "l1", "q1", 0, true, mustTime(t, "2026-03-17T08:00:00Z")) // never subscribed

	d.at("2026-03-17T10:00:00Z")
	if _, err := d.DeleteLearner(ctx, chat.User{Platform: chat.Telegram, ID: "7"}); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name  string
		weeks int
		want  []Cohort
	}{
		{"OK", 3, []Cohort{
			{Week: w - 2, Start: mustTime(t, "2026-03-02T00:00:00Z"), Chats: 2, Active: []int{1, 1, 2}},
			{Week: w - 1, Start: mustTime(t, "2026-03-09T00:00:00Z"), Chats: 2, Active: []int{1, 1}},
			{Week: w, Start: mustTime(t, "2026-03-16T00:00:00Z"), Chats: 0, Active: []int{0}},
		}},
		{"OKOneWeek", 1, []Cohort{{Week: w, Start: mustTime(t, "2026-03-16T00:00:00Z"), Chats: 0, Active: []int{0}}}},
		{"ErrNoWeeks", 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := d.Retention(ctx, now, tt.weeks)
			if tt.want == nil {
				if !errors.Is(err, ErrBadRange) {
					t.Errorf("Retention = %v, %v; want ErrBadRange", got, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Retention =\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
	checkAggregates(t, d.Store)
}

func TestActivity(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d := openDashboard(t)
	ann := learnerForTest(t, d.Store, "ann")
	for i, at := range []string{
		"2026-03-02T00:10:00Z", // Monday; Kathmandu (UTC+5:45) 05:55
		"2026-03-02T00:20:00Z", // Kathmandu 06:05: the same UTC hour, the next local one
		"2026-03-08T18:14:00Z", // Kathmandu Sunday 23:59
		"2026-03-08T18:15:00Z", // Kathmandu Monday 00:00
		"2026-03-29T00:30:00Z", // Paris: Sunday 01:30 CET
		"2026-03-29T01:30:00Z", // Paris: Sunday 03:30 CEST, after the change at 01:00 UTC
	} {
		d.answer(ann, "telegram:-1", "l1", fmt.Sprint("q", i), 0, true, mustTime(t, at))
	}
	cells := func(c ...[2]int) (h Heatmap) {
		for _, x := range c {
			h.Answers[x[0]][x[1]]++
			h.Total++
		}
		return h
	}
	tests := []struct {
		name     string
		from, to string
		zone     string
		want     Heatmap
	}{
		{"OK45MinuteZone", "2026-03-01T00:00:00Z", "2026-03-09T00:00:00Z", "Asia/Kathmandu",
			cells([2]int{0, 5}, [2]int{0, 6}, [2]int{6, 23}, [2]int{0, 0})},
		{"OKDaylightSaving", "2026-03-28T00:00:00Z", "2026-03-30T00:00:00Z", "Europe/Paris",
			cells([2]int{6, 1}, [2]int{6, 3})},
		{"OKEndExcluded", "2026-03-28T00:00:00Z", "2026-03-29T01:30:00Z", "Europe/Paris", cells([2]int{6, 1})},
		{"OKUTC", "2026-03-01T00:00:00Z", "2026-04-01T00:00:00Z", "UTC",
			cells([2]int{0, 0}, [2]int{0, 0}, [2]int{6, 18}, [2]int{6, 18}, [2]int{6, 0}, [2]int{6, 1})},
		{"ErrBadRange", "2026-03-02T00:00:00Z", "2026-03-01T00:00:00Z", "UTC", Heatmap{Total: -1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := d.Activity(ctx, mustTime(t, tt.from), mustTime(t, tt.to), mustZone(t, tt.zone))
			if tt.want.Total < 0 {
				if !errors.Is(err, ErrBadRange) {
					t.Errorf("Activity = %v; want ErrBadRange", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("Activity = %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestLessonStats(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d := openDashboard(t)
	slot := mustTime(t, "2026-03-10T08:00:00Z")
	first := slot.Add(10 * time.Second)
	subs := map[string]int64{}
	for _, key := range []string{"telegram:1", "telegram:2", "telegram:3", "telegram:4", "telegram:5"} {
		d.at("2026-03-01T00:00:00Z")
		subs[key] = d.save(key, chat.Private, true)
	}
	d.sendLesson(subs["telegram:1"], chat.Telegram, "l1", slot, first, outSent)
	d.sendLesson(subs["telegram:2"], chat.Telegram, "l1", slot, first, outSent)
	d.sendLesson(subs["telegram:3"], chat.Telegram, "l1", slot, first, outUnknownLast) // sent
	d.sendLesson(subs["telegram:4"], chat.Telegram, "l1", slot, first, outUnknownPost)
	d.sendLesson(subs["telegram:5"], chat.Telegram, "l2", slot, first, outFailed)
	onDemand := mustTime(t, "2026-03-11T09:00:00Z")
	if _, err := d.RecordSent(ctx, subs["telegram:1"], "l2", onDemand); err != nil {
		t.Fatal(err)
	}
	l := map[string]int64{}
	for _, name := range []string{"a", "b", "c", "x"} {
		l[name] = learnerForTest(t, d.Store, name)
	}
	// Delays of l1 (buckets): 5 s (5), 30 s (30-31: 31), 100 s (96-103: 100),
	// 1000 s (960-1023: 992). The median of four is the second: 31 s.
	d.answer(l["a"], "telegram:1", "l1", "l1:q1", 0, true, first.Add(30*time.Second))
	d.answer(l["b"], "telegram:2", "l1", "l1:q1", 2, false, first.Add(100*time.Second))
	d.answer(l["c"], "telegram:3", "l1", "l1:q2", 1, false, first.Add(1000*time.Second))
	d.answer(l["a"], "telegram:1", "l1", "l1:q2", 0, true, first.Add(5*time.Second+999*time.Millisecond))
	// l2 on demand: from the send, 60 s (60-63: 62).
	d.answer(l["a"], "telegram:1", "l2", "l2:q1", 3, true, onDemand.Add(time.Minute))
	// An answer before the lesson went out, and one in a chat without
	// the lesson: no delay.
	d.answer(l["b"], "telegram:1", "l2", "l2:q1", 3, true, onDemand.Add(-time.Second))
	d.answer(l["x"], "telegram:-9", "l3", "l3:q1", 0, false, onDemand)

	got, err := d.LessonStats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []LessonStat{
		{LessonID: "l1", Sent: 3, Unknown: 1, Answered: 4, Correct: 2, Delays: 4, MedianDelay: 31 * time.Second},
		{LessonID: "l2", Sent: 1, Failed: 1, Answered: 2, Correct: 2, Delays: 1, MedianDelay: 62 * time.Second},
		{LessonID: "l3", Answered: 1},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("LessonStats =\n%+v\nwant\n%+v", got, want)
	}
	var delays []any
	rows, _ := d.db.Query(`SELECT delay FROM answers ORDER BY id`)
	for rows.Next() {
		var v any
		rows.Scan(&v)
		delays = append(delays, v)
	}
	rows.Close()
	if want := []any{int64(30), int64(100), int64(1000), int64(5), int64(60), nil, nil}; !reflect.DeepEqual(delays, want) {
		t.Errorf("the answers' delays are %v, want %v", delays, want)
	}
	checkAggregates(t, d.Store)
}

func TestLessonReport(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d := openDashboard(t)
	at := mustTime(t, "2026-03-10T08:00:00Z")
	// q1: the right choice is 0; 1 is picked wrong twice, 2 once.
	for i, c := range []int{0, 1, 1, 2, 0, 0} {
		d.answer(learnerForTest(t, d.Store, fmt.Sprint("r", i)), "telegram:-1", "l1", "l1:q1", c, c == 0, at)
	}
	// q2: always right.
	d.answer(learnerForTest(t, d.Store, "r0"), "telegram:-1", "l1", "l1:q2", 3, true, at)
	// Another lesson's question.
	d.answer(learnerForTest(t, d.Store, "r0"), "telegram:-1", "l2", "l2:q1", 1, false, at)
	// A second try counts for nothing.
	if _, first, err := d.RecordAnswer(ctx, Answer{LearnerID: learnerForTest(t, d.Store, "r1"), Chat: "telegram:-1",
		LessonID: "l1", QuestionKey: "l1:q1", Choice: 0, Correct: true, At: at}); err != nil || first {
		t.Fatalf("a second try: first %v, %v", first, err)
	}

	tests := []struct {
		name   string
		lesson string
		want   []QuestionReport
	}{
		{"OK", "l1", []QuestionReport{
			{QuestionKey: "l1:q1", Answered: 6, Correct: 3, Choices: []ChoiceCount{{0, 3, 3}, {1, 2, 0}, {2, 1, 0}}},
			{QuestionKey: "l1:q2", Answered: 1, Correct: 1, Choices: []ChoiceCount{{3, 1, 1}}},
		}},
		{"OKUnknownLesson", "l9", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := d.LessonReport(ctx, tt.lesson)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("LessonReport =\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
	t.Run("OKMostChosenWrong", func(t *testing.T) {
		rep, _ := d.LessonReport(ctx, "l1")
		if c, ok := rep[0].MostChosenWrong(); !ok || c != (ChoiceCount{1, 2, 0}) {
			t.Errorf("MostChosenWrong = %+v, %v; want choice 1, twice", c, ok)
		}
		if c, ok := rep[1].MostChosenWrong(); ok {
			t.Errorf("MostChosenWrong of a question always right = %+v", c)
		}
	})
}

func TestHardestQuestions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d := openDashboard(t)
	at := mustTime(t, "2026-03-10T08:00:00Z")
	var learners []int64
	for i := range 20 {
		learners = append(learners, learnerForTest(t, d.Store, fmt.Sprint("h", i)))
	}
	for _, q := range []struct {
		key               string
		answered, correct int
	}{{"a", 10, 2}, {"b", 4, 0}, {"c", 10, 5}, {"d", 20, 4}, {"e", 2, 0}} {
		for i := range q.answered {
			d.answer(learners[i], "telegram:-1", "l-"+q.key, q.key, 0, i < q.correct, at)
		}
	}
	stat := func(key string, answered, correct int) QuestionStat {
		return QuestionStat{LessonID: "l-" + key, QuestionKey: key, Answered: answered, Correct: correct}
	}
	tests := []struct {
		name            string
		minAnswers, max int
		want            []QuestionStat
	}{
		{"OK", 3, 3, []QuestionStat{stat("b", 4, 0), stat("d", 20, 4), stat("a", 10, 2)}},
		{"OKAll", 0, 10, []QuestionStat{stat("b", 4, 0), stat("e", 2, 0), stat("d", 20, 4), stat("a", 10, 2), stat("c", 10, 5)}},
		{"OKNoneWithSoMany", 21, 10, nil},
		{"OKNoLimit", 0, 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := d.HardestQuestions(ctx, tt.minAnswers, tt.max)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("HardestQuestions(%d, %d) =\n%+v\nwant\n%+v", tt.minAnswers, tt.max, got, tt.want)
			}
		})
	}
}

func TestReviewItemCounts(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d := openDashboard(t)
	ann, bob := learnerForTest(t, d.Store, "ann"), learnerForTest(t, d.Store, "bob")
	add := func(learner int64, lesson, term, source string) {
		t.Helper()
		if ok, err := d.AddItem(ctx, ReviewItem{LearnerID: learner, LessonID: lesson, Term: term, Source: source, State: ItemNew, Graded: -1}); err != nil || !ok {
			t.Fatalf("AddItem = %v, %v", ok, err)
		}
	}
	add(ann, "l1", "rule out", "missed")
	add(bob, "l1", "rule out", "lesson")
	add(ann, "l1", "harbour", "missed")
	if _, err := d.AddItems(ctx, []ReviewItem{{LearnerID: bob, LessonID: "l1", Term: "harbour", Source: "missed", State: ItemNew}}); err != nil {
		t.Fatal(err)
	}
	words := []Word{{"l1", "rule out"}, {"l1", "harbour"}, {"l2", "rule out"}, {"l1", "rule out"}}
	tests := []struct {
		name string
		del  string
		want []WordItems
	}{
		{"OK", "", []WordItems{{2, 1}, {2, 2}, {0, 0}, {2, 1}}},
		{"OKAfterDeletion", "id-ann", []WordItems{{1, 0}, {1, 1}, {0, 0}, {1, 0}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.del != "" {
				if _, err := d.DeleteLearner(ctx, chat.User{Platform: chat.Telegram, ID: tt.del}); err != nil {
					t.Fatal(err)
				}
			}
			got, err := d.ReviewItemCounts(ctx, words)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ReviewItemCounts = %v, want %v", got, tt.want)
			}
		})
	}
	checkAggregates(t, d.Store)
}

func TestDeliveryHealth(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d := openDashboard(t)
	kolkata := mustZone(t, "Asia/Kolkata")
	subs := map[string]int64{}
	d.at("2026-03-01T00:00:00Z")
	for _, key := range []string{"telegram:1", "telegram:2", "telegram:3", "telegram:4", "telegram:5", "discord:6", "telegram:7", "telegram:8"} {
		subs[key] = d.save(key, chat.Private, true)
	}
	// 10 March in Kolkata, 00:15 and 23:45 local: in the UTC hours that the
	// day starts and ends in.
	early, late := mustTime(t, "2026-03-09T18:45:00Z"), mustTime(t, "2026-03-10T18:15:00Z")
	d.sendLesson(subs["telegram:7"], chat.Telegram, "l1", early, early.Add(7*time.Second), outSent)
	d.sendLesson(subs["telegram:8"], chat.Telegram, "l1", late, late.Add(100*time.Second), outSent) // 96-103: 100 s
	// 10 March in Kolkata: 8:30 local.
	slot := mustTime(t, "2026-03-10T03:00:00Z")
	d.sendLesson(subs["telegram:1"], chat.Telegram, "l1", slot, slot.Add(2*time.Second), outSent)
	d.sendLesson(subs["telegram:2"], chat.Telegram, "l1", slot, slot.Add(40*time.Second), outSent) // 40-43: 42 s
	d.sendLesson(subs["telegram:3"], chat.Telegram, "l1", slot, slot.Add(3*time.Second), outUnknownLast)
	d.sendLesson(subs["telegram:4"], chat.Telegram, "l1", slot, slot.Add(time.Second), outUnknownPost)
	d.sendLesson(subs["telegram:5"], chat.Telegram, "l1", slot, slot.Add(time.Second), outChatGone)
	d.sendLesson(subs["discord:6"], chat.Discord, "l1", slot, slot.Add(time.Second), outFailed)
	for _, r := range []struct {
		platform, at string
		wait         time.Duration
	}{
		{chat.Telegram, "2026-03-10T04:00:00Z", 3 * time.Second},
		{chat.Discord, "2026-03-10T18:29:59Z", 2500 * time.Millisecond}, // 23:59:59 local
		{chat.Telegram, "2026-03-10T18:30:00Z", time.Second},            // 11 March, 00:00 local
	} {
		if err := d.RecordRateLimited(ctx, r.platform, mustTime(t, r.at), r.wait); err != nil {
			t.Fatal(err)
		}
	}
	// 11 March local: midnight.
	slot2 := mustTime(t, "2026-03-10T18:30:00Z")
	d.sendLesson(subs["telegram:1"], chat.Telegram, "", slot2, slot2, outExhausted)
	d.sendLesson(subs["telegram:2"], chat.Telegram, "l2", slot2, slot2, outPending) // not counted

	day := func(date string, dd DeliveryDay) DeliveryDay {
		at, err := time.ParseInLocation(time.DateOnly, date, kolkata)
		if err != nil {
			t.Fatal(err)
		}
		dd.Day = at
		return dd
	}
	tests := []struct {
		name     string
		from, to string
		want     []DeliveryDay
	}{
		{"OK", "2026-03-09T12:00:00Z", "2026-03-11T12:00:00Z", []DeliveryDay{
			day("2026-03-09", DeliveryDay{}),
			// Lateness: 2, 3, 7, 40 (40-43: 42) and 100 s.
			day("2026-03-10", DeliveryDay{Sent: 5, Failed: 2, Unknown: 1, UnknownMessages: 2, ChatsGone: 1,
				RateLimited: 2, RetryAfter: 5500 * time.Millisecond,
				Measured: 5, LatenessP50: 7 * time.Second, LatenessP95: 100 * time.Second}),
			day("2026-03-11", DeliveryDay{Exhausted: 1, RateLimited: 1, RetryAfter: time.Second}),
			day("2026-03-12", DeliveryDay{}),
		}},
		{"ErrBadRange", "2026-03-11T12:00:00Z", "2026-03-09T12:00:00Z", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := d.DeliveryHealth(ctx, mustTime(t, tt.from), mustTime(t, tt.to).Add(24*time.Hour), kolkata)
			if tt.want == nil {
				if !errors.Is(err, ErrBadRange) {
					t.Errorf("DeliveryHealth = %v; want ErrBadRange", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("DeliveryHealth =\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
	checkAggregates(t, d.Store)
}

func TestActiveLearners(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d := openDashboard(t)
	ann, bob, cat := learnerForTest(t, d.Store, "ann"), learnerForTest(t, d.Store, "bob"), learnerForTest(t, d.Store, "cat")
	d.answer(ann, "telegram:-1", "l1", "q1", 0, true, mustTime(t, "2026-03-10T08:00:00Z"))
	d.answer(ann, "telegram:-2", "l1", "q2", 0, true, mustTime(t, "2026-03-12T08:00:00Z")) // a second chat
	d.answer(bob, "telegram:-1", "l1", "q1", 0, true, mustTime(t, "2026-03-11T08:00:00Z"))
	d.answer(cat, "telegram:-1", "l1", "q1", 0, true, mustTime(t, "2026-03-09T08:00:00Z"))
	tests := []struct {
		name  string
		since string
		want  int
	}{
		{"OKAll", "2026-03-01T00:00:00Z", 3},
		{"OKOnceEach", "2026-03-10T08:00:00Z", 2},
		{"OKSecondChat", "2026-03-11T08:00:00.001Z", 1},
		{"OKNone", "2026-03-13T00:00:00Z", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, err := d.ActiveLearners(ctx, mustTime(t, tt.since)); err != nil || got != tt.want {
				t.Errorf("ActiveLearners = %d, %v; want %d", got, err, tt.want)
			}
		})
	}
}

func TestResendUnknown(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d := openDashboard(t)
	subs := map[string]int64{}
	d.at("2026-03-01T00:00:00Z")
	for _, key := range []string{"telegram:1", "telegram:2", "telegram:3", "telegram:4", "telegram:5", "telegram:6"} {
		subs[key] = d.save(key, chat.Private, true)
	}
	slot := mustTime(t, "2026-03-10T08:00:00Z")
	post := d.sendLesson(subs["telegram:1"], chat.Telegram, "l1", slot, slot, outUnknownPost)
	last := d.sendLesson(subs["telegram:2"], chat.Telegram, "l1", slot, slot, outUnknownLast)
	middle := d.sendLesson(subs["telegram:3"], chat.Telegram, "l1", slot, slot, outUnknownMiddle)
	inactive := d.sendLesson(subs["telegram:4"], chat.Telegram, "l1", slot, slot, outUnknownPost)
	d.save("telegram:4", chat.Private, false)
	other := d.sendLesson(subs["telegram:5"], chat.Telegram, "l1", slot.Add(time.Hour), slot.Add(time.Hour), outUnknownPost)
	sent := d.sendLesson(subs["telegram:6"], chat.Telegram, "l1", slot, slot, outSent)
	before := map[int64]Delivery{}
	for _, sub := range subs {
		ds, _ := d.Deliveries(ctx, sub)
		for _, dl := range ds {
			before[dl.ID] = dl
		}
	}
	health := func() DeliveryDay {
		t.Helper()
		days, err := d.DeliveryHealth(ctx, slot, slot, time.UTC)
		if err != nil {
			t.Fatal(err)
		}
		return days[0]
	}
	if h := health(); h.Sent != 3 || h.Unknown != 3 || h.UnknownMessages != 5 {
		t.Fatalf("before: %+v", h)
	}

	d.at("2026-03-10T12:00:00Z")
	// Asking changes nothing, and tells what the resend will do.
	for range 2 {
		if n, msgs, err := d.Resendable(ctx, slot); err != nil || n != 2 || msgs != 2 {
			t.Fatalf("Resendable = %d deliveries, %d messages, %v; want 2, 2", n, msgs, err)
		}
	}
	if h := health(); h.Sent != 3 || h.Unknown != 3 || h.UnknownMessages != 5 {
		t.Fatalf("after Resendable: %+v", h)
	}
	n, err := d.ResendUnknown(ctx, slot)
	if err != nil || n != 2 {
		t.Fatalf("ResendUnknown = %d, %v; want 2", n, err)
	}
	tests := []struct {
		name  string
		id    int64
		state DeliveryState
		ids   []string
		due   time.Time
	}{
		{"OKPostSentAgain", post, DeliveryPending, []string{}, d.now},
		{"OKLastQuestionSentAgain", last, DeliveryPending, []string{"m0"}, d.now},
		{"OKNothingKnownSentAgain", middle, DeliverySent, []string{"m0", "", "m2"}, slot},
		{"OKChatUnsubscribed", inactive, DeliveryUnknown, []string{""}, slot},
		{"OKOtherSlot", other, DeliveryUnknown, []string{""}, slot.Add(time.Hour)},
		{"OKSent", sent, DeliverySent, []string{"m0", "m1"}, slot},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got Delivery
			for _, sub := range subs {
				ds, _ := d.Deliveries(ctx, sub)
				for _, dl := range ds {
					if dl.ID == tt.id {
						got = dl
					}
				}
			}
			if got.State != tt.state || !slices.Equal(got.MessageIDs, tt.ids) || !got.DueAt.Equal(tt.due) {
				t.Errorf("delivery %d: %s %q due %v, want %s %q due %v", tt.id, got.State, got.MessageIDs, got.DueAt, tt.state, tt.ids, tt.due)
			}
			if tt.state == DeliveryPending && got.Unknown != before[tt.id].Unknown-1 {
				t.Errorf("delivery %d: %d unknown, want %d", tt.id, got.Unknown, before[tt.id].Unknown-1)
			}
		})
	}
	if h := health(); h.Sent != 2 || h.Unknown != 2 || h.UnknownMessages != 3 {
		t.Errorf("after: %+v; want the two put back out of the counts", h)
	}
	checkAggregates(t, d.Store)

	t.Run("OKSentAgain", func(t *testing.T) {
		claims, _, err := d.ClaimDue(ctx, d.now, deliveryTestHolder, time.Hour, 10, false, chat.Telegram)
		if err != nil || len(claims) != 2 {
			t.Fatalf("ClaimDue = %d claims, %v; want the two put back", len(claims), err)
		}
		for _, c := range claims {
			from := len(c.Delivery.MessageIDs)
			for i := from; i < 2; i++ {
				if err := d.StartMessage(ctx, c.Delivery.ID, deliveryTestHolder, i); err != nil {
					t.Fatal(err)
				}
				if err := d.MessageSent(ctx, c.Delivery.ID, i, fmt.Sprint("again", i)); err != nil {
					t.Fatal(err)
				}
			}
			if err := d.FinishDelivery(ctx, c.Delivery.ID, deliveryTestHolder, DeliverySent, ""); err != nil {
				t.Fatal(err)
			}
		}
		if h := health(); h.Sent != 4 || h.Unknown != 2 || h.UnknownMessages != 3 || h.Measured != 4 {
			t.Errorf("after sending again: %+v", h)
		}
		if n, err := d.ResendUnknown(ctx, slot); err != nil || n != 0 {
			t.Errorf("ResendUnknown again = %d, %v; want 0", n, err)
		}
		if n, msgs, err := d.Resendable(ctx, slot); err != nil || n != 0 || msgs != 0 {
			t.Errorf("Resendable after = %d, %d, %v; want 0, 0", n, msgs, err)
		}
		checkAggregates(t, d.Store)
	})
}

// TestDashboardRecount drives random chats, deliveries, answers, moves,
// deletions and resends: every aggregate of the dashboard equals a
// recount after each round, and a tampered one is reported.
func TestDashboardRecount(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d := openDashboard(t)
	rng := rand.New(rand.NewPCG(6, 6))
	d.at("2026-01-05T00:00:00Z")
	var learners []int64
	for i := range 30 {
		learners = append(learners, learnerForTest(t, d.Store, fmt.Sprint("u", i)))
	}
	keys := []string{"telegram:-1", "telegram:-2", "telegram:-3", "discord:4", "discord:5", "telegram:6:77", "telegram:9"}
	outcomes := []string{outSent, outSent, outSent, outUnknownPost, outUnknownLast, outUnknownMiddle, outFailed, outChatGone}
	lessonOf := map[string]int{}
	for round := range 4 {
		for range 40 {
			d.now = d.now.Add(time.Duration(1+rng.IntN(24*60)) * time.Minute)
			key := keys[rng.IntN(len(keys))]
			a := addressOf(key)
			switch rng.IntN(6) {
			case 0:
				d.save(key, chat.Group, rng.IntN(4) > 0)
			case 1:
				if _, err := d.TurnOff(ctx, a); err != nil {
					t.Fatal(err)
				}
			case 2, 3:
				sub, err := d.Chat(ctx, a)
				if err != nil || !sub.Active {
					continue
				}
				lessonOf[key]++
				slot := d.now.Truncate(time.Minute)
				d.sendLesson(sub.ID, a.Platform, fmt.Sprint("l", lessonOf[key]), slot,
					slot.Add(time.Duration(rng.IntN(600))*time.Second), outcomes[rng.IntN(len(outcomes))])
			default:
				for range 5 {
					lesson := fmt.Sprint("l", rng.IntN(lessonOf[key]+1))
					d.now = d.now.Add(time.Duration(rng.IntN(3000)) * time.Second)
					q := rng.IntN(3)
					if _, _, err := d.RecordAnswer(ctx, Answer{LearnerID: learners[rng.IntN(len(learners))], Chat: key,
						LessonID: lesson, QuestionKey: fmt.Sprint(lesson, ":", q), Choice: rng.IntN(4), Correct: rng.IntN(3) == 0,
						At: d.now}); err != nil {
						t.Fatal(err)
					}
				}
			}
		}
		// The unknown messages of the last slot are sent again.
		var lastSlot int64
		if err := d.db.QueryRow(`SELECT max(slot) FROM deliveries`).Scan(&lastSlot); err != nil {
			t.Fatal(err)
		}
		if _, err := d.ResendUnknown(ctx, time.Unix(lastSlot, 0)); err != nil {
			t.Fatal(err)
		}
		claims, _, err := d.ClaimDue(ctx, d.now, deliveryTestHolder, time.Hour, 100, false, chat.Telegram, chat.Discord)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range claims {
			if err := d.FinishDelivery(ctx, c.Delivery.ID, deliveryTestHolder, DeliverySent, ""); err != nil {
				t.Fatal(err)
			}
		}
		d.AddItem(ctx, ReviewItem{LearnerID: learners[round], LessonID: "l1", Term: "w", Source: "missed", State: ItemNew})
		checkAggregates(t, d.Store)
	}
	t.Run("OKMoveChat", func(t *testing.T) {
		for _, key := range []string{"telegram:-1", "telegram:-2", "telegram:-3"} {
			d.save(key, chat.Group, true)
		}
		sub, _ := d.Chat(ctx, addressOf("telegram:-3"))
		if merged, err := d.MoveChat(ctx, sub.ID, "-2"); err != nil || !merged {
			t.Fatalf("MoveChat = %v, %v; want merged", merged, err)
		}
		sub, _ = d.Chat(ctx, addressOf("telegram:-1"))
		if _, err := d.MoveChat(ctx, sub.ID, "-1001"); err != nil {
			t.Fatal(err)
		}
		checkAggregates(t, d.Store)
	})
	t.Run("OKDeleteLearner", func(t *testing.T) {
		d.save("telegram:9", chat.Private, true)
		for _, u := range []string{"id-u1", "id-u2", "9"} {
			if _, err := d.DeleteLearner(ctx, chat.User{Platform: chat.Telegram, ID: u}); err != nil {
				t.Fatal(err)
			}
		}
		checkAggregates(t, d.Store)
	})
	t.Run("ErrTampered", func(t *testing.T) {
		for _, q := range []string{
			`UPDATE cohort_weeks SET chats = chats + 1 WHERE (cohort, week) IN (SELECT cohort, week FROM cohort_weeks LIMIT 1)`,
			`DELETE FROM question_choices WHERE (question_key, choice) IN (SELECT question_key, choice FROM question_choices LIMIT 1)`,
			`UPDATE delivery_lateness SET deliveries = deliveries + 1 WHERE (quarter, lo) IN (SELECT quarter, lo FROM delivery_lateness LIMIT 1)`,
			`INSERT INTO chat_changes (quarter, platform, change, chats) VALUES (1, 'telegram', 'gone', 1)`,
		} {
			if _, err := d.db.Exec(q); err != nil {
				t.Fatal(err)
			}
		}
		diffs, err := d.CheckAggregates(ctx)
		if err != nil {
			t.Fatal(err)
		}
		joined := strings.Join(diffs, "\n")
		for _, want := range []string{"cohort_weeks: stored row does not match", "question_choices: recounted row is not stored",
			"delivery_lateness: stored row does not match", "chat_changes (added up by platform): "} {
			if !strings.Contains(joined, want) {
				t.Errorf("the tampering was reported as:\n%s\nwant a line with %q", joined, want)
			}
		}
	})
}

// TestUpgradeBuildsDashboard opens a database as lessonbot left it before
// migrations 0005 to 0007, written with plain SQL: the upgrade builds the
// dashboard's aggregates from its history, equal to a recount, as the
// migration says it does.
func TestUpgradeBuildsDashboard(t *testing.T) {
	t.Parallel()
	sqliteOnly(t)
	ctx := context.Background()
	path := t.TempDir() + "/old.db"
	db := oldSchema(t, path, 4)
	unix := func(s string) int64 { return mustTime(t, s).Unix() }
	ms := func(s string) int64 { return mustTime(t, s).UnixMilli() }
	steps := []struct {
		query string
		args  []any
	}{
		{`INSERT INTO subscriptions (id, platform, chat_id, kind, hour, minute, zone, active, created_at) VALUES
			(1, 'telegram', '-100', 'group', 8, 0, 'UTC', 1, ?),
			(2, 'telegram', '7', 'private', 8, 0, 'UTC', 0, ?),
			(3, 'discord', 'c1', 'channel', 8, 0, 'UTC', 0, ?),
			(4, 'telegram', '-200', 'group', 8, 0, 'UTC', 1, ?)`,
			[]any{unix("2026-03-02T10:00:00Z"), unix("2026-02-23T10:00:00Z"), unix("2026-02-24T10:00:00Z"), unix("2026-03-09T10:00:00Z")}},
		// A lesson sent on demand is the only delivery recorded sent with
		// no message id: chat 3 was never subscribed.
		{`INSERT INTO deliveries (subscription_id, kind, lesson_id, slot, state, message_ids, unknown, created_at, updated_at) VALUES
			(1, 'lesson', 'l1', ?, 'sent', '["a","b"]', 0, 0, 0),
			(1, 'lesson', 'l2', ?, 'unknown', '[null]', 1, 0, 0),
			(2, 'lesson', 'l1', ?, 'sent', '["x"]', 0, 0, 0),
			(3, 'lesson', 'l1', ?, 'sent', '[]', 0, 0, 0),
			(4, 'lesson', NULL, ?, 'exhausted', '[]', 0, 0, 0),
			(4, 'lesson', 'l3', ?, 'pending', '[]', 0, 0, 0)`,
			[]any{unix("2026-03-03T08:00:00Z"), unix("2026-03-04T08:00:00Z"), unix("2026-02-24T08:00:00Z"),
				unix("2026-02-25T09:13:00Z"), unix("2026-03-10T08:00:00Z"), unix("2026-03-11T08:00:00Z")}},
		{`INSERT INTO learners (id, platform, user_id, created_at) VALUES (1, 'telegram', '1', 0), (2, 'telegram', '2', 0),
			(3, 'telegram', '7', 0), (4, 'telegram', '4', 0)`, nil},
		{`INSERT INTO answers (learner_id, chat, lesson_id, question_key, choice, correct, answered_at) VALUES
			(1, 'telegram:-100', 'l1', 'l1:a', 0, 1, ?),
			(2, 'telegram:-100', 'l1', 'l1:a', 2, 0, ?),
			(1, 'telegram:-100', 'l2', 'l2:a', 1, 0, ?),
			(3, 'telegram:7', 'l1', 'l1:a', 0, 1, ?),
			(3, 'discord:c1', 'l1', 'l1:b', 1, 1, ?),
			(4, 'telegram:999', 'l1', 'l1:b', 2, 0, ?),
			(1, 'telegram:-100', 'l9', 'l9:a', 0, 1, ?),
			(2, 'telegram:-100', 'l1', 'l1:b', 0, 1, ?)`,
			[]any{ms("2026-03-03T08:01:30Z"), ms("2026-03-03T09:00:00Z"), ms("2026-03-04T08:00:30Z"), ms("2026-02-24T08:05:00Z"),
				ms("2026-02-25T09:14:00Z"), ms("2026-03-12T00:00:00Z"), ms("2026-03-03T08:00:00Z"), ms("2026-03-03T07:59:50Z")}},
		{`INSERT INTO review_items (learner_id, lesson_id, term, source, state, due, added_at) VALUES
			(1, 'l1', 'rule out', 'missed', 'new', 0, 0), (2, 'l1', 'rule out', 'lesson', 'new', 0, 0),
			(3, 'l1', 'harbour', 'missed', 'new', 0, 0)`, nil},
	}
	for _, st := range steps {
		if _, err := db.Exec(st.query, st.args...); err != nil {
			t.Fatalf("%s: %v", st.query, err)
		}
	}
	db.Close()
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	checkAggregates(t, s)

	t.Run("OKDelays", func(t *testing.T) {
		var got []any
		rows, err := s.db.Query(`SELECT delay FROM answers ORDER BY id`)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var v any
			rows.Scan(&v)
			got = append(got, v)
		}
		rows.Close()
		want := []any{int64(90), int64(3600), int64(30), int64(300), int64(60), nil, nil, nil}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("delays %v, want %v (from the slot; none without a delivery, or before it)", got, want)
		}
	})
	t.Run("OKGrowth", func(t *testing.T) {
		got, err := s.Growth(ctx, mustTime(t, "2026-02-22T00:00:00Z"), mustTime(t, "2026-03-12T00:00:00Z"), time.UTC)
		if err != nil {
			t.Fatal(err)
		}
		subscribed := map[string]int{}
		for _, g := range got {
			if g.Subscribed != 0 || g.Unsubscribed != 0 || g.Gone != 0 {
				subscribed[g.Day.Format(time.DateOnly)] = g.Subscribed
			}
		}
		if want := map[string]int{"2026-03-02": 1, "2026-03-09": 1}; !reflect.DeepEqual(subscribed, want) {
			t.Errorf("Growth: %v, want the chats active now on the day their row was made", subscribed)
		}
	})
	t.Run("OKRetention", func(t *testing.T) {
		now := mustTime(t, "2026-03-11T12:00:00Z")
		w := WeekOf(now, time.UTC)
		got, err := s.Retention(ctx, now, 3)
		if err != nil {
			t.Fatal(err)
		}
		want := []Cohort{
			{Week: w - 2, Start: mustTime(t, "2026-02-23T00:00:00Z"), Chats: 1, Active: []int{1, 0, 0}},
			{Week: w - 1, Start: mustTime(t, "2026-03-02T00:00:00Z"), Chats: 1, Active: []int{1, 0}},
			{Week: w, Start: mustTime(t, "2026-03-09T00:00:00Z"), Chats: 1, Active: []int{0}},
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("Retention =\n%+v\nwant\n%+v", got, want)
		}
	})
	t.Run("OKLessonStats", func(t *testing.T) {
		got, err := s.LessonStats(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want := []LessonStat{
			{LessonID: "l1", Sent: 3, Answered: 6, Correct: 4, Delays: 4, MedianDelay: 92 * time.Second},
			{LessonID: "l2", Unknown: 1, Answered: 1, Delays: 1, MedianDelay: 31 * time.Second},
			{LessonID: "l9", Answered: 1, Correct: 1},
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("LessonStats =\n%+v\nwant\n%+v", got, want)
		}
	})
	t.Run("OKDeliveryHealth", func(t *testing.T) {
		got, err := s.DeliveryHealth(ctx, mustTime(t, "2026-03-03T00:00:00Z"), mustTime(t, "2026-03-04T00:00:00Z"), time.UTC)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || got[0].Sent != 1 || got[1].Unknown != 1 || got[1].UnknownMessages != 1 || got[0].Measured+got[1].Measured != 0 {
			t.Errorf("DeliveryHealth = %+v", got)
		}
	})
	t.Run("OKReviewItems", func(t *testing.T) {
		got, err := s.ReviewItemCounts(ctx, []Word{{"l1", "rule out"}, {"l1", "harbour"}})
		if err != nil || !reflect.DeepEqual(got, []WordItems{{2, 1}, {1, 1}}) {
			t.Errorf("ReviewItemCounts = %v, %v", got, err)
		}
	})
}

func TestQueue(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d := openDashboard(t)
	d.at("2026-03-01T00:00:00Z")
	subs := map[string]int64{}
	for _, key := range []string{"telegram:1", "telegram:2", "telegram:3", "telegram:4"} {
		subs[key] = d.save(key, chat.Private, true)
	}
	t.Run("OKEmpty", func(t *testing.T) {
		if q, err := d.Queue(ctx); err != nil || q != (Queue{}) {
			t.Errorf("Queue = %+v, %v; want nothing", q, err)
		}
	})
	slot := mustTime(t, "2026-03-10T08:00:00Z")
	d.sendLesson(subs["telegram:1"], chat.Telegram, "l1", slot, slot, outSent)
	d.sendLesson(subs["telegram:2"], chat.Telegram, "l1", slot.Add(time.Hour), slot, outPending)
	d.sendLesson(subs["telegram:3"], chat.Telegram, "l1", slot.Add(2*time.Hour), slot, outPending)
	// The oldest pending delivery is to a chat that left: nobody sends it.
	d.sendLesson(subs["telegram:4"], chat.Telegram, "l1", slot.Add(-time.Hour), slot, outPending)
	d.save("telegram:4", chat.Private, false)
	d.sendLesson(subs["telegram:1"], chat.Telegram, "l2", slot.Add(3*time.Hour), slot, outPending)
	// The first due to a subscribed chat is being sent.
	if claims, _, err := d.ClaimDue(ctx, slot.Add(3*time.Hour), deliveryTestHolder, time.Hour, 1, false, chat.Telegram); err != nil ||
		len(claims) != 1 || claims[0].Delivery.SubscriptionID != subs["telegram:2"] {
		t.Fatalf("ClaimDue = %v, %v", claims, err)
	}
	t.Run("OK", func(t *testing.T) {
		// Pending: to chats 3, 4 (which left) and 1.
		want := Queue{Pending: 3, Sending: 1, OldestDue: slot.Add(2 * time.Hour)}
		if q, err := d.Queue(ctx); err != nil || q != want {
			t.Errorf("Queue = %+v, %v; want %+v", q, err, want)
		}
	})
}
