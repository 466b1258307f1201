package main

import (
	"context"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/lessonbot/lessonbot/internal/lesson"
)

// reloadDelay gathers the burst of events an editor makes when it saves
// a file into one reload.
const reloadDelay = 250 * time.Millisecond

// watchLessons reloads the lessons when a file under dir changes, or when
// a value arrives on hup (SIGHUP), until ctx is done. A broken file keeps
// its last good version in service; the problem is logged.
func watchLessons(ctx context.Context, dir string, src *lesson.Source, log *slog.Logger, hup <-chan os.Signal) {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		log.Warn("cannot watch the lessons folder; reload with SIGHUP or /reload", "dir", dir, "err", err)
	} else {
		defer w.Close()
		addTree(w, dir, log)
	}
	var events <-chan fsnotify.Event
	var errs <-chan error
	if w != nil {
		events, errs = w.Events, w.Errors
	}
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case ev, ok := <-events:
			if !ok {
				events = nil
				continue
			}
			if ev.Has(fsnotify.Create) {
				if info, err := os.Stat(ev.Name); err == nil && info.IsDir() {
					addTree(w, ev.Name, log)
				}
			}
			timer.Reset(reloadDelay)
		case err, ok := <-errs:
			if !ok {
				errs = nil
				continue
			}
			log.Warn("watching the lessons folder", "err", err)
		case <-hup:
			timer.Reset(0)
		case <-timer.C:
			res := src.Reload()
			log.Info("lessons reloaded", "summary", res.Summary(), "in_service", res.Library.Len())
			logProblems(log, res.Problems)
		}
	}
}

// addTree watches dir and every folder under it.
func addTree(w *fsnotify.Watcher, dir string, log *slog.Logger) {
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			if err := w.Add(path); err != nil {
				log.Warn("cannot watch a lessons folder", "dir", path, "err", err)
			}
		}
		return nil
	})
}
