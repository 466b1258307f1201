package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/signal"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/lessonbot/lessonbot/internal/telegram/telegramtest"
)

// envFakeLessonbot makes the test binary act as a stand-in lessonbot for
// the fleet's tests: "run --config FILE" serves /readyz on the admin
// address FILE names and stops cleanly on SIGTERM.
const envFakeLessonbot = "LOADTEST_FAKE_LESSONBOT"

func TestMain(m *testing.M) {
	if os.Getenv(envFakeLessonbot) == "1" {
		os.Exit(fakeLessonbot(os.Args[1:]))
	}
	os.Exit(m.Run())
}

var listenLine = regexp.MustCompile(`(?m)^  listen: "([^"]+)"$`)

func fakeLessonbot(args []string) int {
	if len(args) != 3 || args[0] != "run" || args[1] != "--config" {
		fmt.Fprintln(os.Stderr, "want run --config FILE")
		return 2
	}
	data, err := os.ReadFile(args[2])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	m := listenLine.FindSubmatch(data)
	if m == nil {
		fmt.Fprintln(os.Stderr, "no listen address")
		return 1
	}
	ln, err := net.Listen("tcp", string(m[1]))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGTERM)
	go http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(string(data), "exit-when-asked") && r.URL.Path == "/exit" {
			os.Exit(3)
		}
		io.WriteString(w, "ok")
	}))
	<-term
	return 0
}

