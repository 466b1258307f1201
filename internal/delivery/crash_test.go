package delivery_test

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/lessonbot/lessonbot/internal/chat"
	"github.com/lessonbot/lessonbot/internal/delivery"
	"github.com/lessonbot/lessonbot/internal/delivery/deliverytest"
	"github.com/lessonbot/lessonbot/internal/ratelimit"
	"github.com/lessonbot/lessonbot/internal/store"

	_ "modernc.org/sqlite" // countInflight reads the database as it is after a kill
)

// The crash test runs in real time: a killed process cannot share a
// synctest bubble with the test.
const (
	crashKills = 10
	crashLease = 2 * time.Second
	// takeoverKills and takeoverResume are TestCrashTakeover's kills and
	// the longest a restart may take to send again.
	takeoverKills  = 3
	takeoverResume = 2 * time.Second
	crashMessages  = 3 // each lesson: a post and 2 questions
	// crashLessons is the size of the child's library: more lessons than
	// slots, so that no slot is exhausted.
	crashLessons = 40
	// crashFinal bounds the last, unkilled run of the child.
	crashFinal = 60 * time.Second
)

// TestCrashSafety delivers two slots (or more) to many chats from a child
// process that is SIGKILLed at random moments and restarted each time, then
// checks against what the fake platform received (a file the child appends
// to) that no chat got a message twice, that every delivery recorded as sent
// was sent whole, and that only deliveries interrupted mid-send were left
// unknown; and that the outbox and the database are in order.
//
// How much a child gets done before it is killed depends on the machine, so
// when the last child left less than one slot's worth of deliveries, the
// test adds a slot for every chat before it starts the next one: each of the
// kills lands on a child with work to do.
func TestCrashSafety(t *testing.T) {
	began := time.Now()
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("LESSONBOT_CRASH_SEED"); s != "" {
		var err error
		if seed, err = strconv.ParseUint(s, 10, 64); err != nil {
			t.Fatalf("LESSONBOT_CRASH_SEED: %v", err)
		}
	}
	t.Logf("seed %d (LESSONBOT_CRASH_SEED=%d repeats the kill times)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, seed))

	dir := t.TempDir()
	dbPath := filepath.Join(dir, "lessonbot.db")
	sendsPath := filepath.Join(dir, "sends.txt")
	statusPath := filepath.Join(dir, "status.txt")
	logPath := filepath.Join(dir, "child.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	defer func() {
		if t.Failed() {
			t.Logf("child output (last 8 KiB):\n%s", tail(logPath, 8<<10))
		}
	}()

	chats, slots := crashWorld(t, dbPath, crashChats, 2)
	t.Logf("setup: %d chats, %d slots in %v", len(chats), len(slots), time.Since(began).Round(time.Millisecond))
	inflight := map[string]bool{}

	kills := 0
	for run := 1; kills < crashKills; run++ {
		if run > 3*crashKills {
			t.Fatalf("only %d of %d runs were killed while delivering", kills, run-1)
		}
		if left := readStatus(t, statusPath); run > 1 && left < len(chats) {
			slots = append(slots, addCrashSlot(t, dbPath, chats, slots))
			t.Logf("run %d: %d deliveries were left; added slot %d", run, left, len(slots))
		}
		before := countLines(t, sendsPath)
		cmd := startCrashChild(t, dbPath, sendsPath, statusPath, logFile, false)
		alive := time.Duration(100+rng.IntN(701)) * time.Millisecond
		time.Sleep(alive)
		cmd.Process.Kill() // SIGKILL; an error means it is gone already
		err := cmd.Wait()
		var exit *exec.ExitError
		switch {
		case err == nil:
			t.Logf("run %d: the child drained the outbox before the kill; %d messages sent", run, countLines(t, sendsPath)-before)
		case errors.As(err, &exit) && killedBySIGKILL(exit):
			kills++
			n := countInflight(t, dbPath, inflight)
			t.Logf("run %d: killed after %v; %d messages sent, %d under way", run, alive, countLines(t, sendsPath)-before, n)
		default:
			t.Fatalf("run %d: child: %v", run, err)
		}
		// Let the leases of the dead child run out, or nearly: a lease is
		// stored in whole seconds, so it lasts between 2 and 3 s, and some
		// rows are still leased when the next child starts.
		time.Sleep(crashLease + time.Duration(rng.IntN(1200))*time.Millisecond)
	}

	drainCrashChild(t, dbPath, sendsPath, statusPath, logFile, false)
	totals := finishCrashTest(t, dbPath, sendsPath, logPath, chats, slots)
	if totals.unknownMessages != len(inflight) {
		t.Errorf("%d messages unknown, want %d: the messages under way at the kills", totals.unknownMessages, len(inflight))
	}
	t.Logf("%d chats × %d slots; deliveries: %d sent, %d unknown; messages: %d, %d unknown (%d of which had arrived); kills: %d; time: %v",
		len(chats), len(slots), totals.sent, totals.unknown, totals.messages, totals.unknownMessages, totals.unknownPosted,
		kills, time.Since(began).Round(time.Millisecond))
}

// TestCrashTakeover runs the child as lessonbot run does: it holds the
// database lock and takes over at start the claims of its dead
// predecessor, with the real two-minute lease. It SIGKILLs the child during
// a fan-out to crashChats chats and restarts it at once, takeoverKills
// times: each restart sends again within takeoverResume, every chat ends
// with its post once and each question once, and the only messages left
// unknown are those under way at a kill.
func TestCrashTakeover(t *testing.T) {
	if testing.Short() {
		t.Skip("kills and restarts a child process several times")
	}
	began := time.Now()
	rng := rand.New(rand.NewPCG(uint64(began.UnixNano()), 1))
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "lessonbot.db")
	sendsPath := filepath.Join(dir, "sends.txt")
	statusPath := filepath.Join(dir, "status.txt")
	logPath := filepath.Join(dir, "child.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	defer func() {
		if t.Failed() {
			t.Logf("child output (last 8 KiB):\n%s", tail(logPath, 8<<10))
		}
	}()
	chats, slots := crashWorld(t, dbPath, crashChats, 1)

	inflight := map[string]bool{}
	for kill := 1; kill <= takeoverKills; kill++ {
		before := countLines(t, sendsPath)
		cmd := startCrashChild(t, dbPath, sendsPath, statusPath, logFile, true)
		resumed := waitForSends(t, sendsPath, before, 30*time.Second)
		if resumed > takeoverResume {
			t.Errorf("start %d sent its first message %v after the start, want within %v", kill, resumed.Round(time.Millisecond), takeoverResume)
		}
		time.Sleep(time.Duration(200+rng.IntN(800)) * time.Millisecond)
		cmd.Process.Kill()
		err := cmd.Wait()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || !killedBySIGKILL(exit) {
			t.Fatalf("start %d: the child ended before the kill (%v): the fan-out is too short for %d kills", kill, err, takeoverKills)
		}
		n := countInflight(t, dbPath, inflight)
		t.Logf("start %d: first message %v after the start; killed with %d messages sent, %d under way",
			kill, resumed.Round(time.Millisecond), countLines(t, sendsPath)-before, n)
	}
	before := countLines(t, sendsPath)
	resumed := drainCrashChild(t, dbPath, sendsPath, statusPath, logFile, true)
	if resumed > takeoverResume {
		t.Errorf("the last start sent its first message %v after the start, want within %v", resumed, takeoverResume)
	}
	t.Logf("last start: first message %v after the start; %d messages sent", resumed.Round(time.Millisecond), countLines(t, sendsPath)-before)
	totals := finishCrashTest(t, dbPath, sendsPath, logPath, chats, slots)
	if totals.unknownMessages != len(inflight) {
		t.Errorf("%d messages unknown, want %d: the messages under way at the kills", totals.unknownMessages, len(inflight))
	}
	t.Logf("%d chats; deliveries: %d sent, %d unknown; messages: %d, %d unknown (%d of which had arrived); kills: %d; time: %v",
		len(chats), totals.sent, totals.unknown, totals.messages, totals.unknownMessages, totals.unknownPosted,
		takeoverKills, time.Since(began).Round(time.Millisecond))
}

