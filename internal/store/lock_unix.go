//go:build unix

package store

import (
	"errors"
	"os"
	"syscall"
)

// errWouldBlock tells that another process holds the lock.
var errWouldBlock = errors.New("lock held by another process")

// tryLock takes an exclusive flock on f without waiting.
func tryLock(f *os.File) error {
	err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return errWouldBlock
	}
	return err
}
