package discord

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf16"

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
	// ContentType is the body's media type, such as "application/json"
	// or "multipart/form-data".
	ContentType string
	// Body is the JSON payload: the whole body, or the payload_json part
	// of a multipart/form-data body.
	Body []byte
	// Files are the files[n] parts of a multipart/form-data body.
	Files []fakeFile
	// At is when the request arrived.
	At time.Time
}

// fakeFile is a file uploaded with a message, as Discord reads it from a
// multipart/form-data part named files[n].
type fakeFile struct {
	Index       int
	Name        string
	ContentType string
	Data        []byte
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
	// invalid are the messages the fake refused as Discord would (400,
	// code 50035): each fails the test.
	invalid []string
	nextID  int
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
	// gatewayHits counts the gateway discoveries (GET /gateway,
	// /gateway/bot) and the websocket connections attempted.
	gatewayHits int
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
		for _, u := range f.invalid {
			t.Errorf("the fake Discord refused a message: %s", u)
		}
	})
	return f
}

// apiURL is what discord.api_url is set to for this fake.
func (f *fakeDiscord) apiURL() string { return f.srv.URL + apiPrefix }

func (f *fakeDiscord) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/gateway" || r.URL.Path == "/gateway/" {
		f.mu.Lock()
		f.gatewayHits++
		f.mu.Unlock()
		f.serveGateway(w, r)
		return
	}
	raw, _ := io.ReadAll(r.Body)
	rest, ok := strings.CutPrefix(r.URL.Path, apiPrefix+"/api/v9")
	mediaType, body, files, formErr := readBody(r.Header.Get("Content-Type"), raw)
	req := fakeRequest{
		Method: r.Method, Path: rest, Query: r.URL.RawQuery, Auth: r.Header.Get("Authorization"),
		ContentType: mediaType, Body: body, Files: files, At: time.Now(),
	}
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
	if kind := messageKind(r.Method, parts); kind != "" {
		problems := f.checkMessage(kind, req)
		if formErr != nil {
			problems = append([]string{formErr.Error()}, problems...)
		}
		if len(problems) > 0 {
			f.mu.Lock()
			f.invalid = append(f.invalid, r.Method+" "+rest+": "+strings.Join(problems, "; "))
			f.mu.Unlock()
			msg, _ := json.Marshal(strings.Join(problems, "; "))
			writeJSON(w, http.StatusBadRequest, `{"message":"Invalid Form Body","code":50035,"errors":`+string(msg)+`}`)
			return
		}
	}
	switch {
	case r.Method == http.MethodGet && (rest == "/gateway" || rest == "/gateway/bot"):
		f.mu.Lock()
		f.gatewayHits++
		f.mu.Unlock()
		ws := "ws" + strings.TrimPrefix(f.srv.URL, "http") + "/gateway"
		writeJSON(w, http.StatusOK, fmt.Sprintf(`{"url":%q,"shards":1,"session_start_limit":{"total":1000,"remaining":999,"reset_after":0,"max_concurrency":1}}`, ws))
	case r.Method == http.MethodGet && rest == "/oauth2/applications/@me":
		writeJSON(w, http.StatusOK, fmt.Sprintf(`{"id":%q,"name":"lessonbot","description":"","bot_public":true,"flags":0,"bot":{"id":%q,"username":"lessonbot","bot":true}}`, testAppID, testBotUser))
	case r.Method == http.MethodPut && parts[0] == "applications" && parts[len(parts)-1] == "commands":
		writeJSON(w, http.StatusOK, string(body))
	case r.Method == http.MethodPost && parts[0] == "interactions" && len(parts) == 4 && parts[3] == "callback":
		w.WriteHeader(http.StatusNoContent)
	case r.Method == http.MethodDelete && parts[0] == "webhooks":
		w.WriteHeader(http.StatusNoContent)
	case (r.Method == http.MethodPatch || r.Method == http.MethodPost) && parts[0] == "webhooks":
		writeJSON(w, http.StatusOK, f.message("", req))
	case r.Method == http.MethodPost && parts[0] == "channels" && len(parts) == 3 && parts[2] == "messages":
		writeJSON(w, http.StatusOK, f.message(parts[1], req))
	default:
		f.mu.Lock()
		f.unexpected = append(f.unexpected, r.Method+" "+r.URL.Path)
		f.mu.Unlock()
		writeJSON(w, http.StatusNotFound, `{"message":"404: Not Found","code":0}`)
	}
}

