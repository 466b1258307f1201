package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// stallWatch notices when the loadtest process itself could not run on
// time: a ticker that should fire every tick, and the times it was late by
// more than limit. The fake Bot API lives in this process, so a stall of
// it holds back its reading of requests (they then arrive all at once, a
// burst its rate limit may refuse) and its answers.
type stallWatch struct {
	mu     sync.Mutex
	stalls []stall
}

// stall is a time the process ran late.
type stall struct {
	at   time.Time
	late time.Duration
}

// watchStalls runs until ctx ends.
func (s *stallWatch) run(ctx context.Context, tick, limit time.Duration) {
	t := time.NewTicker(tick)
	defer t.Stop()
	last := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			if late := now.Sub(last) - tick; late > limit {
				s.mu.Lock()
				s.stalls = append(s.stalls, stall{at: last.Add(tick), late: late})
				s.mu.Unlock()
			}
			last = now
		}
	}
}

// since returns the stalls from t on.
func (s *stallWatch) since(t time.Time) []stall {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []stall
	for _, st := range s.stalls {
		if !st.at.Before(t) {
			out = append(out, st)
		}
	}
	return out
}

// cpuSample is the machine's CPU time so far, from /proc/stat: busy and
// total jiffies over all CPUs.
type cpuSample struct{ busy, total int64 }

func readCPU() (cpuSample, error) {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return cpuSample{}, err
	}
	line, _, _ := strings.Cut(string(data), "\n")
	f := strings.Fields(line)
	if len(f) < 8 || f[0] != "cpu" {
		return cpuSample{}, fmt.Errorf("/proc/stat: unexpected first line %q", line)
	}
	var s cpuSample
	for i, v := range f[1:] {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return cpuSample{}, fmt.Errorf("/proc/stat: %q", line)
		}
		s.total += n
		if i != 3 && i != 4 { // idle and iowait
			s.busy += n
		}
	}
	return s, nil
}

// busyShare returns the share of the machine's CPU time that was busy
// between two samples.
func busyShare(a, b cpuSample) float64 {
	if b.total <= a.total {
		return 0
	}
	return float64(b.busy-a.busy) / float64(b.total-a.total)
}

// selfCPU returns the CPU time this process has used.
func selfCPU() time.Duration {
	t, _ := cpuTime(os.Getpid())
	return t
}

// machineUse is what the machine did from the slot to the end of the
// fan-out.
type machineUse struct {
	busy      float64 // share of all CPUs' time busy
	cpus      int
	wall      time.Duration
	lessonbot time.Duration // CPU time of the lessonbot processes
	loadtest  time.Duration // CPU time of this process (the fake, proxy, measures)
	stalls    []stall
}

// print writes the machine's line.
func (m machineUse) print(w io.Writer) {
	if m.wall <= 0 {
		return
	}
	all := m.wall.Seconds() * float64(m.cpus)
	share := func(d time.Duration) float64 { return 100 * d.Seconds() / all }
	rest := 100*m.busy - share(m.lessonbot) - share(m.loadtest)
	fmt.Fprintf(w, "machine, from the slot to the end: %d CPUs %.0f%% busy = lessonbot processes %.0f%% + the loadtest (fake, proxy) %.0f%% + the rest (PostgreSQL and whatever else runs on the machine) %.0f%%",
		m.cpus, 100*m.busy, share(m.lessonbot), share(m.loadtest), rest)
	var longest stall
	for _, s := range m.stalls {
		if s.late > longest.late {
			longest = s
		}
	}
	fmt.Fprintf(w, "; the loadtest ran late ≥ 50 ms %d times", len(m.stalls))
	if len(m.stalls) > 0 {
		fmt.Fprintf(w, " (longest %v at %s)", longest.late.Round(time.Millisecond), longest.at.Format("15:04:05.000"))
	}
	fmt.Fprintln(w)
}

// leaseTTL is lessonbot's lease TTL (internal/lease.TTL): a lease's
// expires_at is its last renewal plus this.
const leaseTTL = 15 * time.Second

// leaseWatch follows the sender lease's row: every change (a renewal, a
// new holder), as read every 100 ms.
type leaseWatch struct {
	mu   sync.Mutex
	seen []leaseState
}

func (w *leaseWatch) run(ctx context.Context, db *pgdb) {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		if l, ok, err := db.senderLeaseRow(ctx); err == nil && ok {
			w.mu.Lock()
			if n := len(w.seen); n == 0 || w.seen[n-1] != l {
				w.seen = append(w.seen, l)
			}
			w.mu.Unlock()
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// rows returns the changes seen.
func (w *leaseWatch) rows() []leaseState {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]leaseState(nil), w.seen...)
}

// leaseAtKill splits a failover by the lease's rows: how long the killed
// holder's lease still ran after the kill (its last renewal's expiry),
// and when the next holder took the lease.
func leaseAtKill(rows []leaseState, holder string, at time.Time) (expires, taken time.Time, next string) {
	for _, r := range rows {
		// A killed holder renews no more: its last row is its last
		// renewal, whenever it was read.
		if r.holder == holder && r.expires.After(expires) {
			expires = r.expires
		}
		if r.holder != holder && r.acquired.After(at) && (taken.IsZero() || r.acquired.Before(taken)) {
			taken, next = r.acquired, r.holder
		}
	}
	return expires, taken, next
}

// renewalGaps returns the longest time between two successive renewals
// of the lease by one holder (by the changes of expires_at), and that
// holder.
func renewalGaps(rows []leaseState) (longest time.Duration, who string) {
	last := map[string]time.Time{}
	for _, r := range rows {
		renewed := r.expires.Add(-leaseTTL)
		if prev, ok := last[r.holder]; ok && renewed.Sub(prev) > longest {
			longest, who = renewed.Sub(prev), r.holder
		}
		last[r.holder] = renewed
	}
	return longest, who
}
