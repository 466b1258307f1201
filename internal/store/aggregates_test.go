package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lessonbot/lessonbot/internal/chat"
)

// checkAggregates fails t when an aggregate differs from a recount.
func checkAggregates(t *testing.T, s *Store) {
	t.Helper()
	diffs, err := s.CheckAggregates(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(diffs) > 0 {
		t.Errorf("the aggregates differ from a recount:\n%s", strings.Join(diffs, "\n"))
	}
}

// TestAggregatesRecount writes a random stream of answers, repeats among
// them, in chats of several zones and over several weeks, then moves a
// chat and deletes a learner: the aggregates equal a recount each time. A
// tampered aggregate is reported.
func TestAggregatesRecount(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openTest(t)
	rng := rand.New(rand.NewPCG(1, 2))
	zones := map[string]string{"100": "UTC", "-200": "Asia/Tokyo", "-300": "America/New_York"}
	locs := map[string]*time.Location{}
	for id, zone := range zones {
		loc, _ := time.LoadLocation(zone)
		locs[chat.Address{Platform: chat.Telegram, ChatID: id}.Key()] = loc
		sub := newSub(chat.Address{Platform: chat.Telegram, ChatID: id})
		sub.Zone = zone
		if _, err := s.SaveChat(ctx, sub); err != nil {
			t.Fatal(err)
		}
	}
	var learners []int64
	for i := range 12 {
		learners = append(learners, learnerForTest(t, s, fmt.Sprint("r", i)))
	}
	chats := []string{"telegram:100", "telegram:-200", "telegram:-300", "telegram:-404"} // the last has no row: UTC
	base := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	record := func(n int) {
		for range n {
			key := chats[rng.IntN(len(chats))]
			at := base.Add(time.Duration(rng.IntN(30*24*60)) * time.Minute)
			loc := locs[key]
			if loc == nil {
				loc = time.UTC
			}
			q := rng.IntN(60) // a question belongs to one lesson
			a := Answer{LearnerID: learners[rng.IntN(len(learners))], Chat: key, LessonID: fmt.Sprint("l", q%5),
				QuestionKey: fmt.Sprint("q", q), Choice: rng.IntN(4), Correct: rng.IntN(3) > 0, At: at,
				Week: WeekOf(at, loc)}
			if _, _, err := s.RecordAnswer(ctx, a); err != nil {
				t.Fatal(err)
			}
		}
	}
	record(2000)
	checkAggregates(t, s)

	t.Run("OKMoveChat", func(t *testing.T) {
		sub, err := s.Chat(ctx, chat.Address{Platform: chat.Telegram, ChatID: "-300"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.MoveChat(ctx, sub.ID, "-1003"); err != nil {
			t.Fatal(err)
		}
		checkAggregates(t, s)
	})
	t.Run("OKDeleteLearner", func(t *testing.T) {
		answersOf := func() (n int) {
			t.Helper()
			if err := s.db.QueryRow(`SELECT count(*) FROM answers WHERE learner_id = ?`, learners[3]).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		had := answersOf()
		del, err := s.DeleteLearner(ctx, chat.User{Platform: chat.Telegram, ID: "id-r3"})
		if err != nil {
			t.Fatal(err)
		}
		if had == 0 || del.Answers != had || answersOf() != 0 {
			t.Errorf("DeleteLearner deleted %d answers of %d, %d left", del.Answers, had, answersOf())
		}
		checkAggregates(t, s)
	})
	t.Run("OKZoneChange", func(t *testing.T) {
		// A change of zone moves no answer to another week; the answers
		// after it count in the new zone.
		weeks := func() string {
			var out string
			if err := s.db.QueryRow(`SELECT string_agg(week || '/' || learner_id || '/' || answered, ' ' ORDER BY week, learner_id)
				FROM week_scores WHERE chat = 'telegram:-200'`).Scan(&out); err != nil {
				t.Fatal(err)
			}
			return out
		}
		before := weeks()
		sub, _ := s.Chat(ctx, chat.Address{Platform: chat.Telegram, ChatID: "-200"})
		sub.Zone = "Pacific/Auckland"
		if err := s.SaveSubscription(ctx, sub); err != nil {
			t.Fatal(err)
		}
		if after := weeks(); after != before {
			t.Errorf("a change of zone changed the weeks:\n%s\nwant\n%s", after, before)
		}
		locs["telegram:-200"] = mustZone(t, "Pacific/Auckland")
		learners = slices.Delete(learners, 3, 4) // deleted above
		record(300)
		checkAggregates(t, s)
	})
	t.Run("ErrTampered", func(t *testing.T) {
		if _, err := s.db.Exec(`UPDATE chat_scores SET correct = correct + 1 WHERE rowid IN (SELECT rowid FROM chat_scores LIMIT 1)`); err != nil {
			// WITHOUT ROWID: change one row by its key instead.
			if _, err := s.db.Exec(`UPDATE chat_scores SET correct = correct + 1 WHERE (chat, learner_id) IN (SELECT chat, learner_id FROM chat_scores LIMIT 1)`); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := s.db.Exec(`DELETE FROM week_scores WHERE (chat, week, learner_id) IN (SELECT chat, week, learner_id FROM week_scores LIMIT 1)`); err != nil {
			t.Fatal(err)
		}
		diffs, err := s.CheckAggregates(ctx)
		if err != nil {
			t.Fatal(err)
		}
		joined := strings.Join(diffs, "\n")
		if !strings.Contains(joined, "chat_scores: stored row does not match a recount:") ||
			!strings.Contains(joined, "chat_scores: recounted row is not stored:") ||
			!strings.Contains(joined, "week_scores: recounted row is not stored:") {
			t.Errorf("the tampered aggregates were reported as:\n%s", joined)
		}
	})
}

// TestAggregatesCrash SIGKILLs a process that records answers as fast as it
// can, several times: every answer committed has its aggregates, and no
// aggregate counts an answer that was not committed.
func TestAggregatesCrash(t *testing.T) {
	t.Parallel()
	sqliteOnly(t)
	if os.Getenv("LESSONBOT_AGGREGATES_CHILD") != "" {
		aggregatesChild(t)
		return
	}
	if testing.Short() {
		t.Skip("kills a child process several times")
	}
	path := filepath.Join(t.TempDir(), "lessonbot.db")
	for round := range 4 {
		cmd := exec.Command(os.Args[0], "-test.run=^TestAggregatesCrash$")
		cmd.Env = append(os.Environ(), "LESSONBOT_AGGREGATES_CHILD="+path, "LESSONBOT_AGGREGATES_ROUND="+strconv.Itoa(round))
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(300+round*150) * time.Millisecond)
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
	}
	s, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c, err := s.Count(context.Background())
	if err != nil || c.Answers == 0 {
		t.Fatalf("%+v, %v: the children committed nothing before their kill", c, err)
	}
	checkAggregates(t, s)
	t.Logf("%d answers committed across 4 killed children", c.Answers)
}

// aggregatesChild records answers from 32 goroutines until it is killed.
func aggregatesChild(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, os.Getenv("LESSONBOT_AGGREGATES_CHILD"))
	if err != nil {
		t.Fatal(err)
	}
	round := os.Getenv("LESSONBOT_AGGREGATES_ROUND")
	var learners []int64
	for i := range 32 {
		learners = append(learners, learnerForTest(t, s, fmt.Sprint("c", i)))
	}
	done := make(chan struct{})
	for w := range 32 {
		go func() {
			for i := 0; ; i++ {
				a := Answer{LearnerID: learners[w], Chat: fmt.Sprint("telegram:-", i%3), LessonID: "l",
					QuestionKey: fmt.Sprint(round, "-", i%500), Correct: i%2 == 0, At: time.UnixMilli(int64(i) * 60_000)}
				if _, _, err := s.RecordAnswer(ctx, a); err != nil {
					return
				}
			}
		}()
	}
	<-done
}

// TestUpgradeBuildsAggregates opens a database as the previous schema
// leaves it, with answers written by plain SQL: the upgrade builds every
// aggregate, equal to a recount, and changes no answer.
func TestUpgradeBuildsAggregates(t *testing.T) {
	t.Parallel()
	sqliteOnly(t)
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	db := oldSchema(t, path, 4)
	if _, err := db.Exec(`INSERT INTO subscriptions (platform, chat_id, kind, hour, minute, zone, active, created_at) VALUES
			('telegram', '-100', 'group', 8, 0, 'Asia/Tokyo', 1, 0), ('discord', 'c1', 'group', 8, 0, 'UTC', 0, 0)`); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	tx, _ := db.Begin()
	for i := range 500 {
		if _, err := tx.Exec(`INSERT INTO learners (id, platform, user_id, created_at) VALUES (?, 'telegram', ?, 0)`, i+1, fmt.Sprint(i)); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 20_000 {
		_, err := tx.Exec(`INSERT OR IGNORE INTO answers (learner_id, chat, lesson_id, question_key, choice, correct, answered_at)
			VALUES (?, ?, ?, ?, 0, ?, ?)`, rng.IntN(500)+1, []string{"telegram:-100", "discord:c1", "telegram:7"}[rng.IntN(3)],
			fmt.Sprint("l", i%9), fmt.Sprint("k", rng.IntN(400)), rng.IntN(2), 1_772_000_000_000+int64(rng.IntN(40*86_400_000)))
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	before := answersDigest(t, db)
	db.Close()

	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if after := answersDigest(t, s.db); after != before {
		t.Error("the upgrade changed the answers")
	}
	checkAggregates(t, s)
	counts, err := s.ChatCounts(ctx)
	if err != nil || counts[ChatKind{"telegram", chat.Group}] != 1 || counts[ChatKind{"discord", chat.Group}] != 0 {
		t.Errorf("ChatCounts = %v, %v; want the active Telegram group only", counts, err)
	}
	var weeks int
	s.db.QueryRow(`SELECT count(*) FROM week_scores`).Scan(&weeks)
	if weeks == 0 {
		t.Error("no week_scores built")
	}
	// Each answer's week is the one it fell in, in its chat's zone.
	zones := map[string]*time.Location{"telegram:-100": mustZone(t, "Asia/Tokyo"), "discord:c1": time.UTC, "telegram:7": time.UTC}
	rows, err := s.db.Query(`SELECT chat, answered_at, week FROM answers`)
	if err != nil {
		t.Fatal(err)
	}
	wrongWeeks := 0
	for rows.Next() {
		var c string
		var ms, week int64
		if err := rows.Scan(&c, &ms, &week); err != nil {
			t.Fatal(err)
		}
		if want := WeekOf(time.UnixMilli(ms), zones[c]); week != want {
			if wrongWeeks++; wrongWeeks < 4 {
				t.Errorf("an answer of %s at %v is in week %d, want %d", c, time.UnixMilli(ms).UTC(), week, want)
			}
		}
	}
	rows.Close()
	// The copied table still counts only the first answer.
	var learner int64
	var key string
	if err := s.db.QueryRow(`SELECT learner_id, question_key FROM answers WHERE id = 1`).Scan(&learner, &key); err != nil {
		t.Fatal(err)
	}
	if _, first, err := s.RecordAnswer(ctx, Answer{LearnerID: learner, Chat: "telegram:-100", LessonID: "l0", QuestionKey: key, At: time.Now()}); err != nil || first {
		t.Errorf("a second answer to a question after the upgrade: first = %v, %v; want it ignored", first, err)
	}
	checkAggregates(t, s)
}

// answersDigest hashes every answer, in id order.
func answersDigest(t *testing.T, db *sql.DB) string {
	t.Helper()
	rows, err := db.Query(`SELECT id, learner_id, chat, lesson_id, question_key, choice, correct, answered_at FROM answers ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	h := sha256.New()
	for rows.Next() {
		var id, learner, choice, correct, at int64
		var c, l, k string
		if err := rows.Scan(&id, &learner, &c, &l, &k, &choice, &correct, &at); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintln(h, id, learner, c, l, k, choice, correct, at)
	}
	return fmt.Sprintf("%x", h.Sum(nil))
}

// TestChatCounts keeps the active chats by platform and kind through
// every write of a subscription.
func TestChatCounts(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openTest(t)
	group := newSub(chat.Address{Platform: chat.Telegram, ChatID: "-100"})
	id, err := s.SaveChat(ctx, group)
	if err != nil {
		t.Fatal(err)
	}
	private := newSub(chat.Address{Platform: chat.Telegram, ChatID: "7"})
	private.Kind = chat.Private
	if _, err := s.SaveChat(ctx, private); err != nil {
		t.Fatal(err)
	}
	want := func(step string, tg, tp int) {
		t.Helper()
		got, err := s.ChatCounts(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if got[ChatKind{"telegram", chat.Group}] != tg || got[ChatKind{"telegram", chat.Private}] != tp {
			t.Errorf("%s: counts %v, want %d groups and %d private", step, got, tg, tp)
		}
	}
	want("saved", 1, 1)
	group.ID, group.Active = id, false
	if err := s.SaveSubscription(ctx, group); err != nil {
		t.Fatal(err)
	}
	want("turned off by a save", 0, 1)
	group.Active = true
	s.SaveChat(ctx, group)
	want("on again", 1, 1)
	if _, err := s.TurnOff(ctx, group.Address); err != nil {
		t.Fatal(err)
	}
	want("turned off", 0, 1)
	if _, err := s.DeleteLearner(ctx, chat.User{Platform: chat.Telegram, ID: "7"}); err != nil && !errors.Is(err, ErrNotFound) {
		t.Fatal(err)
	}
	want("private chat deleted", 0, 0)
	checkAggregates(t, s)
}
