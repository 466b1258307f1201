//go:build !unix

package store

import (
	"errors"
	"os"
)

// errWouldBlock tells that another process holds the lock.
var errWouldBlock = errors.New("lock held by another process")

// tryLock cannot lock on this system: the database goes unprotected, and
// a second lessonbot run on it is not refused.
func tryLock(f *os.File) error { return nil }
