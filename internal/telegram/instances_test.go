package telegram

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lessonbot/lessonbot/internal/chat"
	"github.com/lessonbot/lessonbot/internal/store"
	"github.com/lessonbot/lessonbot/internal/telegram/telegramtest"
)

// storeInbox is the Inbox of one instance on the store, as
// cmd/lessonbot adapts it: the store's claims bound to the bot and to the
// instance's holder id.
type storeInbox struct {
	st          *store.Store
	bot, holder string
}

func (s storeInbox) ClaimUpdate(ctx context.Context, id int64, now, until time.Time) (InboxClaim, error) {
	c, err := s.st.ClaimUpdate(ctx, s.bot, id, s.holder, until.Sub(now))
	if err != nil {
		return 0, err
	}
	switch c {
	case store.UpdateNew:
		return InboxNew, nil
	case store.UpdateDone:
		return InboxDone, nil
	case store.UpdateBusy:
		return InboxBusy, nil
	}
	return 0, fmt.Errorf("unknown claim %d", c)
}

func (s storeInbox) FinishUpdate(ctx context.Context, id int64, now time.Time) error {
	return s.st.FinishUpdate(ctx, s.bot, id, s.holder)
}

// handledLog records the commands handled, per chat, by every instance.
type handledLog struct {
	mu         sync.Mutex
	byChat     map[string][]int
	byInstance []int
}