func TestFleet(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	addrs, err := freePorts(2)
	if err != nil {
		t.Fatal(err)
	}
	configs := make([]string, 2)
	for i := range configs {
		configs[i] = fmt.Sprintf("%s/c%d.yaml", dir, i)
		body := fmt.Sprintf("# exit-when-asked\nadmin:\n  listen: %q\n", addrs[i])
		if err := os.WriteFile(configs[i], []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	fl := newFleet(self, dir, append(os.Environ(), envFakeLessonbot+"=1"), 2,
		func(i int) string { return "http://" + addrs[i] + "/readyz" },
		func(i, gen int) ([]string, error) { return []string{"run", "--config", configs[i]}, nil })
	ctx := context.Background()
	for i := range 2 {
		if err := fl.start(i); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 2 {
		if err := fl.waitReady(ctx, i, 10*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	if err := fl.start(0); err == nil {
		t.Error("start of a running instance: no error")
	}
	first := fl.pid(0)
	if i, ok := fl.byPid(first); !ok || i != 0 {
		t.Errorf("byPid(%d) = %d, %v; want 0, true", first, i, ok)
	}

	if err := fl.kill(0); err != nil {
		t.Fatal(err)
	}
	if _, ok := fl.byPid(first); ok {
		t.Errorf("byPid finds the killed pid %d", first)
	}
	if err := fl.unexpected(); err != nil {
		t.Errorf("a killed instance counts as unexpected: %v", err)
	}
	if err := fl.start(0); err != nil {
		t.Fatal(err)
	}
	if err := fl.waitReady(ctx, 0, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if second := fl.pid(0); second == first {
		t.Errorf("restart kept pid %d", first)
	}
	if tag := fl.tag(0); tag != "lessonbot-1.2" {
		t.Errorf("tag(0) = %q after a restart, want lessonbot-1.2", tag)
	}
	if logs := fl.logs(0); len(logs) != 2 {
		t.Errorf("logs(0) = %v, want one per process", logs)
	}

	// An instance that ends by itself is reported.
	http.Get("http://" + addrs[1] + "/exit")
	deadline := time.Now().Add(10 * time.Second)
	for fl.unexpected() == nil && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if err := fl.unexpected(); err == nil || !strings.Contains(err.Error(), "lessonbot-2") {
		t.Errorf("unexpected() = %v, want lessonbot-2's end", err)
	}
	errs := fl.stopAll(10 * time.Second)
	if errs[0] != nil {
		t.Errorf("clean stop of lessonbot-1: %v", errs[0])
	}
	if errs[1] == nil {
		t.Error("lessonbot-2, which exited 3, stopped without an error")
	}
}

func TestRoundRobin(t *testing.T) {
	var mu sync.Mutex
	got := map[string]int{}
	backend := func(name string) string {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			if r.Header.Get("X-Telegram-Bot-Api-Secret-Token") != "s3cret" || string(body) != `{"update_id":1}` || r.URL.Path != "/telegram" {
				http.Error(w, "bad", http.StatusBadRequest)
				return
			}
			mu.Lock()
			got[name]++
			mu.Unlock()
		}))
		t.Cleanup(srv.Close)
		return strings.TrimPrefix(srv.URL, "http://")
	}
	dead, err := freePorts(1)
	if err != nil {
		t.Fatal(err)
	}
	p := newRoundRobin([]string{backend("a"), dead[0], backend("c")})
	front := p.serveTLS()
	defer front.Close()
	for range 6 {
		req, _ := http.NewRequest(http.MethodPost, front.URL+"/telegram", strings.NewReader(`{"update_id":1}`))
		req.Header.Set("X-Telegram-Bot-Api-Secret-Token", "s3cret")
		resp, err := front.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d", resp.StatusCode)
		}
	}
	served, passed := p.counts()
	// Turns go a, dead (passed to c), c, a, dead (to c), c.
	if got["a"] != 2 || got["c"] != 4 || passed != 2 || served[0] != 2 || served[1] != 0 || served[2] != 4 {
		t.Errorf("backends got %v, served %v, passed %d; want a 2, c 4, 2 passed", got, served, passed)
	}
}

// setWebhook registers a webhook with the fake as lessonbot does.
func setWebhook(t *testing.T, f *fakeTelegram, hook, secret string) {
	t.Helper()
	resp, err := http.PostForm(f.URL()+"/bot"+token+"/setWebhook", url.Values{"url": {hook}, "secret_token": {secret}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("setWebhook: %d", resp.StatusCode)
	}
}

func TestPostUpdates(t *testing.T) {
	f := newFakeTelegram(1000, 10, 0)
	defer f.Close()
	var mu sync.Mutex
	seen := map[int64][]int{}
	failed := map[int]bool{}
	hook := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Telegram-Bot-Api-Secret-Token") != "the-secret" {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		var u struct {
			UpdateID int `json:"update_id"`
			Message  struct {
				Chat struct {
					ID int64 `json:"id"`
				} `json:"chat"`
			} `json:"message"`
		}
		json.NewDecoder(r.Body).Decode(&u)
		mu.Lock()
		defer mu.Unlock()
		// Every third update fails once: it must come again, before the
		// next of its chat.
		if u.UpdateID%3 == 0 && !failed[u.UpdateID] {
			failed[u.UpdateID] = true
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		seen[u.Message.Chat.ID] = append(seen[u.Message.Chat.ID], u.UpdateID)
	}))
	defer hook.Close()
	setWebhook(t, f, hook.URL, "the-secret")
	if n := f.called("", "setWebhook"); n != 1 {
		t.Errorf("called setWebhook = %d, want 1", n)
	}

	var updates []map[string]any
	want := map[int64][]int{}
	for n := range 5 {
		for c := range int64(4) {
			id := f.NextUpdateID()
			updates = append(updates, telegramtest.MessageUpdate(id, telegramtest.FakeChat{ID: 10 + c, Type: "private"}, &telegramtest.FakeUser{ID: 10 + c}, fmt.Sprint("hello ", n)))
			want[10+c] = append(want[10+c], id)
		}
	}
	st, err := f.postUpdates(context.Background(), hook.Client(), updates)
	if err != nil {
		t.Fatal(err)
	}
	if st.updates != 20 || st.retried != len(failed) || st.statuses[http.StatusServiceUnavailable] != len(failed) || st.statuses[http.StatusOK] != 20 {
		t.Errorf("stats %+v; want 20 updates, %d retried", st, len(failed))
	}
	for c, ids := range want {
		if fmt.Sprint(seen[c]) != fmt.Sprint(ids) {
			t.Errorf("chat %d got updates %v, want %v in order", c, seen[c], ids)
		}
	}
}

