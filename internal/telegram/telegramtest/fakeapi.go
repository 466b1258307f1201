// Package telegramtest is an in-process Telegram Bot API server that
// speaks the real wire format, for the tests of the Telegram adapter and
// of the program, and for the load command: it hands out updates by
// getUpdates, records what the bot sends, enforces a rate with 429 and
// retry_after, adds latency, and can be told to answer errors.
package telegramtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf16"

	"golang.org/x/time/rate"
)

// FakeAPI is an in-process Telegram Bot API server for tests: it speaks
// the wire format (form-encoded or multipart/form-data POSTs to
// /bot<token>/<method>, JSON answers {"ok":..., "result"|"error_code",
// "description","parameters"}) for the methods the bot uses, keeps the
// updates to hand out by getUpdates with offsets and long polls, records
// what the bot sent, and can be told to answer errors. It checks the HTML
// and length of sendMessage's text and sendDocument's caption with its
// own parser, not the adapter's.
type FakeAPI struct {
	Token string
	BotID int64
	// BotName is the bot's username.
	BotName string

	mu sync.Mutex
	// latency is added to every call, before its answer.
	latency time.Duration
	// limit, when set, refuses sendMessage and sendDocument calls beyond
	// its rate with 429.
	limit      *rate.Limiter
	retryAfter int

	updates    []fakeUpdate // not yet confirmed by an offset
	nextUpdate int
	arrived    chan struct{} // closed and replaced when updates arrive
	offsets    []int         // the offset of every getUpdates call
	handedOut  map[int]time.Time
	callbacks  map[string]int // callback query id → update id

	nextMessage int
	sent        []SentMessage
	documents   []SentDocument
	answers     []CallbackAnswer
	answered    map[string]bool
	edits       []url.Values
	commands    []SetCommands
	members     map[[2]int64]string
	memberCalls int
	rateLimited int

	webhookURL    string
	webhookSecret string
	webhookSets   int
	webhookDels   int

	fail map[string]func(form url.Values) *APIError
}

type fakeUpdate struct {
	id  int
	raw json.RawMessage
}

// SentMessage is a sendMessage call the fake accepted.
type SentMessage struct {
	ChatID    string
	ThreadID  string
	Text      string // as sent, HTML
	Plain     string // as the fake parsed it
	ParseMode string
	// Buttons are the inline keyboard's rows.
	Buttons        [][]FakeButton
	NoPreview      bool
	PaidBroadcast  bool // allow_paid_broadcast
	MessageID      int
	At             time.Time
	ReplyMarkupRaw string
}

// SentDocument is a sendDocument call the fake accepted: a file uploaded
// as multipart/form-data.
type SentDocument struct {
	ChatID   string
	ThreadID string
	// Name, MIME and Data are the uploaded part's file name, Content-Type
	// and content, as sent.
	Name string
	MIME string
	Data []byte
	// Caption is as sent (HTML with ParseMode "HTML"), CaptionPlain as the
	// fake parsed it; both are empty for a document without a caption.
	Caption      string
	CaptionPlain string
	ParseMode    string
	// Buttons are the inline keyboard's rows.
	Buttons        [][]FakeButton
	PaidBroadcast  bool // allow_paid_broadcast
	MessageID      int
	At             time.Time
	ReplyMarkupRaw string
}

// FakeButton is one inline keyboard button: a callback button, or a link
// when URL is set.
type FakeButton struct {
	Text         string `json:"text"`
	CallbackData string `json:"callback_data"`
	URL          string `json:"url"`
}

// CallbackAnswer is an answerCallbackQuery call.
type CallbackAnswer struct {
	ID        string
	Text      string
	ShowAlert bool
	At        time.Time
	// Since is the time from when getUpdates handed out the press to
	// when the answer arrived; zero for a press not handed out that way.
	Since time.Duration
}

// SetCommands is a setMyCommands call.
type SetCommands struct {
	Language string
	Scope    string
	Commands []struct {
		Command     string `json:"command"`
		Description string `json:"description"`
	}
}

// APIError is an error answer the fake can be told to give.
type APIError struct {
	Code        int
	Description string
	RetryAfter  int
	MigrateTo   int64
	// Delay is waited (as long as the request lasts) before answering;
	// with Code 0 the call then goes on as usual.
	Delay time.Duration
}

