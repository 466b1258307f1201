package tutor

import "sync"

// chatLocks serializes the commands of each chat. A command reads the
// chat's row, changes a setting and writes the row back, so two commands
// handled at once in one chat (two admins, a double tap, an adapter that
// handles a chat's interactions concurrently) could otherwise each write
// over the other's change. Commands of different chats do not wait for
// each other.
type chatLocks struct {
	mu    sync.Mutex
	locks map[string]*chatLock
}

// chatLock is one chat's lock and how many commands hold or wait for it,
// so that it is dropped when none does.
type chatLock struct {
	mu    sync.Mutex
	users int
}

// lock waits until no other command of the chat key runs, and returns the
// function that lets the next one run.
func (l *chatLocks) lock(key string) (unlock func()) {
	l.mu.Lock()
	if l.locks == nil {
		l.locks = make(map[string]*chatLock)
	}
	cl := l.locks[key]
	if cl == nil {
		cl = &chatLock{}
		l.locks[key] = cl
	}
	cl.users++
	l.mu.Unlock()

	cl.mu.Lock()
	return func() {
		cl.mu.Unlock()
		l.mu.Lock()
		cl.users--
		if cl.users == 0 {
			delete(l.locks, key)
		}
		l.mu.Unlock()
	}
}
