package discord

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// noGateway sets the options of a bot that serves interactions over HTTP
// only, on a port of its own.
func noGateway(o *Options) {
	o.NoGateway = true
	o.InteractionsListen = "127.0.0.1:0"
	o.PublicKey = publicKeyHex()
}

// post sends a signed (or not) request to an interactions endpoint and
// returns its status and body.
func post(t testing.TB, client *http.Client, req *http.Request) (int, []byte) {
	t.Helper()
	resp, err := client.Do(req)
	if err != nil {
		t.Errorf("POST %s: %v", req.URL, err)
		return 0, nil
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Errorf("POST %s: reading the answer: %v", req.URL, err)
	}
	return resp.StatusCode, body
}

// upRecorder records what a bot tells Options.Up.
type upRecorder struct {
	mu  sync.Mutex
	got []bool
}

func (u *upRecorder) up(v bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.got = append(u.got, v)
}

// last is the last value told, and how many were.
func (u *upRecorder) last() (bool, int) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.got) == 0 {
		return false, 0
	}
	return u.got[len(u.got)-1], len(u.got)
}

// TestNoGateway runs a bot without the gateway: it asks for the
// application over REST, registers the commands, answers a PING and a
// command at its endpoint, never looks for the gateway, and reports Up
// from its REST requests: true once Discord answers, false on a 5xx,
// false when Run returns.
func TestNoGateway(t *testing.T) {
	fake := newFakeDiscord(t)
	ups := &upRecorder{}
	t.Cleanup(func() {
		// Runs after the bot's own cleanup has stopped it.
		if v, _ := ups.last(); v {
			t.Errorf("Up is true after Run returned")
		}
	})
	r := startBotOn(t, fake, &fakeTutor{}, tutorCommands(), func(o *Options) {
		noGateway(o)
		o.Up = ups.up
	})
	if got := fake.requests(http.MethodGet, "/oauth2/applications/@me"); len(got) != 1 || got[0].Auth != "Bot "+testToken {
		t.Errorf("application requests = %+v, want one GET /oauth2/applications/@me with the bot token", got)
	}
	if puts := fake.requests(http.MethodPut, "/applications/"); len(puts) != 1 || puts[0].Path != "/applications/"+testAppID+"/commands" {
		t.Errorf("command registrations = %+v, want one PUT /applications/%s/commands", puts, testAppID)
	}
	if v, n := ups.last(); !v || n == 0 {
		t.Errorf("Up = %v after %d reports, want true once Discord answered", v, n)
	}

	url := "http://" + r.bot.endpoint() + "/interactions"
	ping := []byte(`{"id":"500000000000000900","application_id":"` + testAppID + `","type":1,"token":"ping-token","version":1}`)
	if status, body := post(t, http.DefaultClient, signed(t, url, ping, time.Now(), testKey())); status != 200 || strings.TrimSpace(string(body)) != `{"type":1}` {
		t.Errorf("PING answered %d %s, want a PONG", status, body)
	}
	command := func() (string, callback) {
		t.Helper()
		p, _, token := r.interaction(2, serverChannel, manager, commandData("subscribe", option("time", 3, "06:45")))
		body, _ := json.Marshal(p)
		status, resp := post(t, http.DefaultClient, signed(t, url, body, time.Now(), testKey()))
		var cb callback
		if err := json.Unmarshal(resp, &cb); err != nil || status != 200 {
			t.Fatalf("a command answered %d %s", status, resp)
		}
		return token, cb
	}
	token, cb := command()
	if cb.Type != 5 {
		t.Errorf("a command got type %d, want 5 (deferred)", cb.Type)
	}
	edited := func(token string) int {
		return len(fake.requests(http.MethodPatch, "/webhooks/"+testAppID+"/"+token+"/messages/@original"))
	}
	waitFor(t, "the answer edited over REST", func() bool { return edited(token) == 1 })

	// A 5xx on the edit: Discord is not answering.
	fake.setFail(func(r fakeRequest) (int, string, http.Header) {
		if r.Method == http.MethodPatch {
			return http.StatusServiceUnavailable, `{"message":"upstream connect error","code":0}`, nil
		}
		return 0, "", nil
	})
	token, _ = command()
	waitFor(t, "Up false after a 503", func() bool { v, _ := ups.last(); return !v && edited(token) == 1 })
	fake.setFail(nil)
	token, _ = command()
	waitFor(t, "Up true again", func() bool { v, _ := ups.last(); return v && edited(token) == 1 })

	if n := fake.gatewayCount(); n != 0 {
		t.Errorf("the gateway was looked for or connected to %d times, want 0", n)
	}
	if logs := r.logs.String(); !strings.Contains(logs, "no gateway") {
		t.Errorf("the log does not say the bot runs without the gateway:\n%s", logs)
	}
}

