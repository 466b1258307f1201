package discord

import (
	"bytes"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
)

// testKey is the application's key pair the fake Discord signs with.
func testKey() ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize))
}

func publicKeyHex() string { return hex.EncodeToString(testKey().Public().(ed25519.PublicKey)) }

// signed is a request to the interactions endpoint, signed as Discord
// signs it, at time at.
func signed(t testing.TB, url string, body []byte, at time.Time, key ed25519.PrivateKey) *http.Request {
	t.Helper()
	ts := strconv.FormatInt(at.Unix(), 10)
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Signature-Timestamp", ts)
	req.Header.Set("X-Signature-Ed25519", hex.EncodeToString(ed25519.Sign(key, append([]byte(ts), body...))))
	return req
}

func TestInteractionsEndpoint(t *testing.T) {
	ft := &fakeTutor{}
	r := startBot(t, ft, tutorCommands(), func(o *Options) {
		o.InteractionsListen = "127.0.0.1:0"
		o.PublicKey = publicKeyHex()
	})
	var url string
	waitFor(t, "the endpoint to listen", func() bool {
		r.bot.mu.Lock()
		defer r.bot.mu.Unlock()
		url = "http://" + r.bot.listenAddr + "/interactions"
		return r.bot.listenAddr != ""
	})
	ping := []byte(`{"id":"500000000000000900","application_id":"` + testAppID + `","type":1,"token":"ping-token","version":1}`)
	_, other, _ := ed25519.GenerateKey(nil)
	do := func(req *http.Request) (int, string) {
		t.Helper()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	now := time.Now()
	tests := []struct {
		name       string
		req        func() *http.Request
		wantStatus int
		wantBody   string
	}{
		{"PingPong", func() *http.Request { return signed(t, url, ping, now, testKey()) }, 200, `{"type":1}`},
		{"OKFourMinutesOld", func() *http.Request { return signed(t, url, ping, now.Add(-4*time.Minute), testKey()) }, 200, `{"type":1}`},
		{"ErrStaleTimestamp", func() *http.Request { return signed(t, url, ping, now.Add(-6*time.Minute), testKey()) }, 401, ""},
		{"ErrFutureTimestamp", func() *http.Request { return signed(t, url, ping, now.Add(6*time.Minute), testKey()) }, 401, ""},
		{"ErrOtherKey", func() *http.Request { return signed(t, url, ping, now, other) }, 401, ""},
		{"ErrBodyChanged", func() *http.Request {
			req := signed(t, url, ping, now, testKey())
			req.Body = io.NopCloser(bytes.NewReader(bytes.Replace(ping, []byte(`"type":1`), []byte(`"type":2`), 1)))
			return req
		}, 401, ""},
		{"ErrTimestampChanged", func() *http.Request {
			req := signed(t, url, ping, now, testKey())
			req.Header.Set("X-Signature-Timestamp", strconv.FormatInt(now.Unix()+1, 10))
			return req
		}, 401, ""},
		{"ErrNoSignature", func() *http.Request {
			req := signed(t, url, ping, now, testKey())
			req.Header.Del("X-Signature-Ed25519")
			return req
		}, 401, ""},
		{"ErrGet", func() *http.Request { req, _ := http.NewRequest(http.MethodGet, url, nil); return req }, 405, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := do(tt.req())
			if status != tt.wantStatus {
				t.Errorf("status %d (%s), want %d", status, body, tt.wantStatus)
			}
			if tt.wantBody != "" && strings.TrimSpace(body) != tt.wantBody {
				t.Errorf("body %q, want %q", body, tt.wantBody)
			}
		})
	}

	t.Run("Command", func(t *testing.T) {
		p, id, token := r.interaction(2, serverChannel, manager, commandData("subscribe", option("time", 3, "06:45")))
		body, _ := json.Marshal(p)
		status, resp := do(signed(t, url, body, time.Now(), testKey()))
		var cb callback
		if err := json.Unmarshal([]byte(resp), &cb); err != nil || status != 200 || cb.Type != 5 {
			t.Fatalf("answer %d %q, want a deferred answer (type 5)", status, resp)
		}
		var edit []fakeRequest
		waitFor(t, "the edit over REST", func() bool {
			edit = r.fake.requests(http.MethodPatch, "/webhooks/"+testAppID+"/"+token+"/messages/@original")
			return len(edit) == 1
		})
		if got := decodeSent(t, edit[0]).Content; got != Escape("ok /subscribe 06:45") {
			t.Errorf("the answer was edited to %q", got)
		}
		if n := len(r.fake.requests(http.MethodPost, "/interactions/"+id)); n != 0 {
			t.Errorf("%d callbacks over REST for an interaction answered in the HTTP response", n)
		}
	})
}

