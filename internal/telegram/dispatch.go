package telegram

import (
	"context"
	"sync"
	"time"
)

// recentUpdates is how many update ids the bot remembers to drop
// repeats: far more than arrive between two confirmations of the offset.
const recentUpdates = 16384

// recentIDs remembers the last n update ids seen. Telegram delivers
// updates at least once (a webhook call retried, a poll repeated after a
// restart); each is handled once.
type recentIDs struct {
	mu   sync.Mutex
	set  map[int]struct{}
	ring []int
	next int
	full bool
}

func newRecentIDs(n int) *recentIDs {
	return &recentIDs{set: make(map[int]struct{}, n), ring: make([]int, n)}
}

// add records id and tells whether it is new.
func (r *recentIDs) add(id int) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.set[id]; ok {
		return false
	}
	if r.full {
		delete(r.set, r.ring[r.next])
	}
	r.set[id] = struct{}{}
	r.ring[r.next] = id
	r.next++
	if r.next == len(r.ring) {
		r.next, r.full = 0, true
	}
	return true
}

// offsetTracker follows which updates are handled, to persist the last
// update id before which every update received has been handled: updates
// of different chats finish out of order, and the offset must not pass
// one still in progress.
type offsetTracker struct {
	mu      sync.Mutex
	pending []*pendingUpdate // in order of receipt; pending[head:] are live
	head    int
	last    int // every update received up to this one is handled
	stored  int
	changed chan struct{}
}

type pendingUpdate struct {
	id   int
	done bool
}

func newOffsetTracker() *offsetTracker {
	return &offsetTracker{changed: make(chan struct{}, 1)}
}

// start sets the offset stored before.
func (t *offsetTracker) start(stored int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.last, t.stored = stored, stored
}

func (t *offsetTracker) mark() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.last
}

// received notes an update about to be handled; call the returned func
// when it is.
func (t *offsetTracker) received(id int) func() {
	p := &pendingUpdate{id: id}
	t.mu.Lock()
	t.pending = append(t.pending, p)
	t.mu.Unlock()
	var once sync.Once
	return func() { once.Do(func() { t.finish(p) }) }
}

func (t *offsetTracker) finish(p *pendingUpdate) {
	t.mu.Lock()
	defer t.mu.Unlock()
	p.done = true
	moved := false
	for t.head < len(t.pending) && t.pending[t.head].done {
		if id := t.pending[t.head].id; id > t.last {
			t.last, moved = id, true
		}
		t.pending[t.head] = nil
		t.head++
	}
	if t.head == len(t.pending) {
		t.pending, t.head = t.pending[:0], 0
	} else if t.head > 1024 && t.head > len(t.pending)/2 {
		t.pending, t.head = append(t.pending[:0], t.pending[t.head:]...), 0
	}
	if moved {
		select {
		case t.changed <- struct{}{}:
		default:
		}
	}
}

// unsaved returns the offset to store, if it moved since it was stored.
func (t *offsetTracker) unsaved() (int, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.last, t.last > t.stored
}

func (t *offsetTracker) saved(mark int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.stored = max(t.stored, mark)
}

// dispatcher runs jobs on a fixed set of workers: the jobs of one chat in
// order, one at a time, and different chats concurrently. After each job
// a chat goes to the back of the line, so a chat with many updates, or a
// slow one, never holds up the others.
type dispatcher struct {
	mu      sync.Mutex
	hasWork *sync.Cond // signalled when a chat is ready
	room    *sync.Cond // broadcast when a job ends
	chats   map[string]*chatQueue
	ready   []*chatQueue
	queued  int // jobs not yet finished
	limit   int
	closed  bool
}

type chatQueue struct {
	key     string
	jobs    []func(context.Context)
	running bool
	ready   bool
}

// newDispatcher returns a dispatcher that stops when ctx is done; limit
// is the number of queued jobs beyond which waitRoom blocks the reader.
func newDispatcher(ctx context.Context, limit int) *dispatcher {
	d := &dispatcher{chats: map[string]*chatQueue{}, limit: limit}
	d.hasWork = sync.NewCond(&d.mu)
	d.room = sync.NewCond(&d.mu)
	context.AfterFunc(ctx, func() {
		d.mu.Lock()
		defer d.mu.Unlock()
		d.closed = true
		d.hasWork.Broadcast()
		d.room.Broadcast()
	})
	return d
}

// submit queues a job of the chat key. It never blocks.
func (d *dispatcher) submit(key string, job func(context.Context)) {
	d.mu.Lock()
	defer d.mu.Unlock()
	q := d.chats[key]
	if q == nil {
		q = &chatQueue{key: key}
		d.chats[key] = q
	}
	q.jobs = append(q.jobs, job)
	d.queued++
	if !q.running && !q.ready {
		q.ready = true
		d.ready = append(d.ready, q)
		d.hasWork.Signal()
	}
}

// waitRoom blocks while too many jobs are queued, so that the reader of
// updates slows down rather than piling them up. It returns false when
// the dispatcher has stopped.
func (d *dispatcher) waitRoom(ctx context.Context) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	for d.queued >= d.limit && !d.closed {
		d.room.Wait()
	}
	return !d.closed && ctx.Err() == nil
}

// work runs jobs until the dispatcher stops. Jobs still queued then are
// dropped: their updates are not counted as handled.
func (d *dispatcher) work(ctx context.Context) {
	for {
		d.mu.Lock()
		for len(d.ready) == 0 && !d.closed {
			d.hasWork.Wait()
		}
		if d.closed {
			d.mu.Unlock()
			return
		}
		q := d.ready[0]
		d.ready[0] = nil
		d.ready = d.ready[1:]
		q.ready, q.running = false, true
		job := q.jobs[0]
		q.jobs[0] = nil
		q.jobs = q.jobs[1:]
		d.mu.Unlock()

		job(ctx)

		d.mu.Lock()
		q.running = false
		d.queued--
		if len(q.jobs) > 0 {
			q.ready = true
			d.ready = append(d.ready, q)
			d.hasWork.Signal()
		} else {
			delete(d.chats, q.key)
		}
		d.room.Broadcast()
		d.mu.Unlock()
	}
}

// memberTTL is how long a chat administrator check is trusted.
const memberTTL = time.Minute

// memberCache remembers, per chat and user, whether the user administers
// the chat, so that a burst of commands makes one getChatMember call.
type memberCache struct {
	mu      sync.Mutex
	entries map[memberKey]memberEntry
}

type memberKey struct{ chat, user int64 }

type memberEntry struct {
	admin bool
	at    time.Time
}

func (c *memberCache) get(k memberKey, now time.Time) (admin, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[k]
	if !ok || now.Sub(e.at) >= memberTTL {
		return false, false
	}
	return e.admin, true
}

func (c *memberCache) put(k memberKey, admin bool, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= 10000 {
		for k, e := range c.entries {
			if now.Sub(e.at) >= memberTTL {
				delete(c.entries, k)
			}
		}
	}
	c.entries[k] = memberEntry{admin: admin, at: now}
}
