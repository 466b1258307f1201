package telegram

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"regexp"
	"strconv"
	"time"
)

// InboxClaim is what Inbox.ClaimUpdate found of an update.
type InboxClaim int

const (
	InboxNew  InboxClaim = iota // the caller is to handle it now
	InboxDone                   // handled already: answer 200, do nothing
	InboxBusy                   // another instance handles it now: ask Telegram to send it again later
)

// Inbox records the updates handled by every instance sharing a database,
// so that an update Telegram sends again, to whichever instance, is
// handled once; the store's ClaimUpdate and FinishUpdate, bound to one
// instance's holder id, satisfy it.
type Inbox interface {
	// ClaimUpdate claims update id until `until`; a claim whose `until`
	// passed without FinishUpdate may be claimed again (its holder died).
	ClaimUpdate(ctx context.Context, id int64, now, until time.Time) (InboxClaim, error)
	// FinishUpdate records that the update claimed was handled.
	FinishUpdate(ctx context.Context, id int64, now time.Time) error
}

// webhookDeadline bounds the handling of an update with an Inbox, and is
// how long its claim lasts: an instance that has not handled it by then
// answers 500, and whichever instance Telegram sends it to next may claim
// it. Well under the minute Telegram waits for an answer.
const webhookDeadline = 8 * time.Second

// busyRetry is the Retry-After of a 503 for an update another instance is
// handling.
const busyRetry = 1 * time.Second

// secretLabel is the message of the HMAC that derives the webhook secret
// from the token.
const secretLabel = "lessonbot webhook secret"

// deriveSecret returns the webhook secret of a bot that was given none:
// every instance with the token computes the same, and the secret tells
// nothing of the token (an HMAC keyed by it). 64 hex digits are within
// Telegram's 1 to 256 characters of [A-Za-z0-9_-].
func deriveSecret(token string) string {
	mac := hmac.New(sha256.New, []byte(token))
	mac.Write([]byte(secretLabel))
	return hex.EncodeToString(mac.Sum(nil))
}

var secretPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,256}$`)

// validSecret tells whether Telegram takes s as a secret_token.
func validSecret(s string) bool { return secretPattern.MatchString(s) }

// inbox tells whether the webhook handles updates through Options.Inbox.
func (b *Bot) inbox() bool { return b.opts.Inbox != nil && b.opts.WebhookURL != "" }

// warnJournal says so when a run without an Inbox left updates received
// but not handled: with an Inbox they are not replayed, since every
// instance would replay them.
func (b *Bot) warnJournal(ctx context.Context) {
	v, err := b.state.Value(ctx, JournalKey)
	if err != nil {
		return
	}
	var list []json.RawMessage
	if json.Unmarshal([]byte(v), &list) != nil {
		return
	}
	mark, n := b.offsets.mark(), 0
	for _, u := range list {
		if id, ok := updateID(u); ok && id > mark {
			n++
		}
	}
	if n > 0 {
		b.log.Warn("updates received by a run without an inbox were not handled, and are not with one", "count", n)
	}
}

// serveClaimed answers a webhook call with an Inbox, whose body is an
// update in JSON: 200 once the update is handled, by this call or an
// earlier one on any instance; 503 with Retry-After while another
// instance handles it; 500 when the handling failed or ran past the
// deadline, so that Telegram sends it again. Telegram sends a chat's next
// update only after a 2xx for the one before, so answering after the
// handling keeps each chat's updates in order across instances.
func (b *Bot) serveClaimed(ctx context.Context, w http.ResponseWriter, body []byte, inflight *gate) {
	id, ok := updateID(body)
	if !ok {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	u, ok := b.decode(body)
	if !ok || u.idle() {
		// Nothing to do, now or on another try: no claim.
		w.WriteHeader(http.StatusOK)
		return
	}
	deadline := b.opts.handleDeadline
	hctx, cancel := context.WithTimeout(ctx, deadline)
	defer cancel()
	now := time.Now()
	claim, err := b.opts.Inbox.ClaimUpdate(hctx, int64(id), now, now.Add(deadline))
	if err != nil {
		if ctx.Err() == nil {
			b.log.Error("claiming an update failed; Telegram will send it again", "update_id", id, "err", err)
		}
		http.Error(w, "internal server error", http.StatusInternalServerError)
		return
	}
	switch claim {
	case InboxDone:
		b.log.Debug("dropping a repeated update", "update_id", id)
		w.WriteHeader(http.StatusOK)
		return
	case InboxBusy:
		b.log.Debug("another instance handles the update", "update_id", id)
		w.Header().Set("Retry-After", strconv.Itoa(int(busyRetry/time.Second)))
		http.Error(w, "busy", http.StatusServiceUnavailable)
		return
	case InboxNew:
	default:
		b.log.Error("the inbox answered an unknown claim", "update_id", id, "claim", int(claim))
		http.Error(w, "internal server error", http.StatusInternalServerError)
		return
	}

	// The handling runs on its own goroutine so that the answer leaves at
	// the deadline even if the tutor does not heed its context; the gate
	// waits for it at shutdown.
	result := make(chan error, 1)
	if !inflight.enter() {
		http.Error(w, "stopping", http.StatusServiceUnavailable)
		return
	}
	go func() {
		defer inflight.leave()
		err := b.handle(hctx, u)
		if err == nil {
			err = hctx.Err()
		}
		result <- err
	}()
	select {
	case err = <-result:
	case <-hctx.Done():
		select {
		case err = <-result:
		default:
			err = hctx.Err()
		}
	}
	if err != nil {
		if ctx.Err() == nil {
			b.log.Warn("handling an update failed; Telegram will send it again", "update_id", id, "deadline", deadline, "err", err)
		}
		http.Error(w, "internal server error", http.StatusInternalServerError)
		return
	}
	fctx, cancelFinish := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancelFinish()
	if err := b.opts.Inbox.FinishUpdate(fctx, int64(id), time.Now()); err != nil {
		// Handled all the same: a 200 keeps Telegram from sending it
		// again. Only a repeat after the claim ran out would be handled
		// twice.
		b.log.Error("recording an update handled failed", "update_id", id, "err", err)
	}
	w.WriteHeader(http.StatusOK)
}
