// Package ratelimit keeps one platform's message budget: the rate over all
// chats, each chat's own rate, each group's cap per minute, and the pauses
// the platform asks for (a 429's retry_after). Every message the bot sends
// on that platform takes its turn here, replies to commands and scheduled
// lessons alike, so that together they stay within the limits the platform
// enforces; replies are served first, because a person is waiting for them.
//
// A turn is granted by one dispatcher goroutine per budget, which runs only
// while someone waits: it grants the oldest waiting reply, else the oldest
// waiting scheduled message, once the overall spacing allows and no pause
// is in force. A waiter whose chat has had a message too recently (or, in a
// group, too many in the last minute) is set aside until its chat is ready,
// and the next waiter is served meanwhile: one busy chat never holds up
// the others. Each chat's limits are checked against the times turns were
// actually granted, so they hold exactly however long a waiter queued.
package ratelimit

import (
	"container/heap"
	"context"
	"sync"
	"time"

	"github.com/lessonbot/lessonbot/internal/chat"
)

// Limits are how fast a platform lets the bot post. Zero means no limit.
type Limits struct {
	// PerSecond caps the messages per second over all chats.
	PerSecond float64
	// PerChatPerSecond caps the messages per second to one chat.
	PerChatPerSecond float64
	// PerGroupPerMinute caps the messages in any one minute to one group
	// or channel (not to a private chat).
	PerGroupPerMinute float64
}

// Priority orders the waiters of a budget.
type Priority int

const (
	// Scheduled is a message of a scheduled delivery: served after every
	// waiting reply.
	Scheduled Priority = iota
	// Reply is an answer to something a person just did.
	Reply
	priorities
)

// idleChat is the least time a chat's history is kept after its last
// turn; longer when its own limits reach further back.
const idleChat = 2 * time.Minute

// catchUp is how late the dispatcher may grant a turn and still owe the
// turns after it on their schedule: at 1,000 turns a second, up to five
// can follow at once after a late wake, a burst every platform allows.
const catchUp = 5 * time.Millisecond

// Budget is one platform's message budget. It is safe for concurrent use.
// The zero value is not usable; make one with New.
type Budget struct {
	// interval spaces the turns over all chats; 0 means no overall limit.
	interval time.Duration
	// chatInterval spaces the turns of one chat; 0 means no limit.
	chatInterval time.Duration
	// groupPerMinute caps the turns of a group in any minute; 0 means no
	// limit.
	groupPerMinute int
	// forget is how long a chat's history is kept after its last turn.
	forget time.Duration

	mu          sync.Mutex
	next        time.Time // the earliest time of the next turn
	pausedUntil time.Time
	queues      [priorities]queue
	// setAside holds waiters whose chat was not ready at their turn, by
	// the time it will be.
	setAside  waitHeap
	chats     map[string]*chatHistory
	lastSweep time.Time
	// dispatching tells that the dispatcher goroutine runs; kick wakes it
	// early.
	dispatching bool
	kick        chan struct{}
}

// chatHistory is what a chat's limits are checked against.
type chatHistory struct {
	last time.Time // the last turn granted
	// recent are the turns granted in the last minute, oldest first; kept
	// for groups only.
	recent []time.Time
}

// New returns a budget that enforces l.
func New(l Limits) *Budget {
	b := &Budget{chats: map[string]*chatHistory{}, kick: make(chan struct{}, 1), forget: idleChat}
	if l.PerSecond > 0 {
		b.interval = time.Duration(float64(time.Second) / l.PerSecond)
	}
	if l.PerChatPerSecond > 0 {
		b.chatInterval = time.Duration(float64(time.Second) / l.PerChatPerSecond)
		b.forget = max(b.forget, 2*b.chatInterval)
	}
	if l.PerGroupPerMinute >= 1 {
		b.groupPerMinute = int(l.PerGroupPerMinute)
	}
	return b
}

// Interval is the spacing of turns over all chats; 0 when the overall rate
// is not limited.
func (b *Budget) Interval() time.Duration { return b.interval }

// Reply waits for a turn to send a reply to the chat at to.
func (b *Budget) Reply(ctx context.Context, to chat.Address, kind chat.Kind) error {
	return b.Wait(ctx, to, kind, Reply)
}