// waitForSends waits until the sends file has more than before lines and
// returns how long that took; it stops the test after limit.
func waitForSends(t *testing.T, path string, before int, limit time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for countLines(t, path) <= before {
		if time.Since(start) > limit {
			t.Fatalf("no message sent within %v of the start", limit)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return time.Since(start)
}

// drainCrashChild runs the child until it has drained the outbox, and
// returns how long after its start it sent its first message.
func drainCrashChild(t *testing.T, dbPath, sendsPath, statusPath string, logFile *os.File, lock bool) time.Duration {
	t.Helper()
	before := countLines(t, sendsPath)
	start := time.Now()
	cmd := startCrashChild(t, dbPath, sendsPath, statusPath, logFile, lock)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var resumed time.Duration
	for resumed == 0 {
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("final run: child: %v", err)
			}
			t.Logf("final run: drained the outbox in %v", time.Since(start).Round(time.Millisecond))
			return resumed
		case <-time.After(5 * time.Millisecond):
		}
		if countLines(t, sendsPath) > before {
			resumed = time.Since(start)
		}
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("final run: child: %v", err)
		}
	case <-time.After(crashFinal):
		cmd.Process.Kill()
		<-done
		t.Fatalf("final run: the child did not drain the outbox within %v", crashFinal)
	}
	t.Logf("final run: drained the outbox in %v", time.Since(start).Round(time.Millisecond))
	return resumed
}