func TestFakeSendLog(t *testing.T) {
	f := newFakeTelegram(1000, 10, 200*time.Millisecond)
	defer f.Close()
	send := func(base string, timeout time.Duration) {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"/bot"+token+"/sendMessage",
			strings.NewReader(url.Values{"chat_id": {"5"}, "text": {"hi"}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
	}
	any5 := func(chat string) bool { return chat == "5" }
	start := time.Now()
	send(f.URL(), 5*time.Second) // accepted
	cut := time.Now()
	send(f.processURL("lessonbot-1.1"), 50*time.Millisecond) // the caller goes away: not accepted
	time.Sleep(50 * time.Millisecond)
	sends := f.Sends()
	if len(sends) != 2 || !sends[0].accepted() || sends[0].by != "" || sends[0].chat != "5" || sends[1].accepted() || sends[1].status != 0 || sends[1].by != "lessonbot-1.1" {
		t.Fatalf("sends %+v; want one accepted, then one of lessonbot-1.1 with no answer", sends)
	}
	if n := f.acceptedCount(); n != 1 || f.SentCount() != 1 {
		t.Errorf("accepted %d, fake recorded %d; want 1 and 1", n, f.SentCount())
	}
	if c, ok := f.firstAccepted(start, "lessonbot-1.1", any5); !ok || c != sends[0] {
		t.Errorf("firstAccepted(start) = %+v, %v", c, ok)
	}
	if _, ok := f.firstAccepted(start, "", any5); ok {
		t.Error("firstAccepted except the plain URL's found one")
	}
	if _, ok := f.firstAccepted(start, "lessonbot-1.1", func(chat string) bool { return chat == "6" }); ok {
		t.Error("firstAccepted found a send to another chat")
	}
	if _, ok := f.firstAccepted(cut, "lessonbot-2.1", any5); ok {
		t.Error("firstAccepted after the accepted one found one")
	}
	// At an instant inside the second call, it is the one in flight.
	mid := sends[1].received.Add(10 * time.Millisecond)
	if n := inFlightAt(sends, mid, "lessonbot-1.1"); n != 1 {
		t.Errorf("inFlightAt = %d, want 1", n)
	}
	if n := inFlightAt(sends, mid, ""); n != 0 {
		t.Errorf("inFlightAt of the other process = %d, want 0", n)
	}
	if n := inFlightAt(sends, time.Now(), "lessonbot-1.1"); n != 0 {
		t.Errorf("inFlightAt after its caller went away = %d, want 0", n)
	}
	if n := inFlightAt(sends, start, "lessonbot-1.1"); n != 1 {
		t.Errorf("inFlightAt before it came = %d, want 1: a call that comes after a kill was on its way", n)
	}
}

func TestSenderSwitches(t *testing.T) {
	t0 := time.Unix(1000, 0)
	at := func(ms int, by string, status int) sendCall {
		return sendCall{by: by, received: t0.Add(time.Duration(ms) * time.Millisecond), answered: t0.Add(time.Duration(ms) * time.Millisecond), status: status}
	}
	sends := []sendCall{at(0, "a", 200), at(1, "a", 200), at(2, "b", 429), at(3, "a", 200), at(10, "b", 200), at(11, "b", 200), at(20, "c", 200)}
	if n := senderSwitches(sends, t0); n != 2 {
		t.Errorf("senderSwitches = %d, want 2", n)
	}
	sends = append(sends, at(12, "a", 200)) // a late send of a killed process
	if n := senderSwitches(sends, t0); n != 3 {
		t.Errorf("senderSwitches with an interleaved send = %d, want 3", n)
	}
}

func TestActiveRate(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 8, 0, 0, 0, time.UTC)
	var sends []sendCall
	// 100 accepted sends a second for 3 s, a gap of 10 s, then 2 s more;
	// one refused send in the first second.
	for i := range 300 {
		at := t0.Add(time.Duration(i) * 10 * time.Millisecond)
		sends = append(sends, sendCall{received: at, answered: at, status: 200})
	}
	sends = append(sends, sendCall{received: t0, answered: t0.Add(time.Millisecond), status: 429})
	t1 := t0.Add(13 * time.Second)
	for i := range 200 {
		at := t1.Add(time.Duration(i) * 10 * time.Millisecond)
		sends = append(sends, sendCall{received: at, answered: at, status: 200})
	}
	msgs, active := activeRate(sends, []period{{t0, t0.Add(3 * time.Second)}, {t1, t1.Add(1990 * time.Millisecond)}})
	if msgs != 500 || active != 4990*time.Millisecond {
		t.Errorf("activeRate = %d in %v, want 500 in 4.99s", msgs, active)
	}
}

func TestLostFigures(t *testing.T) {
	sent := []telegramtest.SentMessage{
		{ChatID: fmt.Sprint(firstChat), MessageID: 1}, {ChatID: fmt.Sprint(firstChat), MessageID: 2},
		{ChatID: fmt.Sprint(firstChat + 1), MessageID: 3, At: time.Unix(100, 0)}, // arrived, though unknown to lessonbot
		{ChatID: fmt.Sprint(firstChat + 2), MessageID: 4},
	}
	recs := []recorded{
		{chat: fmt.Sprint(firstChat), state: "sent", messages: []int{1, 2}},
		{chat: fmt.Sprint(firstChat + 1), state: "unknown", uncertain: 1},
		{chat: fmt.Sprint(firstChat + 2), state: "sent", messages: []int{4, 9}}, // 9 never arrived
		{chat: fmt.Sprint(firstChat + 3), state: "sent", messages: nil},         // both missing
		{chat: fmt.Sprint(firstChat + 4), state: "failed"},
	}
	lost, missing, arrived, detail := lostFigures(recs, sent, 6, 2)
	if lost != 1+2+1 || missing != 1 || len(arrived) != 1 || !arrived[0].Equal(sent[2].At) {
		t.Errorf("lostFigures = lost %d, missing %d, arrived %v (%q); want 4, 1, one", lost, missing, arrived, detail)
	}
}

func TestSlotChat(t *testing.T) {
	c := cluster{chats: 10}
	for chat, want := range map[string]bool{fmt.Sprint(firstChat): true, fmt.Sprint(firstChat + 9): true,
		fmt.Sprint(firstChat + 10): false, fmt.Sprint(firstChat - 1): false, "": false, "x": false} {
		if got := c.slotChat(chat); got != want {
			t.Errorf("slotChat(%q) = %v, want %v", chat, got, want)
		}
	}
	sends := c.lessonSends([]sendCall{{chat: fmt.Sprint(firstChat + 3)}, {chat: fmt.Sprint(firstChat + 10)}})
	if len(sends) != 1 || sends[0].chat != fmt.Sprint(firstChat+3) {
		t.Errorf("lessonSends = %+v", sends)
	}
}

func TestHelpReplies(t *testing.T) {
	sent := []telegramtest.SentMessage{{ChatID: fmt.Sprint(firstChat + 9)}, {ChatID: fmt.Sprint(firstChat + 10)},
		{ChatID: fmt.Sprint(firstChat + 11)}, {ChatID: fmt.Sprint(firstChat + 11)}, {ChatID: fmt.Sprint(firstChat + 13)}}
	if replied, twice := helpReplies(sent, 10, 3); replied != 2 || twice != 1 {
		t.Errorf("helpReplies = %d, %d; want 2 chats, 1 reply twice", replied, twice)
	}
}

func TestHolderPid(t *testing.T) {
	pid, err := lease{holder: "box-1:4242:0a1b2c3d"}.pid()
	if err != nil || pid != 4242 {
		t.Errorf("pid = %d, %v", pid, err)
	}
	if _, err := (lease{holder: "nonsense"}).pid(); err == nil {
		t.Error("a holder without a pid parsed")
	}
	for rate, want := range map[float64]int{300: 16, 25: 2, 1000: 50, 200: 10} {
		if w := recordAheadWindow(rate); w != want {
			t.Errorf("recordAheadWindow(%g) = %d, want %d", rate, w, want)
		}
	}
}

func TestArrivedByKill(t *testing.T) {
	t0 := time.Unix(1000, 0)
	kills := []kill{
		{at: t0, exited: t0.Add(5 * time.Millisecond)},
		{at: t0.Add(20 * time.Second), exited: t0.Add(20*time.Second + 5*time.Millisecond)},
	}
	arrived := []time.Time{t0.Add(-30 * time.Millisecond), t0.Add(2 * time.Millisecond), t0.Add(19 * time.Second), t0.Add(time.Hour)}
	n, before := arrivedByKill(kills, arrived)
	if fmt.Sprint(n, before) != "[2 1] [1 1]" {
		t.Errorf("arrivedByKill = %v %v, want [2 1] [1 1]", n, before)
	}
}

func TestNeverReached(t *testing.T) {
	sent := []telegramtest.SentMessage{
		{ChatID: "1", Text: "question", MessageID: 4}, {ChatID: "1", Text: "post", MessageID: 2},
		{ChatID: "2", Text: "post", MessageID: 3},
	}
	texts := lessonTexts(sent, 2)
	if len(texts) != 2 || texts[0] != textHash("post") || texts[1] != textHash("question") {
		t.Fatalf("lessonTexts = %v", texts)
	}
	k := kill{tag: "lessonbot-1.1", underWay: []underWayRow{{"7", 0}, {"8", 1}, {"9", 0}, {"10", 1}}}
	sends := []sendCall{
		{by: "lessonbot-1.1", chat: "7", text: textHash("post")},     // reached
		{by: "lessonbot-1.1", chat: "8", text: textHash("question")}, // reached, no answer
		{by: "lessonbot-2.1", chat: "9", text: textHash("post")},     // another process's
		{by: "lessonbot-1.1", chat: "10", text: textHash("post")},    // the earlier message
	}
	if n := neverReached(k, sends, texts); n != 2 {
		t.Errorf("neverReached = %d, want 2", n)
	}
	if n := neverReached(k, sends, nil); n != -1 {
		t.Errorf("neverReached without texts = %d, want -1", n)
	}
}

func TestLimitedAt(t *testing.T) {
	t0 := time.Unix(1000, 0)
	ms := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }
	r := &clusterReport{
		periods: []period{{ms(0), ms(5000)}, {ms(20000), ms(30000)}},
		sends: []sendCall{{by: "a", received: ms(700), status: 429}, {by: "a", received: ms(701), status: 429},
			{by: "a", received: ms(702), status: 200}, {by: "b", received: ms(21000), status: 429}},
		machine: machineUse{stalls: []stall{{at: ms(580), late: 120 * time.Millisecond}, {at: ms(100), late: 60 * time.Millisecond}}},
	}
	got := strings.Join(r.limitedAt(), "; ")
	want := "2 from a 700ms after its period began, as the loadtest (the fake) resumed from a stall of 120ms; 1 from b 1s after its period began"
	if got != want {
		t.Errorf("limitedAt = %q, want %q", got, want)
	}
}