// TestWebhookInstancesBehindLoadBalancer runs three instances, each its
// own Bot with its own webhook listener and its own store handle on one
// SQLite file (as three processes would), behind a round-robin reverse
// proxy: the URL they all register. A driver posts updates to it as
// Telegram does: 100 chats × 20 commands, each chat's strictly in turn
// (the next only after a 2xx for the one before; a non-2xx sent again
// after a pause), the chats at once; and 10 % of the updates sent again
// a little after their 2xx, as Telegram may. Every update must be handled
// exactly once, in order within its chat, and its reply posted exactly
// once.
func TestWebhookInstancesBehindLoadBalancer(t *testing.T) {
	if testing.Short() {
		t.Skip("2,000 updates through three instances")
	}
	const (
		instances = 3
		chats     = 100
		perChat   = 20
		updates   = chats * perChat
		replays   = updates / 10
	)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	api := telegramtest.NewFakeAPI(testToken)
	api.SetLatency(time.Millisecond)
	apiSrv := api.Server(t)

	// The load balancer: round robin over the instances' listeners.
	var backends []*url.URL
	var turn atomic.Uint64
	var proxied [instances]atomic.Int64
	proxy := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			i := int(turn.Add(1) % instances)
			proxied[i].Add(1)
			r.SetURL(backends[i])
			r.Out.URL.Path = r.In.URL.Path
		},
	}
	lb := httptest.NewServer(proxy)
	t.Cleanup(lb.Close)
	public := lb.URL + "/telegram/hook"

	dbPath := filepath.Join(t.TempDir(), "lessonbot.db")
	record := &handledLog{byChat: map[string][]int{}, byInstance: make([]int, instances)}
	for i := range instances {
		st, err := store.Open(ctx, dbPath)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		tut := &fakeTutor{handle: func(ctx context.Context, cmd chat.Command) []chat.Message {
			n, err := strconv.Atoi(cmd.Args)
			if err != nil {
				t.Errorf("command %q: %v", cmd.Args, err)
			}
			// A little work, so that an instance that let the chat's next
			// update in before this one ended would show it.
			time.Sleep(time.Duration(rand.IntN(3000)) * time.Microsecond)
			record.mu.Lock()
			record.byChat[cmd.Chat.ChatID] = append(record.byChat[cmd.Chat.ChatID], n)
			record.byInstance[i]++
			record.mu.Unlock()
			return textMessages("said " + cmd.Args)
		}}
		in := startInstance(t, apiSrv.URL, public, storeInbox{st: st, bot: "telegram", holder: "instance-" + strconv.Itoa(i)}, tut, 0)
		u, _ := url.Parse(in.hook)
		u.Path = ""
		backends = append(backends, u)
	}
	if u, secret, sets, _ := api.Webhook(); u != public || sets != instances || secret != deriveSecret(testToken) {
		t.Fatalf("setWebhook: url %q, %d calls, secret derived %v; want %q by each instance with the derived secret", u, sets, secret == deriveSecret(testToken), public)
	}

	// Which updates are sent again: 10 %, by chat and turn.
	rnd := rand.New(rand.NewPCG(1, 2))
	replay := map[[2]int]bool{}
	for _, k := range rnd.Perm(updates)[:replays] {
		replay[[2]int{k / perChat, k % perChat}] = true
	}

	client := &http.Client{Timeout: 30 * time.Second}
	var posts, refused, replayed, replayRefused atomic.Int64
	// deliver posts an update until it is answered 2xx, and counts the
	// answers that were not.
	deliver := func(u map[string]any, refusedCount *atomic.Int64) bool {
		for {
			posts.Add(1)
			status, _, err := api.Deliver(ctx, client, u)
			if err == nil && status/100 == 2 {
				return true
			}
			if ctx.Err() != nil {
				t.Errorf("update %v not delivered before the test's end: status %d, %v", u["update_id"], status, err)
				return false
			}
			refusedCount.Add(1)
			time.Sleep(10 * time.Millisecond)
		}
	}
	start := time.Now()
	var wg sync.WaitGroup
	for c := range chats {
		wg.Go(func() {
			user := telegramtest.FakeUser{ID: int64(2_000_000 + c), FirstName: "Reader"}
			dm := telegramtest.FakeChat{ID: user.ID, Type: "private"}
			for k := range perChat {
				u := telegramtest.MessageUpdate(api.NextUpdateID(), dm, &user, "/say "+strconv.Itoa(k))
				if !deliver(u, &refused) {
					return
				}
				if replay[[2]int{c, k}] {
					// Sent again a little later, racing the chat's next
					// updates.
					wg.Go(func() {
						time.Sleep(time.Duration(rand.IntN(30)) * time.Millisecond)
						replayed.Add(1)
						deliver(u, &replayRefused)
					})
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)

	// Every update handled once, in order, with one reply each.
	record.mu.Lock()
	defer record.mu.Unlock()
	var handled, violations, doubles, missing, badReplies int
	want := make([]int, perChat)
	for k := range want {
		want[k] = k
	}
	for c := range chats {
		id := int64(2_000_000 + c)
		seq := record.byChat[strconv.FormatInt(id, 10)]
		handled += len(seq)
		seen := map[int]bool{}
		for j, n := range seq {
			if j > 0 && n <= seq[j-1] {
				violations++
			}
			if seen[n] {
				doubles++
			}
			seen[n] = true
		}
		missing += perChat - len(seen)
		var replies []string
		for _, m := range api.SentTo(id) {
			replies = append(replies, m.Plain)
		}
		var wantReplies []string
		for k := range perChat {
			wantReplies = append(wantReplies, "said "+strconv.Itoa(k))
		}
		if !slices.Equal(replies, wantReplies) {
			badReplies++
			if badReplies <= 3 {
				t.Errorf("chat %d: replies %q, want %q", id, replies, wantReplies)
			}
		}
		if !slices.Equal(seq, want) && violations+doubles+missing <= 3 {
			t.Errorf("chat %d handled %v, want %v", id, seq, want)
		}
	}
	sent := api.SentCount()
	t.Logf("%d updates (%d chats × %d) and %d replays through %d instances in %v: %d posts, %d refused (non-2xx) and sent again, %d replays refused",
		updates, chats, perChat, replayed.Load(), instances, elapsed.Round(time.Millisecond), posts.Load(), refused.Load(), replayRefused.Load())
	t.Logf("handled %d (by instance %v), replies %d; order violations %d, double effects %d, missing %d",
		handled, record.byInstance, sent, violations, doubles, missing)
	if violations != 0 || doubles != 0 || missing != 0 || handled != updates {
		t.Errorf("handled %d of %d updates: %d order violations, %d handled twice, %d missing", handled, updates, violations, doubles, missing)
	}
	if sent != updates || badReplies != 0 {
		t.Errorf("%d replies sent (%d chats wrong), want %d: one per update", sent, badReplies, updates)
	}
	if replayed.Load() != replays {
		t.Errorf("%d replays sent, want %d", replayed.Load(), replays)
	}
	for i, n := range record.byInstance {
		if n < updates/instances/2 {
			t.Errorf("instance %d handled %d updates; the load balancer should spread them (%v)", i, n, record.byInstance)
		}
	}
	// Every update went through the inbox, once each.
	st, err := store.Open(ctx, dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if n, err := st.ForgetUpdates(ctx, -time.Hour); err != nil || n != updates {
		t.Errorf("the inbox held %d updates (%v), want %d", n, err, updates)
	}
}
