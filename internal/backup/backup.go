// Package backup writes dated backups of the database while lessonbot run
// serves, one every interval, into a folder where it keeps the newest few.
//
// A backup is named after the time it was taken, in UTC, so that the
// names sort by time: lessonbot-20261206T080000Z.db. Only files named that
// way are counted and removed; anything else in the folder is left alone.
package backup

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"time"

	"github.com/lessonbot/lessonbot/internal/store"
)

// nameLayout is the time in a backup's name.
const nameLayout = "20060102T150405Z"

// namePattern matches the names of backups, and tempPattern the temporary
// files store.Backup leaves beside one when the process dies in the middle.
var (
	namePattern = regexp.MustCompile(`^lessonbot-[0-9]{8}T[0-9]{6}Z\.db$`)
	tempPattern = regexp.MustCompile(`^\.lessonbot-[0-9]{8}T[0-9]{6}Z\.db\.tmp-[0-9]+$`)
)

// Name returns the file name of a backup taken at t.
func Name(t time.Time) string {
	return "lessonbot-" + t.UTC().Format(nameLayout) + ".db"
}

// Options are the settings of the periodic backups.
type Options struct {
	// Dir is the folder of the backups; it is created when missing.
	Dir string
	// Every is the time between two backups; 0 turns them off.
	Every time.Duration
	// Keep is how many backups are kept: after each backup the oldest
	// beyond Keep are removed. Below 1 counts as 1.
	Keep int
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Log is where backups and their failures are told.
	Log *slog.Logger
}

// Run writes a backup of st every opts.Every until ctx ends, and returns
// at once when opts.Every is 0. The first backup is due one interval
// after the newest one already in the folder, which is at once when there
// is none or it is older than that: a run restarted more often than the
// interval still backs up every interval, and turning backups on shows
// at once that the folder can be written. A failed backup is logged and
// tried again at the next interval.
func Run(ctx context.Context, st *store.Store, opts Options) {
	if opts.Every <= 0 {
		return
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	next := now()
	if last, ok := newest(opts.Dir); ok {
		next = last.Add(opts.Every)
		// A backup dated in the future (the clock went back) delays the
		// next by one interval at most.
		if limit := now().Add(opts.Every); next.After(limit) {
			next = limit
		}
	}
	for {
		timer := time.NewTimer(next.Sub(now()))
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case <-timer.C:
		}
		at := now()
		path, err := Once(ctx, st, opts.Dir, at)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			opts.Log.Error("database backup failed", "file", path, "err", err)
		} else {
			opts.Log.Info("database backed up", "file", path)
			removed, err := Rotate(opts.Dir, opts.Keep)
			for _, p := range removed {
				opts.Log.Info("old backup removed", "file", p)
			}
			if err != nil {
				opts.Log.Error("removing old backups failed", "dir", opts.Dir, "err", err)
			}
		}
		next = at.Add(opts.Every)
	}
}

// Once writes a backup of st taken at t into dir, creating dir when
// missing, and returns its path.
func Once(ctx context.Context, st *store.Store, dir string, t time.Time) (string, error) {
	path := filepath.Join(dir, Name(t))
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return path, fmt.Errorf("backup: %w", err)
	}
	if _, err := st.Backup(ctx, path, false); err != nil {
		return path, err
	}
	return path, nil
}

// List returns the paths of the backups in dir, oldest first; none when
// dir does not exist.
func List(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	var paths []string
	for _, e := range ents { // ReadDir sorts by name: by time
		if e.Type().IsRegular() && namePattern.MatchString(e.Name()) {
			paths = append(paths, filepath.Join(dir, e.Name()))
		}
	}
	return paths, nil
}

// newest returns the time of the newest backup in dir, from its name.
func newest(dir string) (time.Time, bool) {
	paths, err := List(dir)
	if err != nil || len(paths) == 0 {
		return time.Time{}, false
	}
	name := filepath.Base(paths[len(paths)-1])
	t, err := time.Parse(nameLayout, name[len("lessonbot-"):len(name)-len(".db")])
	return t, err == nil
}

// Rotate removes the oldest backups in dir beyond the newest keep (at
// least one is kept), and the temporary files of backups that never
// finished; it returns the paths it removed. A missing dir has none.
func Rotate(dir string, keep int) ([]string, error) {
	paths, err := List(dir)
	if err != nil {
		return nil, err
	}
	var doomed []string
	if extra := len(paths) - max(keep, 1); extra > 0 {
		doomed = paths[:extra]
	}
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	for _, e := range ents {
		if e.Type().IsRegular() && tempPattern.MatchString(e.Name()) {
			doomed = append(doomed, filepath.Join(dir, e.Name()))
		}
	}
	var removed []string
	var errs []error
	for _, p := range doomed {
		if err := os.Remove(p); err != nil {
			errs = append(errs, err)
			continue
		}
		removed = append(removed, p)
	}
	if err := errors.Join(errs...); err != nil {
		return removed, fmt.Errorf("backup: %w", err)
	}
	return removed, nil
}