// Errors as Telegram answers them.
func ErrTooManyRequests(retryAfter int) *APIError {
	return &APIError{Code: 429, Description: fmt.Sprintf("Too Many Requests: retry after %d", retryAfter), RetryAfter: retryAfter}
}
func ErrBlocked() *APIError {
	return &APIError{Code: 403, Description: "Forbidden: bot was blocked by the user"}
}
func ErrKicked() *APIError {
	return &APIError{Code: 403, Description: "Forbidden: bot was kicked from the supergroup chat"}
}
func ErrDeactivated() *APIError {
	return &APIError{Code: 403, Description: "Forbidden: user is deactivated"}
}
func ErrChatNotFound() *APIError {
	return &APIError{Code: 400, Description: "Bad Request: chat not found"}
}
func ErrMigrated(to int64) *APIError {
	return &APIError{Code: 400, Description: "Bad Request: group chat was upgraded to a supergroup chat", MigrateTo: to}
}
func ErrParseEntities() *APIError {
	return &APIError{Code: 400, Description: "Bad Request: can't parse entities: Unsupported start tag \"blink\" at byte offset 0"}
}
func ErrServer() *APIError { return &APIError{Code: 500, Description: "Internal Server Error"} }

// NewFakeAPI returns a fake for a bot with this token.
func NewFakeAPI(token string) *FakeAPI {
	return &FakeAPI{
		Token: token, BotID: 7000001, BotName: "LessonTestBot",
		nextUpdate: 100, arrived: make(chan struct{}), handedOut: map[int]time.Time{},
		callbacks: map[string]int{}, answered: map[string]bool{}, members: map[[2]int64]string{},
		fail: map[string]func(url.Values) *APIError{},
	}
}

// SetLatency adds d to every call.
func (f *FakeAPI) SetLatency(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.latency = d
}

// LimitSends lets perSecond sendMessage and sendDocument calls a second
// through (with a burst, one budget for both) and answers the others 429
// with retry_after.
func (f *FakeAPI) LimitSends(perSecond float64, burst, retryAfter int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.limit = rate.NewLimiter(rate.Limit(perSecond), burst)
	f.retryAfter = retryAfter
}

// Fail makes calls of method answer what fn returns; nil from fn (or a
// nil fn) lets the call go on.
func (f *FakeAPI) Fail(method string, fn func(form url.Values) *APIError) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail[method] = fn
}

// SetMember sets a user's status in a chat, for getChatMember.
func (f *FakeAPI) SetMember(chatID, userID int64, status string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.members[[2]int64{chatID, userID}] = status
}

// FakeChat is a chat that updates come from.
type FakeChat struct {
	ID    int64
	Type  string // private, group, supergroup, channel
	Title string
}

// FakeUser is a person who sends updates.
type FakeUser struct {
	ID        int64
	FirstName string
	LastName  string
	Username  string
}

// Wire returns the chat as the Bot API writes it in an update.
func (c FakeChat) Wire() map[string]any {
	m := map[string]any{"id": c.ID, "type": c.Type}
	if c.Title != "" {
		m["title"] = c.Title
	}
	return m
}

// Wire returns the user as the Bot API writes it in an update.
func (u FakeUser) Wire() map[string]any {
	m := map[string]any{"id": u.ID, "is_bot": false, "first_name": u.FirstName}
	if u.LastName != "" {
		m["last_name"] = u.LastName
	}
	if u.Username != "" {
		m["username"] = u.Username
	}
	return m
}

// NextUpdateID reserves an update id.
func (f *FakeAPI) NextUpdateID() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.nextUpdate++
	return f.nextUpdate
}

// MessageUpdate is an update with a text message; from may be nil (a
// channel post is made with ChannelPostUpdate).
func MessageUpdate(id int, c FakeChat, from *FakeUser, text string) map[string]any {
	msg := map[string]any{"message_id": id, "date": 1700000000, "chat": c.Wire(), "text": text}
	if from != nil {
		msg["from"] = from.Wire()
	}
	if strings.HasPrefix(text, "/") {
		cmd, _, _ := strings.Cut(text, " ")
		msg["entities"] = []map[string]any{{"type": "bot_command", "offset": 0, "length": len(utf16.Encode([]rune(cmd)))}}
	}
	return map[string]any{"update_id": id, "message": msg}
}

// ChannelPostUpdate is a post in a channel, which has no author.
func ChannelPostUpdate(id int, c FakeChat, text string) map[string]any {
	u := MessageUpdate(id, c, nil, text)
	msg := u["message"].(map[string]any)
	msg["sender_chat"] = c.Wire()
	delete(u, "message")
	u["channel_post"] = msg
	return u
}

