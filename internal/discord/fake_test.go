package discord

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// The fake Discord's fixed ids and the bot's token in tests.
const (
	testAppID   = "700000000000000001"
	testBotUser = "700000000000000002"
	// testToken is shaped like a bot token, so that a test that finds it
	// in a log line or an error finds a real leak.
	testToken = "MTA0NTY3ODkwMTIzNDU2Nzg5.GhIjKl.fake-bot-token-for-tests_0123456789"
	// apiPrefix is the path the fake serves the API under, as a proxy set
	// in discord.api_url would.
	apiPrefix = "/proxy"
)

// hangUp, as a fail status, makes the fake close the connection without
// an answer.
const hangUp = -1

// fakeRequest is one REST request the fake received.
type fakeRequest struct {
	Method string
	// Path is the path after apiPrefix and the API version, such as
	// "/channels/42/messages".
	Path  string
	Query string
	Auth  string
	Body  []byte
	// At is when the request arrived.
	At time.Time
}

// fakeDiscord is an in-process Discord: the REST API (under apiPrefix),
// and a gateway websocket that says Hello, takes Identify, sends READY,
// acknowledges heartbeats and dispatches events. It records every request.
type fakeDiscord struct {
	t   testing.TB
	srv *httptest.Server // nil when the fake is called in memory

	mu         sync.Mutex
	reqs       []fakeRequest
	unexpected []string
	nextID     int
	// fail, when set, may answer a request in the fake's place: a status
	// other than 0, a body and headers.
	fail func(r fakeRequest) (status int, body string, header http.Header)
	// hold, when set, makes a request wait until it returns.
	hold func(r fakeRequest) <-chan struct{}

	// The gateway.
	upgrader   websocket.Upgrader
	conn       *websocket.Conn
	wmu        sync.Mutex // serializes writes to conn
	seq        int
	identifies []map[string]any
	heartbeats int
	acks       int
	connected  chan struct{}
	// heartbeatMS is the interval the Hello asks for.
	heartbeatMS int
}

func newFakeDiscord(t testing.TB) *fakeDiscord {
	f := newMemoryFake(t)
	f.srv = httptest.NewServer(f)
	t.Cleanup(f.srv.Close)
	return f
}

// newMemoryFake is a fake Discord with no server, for memoryTransport:
// REST only.
func newMemoryFake(t testing.TB) *fakeDiscord {
	f := &fakeDiscord{t: t, connected: make(chan struct{}), heartbeatMS: 1000}
	t.Cleanup(func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		for _, u := range f.unexpected {
			t.Errorf("the fake Discord got an unexpected request: %s", u)
		}
	})
	return f
}

// apiURL is what discord.api_url is set to for this fake.
func (f *fakeDiscord) apiURL() string { return f.srv.URL + apiPrefix }

func (f *fakeDiscord) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/gateway" || r.URL.Path == "/gateway/" {
		f.serveGateway(w, r)
		return
	}
	body, _ := io.ReadAll(r.Body)
	rest, ok := strings.CutPrefix(r.URL.Path, apiPrefix+"/api/v9")
	req := fakeRequest{Method: r.Method, Path: rest, Query: r.URL.RawQuery, Auth: r.Header.Get("Authorization"), Body: body, At: time.Now()}
	if !ok {
		f.mu.Lock()
		f.unexpected = append(f.unexpected, r.Method+" "+r.URL.Path)
		f.mu.Unlock()
		writeJSON(w, http.StatusNotFound, `{"message":"404: Not Found","code":0}`)
		return
	}
	f.mu.Lock()
	f.reqs = append(f.reqs, req)
	fail, hold := f.fail, f.hold
	f.mu.Unlock()
	if hold != nil {
		if ch := hold(req); ch != nil {
			select {
			case <-ch:
			case <-r.Context().Done():
				return
			}
		}
	}
	if fail != nil {
		if status, body, header := fail(req); status == hangUp {
			conn, _, err := http.NewResponseController(w).Hijack()
			if err == nil {
				conn.Close()
			}
			return
		} else if status != 0 {
			for k, vs := range header {
				for _, v := range vs {
					w.Header().Add(k, v)
				}
			}
			writeJSON(w, status, body)
			return
		}
	}
	parts := strings.Split(strings.Trim(rest, "/"), "/")
	switch {
	case r.Method == http.MethodGet && (rest == "/gateway" || rest == "/gateway/bot"):
		ws := "ws" + strings.TrimPrefix(f.srv.URL, "http") + "/gateway"
		writeJSON(w, http.StatusOK, fmt.Sprintf(`{"url":%q,"shards":1,"session_start_limit":{"total":1000,"remaining":999,"reset_after":0,"max_concurrency":1}}`, ws))
	case r.Method == http.MethodPut && parts[0] == "applications" && parts[len(parts)-1] == "commands":
		writeJSON(w, http.StatusOK, string(body))
	case r.Method == http.MethodPost && parts[0] == "interactions" && len(parts) == 4 && parts[3] == "callback":
		w.WriteHeader(http.StatusNoContent)
	case r.Method == http.MethodDelete && parts[0] == "webhooks":
		w.WriteHeader(http.StatusNoContent)
	case (r.Method == http.MethodPatch || r.Method == http.MethodPost) && parts[0] == "webhooks":
		writeJSON(w, http.StatusOK, f.message("", body))
	case r.Method == http.MethodPost && parts[0] == "channels" && len(parts) == 3 && parts[2] == "messages":
		writeJSON(w, http.StatusOK, f.message(parts[1], body))
	default:
		f.mu.Lock()
		f.unexpected = append(f.unexpected, r.Method+" "+r.URL.Path)
		f.mu.Unlock()
		writeJSON(w, http.StatusNotFound, `{"message":"404: Not Found","code":0}`)
	}
}

