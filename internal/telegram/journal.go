package telegram

import (
	"context"
	"encoding/json"
	"sort"
	"sync"
	"time"
)

// JournalKey is the State key of the updates received but not yet
// handled. Telegram forgets an update once the bot has received it (the
// next getUpdates confirms it; a webhook's 200 does), so the bot writes
// what it received here first: after a crash or a stop it handles them
// again, and updates stay at-least-once.
const JournalKey = "telegram.pending"

// journal holds the received updates that may not be handled yet.
type journal struct {
	mu      sync.Mutex
	updates map[int]json.RawMessage
}

// updateID reads an update's id.
func updateID(raw json.RawMessage) (int, bool) {
	var head struct {
		UpdateID *int `json:"update_id"`
	}
	if json.Unmarshal(raw, &head) != nil || head.UpdateID == nil {
		return 0, false
	}
	return *head.UpdateID, true
}

// record adds updates to the journal, forgets those at or below the last
// update handled, and writes it; the updates may then be confirmed to
// Telegram.
func (b *Bot) record(ctx context.Context, updates []json.RawMessage) {
	j := &b.journal
	j.mu.Lock()
	if j.updates == nil {
		j.updates = map[int]json.RawMessage{}
	}
	for _, u := range updates {
		if id, ok := updateID(u); ok {
			j.updates[id] = u
		}
	}
	mark := b.offsets.mark()
	list := make([]json.RawMessage, 0, len(j.updates))
	for id, u := range j.updates {
		if id <= mark {
			delete(j.updates, id)
			continue
		}
		list = append(list, u)
	}
	j.mu.Unlock()
	data, err := json.Marshal(list)
	if err != nil {
		b.log.Error("encoding the received updates failed", "err", err)
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := b.state.SetValue(ctx, JournalKey, string(data)); err != nil {
		b.log.Error("saving the received updates failed; a crash now could lose them", "err", err)
	}
}

// replay handles the updates a previous run received but may not have
// handled, oldest first.
func (b *Bot) replay(ctx context.Context) {
	v, err := b.state.Value(ctx, JournalKey)
	if err != nil {
		return // nothing saved yet
	}
	var list []json.RawMessage
	if err := json.Unmarshal([]byte(v), &list); err != nil {
		b.log.Warn("the saved received updates do not decode; skipping them", "err", err)
		return
	}
	mark := b.offsets.mark()
	sort.Slice(list, func(i, k int) bool {
		a, _ := updateID(list[i])
		c, _ := updateID(list[k])
		return a < c
	})
	n := 0
	for _, u := range list {
		if id, ok := updateID(u); ok && id > mark {
			b.accept(ctx, u)
			n++
		}
	}
	if n > 0 {
		b.log.Info("handling updates received before the last stop", "count", n)
	}
}