// CallbackUpdate is a press on a button of message messageID.
func CallbackUpdate(id int, callbackID string, c FakeChat, from FakeUser, messageID int, data string) map[string]any {
	return map[string]any{"update_id": id, "callback_query": map[string]any{
		"id": callbackID, "from": from.Wire(), "chat_instance": "ci" + strconv.FormatInt(c.ID, 10), "data": data,
		"message": map[string]any{"message_id": messageID, "date": 1700000000, "chat": c.Wire(), "text": "a question"},
	}}
}

// MyChatMemberUpdate is a change of the bot's own status in a chat.
func (f *FakeAPI) MyChatMemberUpdate(id int, c FakeChat, by FakeUser, oldStatus, newStatus string) map[string]any {
	bot := map[string]any{"id": f.BotID, "is_bot": true, "first_name": "Lesson Bot", "username": f.BotName}
	return map[string]any{"update_id": id, "my_chat_member": map[string]any{
		"chat": c.Wire(), "from": by.Wire(), "date": 1700000000,
		"old_chat_member": map[string]any{"user": bot, "status": oldStatus},
		"new_chat_member": map[string]any{"user": bot, "status": newStatus},
	}}
}

// Push queues updates for getUpdates.
func (f *FakeAPI) Push(updates ...map[string]any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, u := range updates {
		raw, err := json.Marshal(u)
		if err != nil {
			panic(err)
		}
		id := u["update_id"].(int)
		f.updates = append(f.updates, fakeUpdate{id: id, raw: raw})
		if q, ok := u["callback_query"].(map[string]any); ok {
			f.callbacks[q["id"].(string)] = id
		}
	}
	close(f.arrived)
	f.arrived = make(chan struct{})
}

// SendText queues a text message and returns its update id.
func (f *FakeAPI) SendText(c FakeChat, from *FakeUser, text string) int {
	id := f.NextUpdateID()
	f.Push(MessageUpdate(id, c, from, text))
	return id
}

// Press queues a button press and returns its callback query id.
func (f *FakeAPI) Press(c FakeChat, from FakeUser, messageID int, data string) string {
	id := f.NextUpdateID()
	cb := fmt.Sprintf("cb%d", id)
	f.Push(CallbackUpdate(id, cb, c, from, messageID, data))
	return cb
}

// Sent returns the messages sent so far.
func (f *FakeAPI) Sent() []SentMessage {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]SentMessage(nil), f.sent...)
}

// Documents returns the documents sent so far, in order. Their message
// ids come from the same sequence as Sent's, so the two interleave by
// MessageID.
func (f *FakeAPI) Documents() []SentDocument {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]SentDocument(nil), f.documents...)
}

// SentCount counts the messages sent so far.
func (f *FakeAPI) SentCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.sent)
}

// AnswerCount counts the callback answers so far.
func (f *FakeAPI) AnswerCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.answers)
}

// SentTo returns the messages sent to a chat.
func (f *FakeAPI) SentTo(chatID int64) []SentMessage {
	var out []SentMessage
	for _, m := range f.Sent() {
		if m.ChatID == strconv.FormatInt(chatID, 10) {
			out = append(out, m)
		}
	}
	return out
}

// FirstHandedOut returns when getUpdates first handed out an update, or
// the zero time when it has handed out none.
func (f *FakeAPI) FirstHandedOut() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	var first time.Time
	for _, at := range f.handedOut {
		if first.IsZero() || at.Before(first) {
			first = at
		}
	}
	return first
}

// Answers returns the callback answers so far.
func (f *FakeAPI) Answers() []CallbackAnswer {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]CallbackAnswer(nil), f.answers...)
}

// Offsets returns the offset of every getUpdates call so far.
func (f *FakeAPI) Offsets() []int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]int(nil), f.offsets...)
}

// Commands returns the setMyCommands calls.
func (f *FakeAPI) Commands() []SetCommands {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]SetCommands(nil), f.commands...)
}

// MemberCalls counts getChatMember calls.
func (f *FakeAPI) MemberCalls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.memberCalls
}

// RateLimited counts sendMessage and sendDocument calls refused with 429
// by LimitSends.
func (f *FakeAPI) RateLimited() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.rateLimited
}

// Webhook returns the webhook set (URL and secret), and how many times
// setWebhook and deleteWebhook were called.
func (f *FakeAPI) Webhook() (url, secret string, sets, deletes int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.webhookURL, f.webhookSecret, f.webhookSets, f.webhookDels
}

