package discord

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/lessonbot/lessonbot/internal/chat"
	"github.com/lessonbot/lessonbot/internal/delivery"
	"github.com/lessonbot/lessonbot/internal/logtest"
	"github.com/lessonbot/lessonbot/internal/schedule"
)

// TestScheduledLessonInVirtualTime is the whole path in virtual time: a
// manager subscribes a channel at 08:00 UTC, the slot fires, the lesson
// and its questions arrive in the channel, and the answers are scored; a
// day later the member reviews a word, and exports their words.
//
// A real websocket cannot run in a synctest bubble (a goroutine blocked
// on the network is not durably blocked, so the clock would never move),
// so here the interactions come through the HTTP interactions endpoint,
// signed, and REST goes to the fake Discord in memory; the gateway path
// is covered by the tests on a real connection.
func TestScheduledLessonInVirtualTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now() // 2000-01-01 00:00 UTC in the bubble
		w := newWorld(t, time.Now)
		fake := newMemoryFake(t)
		logs := &logtest.Buffer{}
		log := slog.New(slog.NewTextHandler(logs, nil))
		ctx, cancel := context.WithCancel(t.Context())
		b, err := New(ctx, Options{
			Token: testToken, APIURL: "http://discord.test" + apiPrefix, PublicKey: publicKeyHex(),
			Commands: w.tutor.Commands(), Logger: log,
			HTTPClient: &http.Client{Transport: memoryTransport{h: fake}},
		}, w.tutor)
		if err != nil {
			t.Fatal(err)
		}
		pool := delivery.New(w.store, w.tutor, map[string]delivery.Platform{chat.Discord: {Sender: b}},
			delivery.Options{Poll: time.Hour}, log)
		sched := schedule.New(w.store, schedule.DefaultCatchUp, time.Now, log, pool.Wake)
		w.tutor.OnChange(sched.Update)
		var wg sync.WaitGroup
		wg.Go(func() { sched.Run(ctx) })
		wg.Go(func() { pool.Run(ctx) })
		defer func() { cancel(); wg.Wait() }()

		n := 0
		endpoint := b.InteractionsHandler()
		interact := func(typ int, who person, data map[string]any) answer {
			t.Helper()
			n++
			id := fmt.Sprint(510000000000000000 + n)
			token := "virtual-token-" + id
			body, _ := json.Marshal(interactionPayload(typ, serverChannel, who, data, id, token))
			rec := httptest.NewRecorder()
			endpoint.ServeHTTP(rec, signed(t, "http://lessonbot.test/interactions", body, time.Now(), testKey()))
			synctest.Wait()
			var a answer
			if err := json.Unmarshal(rec.Body.Bytes(), &a.callback); err != nil || rec.Code != 200 {
				t.Fatalf("interaction answered %d %q", rec.Code, rec.Body.String())
			}
			for _, r := range fake.requests(http.MethodPatch, "/webhooks/"+testAppID+"/"+token+"/messages/@original") {
				a.edits = append(a.edits, decodeSent(t, r))
			}
			if len(a.edits) != 1 {
				t.Fatalf("%d edits of the answer, want 1", len(a.edits))
			}
			return a
		}

		a := interact(2, manager, commandData("subscribe", option("timezone", 3, "UTC"), option("time", 3, "08:00")))
		if got := a.edits[0].Content; !strings.Contains(got, "Subscribed") {
			t.Fatalf("/subscribe: %q", got)
		}
		posts := func() []fakeRequest {
			return fake.requests(http.MethodPost, "/channels/"+serverChannel.channel+"/messages")
		}

		time.Sleep(8*time.Hour - time.Second)
		synctest.Wait()
		if p := posts(); len(p) != 0 {
			t.Fatalf("%d posts before 08:00", len(p))
		}
		time.Sleep(time.Minute)
		synctest.Wait()
		p := posts()
		if len(p) != 3 {
			t.Fatalf("%d posts after 08:00, want the lesson and 2 questions", len(p))
		}
		if want := start.Add(8 * time.Hour); !p[0].At.Equal(want) {
			t.Errorf("the lesson came at %v, want %v", p[0].At, want)
		}
		post := decodeSent(t, p[0])
		if len(post.Embeds) != 1 || post.Embeds[0].Title != fixtureTitle {
			t.Errorf("the post is %+v", post)
		}
		q1, q2 := decodeSent(t, p[1]), decodeSent(t, p[2])
		pick := func(q sent, right bool, answer string) string {
			for _, bt := range q.buttons() {
				if (bt.label == answer) == right {
					return bt.data
				}
			}
			t.Fatalf("no button for %q", answer)
			return ""
		}

		time.Sleep(20 * time.Minute)
		a = interact(3, member, map[string]any{"custom_id": pick(q1, true, rightAnswer1), "component_type": 2})
		if got := a.edits[0].Content; !strings.Contains(got, "✅") || a.callback.Data.Flags&64 == 0 {
			t.Errorf("the right answer: %q (flags %d)", got, a.callback.Data.Flags)
		}
		a = interact(3, member, map[string]any{"custom_id": pick(q2, false, rightAnswer2), "component_type": 2})
		if got := a.edits[0].Content; !strings.Contains(got, "❌") {
			t.Errorf("the wrong answer: %q", got)
		}
		a = interact(2, member, commandData("score"))
		if got := a.edits[0].Content; !strings.Contains(got, "1/2") {
			t.Errorf("/score = %q, want 1/2", got)
		}

		// The member's words are theirs alone: /review and /export answer
		// ephemerally in the server, the export as an attachment.
		time.Sleep(24 * time.Hour)
		a = interact(2, member, commandData("review"))
		if a.callback.Data.Flags&64 == 0 {
			t.Errorf("/review in a server answered publicly (flags %d)", a.callback.Data.Flags)
		}
		if got := a.edits[0]; !strings.Contains(got.Content+embedText(got), "Review 1/") || len(got.buttons()) < 3 {
			t.Errorf("/review = %+v, want the first word to review", got)
		}
		a = interact(2, member, commandData("export"))
		if a.callback.Data.Flags&64 == 0 {
			t.Errorf("/export in a server answered publicly (flags %d)", a.callback.Data.Flags)
		}
		if files := a.edits[0].files; len(files) != 1 || files[0].Name != "lessonbot-anki.txt" ||
			!strings.HasPrefix(string(files[0].Data), "#separator:tab\n#html:true\n") {
			t.Errorf("/export = %+v, want the Anki file attached", a.edits[0])
		}
		if strings.Contains(logs.String(), "level=ERROR") {
			t.Errorf("errors logged:\n%s", logs.String())
		}
	})
}

// embedText joins the titles and descriptions of a message's embeds.
func embedText(s sent) string {
	var parts []string
	for _, e := range s.Embeds {
		parts = append(parts, e.Title, e.Description)
	}
	return strings.Join(parts, "\n")
}
