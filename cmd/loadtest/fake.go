package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	"github.com/lessonbot/lessonbot/internal/telegram/telegramtest"
)

// fakeTelegram is the fake Bot API both modes drive lessonbot against:
// telegramtest's fake (the wire format, the rate enforced with 429 and
// retry_after, the added latency, the messages it accepted), with a log of
// every sendMessage call around it, from the moment the call's request was
// read to its answer, for the figures that need to know which sends were
// under way at an instant.
type fakeTelegram struct {
	*telegramtest.FakeAPI
	srv *httptest.Server

	mu    sync.Mutex
	sends []sendCall
	// calls counts the other calls answered 200, by process and method.
	calls map[string]map[string]int
}

// sendCall is one sendMessage call as the fake saw it.
type sendCall struct {
	// by names the process that made it, from the base URL it was given
	// (processURL); empty for the plain URL.
	by string
	// chat is its chat_id; text a hash of its text.
	chat string
	text uint64
	// received is when its handler started (the request read); answered
	// is when the handler returned.
	received, answered time.Time
	// status is the HTTP status of the answer; 0 when the caller went away
	// before it (the fake then records no message).
	status int
}

// accepted tells whether the fake took the message: the bot got its
// message id, or would have had it lived.
func (c sendCall) accepted() bool { return c.status == http.StatusOK }

// newFakeTelegram starts a fake that lets rate sendMessage calls a second
// through with a burst of burst, answers the others 429 with retry_after 1,
// and adds latency to every call.
func newFakeTelegram(rate float64, burst int, latency time.Duration) *fakeTelegram {
	api := telegramtest.NewFakeAPI(token)
	api.SetLatency(latency)
	api.LimitSends(rate, max(1, burst), 1)
	f := &fakeTelegram{FakeAPI: api, calls: map[string]map[string]int{}}
	f.srv = httptest.NewServer(f)
	return f
}

// URL is the fake's base URL, lessonbot's telegram.api_url.
func (f *fakeTelegram) URL() string { return f.srv.URL }

// Close stops the fake's server.
func (f *fakeTelegram) Close() { f.srv.Close() }

// processURL is the base URL to give the process named tag: the fake
// serves it as URL() and tells the process's calls apart by it.
func (f *fakeTelegram) processURL(tag string) string { return f.srv.URL + "/p/" + tag }

func (f *fakeTelegram) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var by string
	if rest, ok := strings.CutPrefix(r.URL.Path, "/p/"); ok {
		tag, path, _ := strings.Cut(rest, "/")
		by = tag
		r = r.Clone(r.Context())
		r.URL.Path, r.URL.RawPath = "/"+path, ""
	}
	if method := r.URL.Path[strings.LastIndexByte(r.URL.Path, '/')+1:]; method != "sendMessage" {
		sw := &statusWriter{ResponseWriter: w}
		f.FakeAPI.ServeHTTP(sw, r)
		if sw.status == http.StatusOK {
			f.mu.Lock()
			if f.calls[by] == nil {
				f.calls[by] = map[string]int{}
			}
			f.calls[by][method]++
			f.mu.Unlock()
		}
		return
	}
	received := time.Now()
	// The fake parses the form again, which then costs nothing.
	var chat string
	var text uint64
	if r.ParseForm() == nil {
		chat, text = r.PostForm.Get("chat_id"), textHash(r.PostForm.Get("text"))
	}
	f.mu.Lock()
	i := len(f.sends)
	f.sends = append(f.sends, sendCall{by: by, chat: chat, text: text, received: received})
	f.mu.Unlock()
	sw := &statusWriter{ResponseWriter: w}
	f.FakeAPI.ServeHTTP(sw, r)
	f.mu.Lock()
	f.sends[i].answered, f.sends[i].status = time.Now(), sw.status
	f.mu.Unlock()
}

// textHash stands for a message's text in the send log, which keeps
// every call of a run.
func textHash(text string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(text))
	return h.Sum64()
}

// Sends returns the sendMessage calls so far, in the order they came.
func (f *fakeTelegram) Sends() []sendCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]sendCall(nil), f.sends...)
}

