package discord

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lessonbot/lessonbot/internal/chat"
)

// instanceTutor is one instance's view of the tutor that every instance
// shares (through the database, in production): it counts what this
// instance handled, and takes a while, as a database does.
type instanceTutor struct {
	shared  *fakeTutor
	handled atomic.Int64
	delay   time.Duration
}

func (t *instanceTutor) Handle(ctx context.Context, cmd chat.Command) []chat.Message {
	t.handled.Add(1)
	time.Sleep(t.delay)
	return t.shared.Handle(ctx, cmd)
}

func (t *instanceTutor) Press(ctx context.Context, p chat.Press) chat.PressReply {
	t.handled.Add(1)
	time.Sleep(t.delay)
	return t.shared.Press(ctx, p)
}

func (t *instanceTutor) ChatGone(ctx context.Context, addr chat.Address) {
	t.shared.ChatGone(ctx, addr)
}

// driven is one interaction the driver posts, and what it expects back.
type driven struct {
	id, token string
	kind      string // "ping", "autocomplete", "command" or "press"
	user      string
	body      []byte
	// wantType and wantEphemeral are the first answer's; wantEdit is
	// the content the answer is edited to; wantFollowups the follow-ups.
	wantType      int
	wantEphemeral bool
	wantEdit      string
	wantFollowups int
}