// message answers a message sent: the payload with an id, and the files
// as attachments.
func (f *fakeDiscord) message(channel string, req fakeRequest) string {
	f.mu.Lock()
	f.nextID++
	id := fmt.Sprint(800000000000000000 + f.nextID)
	f.mu.Unlock()
	var m map[string]any
	if err := json.Unmarshal(req.Body, &m); err != nil || m == nil {
		m = map[string]any{}
	}
	m["id"], m["channel_id"] = id, channel
	var attachments []any
	for i, file := range req.Files {
		attachments = append(attachments, map[string]any{
			"id": fmt.Sprint(900000000000000000 + 10*f.nextID + i), "filename": file.Name,
			"content_type": file.ContentType, "size": len(file.Data),
			"url": "https://cdn.discordapp.test/attachments/" + channel + "/" + file.Name,
		})
	}
	if attachments != nil {
		m["attachments"] = attachments
	}
	out, _ := json.Marshal(m)
	return string(out)
}

// readBody reads a request's body as Discord does: JSON as it is, or a
// multipart/form-data body whose payload_json part is the JSON and whose
// files[n] parts are files; any other part is an error.
func readBody(contentType string, raw []byte) (mediaType string, payload []byte, files []fakeFile, err error) {
	if contentType == "" {
		return "", raw, nil, nil
	}
	mediaType, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return "", raw, nil, fmt.Errorf("content type %q: %w", contentType, err)
	}
	if mediaType != "multipart/form-data" {
		return mediaType, raw, nil, nil
	}
	mr := multipart.NewReader(bytes.NewReader(raw), params["boundary"])
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return mediaType, nil, nil, fmt.Errorf("multipart body: %w", err)
		}
		data, err := io.ReadAll(part)
		if err != nil {
			return mediaType, nil, nil, fmt.Errorf("multipart part %q: %w", part.FormName(), err)
		}
		name := part.FormName()
		index, isFile := strings.CutPrefix(name, "files[")
		index, closed := strings.CutSuffix(index, "]")
		n, nErr := strconv.Atoi(index)
		switch {
		case name == "payload_json":
			payload = data
		case isFile && closed && nErr == nil && n >= 0:
			files = append(files, fakeFile{Index: n, Name: part.FileName(), ContentType: part.Header.Get("Content-Type"), Data: data})
		default:
			return mediaType, nil, nil, fmt.Errorf("unknown form field %q", name)
		}
	}
	if payload == nil {
		return mediaType, nil, nil, errors.New("multipart body without payload_json")
	}
	return mediaType, payload, files, nil
}

// The kinds of request that carry a message, which the fake checks.
const (
	msgCreate   = "create"    // POST /channels/{id}/messages
	msgFollowup = "follow-up" // POST /webhooks/{app}/{token}
	msgEdit     = "edit"      // PATCH /webhooks/{app}/{token}/messages/@original
)

func messageKind(method string, parts []string) string {
	switch {
	case method == http.MethodPost && parts[0] == "channels" && len(parts) == 3 && parts[2] == "messages":
		return msgCreate
	case method == http.MethodPost && parts[0] == "webhooks" && len(parts) == 3:
		return msgFollowup
	case method == http.MethodPatch && parts[0] == "webhooks" && len(parts) == 5 && parts[3] == "messages":
		return msgEdit
	}
	return ""
}

// Discord's limits as the fake checks them, written here rather than
// taken from the adapter, which they check.
const (
	fakeMaxContent     = 2000
	fakeMaxEmbeds      = 10
	fakeMaxRows        = 5
	fakeMaxRowButtons  = 5
	fakeMaxLabel       = 80
	fakeMaxCustomID    = 100
	fakeMaxURL         = 512
	fakeMaxFiles       = 10
	fakeMaxFileSize    = 10 << 20
	fakeMaxEmbedTotal  = 6000
	fakeMaxDescription = 4096
)