// firstAccepted returns the first accepted send (by its answer) to a chat
// that want accepts whose request came after after, from any process but
// except, or false when there is none yet.
func (f *fakeTelegram) firstAccepted(after time.Time, except string, want func(chat string) bool) (sendCall, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var first sendCall
	// Calls are logged as they come, so those after "after" are a tail.
	for i := len(f.sends) - 1; i >= 0 && f.sends[i].received.After(after); i-- {
		c := f.sends[i]
		if c.accepted() && c.by != except && want(c.chat) && (first.answered.IsZero() || c.answered.Before(first.answered)) {
			first = c
		}
	}
	return first, !first.answered.IsZero()
}

// called counts the calls of method by process by that the fake answered
// 200 (sendMessage aside: see Sends).
func (f *fakeTelegram) called(by, method string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[by][method]
}

// acceptedCount counts the accepted sends so far.
func (f *fakeTelegram) acceptedCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, c := range f.sends {
		if c.accepted() {
			n++
		}
	}
	return n
}

// statusWriter remembers the status a handler answered.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// webhookStats counts what posting updates to the webhook took.
type webhookStats struct {
	updates int
	// retried counts the posts answered other than 2xx, or not at all,
	// and posted again.
	retried int
	// statuses counts the answers by HTTP status (0: no answer).
	statuses map[int]int
}

// postUpdates posts each update to the webhook that lessonbot set, as
// Telegram does: with the secret given to setWebhook in the
// X-Telegram-Bot-Api-Secret-Token header, the updates of one chat one at a
// time and in order (the next after the previous was answered 2xx), those
// of different chats at once, and a post that is not answered 2xx posted
// again after a pause, until ctx ends. client must trust the webhook's
// certificate.
func (f *fakeTelegram) postUpdates(ctx context.Context, client *http.Client, updates []map[string]any) (webhookStats, error) {
	hook, secret, _, _ := f.Webhook()
	if hook == "" {
		return webhookStats{}, errors.New("no webhook set")
	}
	var order []int64
	byChat := map[int64][][]byte{}
	for _, u := range updates {
		id, err := updateChat(u)
		if err != nil {
			return webhookStats{}, err
		}
		raw, err := json.Marshal(u)
		if err != nil {
			return webhookStats{}, err
		}
		if _, ok := byChat[id]; !ok {
			order = append(order, id)
		}
		byChat[id] = append(byChat[id], raw)
	}
	var mu sync.Mutex
	st := webhookStats{updates: len(updates), statuses: map[int]int{}}
	chats := make(chan int64)
	var wg sync.WaitGroup
	var firstErr error
	for range min(len(order), 32) {
		wg.Go(func() {
			for id := range chats {
				for _, raw := range byChat[id] {
					for {
						status := postOnce(ctx, client, hook, secret, raw)
						mu.Lock()
						st.statuses[status]++
						ok := status >= 200 && status < 300
						if !ok {
							st.retried++
						}
						mu.Unlock()
						if ok {
							break
						}
						select {
						case <-ctx.Done():
							mu.Lock()
							if firstErr == nil {
								firstErr = fmt.Errorf("posting updates to the webhook: %w", ctx.Err())
							}
							mu.Unlock()
							return
						case <-time.After(200 * time.Millisecond):
						}
					}
				}
			}
		})
	}
	for _, id := range order {
		chats <- id
	}
	close(chats)
	wg.Wait()
	return st, firstErr
}

// postOnce posts one update and returns the answer's status, 0 for none.
func postOnce(ctx context.Context, client *http.Client, hook, secret string, raw []byte) int {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, hook, bytes.NewReader(raw))
	if err != nil {
		return 0
	}
	req.Header.Set("Content-Type", "application/json")
	if secret != "" {
		req.Header.Set("X-Telegram-Bot-Api-Secret-Token", secret)
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// updateChat returns the id of the chat an update of telegramtest's
// MessageUpdate came from.
func updateChat(u map[string]any) (int64, error) {
	msg, _ := u["message"].(map[string]any)
	c, _ := msg["chat"].(map[string]any)
	id, ok := c["id"].(int64)
	if !ok {
		return 0, fmt.Errorf("update %v has no message chat", u["update_id"])
	}
	return id, nil
}