// TestInstancesBehindLoadBalancer runs three bots without the gateway,
// sharing one fake Discord and one tutor, behind a round-robin reverse
// proxy, and posts 300 signed interactions through it, 32 at a time:
// slash commands and button presses from as many users, in channels of
// several servers and DMs, autocompletes and PINGs. Each is answered in
// its HTTP response (deferred or at once, as with the gateway), handed to
// the tutor exactly once by one instance, and finished over REST; a bad
// or missing signature is refused with 401 and handled nowhere. It logs
// the time to the HTTP answer (the ACK Discord waits 3 s for).
func TestInstancesBehindLoadBalancer(t *testing.T) {
	const (
		instances   = 3
		total       = 300
		concurrency = 32
	)
	fake := newFakeDiscord(t)
	shared := &fakeTutor{reply: func(cmd chat.Command) []chat.Message {
		return []chat.Message{textMessage("ok /" + cmd.Name + " " + cmd.Args), textMessage("more for " + cmd.From.ID)}
	}}
	var tutors []*instanceTutor
	var backends []*url.URL
	for range instances {
		tu := &instanceTutor{shared: shared, delay: 10 * time.Millisecond}
		r := startBotOn(t, fake, tu, tutorCommands(), noGateway)
		u, err := url.Parse("http://" + r.bot.endpoint())
		if err != nil {
			t.Fatal(err)
		}
		tutors = append(tutors, tu)
		backends = append(backends, u)
	}
	if n := len(fake.requests(http.MethodPut, "/applications/"+testAppID+"/commands")); n != instances {
		t.Errorf("%d command registrations, want one per instance (%d)", n, instances)
	}

	var next atomic.Uint64
	routed := make([]atomic.Int64, instances)
	toBackends := &http.Transport{MaxIdleConnsPerHost: concurrency}
	// Connections the proxy opened and never used would hold each
	// instance's graceful shutdown for 5 s (net/http counts a new
	// connection as busy for that long).
	t.Cleanup(toBackends.CloseIdleConnections)
	proxy := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			n := (next.Add(1) - 1) % instances
			routed[n].Add(1)
			pr.SetURL(backends[n])
			pr.SetXForwarded()
		},
		Transport: toBackends,
	}
	lb := httptest.NewServer(proxy)
	t.Cleanup(lb.Close)
	endpoint := lb.URL + "/interactions"

	// The interactions: every tenth a PING, every tenth (offset 5) an
	// autocomplete, the rest commands and presses in turn; each command
	// or press from a user of its own, so that the tutor's record tells
	// how many times each was handled.
	guilds := []string{"300000000000000101", "300000000000000102", "300000000000000103", "300000000000000104", "300000000000000105"}
	// ephemeral tells whether a command's answer is ephemeral in a
	// server's channel and in a DM.
	type commandCase struct {
		name               string
		perms              int64
		ephemeral, inDMToo bool
		options            []map[string]any
	}
	commandCases := []commandCase{
		{"lesson", 1 << 11, false, false, nil},
		{"subscribe", 1<<5 | 1<<11, false, false, []map[string]any{option("time", 3, "07:30"), option("timezone", 3, "Europe/Paris")}},
		// Refused in a server: ephemeral there.
		{"subscribe", 1 << 11, true, false, []map[string]any{option("time", 3, "07:30")}},
		// An admin command: ephemeral everywhere.
		{"stats", 1 << 11, true, true, nil},
	}
	var all []driven
	for i := range total {
		id := fmt.Sprint(510000000000000000 + i)
		token := "aW50ZXJhY3Rpb246" + id + ":secret-interaction-token"
		who := person{id: fmt.Sprint(110000000000000000 + i), name: fmt.Sprintf("User %d", i), perms: 1 << 11}
		at := where{guild: guilds[i%len(guilds)], channel: fmt.Sprint(410000000000000000 + i%40)}
		if i%7 == 3 {
			at = where{channel: fmt.Sprint(420000000000000000 + i)} // a DM
		}
		d := driven{id: id, token: token, user: who.id}
		var p map[string]any
		switch {
		case i%10 == 0:
			d.kind, d.wantType = "ping", 1
			p = map[string]any{"id": id, "application_id": testAppID, "type": 1, "token": token, "version": 1}
		case i%10 == 5:
			d.kind, d.wantType = "autocomplete", 8
			focused := option("timezone", 3, "paris")
			focused["focused"] = true
			p = interactionPayload(4, at, who, commandData("subscribe", focused), id, token)
		case i%2 == 1:
			d.kind, d.wantType, d.wantEphemeral = "press", 5, true
			data := fmt.Sprintf("a:q%d:00000000:1", i)
			d.wantEdit = Escape("pressed " + data)
			p = interactionPayload(3, at, who, map[string]any{"custom_id": data, "component_type": 2}, id, token)
		default:
			c := commandCases[(i/2)%len(commandCases)]
			who.perms = c.perms
			d.kind, d.wantType, d.wantFollowups = "command", 5, 1
			d.wantEphemeral = c.ephemeral && (at.guild != "" || c.inDMToo)
			p = interactionPayload(2, at, who, commandData(c.name, c.options...), id, token)
			args := ""
			if len(c.options) == 2 {
				args = "07:30 Europe/Paris"
			} else if len(c.options) == 1 {
				args = "07:30"
			}
			d.wantEdit = Escape("ok /" + c.name + " " + args)
		}
		body, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		d.body = body
		all = append(all, d)
	}

	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: concurrency}}
	took := make([]time.Duration, len(all))
	answers := make([][]byte, len(all))
	statuses := make([]int, len(all))
	jobs := make(chan int)
	var wg sync.WaitGroup
	start := time.Now()
	for range concurrency {
		wg.Go(func() {
			for n := range jobs {
				req := signed(t, endpoint, all[n].body, time.Now(), testKey())
				t0 := time.Now()
				statuses[n], answers[n] = post(t, client, req)
				took[n] = time.Since(t0)
			}
		})
	}
	for n := range all {
		jobs <- n
	}
	close(jobs)
	wg.Wait()
	elapsed := time.Since(start)

	// A bad signature and a missing one: 401, handled nowhere.
	_, otherKey, _ := ed25519.GenerateKey(nil)
	intruder := person{id: "119999999999999999", name: "Mallory", perms: 1 << 3}
	forged := func(token string) []byte {
		body, _ := json.Marshal(interactionPayload(2, where{guild: guilds[0], channel: "410000000000000001"}, intruder, commandData("stats"), "519999999999999999", token))
		return body
	}
	badToken, bareToken := "forged:secret-interaction-token", "unsigned:secret-interaction-token"
	if status, body := post(t, client, signed(t, endpoint, forged(badToken), time.Now(), otherKey)); status != http.StatusUnauthorized {
		t.Errorf("a bad signature answered %d %s, want 401", status, body)
	}
	bare := signed(t, endpoint, forged(bareToken), time.Now(), testKey())
	bare.Header.Del("X-Signature-Ed25519")
	bare.Header.Del("X-Signature-Timestamp")
	if status, body := post(t, client, bare); status != http.StatusUnauthorized {
		t.Errorf("a missing signature answered %d %s, want 401", status, body)
	}

	// Every interaction acknowledged in its HTTP response, as it should be.
	for n, d := range all {
		var cb callback
		if err := json.Unmarshal(answers[n], &cb); err != nil || statuses[n] != 200 {
			t.Errorf("%s %s: answered %d %q", d.kind, d.id, statuses[n], answers[n])
			continue
		}
		if cb.Type != d.wantType {
			t.Errorf("%s %s: answer of type %d, want %d", d.kind, d.id, cb.Type, d.wantType)
		}
		if d.wantType == 5 {
			if eph := cb.Data != nil && cb.Data.Flags&64 != 0; eph != d.wantEphemeral {
				t.Errorf("%s %s: ephemeral %v, want %v", d.kind, d.id, eph, d.wantEphemeral)
			}
		}
		if d.kind == "autocomplete" && (cb.Data == nil || len(cb.Data.Choices) == 0 || cb.Data.Choices[0].Value != "Europe/Paris") {
			t.Errorf("autocomplete %s: choices %+v", d.id, cb.Data)
		}
	}

	// The rest of each, over REST: the edit, and the follow-up of each
	// command.
	var wantEdits, wantFollowups int
	for _, d := range all {
		if d.wantEdit != "" {
			wantEdits++
		}
		wantFollowups += d.wantFollowups
	}
	waitFor(t, "every answer edited and followed up", func() bool {
		return len(fake.requests(http.MethodPatch, "/webhooks/")) >= wantEdits && len(fake.requests(http.MethodPost, "/webhooks/")) >= wantFollowups
	})
	for _, d := range all {
		if d.wantEdit == "" {
			continue
		}
		a := fake.answerTo(t, d.id, d.token)
		if len(a.edits) != 1 || a.edits[0].Content != d.wantEdit {
			t.Errorf("%s %s: edits %+v, want one to %q", d.kind, d.id, a.edits, d.wantEdit)
		}
		if len(a.followups) != d.wantFollowups {
			t.Errorf("%s %s: %d follow-ups, want %d", d.kind, d.id, len(a.followups), d.wantFollowups)
		}
		for _, f := range a.followups {
			if f.Content != Escape("more for "+d.user) || (f.Flags&64 != 0) != d.wantEphemeral {
				t.Errorf("%s %s: follow-up %q (flags %d)", d.kind, d.id, f.Content, f.Flags)
			}
		}
	}
	if n := len(fake.requests(http.MethodPost, "/interactions/")); n != 0 {
		t.Errorf("%d first answers over REST; every one belongs in the HTTP response", n)
	}

	// Each command and press handed to the tutor exactly once, by one
	// instance; the forged ones never.
	time.Sleep(50 * time.Millisecond)
	shared.mu.Lock()
	seen := map[string]int{}
	for _, c := range shared.commands {
		seen[c.From.ID]++
	}
	for _, p := range shared.presses {
		seen[p.From.ID]++
	}
	commands, presses := len(shared.commands), len(shared.presses)
	shared.mu.Unlock()
	var wantHandled int
	for _, d := range all {
		want := 0
		if d.kind == "command" || d.kind == "press" {
			want = 1
			wantHandled++
		}
		if seen[d.user] != want {
			t.Errorf("%s %s handled %d times, want %d", d.kind, d.id, seen[d.user], want)
		}
	}
	if seen[intruder.id] != 0 {
		t.Errorf("a refused interaction reached the tutor %d times", seen[intruder.id])
	}
	for _, token := range []string{badToken, bareToken} {
		if n := len(fake.requests("", "/webhooks/"+testAppID+"/"+token)); n != 0 {
			t.Errorf("%d REST requests for a refused interaction", n)
		}
	}
	var perInstance []int64
	var sum int64
	for i, tu := range tutors {
		n := tu.handled.Load()
		perInstance = append(perInstance, n)
		sum += n
		if n == 0 {
			t.Errorf("instance %d handled nothing", i)
		}
	}
	if sum != int64(wantHandled) || commands+presses != wantHandled {
		t.Errorf("the instances handled %d, the tutor got %d, want %d", sum, commands+presses, wantHandled)
	}
	if n := fake.gatewayCount(); n != 0 {
		t.Errorf("the gateway was looked for or connected to %d times, want 0", n)
	}

	sorted := slices.Clone(took)
	slices.Sort(sorted)
	pct := func(p float64) time.Duration { return sorted[min(len(sorted)-1, int(p*float64(len(sorted))))] }
	p50, p99 := pct(0.50), pct(0.99)
	var routedTo []int64
	for i := range routed {
		routedTo = append(routedTo, routed[i].Load())
	}
	t.Logf("%d interactions through the proxy to %d instances, %d at a time, in %v: time to the HTTP answer p50 %v, p99 %v, max %v; routed %v, handled by the tutor %v (%d commands, %d presses)",
		len(all), instances, concurrency, elapsed.Round(time.Millisecond), p50.Round(time.Microsecond), p99.Round(time.Microsecond), sorted[len(sorted)-1].Round(time.Microsecond), routedTo, perInstance, commands, presses)
	// Under the race detector, on a small machine, everything is 5 to
	// 10 times slower and the queue of 32 requests shows it: only
	// Discord's own 3 s is checked then.
	bound := time.Second
	if raceDetector {
		bound = 3 * time.Second
	}
	if p99 >= bound {
		t.Errorf("p99 time to the HTTP answer %v, want under %v (Discord allows 3 s)", p99, bound)
	}
}
