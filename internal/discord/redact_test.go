package discord

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/bwmarrin/discordgo"

	"github.com/lessonbot/lessonbot/internal/logtest"
)

const interactionToken = "aW50ZXJhY3Rpb246MTIzNDU2Nzg5OmFiY2RlZmdoaWprbG1ub3BxcnN0dXZ3eHl6"

func TestRedactor(t *testing.T) {
	r := newRedactor("Bot " + testToken)
	tests := []struct{ name, in, want string }{
		{"BotToken", "authorization: Bot " + testToken, "authorization: Bot " + Redacted},
		{"WebhookURL", `Patch "https://discord.com/api/v9/webhooks/7000/` + interactionToken + `/messages/@original": EOF`,
			`Patch "https://discord.com/api/v9/webhooks/7000/` + Redacted + `/messages/@original": EOF`},
		{"FollowupURL", "https://discord.com/api/v9/webhooks/7000/" + interactionToken + "?wait=true",
			"https://discord.com/api/v9/webhooks/7000/" + Redacted + "?wait=true"},
		{"CallbackURL", "Rate limit exceeded on https://discord.com/api/v9/interactions/5000/" + interactionToken + "/callback, retry after 1s",
			"Rate limit exceeded on https://discord.com/api/v9/interactions/5000/" + Redacted + "/callback, retry after 1s"},
		{"JSONToken", `{"op":2,"d":{"token":"anything at all","intents":1}}`, `{"op":2,"d":{"token":"` + Redacted + `","intents":1}}`},
		{"NothingSecret", "GET /api/v9/gateway: 200", "GET /api/v9/gateway: 200"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := r.String(tt.in); got != tt.want {
				t.Errorf("redacted\n%q\nwant\n%q", got, tt.want)
			}
		})
	}
}

type secretStringer struct{}

func (secretStringer) String() string { return "token=" + testToken }

func TestRedactHandler(t *testing.T) {
	logs := &logtest.Buffer{}
	r := newRedactor(testToken)
	log := slog.New(redactHandler{next: slog.NewTextHandler(logs, nil), r: r}).With("url", "/webhooks/1/"+interactionToken)
	log.WithGroup("g").Error("failed with "+testToken,
		"err", fmt.Errorf("wrapped: %w", errors.New("Bot "+testToken)),
		"s", testToken,
		"any", secretStringer{},
		slog.Group("inner", "s", "x"+testToken),
	)
	out := logs.String()
	if strings.Contains(out, testToken) || strings.Contains(out, interactionToken) {
		t.Errorf("a token is in the log line:\n%s", out)
	}
	if n := strings.Count(out, Redacted); n != 6 {
		t.Errorf("%d redactions, want 6:\n%s", n, out)
	}
}

// TestDiscordgoLogRedacted shows discordgo's own log lines going to the
// bot's logger, redacted.
func TestDiscordgoLogRedacted(t *testing.T) {
	b, logs := newSender(t, "https://discord.com", nil)
	detach := attachLogger(b)
	discordgo.Logger(discordgo.LogError, 1, "error sending identify packet to gateway %s, token %s, url %s",
		"wss://gateway.discord.gg", "Bot "+testToken, "/interactions/5000/"+interactionToken+"/callback")
	detach()
	out := logs.String()
	if !strings.Contains(out, "level=ERROR") || !strings.Contains(out, "discordgo: error sending identify packet") {
		t.Errorf("discordgo's line is not in the bot's log:\n%s", out)
	}
	if strings.Contains(out, testToken) || strings.Contains(out, interactionToken) {
		t.Errorf("a token is in discordgo's line:\n%s", out)
	}
}

// TestInteractionErrorRedacted fails the edit of an interaction's answer
// with a dropped connection, whose error names the URL with the
// interaction token: the log line has the token redacted.
func TestInteractionErrorRedacted(t *testing.T) {
	r := startBot(t, &fakeTutor{}, tutorCommands(), nil)
	r.fake.setFail(func(req fakeRequest) (int, string, http.Header) {
		if req.Method == http.MethodPatch {
			return hangUp, "", nil
		}
		return 0, "", nil
	})
	p, _, token := r.interaction(2, serverChannel, member, commandData("help"))
	r.fake.dispatch("INTERACTION_CREATE", p)
	waitFor(t, "the failed edit logged", func() bool {
		return strings.Contains(r.logs.String(), "editing an interaction's answer failed")
	})
	out := r.logs.String()
	if strings.Contains(out, token) {
		t.Errorf("the interaction token is in the log:\n%s", out)
	}
	if !strings.Contains(out, "/webhooks/"+testAppID+"/"+Redacted+"/messages/@original") {
		t.Errorf("the log line does not show the redacted URL:\n%s", out)
	}
}

// TestRunErrorRedacted refuses the gateway discovery: Run's error says so
// without the token.
func TestRunErrorRedacted(t *testing.T) {
	fake := newFakeDiscord(t)
	fake.setFail(func(req fakeRequest) (int, string, http.Header) {
		return 401, `{"message":"401: Unauthorized","code":0}`, nil
	})
	b, logs := newSender(t, fake.apiURL(), fake.srv.Client())
	err := b.Run(t.Context())
	if err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("Run = %v, want the 401", err)
	}
	if strings.Contains(err.Error()+logs.String(), testToken) {
		t.Errorf("the token leaked: %v\n%s", err, logs.String())
	}
	if reqs := fake.requests(http.MethodGet, "/gateway"); len(reqs) != 1 || reqs[0].Auth != "Bot "+testToken {
		t.Errorf("gateway discovery requests = %+v", reqs)
	}
}
