package main

import (
	"runtime"
	"strings"
	"testing"
)

// TestVersion runs lessonbot version and --version: one line naming the
// version, the commit and the Go toolchain, on stdout, exit 0.
func TestVersion(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"--version"}, {"-version"}} {
		r := run(t, args...)
		if r.code != exitOK || r.stderr != "" {
			t.Errorf("%v: exit %d, stderr %q", args, r.code, r.stderr)
		}
		if !strings.HasPrefix(r.stdout, "lessonbot ") || !strings.Contains(r.stdout, "(commit ") ||
			!strings.Contains(r.stdout, runtime.Version()) || strings.Count(r.stdout, "\n") != 1 {
			t.Errorf("%v printed %q, want one line: lessonbot VERSION (commit REV, %s)", args, r.stdout, runtime.Version())
		}
	}
	if r := run(t, "version", "extra"); r.code != exitUsage || !strings.Contains(r.stderr, "takes no arguments") {
		t.Errorf("version extra: exit %d, stderr %q", r.code, r.stderr)
	}
}