func TestNewOptions(t *testing.T) {
	tests := []struct {
		name    string
		opts    Options
		wantErr string
	}{
		{"OK", Options{Token: testToken}, ""},
		{"OKBotPrefix", Options{Token: "Bot " + testToken, APIURL: "http://127.0.0.1:9/discord"}, ""},
		{"OKEndpoint", Options{Token: testToken, InteractionsListen: ":0", PublicKey: publicKeyHex()}, ""},
		{"ErrNoToken", Options{Token: " "}, "no bot token"},
		{"ErrAPIURL", Options{Token: testToken, APIURL: "discord.com"}, "api_url"},
		{"ErrEndpointWithoutKey", Options{Token: testToken, InteractionsListen: ":0"}, "needs public_key"},
		{"ErrKey", Options{Token: testToken, PublicKey: "abcd"}, "public_key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(t.Context(), tt.opts, &fakeTutor{})
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("New: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("New = %v, want an error with %q", err, tt.wantErr)
			}
			if err != nil && strings.Contains(err.Error(), testToken) {
				t.Errorf("the error holds the token")
			}
		})
	}
}

// FuzzInteractionsEndpoint sends any signed body to the interactions
// endpoint: it never panics, and answers 200 with an interaction response
// or 400.
func FuzzInteractionsEndpoint(f *testing.F) {
	f.Add([]byte(`{"type":1}`))
	f.Add([]byte(`{"id":"1","application_id":"2","type":2,"token":"t","channel_id":"3","guild_id":"4","member":{"user":{"id":"5"},"permissions":"32"},"data":{"name":"subscribe","options":[{"name":"time","type":3,"value":"07:30"},{"name":"timezone","type":3,"value":"UTC"}]}}`))
	f.Add([]byte(`{"id":"1","application_id":"2","type":3,"token":"t","channel_id":"3","user":{"id":"5"},"data":{"custom_id":"a:x:00000000:1","component_type":2}}`))
	f.Add([]byte(`{"id":"1","application_id":"2","type":4,"token":"t","channel_id":"3","data":{"name":"timezone","options":[{"name":"timezone","type":3,"value":"eur","focused":true}]}}`))
	f.Add([]byte(`{"type":2,"data":{"name":"pause","options":[{"name":"days","type":4,"value":1e300}]}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		fake := newMemoryFake(t)
		b, err := New(t.Context(), Options{
			Token: testToken, APIURL: "http://discord.test" + apiPrefix, PublicKey: publicKeyHex(),
			Commands: tutorCommands(), Logger: slog.New(slog.DiscardHandler),
			HTTPClient: &http.Client{Transport: memoryTransport{h: fake}},
		}, &fakeTutor{})
		if err != nil {
			t.Fatal(err)
		}
		rec := httptest.NewRecorder()
		b.InteractionsHandler().ServeHTTP(rec, signed(t, "http://lessonbot.test/", body, time.Now(), testKey()))
		b.wg.Wait()
		switch rec.Code {
		case 200:
			var cb callback
			if err := json.Unmarshal(rec.Body.Bytes(), &cb); err != nil || cb.Type == 0 {
				t.Fatalf("200 with %q", rec.Body.String())
			}
		case 400:
		default:
			t.Fatalf("status %d for %q", rec.Code, body)
		}
	})
}