// message answers a message sent: the body with an id.
func (f *fakeDiscord) message(channel string, body []byte) string {
	f.mu.Lock()
	f.nextID++
	id := fmt.Sprint(800000000000000000 + f.nextID)
	f.mu.Unlock()
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil || m == nil {
		m = map[string]any{}
	}
	m["id"], m["channel_id"] = id, channel
	out, _ := json.Marshal(m)
	return string(out)
}

func writeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	io.WriteString(w, body)
}

// serveGateway speaks the gateway protocol to one connection.
func (f *fakeDiscord) serveGateway(w http.ResponseWriter, r *http.Request) {
	conn, err := f.upgrader.Upgrade(w, r, nil)
	if err != nil {
		f.t.Errorf("gateway upgrade: %v", err)
		return
	}
	defer conn.Close()
	f.wmu.Lock()
	f.conn = conn
	f.wmu.Unlock()
	f.write(map[string]any{"op": 10, "d": map[string]any{"heartbeat_interval": f.heartbeatMS}})
	var identify struct {
		Op int            `json:"op"`
		D  map[string]any `json:"d"`
	}
	if err := conn.ReadJSON(&identify); err != nil || identify.Op != 2 {
		f.t.Errorf("gateway: want Identify (op 2), got op %d, %v", identify.Op, err)
		return
	}
	f.mu.Lock()
	f.identifies = append(f.identifies, identify.D)
	f.mu.Unlock()
	f.dispatch("READY", map[string]any{
		"v": 10, "session_id": "fake-session",
		"user":        map[string]any{"id": testBotUser, "username": "lessonbot", "bot": true},
		"application": map[string]any{"id": testAppID, "flags": 0},
		"guilds":      []any{},
	})
	select {
	case <-f.connected:
	default:
		close(f.connected)
	}
	for {
		var msg struct {
			Op int `json:"op"`
		}
		if err := conn.ReadJSON(&msg); err != nil {
			return
		}
		if msg.Op == 1 {
			f.mu.Lock()
			f.heartbeats++
			f.mu.Unlock()
			f.write(map[string]any{"op": 11})
			f.mu.Lock()
			f.acks++
			f.mu.Unlock()
		}
	}
}

func (f *fakeDiscord) write(v any) {
	f.wmu.Lock()
	defer f.wmu.Unlock()
	if f.conn == nil {
		f.t.Errorf("gateway: no connection to write to")
		return
	}
	if err := f.conn.WriteJSON(v); err != nil {
		f.t.Errorf("gateway write: %v", err)
	}
}

// dispatch sends an event (op 0) over the gateway.
func (f *fakeDiscord) dispatch(event string, d any) {
	f.wmu.Lock()
	f.seq++
	seq := f.seq
	f.wmu.Unlock()
	f.write(map[string]any{"op": 0, "t": event, "s": seq, "d": d})
}

// requests returns the requests received so far that match method and
// whose path starts with prefix.
func (f *fakeDiscord) requests(method, prefix string) []fakeRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []fakeRequest
	for _, r := range f.reqs {
		if (method == "" || r.Method == method) && strings.HasPrefix(r.Path, prefix) {
			out = append(out, r)
		}
	}
	return out
}