func TestBusyShare(t *testing.T) {
	a, err := readCPU()
	if err != nil {
		t.Skip(err)
	}
	end := time.Now().Add(50 * time.Millisecond)
	for time.Now().Before(end) {
	}
	b, _ := readCPU()
	if busy, steal := busyShare(a, b); busy <= 0 || busy > 1 || steal < 0 || steal > 1 {
		t.Errorf("busyShare while spinning = %v, %v; want busy in (0, 1]", busy, steal)
	}
}

func TestLeaseRows(t *testing.T) {
	t0 := time.Unix(1000, 0)
	s := func(n float64) time.Time { return t0.Add(time.Duration(n * float64(time.Second))) }
	rows := []leaseState{
		{holder: "a", acquired: s(0), expires: s(15)},
		{holder: "a", acquired: s(0), expires: s(20)},
		{holder: "a", acquired: s(0), expires: s(32)}, // renewed 12 s after the last
		{holder: "b", acquired: s(32.5), expires: s(47.5)},
		{holder: "b", acquired: s(32.5), expires: s(52.5)},
	}
	expires, taken, next := leaseAtKill(rows, "a", s(19))
	if !expires.Equal(s(32)) || !taken.Equal(s(32.5)) || next != "b" {
		t.Errorf("leaseAtKill = %v, %v, %q", expires.Sub(t0), taken.Sub(t0), next)
	}
	if gap, who := renewalGaps(rows); gap != 12*time.Second || who != "a" {
		t.Errorf("renewalGaps = %v, %q; want 12s, a", gap, who)
	}
}