// WebhookSecretHeader is the header in which Telegram sends a webhook's
// secret_token.
const WebhookSecretHeader = "X-Telegram-Bot-Api-Secret-Token"

// Deliver posts an update to the webhook that setWebhook set, as Telegram
// does: a JSON POST to its URL with its secret_token in
// X-Telegram-Bot-Api-Secret-Token. It returns the answer's status code
// and headers; an error means no answer (or no webhook set). Telegram
// sends a chat's next update only after a 2xx for the one before, and
// sends again an update whose answer was not a 2xx: the caller does that.
func (f *FakeAPI) Deliver(ctx context.Context, client *http.Client, update map[string]any) (int, http.Header, error) {
	f.mu.Lock()
	hook, secret := f.webhookURL, f.webhookSecret
	f.mu.Unlock()
	if hook == "" {
		return 0, nil, errors.New("telegramtest: no webhook set")
	}
	body, err := json.Marshal(update)
	if err != nil {
		return 0, nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, hook, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if secret != "" {
		req.Header.Set(WebhookSecretHeader, secret)
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, resp.Header, nil
}

// Edits returns the editMessageReplyMarkup calls.
func (f *FakeAPI) Edits() []url.Values {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]url.Values(nil), f.edits...)
}

// Server starts the fake on a local port; it stops with the test.
func (f *FakeAPI) Server(t interface{ Cleanup(func()) }) *httptest.Server {
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return srv
}

// Transport is a RoundTripper that calls the fake in process, without a
// socket: in a synctest bubble, a long poll then blocks on the fake's
// channels and timers, which the bubble can wait for.
func (f *FakeAPI) Transport() http.RoundTripper { return inProcess{f} }

type inProcess struct{ h http.Handler }

func (t inProcess) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := req.Context().Err(); err != nil {
		// A RoundTripper closes the body, even on error: an upload's body
		// is a pipe whose writer waits for it.
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, err
	}
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, req)
	if req.Body != nil {
		req.Body.Close()
	}
	if err := req.Context().Err(); err != nil {
		return nil, err
	}
	resp := rec.Result()
	resp.Request = req
	return resp, nil
}

var pathPattern = regexp.MustCompile(`^/bot([^/]+)/([A-Za-z]+)$`)

func (f *FakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	m := pathPattern.FindStringSubmatch(r.URL.Path)
	if m == nil || r.Method != http.MethodPost {
		writeError(w, &APIError{Code: 404, Description: "Not Found"})
		return
	}
	if m[1] != f.Token {
		writeError(w, &APIError{Code: 401, Description: "Unauthorized"})
		return
	}
	method := m[2]
	if mediaType, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mediaType == "multipart/form-data" {
		r.Body = http.MaxBytesReader(w, r.Body, maxUpload)
		err := r.ParseMultipartForm(maxUpload)
		if r.MultipartForm != nil {
			defer r.MultipartForm.RemoveAll()
		}
		if tooBig := (*http.MaxBytesError)(nil); errors.As(err, &tooBig) {
			writeError(w, &APIError{Code: 413, Description: "Request Entity Too Large"})
			return
		} else if err != nil {
			writeError(w, &APIError{Code: 400, Description: "Bad Request: " + err.Error()})
			return
		}
	} else if err := r.ParseForm(); err != nil {
		writeError(w, &APIError{Code: 400, Description: "Bad Request: " + err.Error()})
		return
	}
	form := r.PostForm
	ctx := r.Context()

	f.mu.Lock()
	latency, hook := f.latency, f.fail[method]
	limited := false
	if (method == "sendMessage" || method == "sendDocument") && f.limit != nil && !f.limit.Allow() {
		limited = true
		f.rateLimited++
	}
	retryAfter := f.retryAfter
	f.mu.Unlock()

	if !wait(ctx, latency) {
		return
	}
	if limited {
		writeError(w, ErrTooManyRequests(retryAfter))
		return
	}
	if hook != nil {
		if e := hook(form); e != nil {
			if !wait(ctx, e.Delay) {
				return
			}
			if e.Code != 0 {
				// A 5xx echoes the request path, token and all, as a
				// careless proxy might: the bot must not repeat it.
				if e.Code >= 500 {
					e = &APIError{Code: e.Code, Description: e.Description + " at " + r.URL.Path}
				}
				writeError(w, e)
				return
			}
		}
	}
	var result any
	var apiErr *APIError
	switch method {
	case "getMe":
		result = map[string]any{"id": f.BotID, "is_bot": true, "first_name": "Lesson Bot", "username": f.BotName,
			"can_join_groups": true, "can_read_all_group_messages": false, "supports_inline_queries": false}
	case "getUpdates":
		result, apiErr = f.getUpdates(ctx, form)
		if result == nil && apiErr == nil {
			return // the caller went away
		}
	case "sendMessage":
		result, apiErr = f.sendMessage(form)
	case "sendDocument":
		result, apiErr = f.sendDocument(form, r.MultipartForm)
	case "answerCallbackQuery":
		result, apiErr = f.answerCallback(form)
	case "editMessageReplyMarkup":
		result, apiErr = f.editMarkup(form)
	case "setMyCommands":
		result, apiErr = f.setCommands(form)
	case "getChatMember":
		result, apiErr = f.getChatMember(form)
	case "setWebhook":
		result, apiErr = f.setWebhook(form)
	case "deleteWebhook":
		f.mu.Lock()
		f.webhookURL, f.webhookSecret = "", ""
		f.webhookDels++
		f.mu.Unlock()
		result = true
	default:
		apiErr = &APIError{Code: 404, Description: "Not Found"}
	}
	if apiErr != nil {
		writeError(w, apiErr)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "result": result})
}

