package logtest

import (
	"strings"
	"sync"
	"testing"
)

// TestBufferConcurrentWrites writes lines from many goroutines while
// reading, and checks that every line arrives whole.
func TestBufferConcurrentWrites(t *testing.T) {
	var b Buffer
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			for range 50 {
				if _, err := b.Write([]byte("level=INFO msg=hello\n")); err != nil {
					t.Error(err)
				}
				_ = b.String()
			}
		})
	}
	wg.Wait()
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if len(lines) != 1000 {
		t.Fatalf("%d lines, want 1000", len(lines))
	}
	for i, l := range lines {
		if l != "level=INFO msg=hello" {
			t.Fatalf("line %d torn: %q", i, l)
		}
	}
}