func (f *fakeDiscord) setFail(fail func(r fakeRequest) (int, string, http.Header)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail = fail
}

// waitFor polls cond until it holds, failing the test after a while.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// sent is a message body the bot sent: a channel message, an edit of an
// interaction's answer, or a follow-up.
type sent struct {
	Content    string  `json:"content"`
	Embeds     []embed `json:"embeds"`
	Components []struct {
		Type       int `json:"type"`
		Components []struct {
			Type     int    `json:"type"`
			Label    string `json:"label"`
			Style    int    `json:"style"`
			CustomID string `json:"custom_id"`
		} `json:"components"`
	} `json:"components"`
	AllowedMentions *struct {
		Parse []string `json:"parse"`
	} `json:"allowed_mentions"`
	Flags int `json:"flags"`
}

type embed struct {
	Title       string `json:"title"`
	URL         string `json:"url"`
	Description string `json:"description"`
	Fields      []struct {
		Name  string `json:"name"`
		Value string `json:"value"`
	} `json:"fields"`
	Footer *struct {
		Text string `json:"text"`
	} `json:"footer"`
}

// button is a button of a sent message.
type button struct{ label, data string }

func (s sent) buttons() []button {
	var out []button
	for _, row := range s.Components {
		for _, c := range row.Components {
			out = append(out, button{c.Label, c.CustomID})
		}
	}
	return out
}

func decodeSent(t testing.TB, r fakeRequest) sent {
	t.Helper()
	var s sent
	if err := json.Unmarshal(r.Body, &s); err != nil {
		t.Fatalf("%s %s: %v\n%s", r.Method, r.Path, err, r.Body)
	}
	// Everything the bot sends parses no mention.
	if s.AllowedMentions == nil || s.AllowedMentions.Parse == nil || len(s.AllowedMentions.Parse) != 0 {
		t.Errorf("%s %s: allowed_mentions = %s, want an empty parse list", r.Method, r.Path, allowedMentions(r.Body))
	}
	return s
}

func allowedMentions(body []byte) string {
	var m map[string]json.RawMessage
	json.Unmarshal(body, &m)
	return string(m["allowed_mentions"])
}

// callback is the first answer to an interaction.
type callback struct {
	Type int `json:"type"`
	Data *struct {
		Flags           int `json:"flags"`
		AllowedMentions *struct {
			Parse []string `json:"parse"`
		} `json:"allowed_mentions"`
		Choices []struct {
			Name  string `json:"name"`
			Value string `json:"value"`
		} `json:"choices"`
	} `json:"data"`
}

// answer is everything the bot sent for one interaction.
type answer struct {
	callback  callback
	edits     []sent
	followups []sent
}

// answerTo collects what the bot sent for the interaction with this id
// and token.
func (f *fakeDiscord) answerTo(t testing.TB, id, token string) answer {
	t.Helper()
	var a answer
	for _, r := range f.requests(http.MethodPost, "/interactions/"+id+"/"+token+"/callback") {
		if err := json.Unmarshal(r.Body, &a.callback); err != nil {
			t.Fatalf("callback: %v", err)
		}
	}
	for _, r := range f.requests(http.MethodPatch, "/webhooks/"+testAppID+"/"+token+"/messages/@original") {
		a.edits = append(a.edits, decodeSent(t, r))
	}
	for _, r := range f.requests(http.MethodPost, "/webhooks/"+testAppID+"/"+token) {
		if r.Query != "wait=true" {
			t.Errorf("follow-up without wait=true: %q", r.Query)
		}
		a.followups = append(a.followups, decodeSent(t, r))
	}
	return a
}

// memoryTransport calls the fake's handler in memory, with no socket:
// what a test in a synctest bubble needs.
type memoryTransport struct{ h http.Handler }

func (m memoryTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if err := r.Context().Err(); err != nil {
		return nil, err
	}
	var body []byte
	if r.Body != nil {
		body, _ = io.ReadAll(r.Body)
		r.Body.Close()
	}
	in := r.Clone(r.Context())
	in.Body = io.NopCloser(bytes.NewReader(body))
	in.RequestURI = r.URL.RequestURI()
	rec := httptest.NewRecorder()
	m.h.ServeHTTP(rec, in)
	return rec.Result(), nil
}