// wait sleeps d unless ctx ends first.
func wait(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, e *APIError) {
	body := map[string]any{"ok": false, "error_code": e.Code, "description": e.Description}
	params := map[string]any{}
	if e.RetryAfter > 0 {
		params["retry_after"] = e.RetryAfter
	}
	if e.MigrateTo != 0 {
		params["migrate_to_chat_id"] = e.MigrateTo
	}
	if len(params) > 0 {
		body["parameters"] = params
	}
	writeJSON(w, e.Code, body)
}

func (f *FakeAPI) getUpdates(ctx context.Context, form url.Values) (any, *APIError) {
	offset, _ := strconv.Atoi(form.Get("offset"))
	limit, _ := strconv.Atoi(form.Get("limit"))
	if limit <= 0 || limit > 100 {
		limit = 100
	}
	timeout, _ := strconv.Atoi(form.Get("timeout"))
	f.mu.Lock()
	f.offsets = append(f.offsets, offset)
	if f.webhookURL != "" {
		f.mu.Unlock()
		return nil, &APIError{Code: 409, Description: "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first"}
	}
	f.mu.Unlock()
	var deadline <-chan time.Time
	if timeout > 0 {
		t := time.NewTimer(time.Duration(timeout) * time.Second)
		defer t.Stop()
		deadline = t.C
	}
	for {
		f.mu.Lock()
		if offset > 0 {
			// An offset confirms every update before it.
			kept := f.updates[:0]
			for _, u := range f.updates {
				if u.id >= offset {
					kept = append(kept, u)
				}
			}
			f.updates = kept
		}
		var out []json.RawMessage
		now := time.Now()
		for _, u := range f.updates {
			if len(out) == limit {
				break
			}
			out = append(out, u.raw)
			if _, ok := f.handedOut[u.id]; !ok {
				f.handedOut[u.id] = now
			}
		}
		arrived := f.arrived
		f.mu.Unlock()
		if len(out) > 0 || deadline == nil {
			if out == nil {
				out = []json.RawMessage{}
			}
			return out, nil
		}
		select {
		case <-arrived:
		case <-deadline:
			return []json.RawMessage{}, nil
		case <-ctx.Done():
			return nil, nil
		}
	}
}

func (f *FakeAPI) sendMessage(form url.Values) (any, *APIError) {
	text := form.Get("text")
	if form.Get("chat_id") == "" {
		return nil, &APIError{Code: 400, Description: "Bad Request: chat_id is empty"}
	}
	plain := text
	if form.Get("parse_mode") == "HTML" {
		var err error
		if plain, err = ParseHTML(text); err != nil {
			return nil, &APIError{Code: 400, Description: "Bad Request: can't parse entities: " + err.Error()}
		}
	}
	if strings.TrimSpace(plain) == "" {
		return nil, &APIError{Code: 400, Description: "Bad Request: message text is empty"}
	}
	if n := len(utf16.Encode([]rune(plain))); n > 4096 {
		return nil, &APIError{Code: 400, Description: "Bad Request: message is too long"}
	}
	msg := SentMessage{
		ChatID: form.Get("chat_id"), ThreadID: form.Get("message_thread_id"), Text: text, Plain: plain,
		ParseMode: form.Get("parse_mode"), NoPreview: form.Get("disable_web_page_preview") == "true",
		PaidBroadcast:  form.Get("allow_paid_broadcast") == "true",
		ReplyMarkupRaw: form.Get("reply_markup"), At: time.Now(),
	}
	var apiErr *APIError
	if msg.Buttons, apiErr = parseMarkup(form.Get("reply_markup")); apiErr != nil {
		return nil, apiErr
	}
	f.mu.Lock()
	f.nextMessage++
	msg.MessageID = f.nextMessage
	f.sent = append(f.sent, msg)
	f.mu.Unlock()
	id, _ := strconv.ParseInt(msg.ChatID, 10, 64)
	chatType := "private"
	if id < 0 {
		chatType = "supergroup"
	}
	return map[string]any{"message_id": msg.MessageID, "date": 1700000000,
		"chat": map[string]any{"id": id, "type": chatType}, "text": plain}, nil
}

