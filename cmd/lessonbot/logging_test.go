package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/lessonbot/lessonbot/internal/config"
)

func TestNewLogger(t *testing.T) {
	cfg := config.Default()
	var buf bytes.Buffer
	// Not a terminal: JSON, one object per line.
	newLogger(cfg, &buf).Info("lessonbot starting", "version", "v1.2.3")
	newLogger(cfg, &buf).Debug("hidden at the default level")
	var line map[string]any
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
		t.Fatalf("default format off a terminal is not JSON: %v: %q", err, buf.String())
	}
	if line["msg"] != "lessonbot starting" || line["version"] != "v1.2.3" {
		t.Errorf("JSON line = %v", line)
	}

	buf.Reset()
	cfg.Log = config.Log{Format: "text", Level: "warn"}
	log := newLogger(cfg, &buf)
	log.Info("below the level")
	log.Warn("rate limited", "retry_after", 3)
	if got := buf.String(); strings.Contains(got, "below the level") || !strings.Contains(got, "level=WARN msg=\"rate limited\" retry_after=3") {
		t.Errorf("text at level warn = %q", got)
	}
}
