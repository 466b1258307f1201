//go:build unix

package deliverytest

import (
	"syscall"
	"testing"
	"time"
)

// CPUTime returns the user and system CPU time the process has used.
func CPUTime(tb testing.TB) time.Duration {
	tb.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