// parseMarkup checks an inline keyboard as Telegram does and returns its
// rows: a button has a text and exactly one of callback_data (1 to 64
// bytes) and url (http, https or tg). An empty raw is no keyboard.
func parseMarkup(raw string) ([][]FakeButton, *APIError) {
	if raw == "" {
		return nil, nil
	}
	var markup struct {
		InlineKeyboard [][]struct {
			Text         string  `json:"text"`
			CallbackData *string `json:"callback_data"`
			URL          *string `json:"url"`
		} `json:"inline_keyboard"`
	}
	if err := json.Unmarshal([]byte(raw), &markup); err != nil {
		return nil, &APIError{Code: 400, Description: "Bad Request: can't parse reply keyboard markup JSON object"}
	}
	rows := make([][]FakeButton, len(markup.InlineKeyboard))
	for i, row := range markup.InlineKeyboard {
		rows[i] = make([]FakeButton, len(row))
		for j, b := range row {
			switch {
			case b.URL != nil && b.CallbackData != nil:
				return nil, &APIError{Code: 400, Description: "Bad Request: can't parse inline keyboard button: Exactly one of the optional fields must be used"}
			case b.URL != nil:
				if !validButtonURL(*b.URL) {
					return nil, &APIError{Code: 400, Description: "Bad Request: BUTTON_URL_INVALID"}
				}
				rows[i][j].URL = *b.URL
			default:
				if b.CallbackData == nil || len(*b.CallbackData) < 1 || len(*b.CallbackData) > 64 {
					return nil, &APIError{Code: 400, Description: "Bad Request: BUTTON_DATA_INVALID"}
				}
				rows[i][j].CallbackData = *b.CallbackData
			}
			if b.Text == "" {
				return nil, &APIError{Code: 400, Description: "Bad Request: text buttons are unallowed in the inline keyboard"}
			}
			rows[i][j].Text = b.Text
		}
	}
	return rows, nil
}

// validButtonURL tells whether Telegram takes u as a url button's link.
func validButtonURL(u string) bool {
	p, err := url.Parse(u)
	if err != nil {
		return false
	}
	switch p.Scheme {
	case "http", "https", "tg":
		return p.Host != ""
	}
	return false
}

// maxUpload is the largest multipart request the fake reads, as
// Telegram's 50 MB for a bot's upload.
const maxUpload = 50 << 20

// maxCaption is the longest caption, in UTF-16 units after parsing.
const maxCaption = 1024