// finishCrashTest checks the outcome of a crash test and the database.
func finishCrashTest(t *testing.T, dbPath, sendsPath, logPath string, chats map[int64]string, slots []time.Time) crashTotals {
	t.Helper()
	if out := tail(logPath, 1<<30); strings.Contains(out, "WARNING: DATA RACE") {
		t.Error("the child reported a data race")
	}
	st, err := store.Open(context.Background(), dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	totals := checkCrashOutcome(t, st, chats, slots, readSends(t, sendsPath))
	if err := st.IntegrityCheck(context.Background()); err != nil {
		t.Error(err)
	}
	return totals
}

// countInflight adds to seen the messages that the database at path
// records as under way, as "delivery/index", and returns how many it
// records: after a kill, the messages that may or may not have arrived. A
// message still recorded from an earlier kill (its lease had not run out
// yet) is in seen once.
func countInflight(t *testing.T, path string, seen map[string]bool) int {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT id || '/' || inflight FROM deliveries WHERE inflight IS NOT NULL`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			t.Fatal(err)
		}
		seen[k] = true
		n++
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return n
}

// killedBySIGKILL reports whether the child ended by the test's kill.
func killedBySIGKILL(exit *exec.ExitError) bool {
	ws, ok := exit.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL
}

// crashWorld creates the database with n active subscriptions and due
// slots for each, a minute apart, and closes it: the children open it on
// their own.
func crashWorld(t *testing.T, dbPath string, n, due int) (chats map[int64]string, slots []time.Time) {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	chats = make(map[int64]string, n)
	ids := make([]int64, 0, n)
	for i := range n {
		sub, err := st.EnsureChat(ctx, store.Subscription{
			Address: chat.Address{Platform: chat.Telegram, ChatID: strconv.Itoa(1000 + i)}, Kind: chat.Private,
			Hour: 8, Minute: 0, Zone: "UTC", Weekdays: store.EveryDay, Language: "en",
		})
		if err != nil {
			t.Fatal(err)
		}
		sub.Active = true
		if err := st.SaveSubscription(ctx, sub); err != nil {
			t.Fatal(err)
		}
		chats[sub.ID] = sub.Address.ChatID
		ids = append(ids, sub.ID)
	}
	// Slots a minute apart, all in the past: due at once.
	first := time.Now().Truncate(time.Second).Add(-time.Hour)
	for i := range due {
		slots = append(slots, first.Add(time.Duration(i)*time.Minute))
	}
	for _, slot := range slots {
		if written, err := st.EnqueueSlot(ctx, ids, slot); err != nil || written != n {
			t.Fatalf("EnqueueSlot(%v) = %d, %v; want %d rows", slot, written, err, n)
		}
	}
	return chats, slots
}

// addCrashSlot enqueues one more slot for every chat, between two runs of
// the child, and returns it.
func addCrashSlot(t *testing.T, dbPath string, chats map[int64]string, slots []time.Time) time.Time {
	t.Helper()
	if len(slots) >= crashLessons {
		t.Fatalf("more slots than the %d lessons of the library", crashLessons)
	}
	ctx := context.Background()
	st, err := store.Open(ctx, dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ids := make([]int64, 0, len(chats))
	for id := range chats {
		ids = append(ids, id)
	}
	slot := slots[len(slots)-1].Add(time.Minute)
	if written, err := st.EnqueueSlot(ctx, ids, slot); err != nil || written != len(ids) {
		t.Fatalf("EnqueueSlot(%v) = %d, %v; want %d rows", slot, written, err, len(ids))
	}
	return slot
}

// readStatus returns the number of deliveries the last child saw left in
// the outbox, or -1 before any child told.
func readStatus(t *testing.T, path string) int {
	t.Helper()
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return -1
	}
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil {
		t.Fatalf("status file: %v", err)
	}
	return n
}

// startCrashChild starts TestCrashSafetyChild. With lock, the child holds
// the database lock and takes over its predecessor's claims, with the real
// lease, as lessonbot run does; without, it counts on leases of
// crashLease running out.
func startCrashChild(t *testing.T, dbPath, sendsPath, statusPath string, out *os.File, lock bool) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashSafetyChild$", "-test.v")
	cmd.Env = append(os.Environ(), "LESSONBOT_CRASH_CHILD=1", "LESSONBOT_CRASH_LOCK="+strconv.FormatBool(lock),
		"LESSONBOT_DB="+dbPath, "LESSONBOT_SENDS="+sendsPath, "LESSONBOT_STATUS="+statusPath)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd
}

// TestCrashSafetyChild is the child process of TestCrashSafety: it
// delivers what the outbox holds and exits once nothing is left, unless it
// is killed first. Meanwhile it keeps in the status file the number of
// deliveries left, for the parent to judge whether the next child will have
// enough to do.
func TestCrashSafetyChild(t *testing.T) {
	if os.Getenv("LESSONBOT_CRASH_CHILD") != "1" {
		t.Skip("the child process of TestCrashSafety")
	}
	ctx := context.Background()
	lock := os.Getenv("LESSONBOT_CRASH_LOCK") == "true"
	opts := delivery.Options{Lease: crashLease, Workers: 64}
	limits := ratelimit.Limits{PerSecond: 2000, PerChatPerSecond: 50}
	if lock {
		l, err := store.LockDatabase(os.Getenv("LESSONBOT_DB"))
		if err != nil {
			t.Fatal(err)
		}
		defer l.Release()
		// As lessonbot run: the real lease, and Telegram's own pace of a
		// message a second to a chat.
		opts = delivery.Options{TakeOver: true}
		limits = ratelimit.Limits{PerSecond: 200, PerChatPerSecond: 1}
	}
	st, err := store.Open(ctx, os.Getenv("LESSONBOT_DB"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	f, err := os.OpenFile(os.Getenv("LESSONBOT_SENDS"), os.O_APPEND|os.O_WRONLY|os.O_CREATE|os.O_SYNC, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sender := &fileSender{store: st, file: f, run: rand.Uint32()}
	var ids []string
	for i := range crashLessons {
		ids = append(ids, fmt.Sprintf("l%02d", i+1))
	}
	lessons := &deliverytest.Lessons{Store: st, Size: crashMessages}
	lessons.Add(ids...)
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	pool := delivery.New(st, lessons, map[string]delivery.Platform{chat.Telegram: {Sender: sender, Limits: limits}}, opts, log)

	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	done := make(chan error, 1)
	go func() { done <- pool.Run(runCtx) }()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			t.Fatalf("the pool stopped on its own: %v", err)
		case <-tick.C:
		}
		counts, err := st.DeliveryCounts(ctx, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		left := counts[store.DeliveryPending] + counts[store.DeliverySending]
		writeStatus(t, os.Getenv("LESSONBOT_STATUS"), left)
		if left == 0 {
			break
		}
	}
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	t.Logf("outbox drained; %d messages sent by this run", sender.n.Load())
}

// writeStatus replaces the status file at once, so that a kill leaves the
// old one or the new one.
func writeStatus(t *testing.T, path string, left int) {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(strconv.Itoa(left)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// fileSender is a platform that keeps what it is sent in a file, one line
// per message: "<chat> <slot unix> <lesson> <index> <message id>". A line
// is written, in one write with O_APPEND|O_SYNC, only when the message is
// accepted, just before Send returns: a kill before the write is a message
// that never arrived, a kill after it one whose sending was not recorded.
type fileSender struct {
	store *store.Store
	file  *os.File
	run   uint32 // makes message ids unique across runs
	n     atomic.Int64
}

func (s *fileSender) Send(ctx context.Context, to chat.Address, kind chat.Kind, m chat.Message) (string, error) {
	lesson, index, ok := strings.Cut(m.Blocks[0].Text, "/")
	if !ok {
		return "", fmt.Errorf("unexpected message %q", m.Blocks[0].Text)
	}
	// The Sender is not told the slot; the lesson's row tells it.
	slot := int64(-1)
	sub, err := s.store.Chat(ctx, to)
	if err != nil {
		return "", err
	}
	ds, err := s.store.Deliveries(ctx, sub.ID)
	if err != nil {
		return "", err
	}
	for _, d := range ds {
		if d.LessonID == lesson {
			slot = d.Slot.Unix()
		}
	}
	time.Sleep(time.Duration(1+rand.IntN(20)) * time.Millisecond) // the network
	id := fmt.Sprintf("%08x-%d", s.run, s.n.Add(1))
	if _, err := fmt.Fprintf(s.file, "%s %d %s %s %s\n", to.ChatID, slot, lesson, index, id); err != nil {
		return "", err
	}
	return id, nil
}

// crashSend is one line of the sends file.
type crashSend struct {
	chat   string
	slot   int64
	lesson string
	index  int
	id     string
}

func readSends(t *testing.T, path string) []crashSend {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []crashSend
	for n, line := range strings.SplitAfter(string(data), "\n") {
		if line == "" {
			continue
		}
		f := strings.Fields(line)
		if !strings.HasSuffix(line, "\n") || len(f) != 5 {
			t.Fatalf("sends line %d is torn or malformed: %q", n+1, line)
		}
		slot, err1 := strconv.ParseInt(f[1], 10, 64)
		index, err2 := strconv.Atoi(f[3])
		if err1 != nil || err2 != nil {
			t.Fatalf("sends line %d: %q", n+1, line)
		}
		out = append(out, crashSend{chat: f[0], slot: slot, lesson: f[2], index: index, id: f[4]})
	}
	return out
}

type crashTotals struct {
	// sent and unknown count deliveries by final state.
	sent, unknown int
	// messages counts the messages received; unknownMessages those
	// recorded as unknown, and unknownPosted those of them that had
	// arrived.
	messages, unknownMessages, unknownPosted int
}

// checkCrashOutcome compares every delivery row with the messages the
// platform received for it: each message recorded with an id was received
// once, with that id; one recorded as unknown was received once or never;
// none after the recorded ones was received. A sent delivery has all its
// messages recorded; an unknown one, only its uncertain post.
func checkCrashOutcome(t *testing.T, st *store.Store, chats map[int64]string, slots []time.Time, sends []crashSend) crashTotals {
	t.Helper()
	type key struct {
		chat string
		slot int64
	}
	received := map[key][]crashSend{}
	for _, s := range sends {
		k := key{s.chat, s.slot}
		received[k] = append(received[k], s)
	}
	totals := crashTotals{messages: len(sends)}
	seen := map[key]bool{}
	for subID, chatID := range chats {
		ds, err := st.Deliveries(context.Background(), subID)
		if err != nil {
			t.Fatal(err)
		}
		if len(ds) != len(slots) {
			t.Errorf("chat %s has %d deliveries, want %d", chatID, len(ds), len(slots))
		}
		for _, d := range ds {
			k := key{chatID, d.Slot.Unix()}
			seen[k] = true
			where := fmt.Sprintf("chat %s slot %d (%s, lesson %q, message ids %q)", chatID, k.slot, d.State, d.LessonID, d.MessageIDs)
			if !d.LeaseUntil.IsZero() || d.ClaimedBy != "" || d.Inflight >= 0 {
				t.Errorf("%s: still claimed by %q until %v, message %d under way", where, d.ClaimedBy, d.LeaseUntil, d.Inflight)
			}
			count := make([]int, crashMessages)
			for _, s := range received[k] {
				if s.lesson != d.LessonID {
					t.Errorf("%s: received lesson %q", where, s.lesson)
				}
				if s.index < 0 || s.index >= crashMessages {
					t.Errorf("%s: received message index %d", where, s.index)
					continue
				}
				count[s.index]++
				if s.index < len(d.MessageIDs) && d.MessageIDs[s.index] != "" && d.MessageIDs[s.index] != s.id {
					t.Errorf("%s: message %d recorded as %q, received as %q", where, s.index, d.MessageIDs[s.index], s.id)
				}
			}
			unknown := 0
			for i := range crashMessages {
				switch {
				case i >= len(d.MessageIDs) && count[i] != 0:
					t.Errorf("%s: message %d received %d times, but not recorded", where, i, count[i])
				case i >= len(d.MessageIDs):
				case d.MessageIDs[i] == "" && count[i] > 1:
					t.Errorf("%s: message %d, recorded as unknown, received %d times", where, i, count[i])
				case d.MessageIDs[i] == "":
					unknown++
					totals.unknownPosted += count[i]
				case count[i] != 1:
					t.Errorf("%s: message %d recorded as sent but received %d times", where, i, count[i])
				}
			}
			if unknown != d.Unknown {
				t.Errorf("%s: %d messages recorded as unknown, but the row counts %d", where, unknown, d.Unknown)
			}
			totals.unknownMessages += unknown
			switch d.State {
			case store.DeliverySent:
				totals.sent++
				if len(d.MessageIDs) != crashMessages || d.MessageIDs[0] == "" {
					t.Errorf("%s: sent with %d of %d messages", where, len(d.MessageIDs), crashMessages)
				}
			case store.DeliveryUnknown:
				// Its post was under way at a kill: nothing after it is sent.
				totals.unknown++
				if len(d.MessageIDs) != 1 || d.MessageIDs[0] != "" {
					t.Errorf("%s: unknown, want only its post recorded as unknown", where)
				}
			case store.DeliveryPending, store.DeliverySending:
				t.Errorf("%s: stuck in the outbox", where)
			default:
				t.Errorf("%s: unexpected state (last error %q)", where, d.LastError)
			}
		}
	}
	for k, got := range received {
		if !seen[k] {
			t.Errorf("chat %s received %d messages for slot %d, which has no delivery", k.chat, len(got), k.slot)
		}
	}
	return totals
}

// countLines returns the number of lines of the file at path, 0 when it
// does not exist yet.
func countLines(t *testing.T, path string) int {
	t.Helper()
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Count(data, []byte("\n"))
}

// tail returns the last n bytes of the file at path, from a line start.
func tail(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	if len(data) > n {
		data = data[len(data)-n:]
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			data = data[i+1:]
		}
	}
	var b strings.Builder
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		b.WriteString("\t" + sc.Text() + "\n")
	}
	return b.String()
}
