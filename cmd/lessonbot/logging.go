package main

import (
	"io"
	"log/slog"
	"os"

	"github.com/lessonbot/lessonbot/internal/config"
)

// newLogger makes the logger that run writes to w: the configured format
// and level, where an empty format means text on a terminal and JSON
// otherwise (a service manager or a container's log collector).
func newLogger(cfg config.Config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel()}
	format := cfg.Log.Format
	if format == "" {
		format = "json"
		if isTerminal(w) {
			format = "text"
		}
	}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// isTerminal reports whether w is a character device such as a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
