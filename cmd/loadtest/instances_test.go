package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lessonbot/lessonbot/internal/pgtest"
)

// TestInstances is issue 16's multi-instance fault test: three lessonbot
// run processes on one PostgreSQL behind a round-robin proxy, the fake
// Telegram in webhook mode enforcing 300 messages/s, 10,000 chats due in
// one slot, the sender lease's holder SIGKILLed 10 times during the
// fan-out. The instances mode asserts the goals: ≥ 0.95 of the rate while
// a sender is active, 0 429s, 0 duplicates, every delivery terminal,
// nothing lost, each failover ≤ 17 s, unknown messages ≤ those in flight
// at the kills, and exactly one deliveries row per due chat from three
// schedulers. It takes about four minutes, on a machine it has to itself:
// its timing goals (the rate, no 429) suffer from other work beside it.
// LOADTEST_KEEP=DIR keeps its configurations and logs.
func TestInstances(t *testing.T) {
	if testing.Short() {
		t.Skip("runs for minutes: three lessonbot processes, 10,000 chats, 10 kills")
	}
	url := pgtest.Database(t)
	bin := filepath.Join(t.TempDir(), "lessonbot")
	build := exec.Command("go", "build", "-o", bin, "github.com/lessonbot/lessonbot/cmd/lessonbot")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	timeout := 20 * time.Minute
	if d, ok := t.Deadline(); ok {
		timeout = time.Until(d) - 30*time.Second
	}
	args := []string{"instances", "-bin", bin, "-database", url, "-lessons", "../../lessons",
		"-instances", "3", "-chats", "10000", "-rate", "300", "-kills", "10", "-failover", "17s",
		"-timeout", timeout.String()}
	if dir := os.Getenv("LOADTEST_KEEP"); dir != "" {
		// The configurations, the logs of every process and the send log.
		args = append(args, "-keep", dir)
	}
	var stdout bytes.Buffer
	code := run(context.Background(), args, &stdout, logWriter{t: t})
	t.Logf("report:\n%s", stdout.String())
	if code != 0 {
		t.Errorf("loadtest instances exited %d: goals missed (see the MISSED lines above)", code)
	}
}

// logWriter passes the progress lines to t.Log as they come.
type logWriter struct{ t *testing.T }

func (w logWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
