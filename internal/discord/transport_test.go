package discord

import (
	"net/http"
	"testing"
)

type recordTransport struct{ got []string }

func (r *recordTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	r.got = append(r.got, req.URL.String()+" host="+req.Host)
	return &http.Response{StatusCode: 204, Body: http.NoBody, Request: req}, nil
}

func TestRewriter(t *testing.T) {
	tests := []struct{ base, in, want string }{
		{"https://discord.com", "https://discord.com/api/v9/gateway", "https://discord.com/api/v9/gateway host="},
		{"http://127.0.0.1:8080", "https://discord.com/api/v9/channels/1/messages", "http://127.0.0.1:8080/api/v9/channels/1/messages host="},
		{"http://proxy.internal/discord/", "https://discord.com/api/v9/webhooks/1/tok/messages/@original?wait=true",
			"http://proxy.internal/discord/api/v9/webhooks/1/tok/messages/@original?wait=true host="},
		{"http://proxy.internal/discord", "https://discord.com/api/v9/applications/1/commands", "http://proxy.internal/discord/api/v9/applications/1/commands host="},
	}
	for _, tt := range tests {
		base, err := parseBase(tt.base)
		if err != nil {
			t.Fatal(err)
		}
		rec := &recordTransport{}
		req, _ := http.NewRequest(http.MethodGet, tt.in, nil)
		if _, err := (&rewriter{base: base, next: rec}).RoundTrip(req); err != nil {
			t.Fatal(err)
		}
		if len(rec.got) != 1 || rec.got[0] != tt.want {
			t.Errorf("%s via %s went to %v, want %s", tt.in, tt.base, rec.got, tt.want)
		}
		if req.URL.String() != tt.in {
			t.Errorf("the caller's request was changed to %s", req.URL)
		}
	}
	for _, bad := range []string{"discord.com", "ftp://discord.com", "http://"} {
		if _, err := parseBase(bad); err == nil {
			t.Errorf("parseBase(%q) accepted it", bad)
		}
	}
}