func (f *FakeAPI) sendDocument(form url.Values, mf *multipart.Form) (any, *APIError) {
	if form.Get("chat_id") == "" {
		return nil, &APIError{Code: 400, Description: "Bad Request: chat_id is empty"}
	}
	var fh *multipart.FileHeader
	if mf != nil && len(mf.File["document"]) > 0 {
		fh = mf.File["document"][0]
	}
	if fh == nil {
		if form.Get("document") != "" {
			// A file_id or URL: the fake keeps no files to refer to.
			return nil, &APIError{Code: 400, Description: "Bad Request: wrong file identifier/HTTP URL specified"}
		}
		return nil, &APIError{Code: 400, Description: "Bad Request: there is no document in the request"}
	}
	file, err := fh.Open()
	if err != nil {
		return nil, &APIError{Code: 400, Description: "Bad Request: " + err.Error()}
	}
	data, err := io.ReadAll(file)
	file.Close()
	if err != nil {
		return nil, &APIError{Code: 400, Description: "Bad Request: " + err.Error()}
	}
	if len(data) == 0 {
		return nil, &APIError{Code: 400, Description: "Bad Request: file must be non-empty"}
	}
	caption := form.Get("caption")
	plain := caption
	if form.Get("parse_mode") == "HTML" {
		if plain, err = ParseHTML(caption); err != nil {
			return nil, &APIError{Code: 400, Description: "Bad Request: can't parse entities: " + err.Error()}
		}
	}
	if n := len(utf16.Encode([]rune(plain))); n > maxCaption {
		return nil, &APIError{Code: 400, Description: "Bad Request: message caption is too long"}
	}
	doc := SentDocument{
		ChatID: form.Get("chat_id"), ThreadID: form.Get("message_thread_id"),
		Name: fh.Filename, MIME: fh.Header.Get("Content-Type"), Data: data,
		Caption: caption, CaptionPlain: plain, ParseMode: form.Get("parse_mode"),
		PaidBroadcast:  form.Get("allow_paid_broadcast") == "true",
		ReplyMarkupRaw: form.Get("reply_markup"), At: time.Now(),
	}
	var apiErr *APIError
	if doc.Buttons, apiErr = parseMarkup(form.Get("reply_markup")); apiErr != nil {
		return nil, apiErr
	}
	f.mu.Lock()
	f.nextMessage++
	doc.MessageID = f.nextMessage
	f.documents = append(f.documents, doc)
	f.mu.Unlock()
	id, _ := strconv.ParseInt(doc.ChatID, 10, 64)
	chatType := "private"
	if id < 0 {
		chatType = "supergroup"
	}
	// Telegram guesses the type from the name and content; the fake,
	// deterministic, answers the part's own.
	mimeType, _, _ := mime.ParseMediaType(doc.MIME)
	result := map[string]any{"message_id": doc.MessageID, "date": 1700000000,
		"chat": map[string]any{"id": id, "type": chatType},
		"document": map[string]any{
			"file_id": fmt.Sprintf("BQACAgfake%d", doc.MessageID), "file_unique_id": fmt.Sprintf("AgADfake%d", doc.MessageID),
			"file_name": doc.Name, "mime_type": mimeType, "file_size": len(data),
		}}
	if plain != "" {
		result["caption"] = plain
	}
	return result, nil
}

func (f *FakeAPI) answerCallback(form url.Values) (any, *APIError) {
	id := form.Get("callback_query_id")
	text := form.Get("text")
	if len(utf16.Encode([]rune(text))) > 200 {
		return nil, &APIError{Code: 400, Description: "Bad Request: MESSAGE_TOO_LONG"}
	}
	now := time.Now()
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.answered[id] {
		return nil, &APIError{Code: 400, Description: "Bad Request: query is too old and response timeout expired or query ID is invalid"}
	}
	f.answered[id] = true
	a := CallbackAnswer{ID: id, Text: text, ShowAlert: form.Get("show_alert") == "true", At: now}
	if at, ok := f.handedOut[f.callbacks[id]]; ok {
		a.Since = now.Sub(at)
	}
	f.answers = append(f.answers, a)
	return true, nil
}