// Wait blocks until a message to the chat at to may be sent: within the
// overall rate, the chat's own limits, and after any pause. It returns
// ctx's error if ctx ends first; the turn is then not taken.
func (b *Budget) Wait(ctx context.Context, to chat.Address, kind chat.Kind, p Priority) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	w := &waiter{chat: to.Key(), group: kind != chat.Private, prio: p, granted: make(chan struct{}), index: -1}
	b.mu.Lock()
	b.queues[p].push(w)
	if !b.dispatching {
		b.dispatching = true
		go b.dispatch()
	} else {
		b.wakeLocked()
	}
	b.mu.Unlock()
	select {
	case <-w.granted:
		return nil
	case <-ctx.Done():
		b.mu.Lock()
		defer b.mu.Unlock()
		if w.state == granted {
			// Granted meanwhile: the turn goes unused, and is not given
			// back, for the chat's history already counts it.
			return ctx.Err()
		}
		w.state = abandoned
		if w.index >= 0 {
			heap.Remove(&b.setAside, w.index)
		}
		return ctx.Err()
	}
}

// ChatReadyAt returns when the chat at to may next have a turn as far as
// its own limits go, or a time not after now when it may at once. It
// reserves nothing: a caller that has other chats to serve meanwhile can
// come back then instead of waiting.
func (b *Budget) ChatReadyAt(to chat.Address, kind chat.Kind) time.Time {
	b.mu.Lock()
	defer b.mu.Unlock()
	h := b.chats[to.Key()]
	if h == nil {
		return time.Time{}
	}
	return b.readyAt(h, kind != chat.Private)
}

// Pause makes every turn wait until d from now, as the platform asked
// (a 429 with retry_after). A shorter pause than one in force changes
// nothing.
func (b *Budget) Pause(d time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if until := time.Now().Add(d); until.After(b.pausedUntil) {
		b.pausedUntil = until
	}
}

// PausedFor returns how long the pause in force still lasts, or 0.
func (b *Budget) PausedFor() time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	return max(0, time.Until(b.pausedUntil))
}

// wakeLocked wakes the dispatcher if it sleeps; b.mu is held.
func (b *Budget) wakeLocked() {
	select {
	case b.kick <- struct{}{}:
	default:
	}
}

// dispatch grants turns until no one waits, then returns.
func (b *Budget) dispatch() {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		b.mu.Lock()
		wait, done := b.grantLocked(time.Now())
		if done {
			b.dispatching = false
			b.mu.Unlock()
			return
		}
		b.mu.Unlock()
		if wait <= 0 {
			continue
		}
		timer.Reset(wait)
		select {
		case <-timer.C:
		case <-b.kick:
			timer.Stop() // since Go 1.23 a stopped timer leaves nothing to drain
		}
	}
}

// grantLocked grants one turn if one may be granted at now, and otherwise
// says how long to wait before trying again; done is true when no one
// waits. b.mu is held.
func (b *Budget) grantLocked(now time.Time) (wait time.Duration, done bool) {
	b.sweepLocked(now)
	// Waiters set aside whose chat is ready go back to the front of their
	// queue, in the order they became ready: they were there first.
	var back []*waiter
	for b.setAside.Len() > 0 && !b.setAside[0].ready.After(now) {
		w := heap.Pop(&b.setAside).(*waiter)
		w.state = queued
		back = append(back, w)
	}
	for i := len(back) - 1; i >= 0; i-- {
		b.queues[back[i].prio].pushFront(back[i])
	}
	if b.queues[Reply].empty() && b.queues[Scheduled].empty() {
		if b.setAside.Len() == 0 {
			return 0, true
		}
		return b.setAside[0].ready.Sub(now), false
	}
	at := b.next
	if b.pausedUntil.After(at) {
		at = b.pausedUntil
	}
	if at.After(now) {
		return at.Sub(now), false
	}
	for p := Reply; p >= Scheduled; p-- {
		for !b.queues[p].empty() {
			w := b.queues[p].pop()
			h := b.history(w.chat)
			if ready := b.readyAt(h, w.group); ready.After(now) {
				w.ready, w.state = ready, setAside
				heap.Push(&b.setAside, w)
				continue
			}
			b.grant(w, h, at, now)
			return 0, false
		}
	}
	// Every waiter was set aside: wait for the first chat to be ready.
	return b.setAside[0].ready.Sub(now), false
}