// checkMessage returns what Discord would refuse in a message: its
// content type and body, its text, embeds, buttons and files against the
// limits, and flags that kind of request cannot carry.
func (f *fakeDiscord) checkMessage(kind string, r fakeRequest) []string {
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	switch {
	case r.ContentType == "multipart/form-data":
	case r.ContentType == "application/json" && len(r.Files) == 0:
	default:
		bad("content type %q", r.ContentType)
	}
	var m sent
	if err := json.Unmarshal(r.Body, &m); err != nil {
		bad("payload: %v", err)
		return problems
	}
	units := func(s string) int { return len(utf16.Encode([]rune(s))) }
	if n := units(m.Content); n > fakeMaxContent {
		bad("content of %d characters (at most %d)", n, fakeMaxContent)
	}
	if kind != msgEdit && m.Content == "" && len(m.Embeds) == 0 && len(r.Files) == 0 {
		bad("empty message (code 50006)")
	}
	if len(m.Embeds) > fakeMaxEmbeds {
		bad("%d embeds", len(m.Embeds))
	}
	for i, e := range m.Embeds {
		total := units(e.Title) + units(e.Description)
		if units(e.Description) > fakeMaxDescription {
			bad("embed %d description of %d characters", i, units(e.Description))
		}
		for _, fl := range e.Fields {
			total += units(fl.Name) + units(fl.Value)
		}
		if e.Footer != nil {
			total += units(e.Footer.Text)
		}
		if total > fakeMaxEmbedTotal {
			bad("embed %d of %d characters in all", i, total)
		}
	}
	if len(m.Components) > fakeMaxRows {
		bad("%d action rows (at most %d)", len(m.Components), fakeMaxRows)
	}
	ids := map[string]bool{}
	for i, row := range m.Components {
		if row.Type != 1 {
			bad("row %d of type %d", i, row.Type)
		}
		if n := len(row.Components); n == 0 || n > fakeMaxRowButtons {
			bad("row %d of %d buttons (1 to %d)", i, n, fakeMaxRowButtons)
		}
		for _, c := range row.Components {
			if c.Type != 2 {
				bad("component of type %d in row %d", c.Type, i)
			}
			if n := units(c.Label); n > fakeMaxLabel {
				bad("label of %d characters", n)
			}
			if c.Style == 5 {
				if c.URL == "" || units(c.URL) > fakeMaxURL || c.CustomID != "" {
					bad("link button with url %q and custom_id %q", c.URL, c.CustomID)
				}
				continue
			}
			if c.URL != "" || c.CustomID == "" || len(c.CustomID) > fakeMaxCustomID {
				bad("button of style %d with url %q and custom_id %q", c.Style, c.URL, c.CustomID)
			}
			if ids[c.CustomID] {
				bad("custom_id %q twice", c.CustomID)
			}
			ids[c.CustomID] = true
		}
	}
	if len(r.Files) > fakeMaxFiles {
		bad("%d files (at most %d)", len(r.Files), fakeMaxFiles)
	}
	seen := map[int]bool{}
	for _, file := range r.Files {
		if file.Name == "" || len(file.Data) > fakeMaxFileSize || seen[file.Index] || file.Index >= fakeMaxFiles {
			bad("file %d %q of %d bytes", file.Index, file.Name, len(file.Data))
		}
		seen[file.Index] = true
	}
	if kind == msgCreate && m.Flags&64 != 0 {
		bad("an ephemeral channel message")
	}
	return problems
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

// gatewayCount is how many times the gateway was looked for or
// connected to.
func (f *fakeDiscord) gatewayCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.gatewayHits
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
			URL      string `json:"url"`
		} `json:"components"`
	} `json:"components"`
	AllowedMentions *struct {
		Parse []string `json:"parse"`
	} `json:"allowed_mentions"`
	Flags int `json:"flags"`

	// contentType and files are the request's, not the payload's.
	contentType string
	files       []fakeFile
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

// button is a button of a sent message: data is its custom_id, url the
// link of a link button.
type button struct {
	label, data, url string
	style            int
}

func (s sent) buttons() []button {
	var out []button
	for _, row := range s.Components {
		for _, c := range row.Components {
			out = append(out, button{label: c.Label, data: c.CustomID, url: c.URL, style: c.Style})
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
	s.contentType, s.files = r.ContentType, r.Files
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
