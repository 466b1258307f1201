package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
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

// cpuSample is the machine's CPU time so far, from /proc/stat, in
// jiffies over all CPUs: busy (user, nice, system, irq, softirq), stolen
// by the hypervisor (steal), and all of it with idle and iowait.
type cpuSample struct{ busy, steal, total int64 }

func readCPU() (cpuSample, error) {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return cpuSample{}, err
	}
	line, _, _ := strings.Cut(string(data), "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return cpuSample{}, fmt.Errorf("/proc/stat: unexpected first line %q", line)
	}
	var s cpuSample
	// user nice system idle iowait irq softirq steal (guest time is
	// counted in user already).
	for i, v := range f[1:9] {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return cpuSample{}, fmt.Errorf("/proc/stat: %q", line)
		}
		s.total += n
		switch i {
		case 3, 4:
		case 7:
			s.steal += n
		default:
			s.busy += n
		}
	}
	return s, nil
}

// busyShare returns the shares of the machine's CPU time that were busy,
// and stolen, between two samples.
func busyShare(a, b cpuSample) (busy, steal float64) {
	if b.total <= a.total {
		return 0, 0
	}
	t := float64(b.total - a.total)
	return float64(b.busy-a.busy) / t, float64(b.steal-a.steal) / t
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
	steal     float64 // share stolen by the hypervisor
	cpus      int
	wall      time.Duration
	lessonbot time.Duration // CPU time of the lessonbot processes
	loadtest  time.Duration // CPU time of this process (the fake, proxy, measures)
	stalls    []stall
}

// print writes the machine's line.
func (m machineUse) print(w io.Writer, nice int) {
	if m.wall <= 0 {
		return
	}
	all := m.wall.Seconds() * float64(m.cpus)
	share := func(d time.Duration) float64 { return 100 * d.Seconds() / all }
	rest := 100*m.busy - share(m.lessonbot) - share(m.loadtest)
	fmt.Fprintf(w, "machine, from the slot to the end: %d CPUs %.0f%% busy = lessonbot processes %.0f%% + the loadtest (fake, proxy) %.0f%% + the rest (PostgreSQL and whatever else runs on the machine) %.0f%%; stolen by the hypervisor %.1f%%",
		m.cpus, 100*m.busy, share(m.lessonbot), share(m.loadtest), rest, 100*m.steal)
	var longest stall
	for _, s := range m.stalls {
		if s.late > longest.late {
			longest = s
		}
	}
	fmt.Fprintf(w, "; the loadtest (at nice %d) ran late ≥ 50 ms %d times", nice, len(m.stalls))
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
//
// For the first seconds after a new holder took the lease, it also reads
// what the database is busy with, every 250 ms: the new sender's start.
type leaseWatch struct {
	mu   sync.Mutex
	seen []leaseState
	busy []busyAt
}

// busyAt is what the database was busy with at an instant.
type busyAt struct {
	at   time.Time
	acts []activity
}

func (w *leaseWatch) run(ctx context.Context, db *pgdb) {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	var watchUntil, lastBusy time.Time
	for {
		if l, ok, err := db.senderLeaseRow(ctx); err == nil && ok {
			w.mu.Lock()
			if n := len(w.seen); n == 0 || w.seen[n-1] != l {
				if n > 0 && w.seen[n-1].holder != l.holder {
					watchUntil = time.Now().Add(6 * time.Second)
				}
				w.seen = append(w.seen, l)
			}
			w.mu.Unlock()
		}
		if now := time.Now(); now.Before(watchUntil) && now.Sub(lastBusy) >= 250*time.Millisecond {
			lastBusy = now
			if acts, err := db.activities(ctx); err == nil {
				w.mu.Lock()
				w.busy = append(w.busy, busyAt{now, acts})
				w.mu.Unlock()
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// busyBetween sums up what the database was busy with between from and
// to: per kind of statement (state, wait, query), the most backends at
// once and the longest one had run, the most frequent first.
func (w *leaseWatch) busyBetween(from, to time.Time) []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	type kind struct{ state, wait, query string }
	most := map[kind]int{}
	longest := map[kind]time.Duration{}
	for _, b := range w.busy {
		if b.at.Before(from) || b.at.After(to) {
			continue
		}
		n := map[kind]int{}
		for _, a := range b.acts {
			k := kind{a.state, a.wait, a.query}
			n[k]++
			longest[k] = max(longest[k], a.running)
		}
		for k, c := range n {
			most[k] = max(most[k], c)
		}
	}
	kinds := make([]kind, 0, len(most))
	for k := range most {
		kinds = append(kinds, k)
	}
	slices.SortFunc(kinds, func(a, b kind) int { return most[b] - most[a] })
	var out []string
	for _, k := range kinds[:min(len(kinds), 4)] {
		out = append(out, fmt.Sprintf("%d× %s %s %v: %s", most[k], k.state, k.wait, longest[k].Round(time.Millisecond), k.query))
	}
	return out
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

// prioritize raises this process's CPU priority (nice −10, every thread:
// Linux keeps a nice value per thread, and new threads take their
// creator's), when allowed (root, or CAP_SYS_NICE). The fake Bot API in
// this process stands for Telegram's servers, which share no CPU with the
// bot: at normal priority, when a new sender and PostgreSQL fill both CPUs
// of a small machine for a moment, the fake stops reading requests for
// 100 ms or so, then reads the ones the bot sent meanwhile all at once,
// and its rate limit refuses them as a burst the bot never sent. It
// returns the nice value set, or the error.
func prioritize() (int, error) {
	const nice = -10
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return 0, err
	}
	for _, t := range tasks {
		tid, err := strconv.Atoi(t.Name())
		if err != nil {
			continue
		}
		if err := syscall.Setpriority(syscall.PRIO_PROCESS, tid, nice); err != nil {
			return 0, fmt.Errorf("setpriority: %w", err)
		}
	}
	return nice, nil
}