// grant gives w its turn at now; at is when the turn was due.
func (b *Budget) grant(w *waiter, h *chatHistory, at, now time.Time) {
	w.state = granted
	close(w.granted)
	h.last = now
	if w.group && b.groupPerMinute > 0 {
		h.recent = append(h.recent, now)
		if len(h.recent) > b.groupPerMinute {
			h.recent = h.recent[len(h.recent)-b.groupPerMinute:]
		}
	}
	if b.interval > 0 {
		// Keep to the schedule of turns, so that the dispatcher's own
		// lateness in waking (a timer fires up to a millisecond or so
		// late) does not lower the rate: the turns it owes follow at once,
		// a few at most (catchUp). After an idle spell, start afresh from
		// now, with no burst saved up.
		if now.Sub(at) < max(b.interval, catchUp) {
			b.next = at.Add(b.interval)
		} else {
			b.next = now.Add(b.interval)
		}
	}
}

// readyAt returns when a chat with history h may have its next turn.
func (b *Budget) readyAt(h *chatHistory, group bool) time.Time {
	var ready time.Time
	if b.chatInterval > 0 && !h.last.IsZero() {
		ready = h.last.Add(b.chatInterval)
	}
	if group && b.groupPerMinute > 0 && len(h.recent) >= b.groupPerMinute {
		if t := h.recent[len(h.recent)-b.groupPerMinute].Add(time.Minute); t.After(ready) {
			ready = t
		}
	}
	return ready
}

// history returns the history of a chat, making it on first use.
func (b *Budget) history(key string) *chatHistory {
	h := b.chats[key]
	if h == nil {
		h = &chatHistory{}
		b.chats[key] = h
	}
	return h
}

// sweepLocked forgets, now and then, the chats whose last turn is too old
// to matter to their limits.
func (b *Budget) sweepLocked(now time.Time) {
	if now.Sub(b.lastSweep) < b.forget/2 {
		return
	}
	b.lastSweep = now
	for k, h := range b.chats {
		if now.Sub(h.last) > b.forget {
			delete(b.chats, k)
		}
	}
}

// waiter is one caller of Wait.
type waiter struct {
	chat    string
	group   bool
	prio    Priority
	granted chan struct{}
	state   waiterState
	// ready is when its chat may have a turn, while it is set aside.
	ready time.Time
	// index is its place in the set-aside heap, -1 when not there.
	index int
}

type waiterState int

const (
	queued waiterState = iota
	setAside
	granted
	abandoned
)

// queue is a FIFO of waiters. Abandoned waiters stay in it until they
// reach the front, where pop skips them.
type queue struct {
	items []*waiter
	head  int
}

func (q *queue) push(w *waiter) { q.items = append(q.items, w) }

// pushFront puts w before every other waiter.
func (q *queue) pushFront(w *waiter) {
	if q.head > 0 {
		q.head--
		q.items[q.head] = w
		return
	}
	q.items = append([]*waiter{w}, q.items...)
}

// empty reports whether no live waiter is left, dropping abandoned ones
// from the front.
func (q *queue) empty() bool {
	for q.head < len(q.items) && q.items[q.head].state == abandoned {
		q.items[q.head] = nil
		q.head++
	}
	if q.head == len(q.items) {
		q.items, q.head = q.items[:0], 0
		return true
	}
	return false
}

// pop removes the first live waiter; call it only after empty is false.
func (q *queue) pop() *waiter {
	w := q.items[q.head]
	q.items[q.head] = nil
	q.head++
	if q.head > 1024 && q.head*2 > len(q.items) {
		q.items = append(q.items[:0], q.items[q.head:]...)
		q.head = 0
	}
	return w
}

// waitHeap orders set-aside waiters by the time their chat is ready.
type waitHeap []*waiter

func (h waitHeap) Len() int           { return len(h) }
func (h waitHeap) Less(i, j int) bool { return h[i].ready.Before(h[j].ready) }
func (h waitHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *waitHeap) Push(x any) {
	w := x.(*waiter)
	w.index = len(*h)
	*h = append(*h, w)
}
func (h *waitHeap) Pop() any {
	old := *h
	w := old[len(old)-1]
	old[len(old)-1] = nil
	w.index = -1
	*h = old[:len(old)-1]
	return w
}