// TestNoGatewayApplication: without the gateway, Run asks Discord for the
// application again after a failure that may pass, and gives up at once
// when Discord refuses the token.
func TestNoGatewayApplication(t *testing.T) {
	t.Run("OKAfter503", func(t *testing.T) {
		fake := newFakeDiscord(t)
		var failed atomic.Bool
		fake.setFail(func(r fakeRequest) (int, string, http.Header) {
			if r.Path == "/oauth2/applications/@me" && !failed.Swap(true) {
				return http.StatusServiceUnavailable, `{"message":"unavailable","code":0}`, nil
			}
			return 0, "", nil
		})
		r := startBotOn(t, fake, &fakeTutor{}, tutorCommands(), noGateway)
		if n := len(fake.requests(http.MethodGet, "/oauth2/applications/@me")); n != 2 {
			t.Errorf("%d requests for the application, want 2", n)
		}
		if logs := r.logs.String(); !strings.Contains(logs, "trying again") {
			t.Errorf("the retry is not logged:\n%s", logs)
		}
	})
	t.Run("ErrUnauthorized", func(t *testing.T) {
		fake := newFakeDiscord(t)
		fake.setFail(func(r fakeRequest) (int, string, http.Header) {
			return http.StatusUnauthorized, `{"message":"401: Unauthorized","code":0}`, nil
		})
		opts := Options{Token: testToken, APIURL: fake.apiURL(), HTTPClient: fake.srv.Client(), Logger: slog.New(slog.DiscardHandler)}
		noGateway(&opts)
		b, err := New(t.Context(), opts, &fakeTutor{})
		if err != nil {
			t.Fatal(err)
		}
		errc := make(chan error, 1)
		go func() { errc <- b.Run(t.Context()) }()
		select {
		case err := <-errc:
			if err == nil || !strings.Contains(err.Error(), "401") || strings.Contains(err.Error(), testToken) {
				t.Errorf("Run = %v, want an error with the 401 and no token", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("Run goes on with a refused token")
		}
		if n := len(fake.requests(http.MethodGet, "/oauth2/applications/@me")); n != 1 {
			t.Errorf("%d requests for the application, want 1", n)
		}
		if n := len(fake.requests(http.MethodPut, "")) + fake.gatewayCount(); n != 0 {
			t.Errorf("%d registrations or gateway hits after the refusal", n)
		}
	})
}

func TestNewOptionsNoGateway(t *testing.T) {
	tests := []struct {
		name    string
		opts    Options
		wantErr string
	}{
		{"OK", Options{NoGateway: true, InteractionsListen: ":0", PublicKey: publicKeyHex()}, ""},
		{"ErrNoListen", Options{NoGateway: true, PublicKey: publicKeyHex()}, "without the gateway"},
		{"ErrNoKey", Options{NoGateway: true, InteractionsListen: ":0"}, "public_key"},
		{"ErrNeither", Options{NoGateway: true}, "without the gateway"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.Token = testToken
			_, err := New(t.Context(), tt.opts, &fakeTutor{})
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("New: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr) || strings.Contains(err.Error(), "\n")):
				t.Errorf("New = %v, want a one-line error with %q", err, tt.wantErr)
			}
		})
	}
}