func (f *FakeAPI) editMarkup(form url.Values) (any, *APIError) {
	if form.Get("chat_id") == "" || form.Get("message_id") == "" {
		return nil, &APIError{Code: 400, Description: "Bad Request: message to edit not found"}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.edits = append(f.edits, form)
	id, _ := strconv.Atoi(form.Get("message_id"))
	chatID, _ := strconv.ParseInt(form.Get("chat_id"), 10, 64)
	return map[string]any{"message_id": id, "date": 1700000000, "chat": map[string]any{"id": chatID, "type": "private"}, "text": "edited"}, nil
}

var commandName = regexp.MustCompile(`^[a-z0-9_]{1,32}$`)

func (f *FakeAPI) setCommands(form url.Values) (any, *APIError) {
	var c SetCommands
	if err := json.Unmarshal([]byte(form.Get("commands")), &c.Commands); err != nil {
		return nil, &APIError{Code: 400, Description: "Bad Request: can't parse commands JSON object"}
	}
	for _, cmd := range c.Commands {
		if !commandName.MatchString(cmd.Command) {
			return nil, &APIError{Code: 400, Description: "Bad Request: BOT_COMMAND_INVALID"}
		}
		if n := len([]rune(cmd.Description)); n < 1 || n > 256 {
			return nil, &APIError{Code: 400, Description: "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID"}
		}
	}
	c.Language, c.Scope = form.Get("language_code"), form.Get("scope")
	f.mu.Lock()
	defer f.mu.Unlock()
	f.commands = append(f.commands, c)
	return true, nil
}

func (f *FakeAPI) getChatMember(form url.Values) (any, *APIError) {
	chatID, err1 := strconv.ParseInt(form.Get("chat_id"), 10, 64)
	userID, err2 := strconv.ParseInt(form.Get("user_id"), 10, 64)
	if err1 != nil || err2 != nil {
		return nil, &APIError{Code: 400, Description: "Bad Request: invalid user_id specified"}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.memberCalls++
	status := f.members[[2]int64{chatID, userID}]
	if status == "" {
		status = "member"
	}
	return map[string]any{"user": map[string]any{"id": userID, "is_bot": false, "first_name": "Someone"}, "status": status}, nil
}

var secretPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,256}$`)

func (f *FakeAPI) setWebhook(form url.Values) (any, *APIError) {
	u := form.Get("url")
	if _, err := url.Parse(u); err != nil || u == "" {
		return nil, &APIError{Code: 400, Description: "Bad Request: bad webhook: invalid URL"}
	}
	secret := form.Get("secret_token")
	if secret != "" && !secretPattern.MatchString(secret) {
		return nil, &APIError{Code: 400, Description: "Bad Request: secret token contains unallowed characters"}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.webhookURL, f.webhookSecret = u, secret
	f.webhookSets++
	return true, nil
}

// telegramTags are the tags of Telegram's HTML parse mode.
var telegramTags = map[string]bool{
	"b": true, "strong": true, "i": true, "em": true, "u": true, "ins": true, "s": true, "strike": true,
	"del": true, "a": true, "code": true, "pre": true, "tg-spoiler": true, "span": true, "blockquote": true,
	"tg-emoji": true,
}

// ParseHTML checks text as Telegram's HTML parse mode does and
// returns its plain text: only Telegram's tags, properly nested; only
// the entities &lt; &gt; &amp; &quot; and numeric ones; no bare '<', '>'
// or '&'.
func ParseHTML(s string) (string, error) {
	var plain strings.Builder
	var stack []string
	for i := 0; i < len(s); {
		switch s[i] {
		case '<':
			end := strings.IndexByte(s[i:], '>')
			if end < 0 {
				return "", fmt.Errorf("unclosed start tag at byte offset %d", i)
			}
			tag := s[i+1 : i+end]
			if strings.HasPrefix(tag, "/") {
				name := strings.ToLower(strings.TrimSpace(tag[1:]))
				if len(stack) == 0 || stack[len(stack)-1] != name {
					return "", fmt.Errorf("can't find end tag corresponding to start tag %q at byte offset %d", name, i)
				}
				stack = stack[:len(stack)-1]
			} else {
				name, attrs, _ := strings.Cut(tag, " ")
				name = strings.ToLower(name)
				if !telegramTags[name] {
					return "", fmt.Errorf("unsupported start tag %q at byte offset %d", name, i)
				}
				if name == "a" && !strings.HasPrefix(strings.TrimSpace(attrs), "href=\"") {
					return "", fmt.Errorf("a tag without href at byte offset %d", i)
				}
				if strings.ContainsAny(attrs, "<") {
					return "", fmt.Errorf("bad attribute at byte offset %d", i)
				}
				stack = append(stack, name)
			}
			i += end + 1
		case '>':
			return "", fmt.Errorf("unexpected '>' at byte offset %d", i)
		case '&':
			end := strings.IndexByte(s[i:], ';')
			if end < 0 || end > 10 {
				return "", fmt.Errorf("bare '&' at byte offset %d", i)
			}
			ent := s[i+1 : i+end]
			switch {
			case ent == "lt":
				plain.WriteByte('<')
			case ent == "gt":
				plain.WriteByte('>')
			case ent == "amp":
				plain.WriteByte('&')
			case ent == "quot":
				plain.WriteByte('"')
			case strings.HasPrefix(ent, "#"):
				n, err := strconv.ParseInt(strings.TrimPrefix(strings.TrimPrefix(ent[1:], "x"), "X"), map[bool]int{true: 16, false: 10}[strings.HasPrefix(strings.ToLower(ent), "#x")], 32)
				if err != nil {
					return "", fmt.Errorf("bad entity at byte offset %d", i)
				}
				plain.WriteRune(rune(n))
			default:
				return "", fmt.Errorf("unsupported entity %q at byte offset %d", ent, i)
			}
			i += end + 1
		default:
			plain.WriteByte(s[i])
			i++
		}
	}
	if len(stack) > 0 {
		return "", fmt.Errorf("can't find end tag corresponding to start tag %q", stack[len(stack)-1])
	}
	return plain.String(), nil
}
