package store

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// LockedError is returned by LockDatabase when another process holds the
// database's lock.
type LockedError struct {
	// Path is the database.
	Path string
	// PID is the process that holds the lock, as it wrote in the lock
	// file; 0 when unknown.
	PID int
}

func (e *LockedError) Error() string {
	if e.PID > 0 {
		return fmt.Sprintf("the database %s is in use by another lessonbot run (pid %d)", e.Path, e.PID)
	}
	return fmt.Sprintf("the database %s is in use by another lessonbot run", e.Path)
}

// Lock is a process's exclusive hold on a database, taken by the one
// process that delivers from it (lessonbot run) for its whole life. The
// kernel lets go of it when the process ends, however it ends (SIGKILL
// included), so the process that takes it next knows that no other is
// alive and may take over the dead one's claims at once (Store.TakeOver)
// instead of waiting for their leases to run out.
type Lock struct {
	file *os.File
}

// LockPath is the lock file of the database at path: beside it, with
// ".lock" added to its name.
func LockPath(path string) string { return path + ".lock" }

// LockDatabase takes the lock of the database at path, creating the lock
// file when missing, and writes this process's id in it. When another
// process holds the lock, it returns a *LockedError naming that process.
func LockDatabase(path string) (*Lock, error) {
	f, err := os.OpenFile(LockPath(path), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("store: lock %s: %w", path, err)
	}
	if err := tryLock(f); err != nil {
		pid := readPID(f)
		f.Close()
		if errors.Is(err, errWouldBlock) {
			return nil, &LockedError{Path: path, PID: pid}
		}
		return nil, fmt.Errorf("store: lock %s: %w", path, err)
	}
	if err := writePID(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("store: lock %s: %w", path, err)
	}
	return &Lock{file: f}, nil
}

// Release lets go of the lock. The lock file stays: removing it could let
// two processes lock two different files of the same name.
func (l *Lock) Release() error {
	if l == nil || l.file == nil {
		return nil
	}
	err := l.file.Close()
	l.file = nil
	return err
}

// CheckUnlocked returns a *LockedError when a process holds the lock of the
// database at path, and nil when none does; it holds the lock only for the
// time of the check.
func CheckUnlocked(path string) error {
	if _, err := os.Stat(LockPath(path)); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	l, err := LockDatabase(path)
	if err != nil {
		return err
	}
	return l.Release()
}

func writePID(f *os.File) error {
	if err := f.Truncate(0); err != nil {
		return err
	}
	_, err := f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	return err
}

func readPID(f *os.File) int {
	buf := make([]byte, 32)
	n, _ := f.ReadAt(buf, 0)
	pid, err := strconv.Atoi(strings.TrimSpace(string(buf[:n])))
	if err != nil || pid <= 0 {
		return 0
	}
	return pid
}
