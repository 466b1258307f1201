package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/lessonbot/lessonbot/internal/telegram/telegramtest"
)

// token is the bot token the fake Bot API and lessonbot share.
const token = "7000001:LOADTEST-token-never-printed"

// firstChat is the id of the first chat; the others follow.
const firstChat = 1_000_000_000

// quiet is how long the fan-out may send nothing before it counts as
// over.
const quiet = 10 * time.Second

// load is one run of the load: its settings.
type load struct {
	bin         string
	chats       int
	rate        float64
	latency     time.Duration
	burst       int
	replyWithin time.Duration
	slotAfter   time.Duration
	lessons     string
	fanOut      bool
	keep        string
}

// report is what a run measured.
type report struct {
	pid int
	// replies: how long after the commands each chat got its first
	// message, for the chats that got one; twice counts chats that got
	// more than one message before the slot.
	replies []time.Duration
	twice   int
	// commandCPU is the CPU time lessonbot used from the commands to the
	// last reply.
	commandCPU time.Duration

	slot        time.Time
	lessonMsgs  int
	lessonChats int
	// lessonTime runs from the slot to the last lesson message.
	lessonTime  time.Duration
	duplicates  int
	rateLimited int
	// fanOutCPU includes the quiet wait at the end, which costs lessonbot
	// next to nothing.
	fanOutCPU time.Duration
	peakRSS   int64 // bytes
}

// run starts lessonbot on a fake Bot API, sends the commands and measures.
func (l load) run(ctx context.Context, progress io.Writer) (report, error) {
	dir := l.keep
	if dir == "" {
		tmp, err := os.MkdirTemp("", "loadtest-")
		if err != nil {
			return report{}, err
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		return report{}, err
	}
	lessons, err := filepath.Abs(l.lessons)
	if err != nil {
		return report{}, err
	}
	api := newFakeTelegram(l.rate, l.burst, l.latency)
	defer api.Close()

	cfg := filepath.Join(dir, "config.yaml")
	// Only keys every lessonbot knows: an older build refuses unknown ones.
	body := fmt.Sprintf("database: %q\nlessons: %q\ntelegram:\n  api_url: %q\n  rate:\n    messages_per_second: %g\n    per_chat_per_second: 1\n",
		filepath.Join(dir, "lessonbot.db"), lessons, api.URL(), l.rate)
	if err := os.WriteFile(cfg, []byte(body), 0o644); err != nil {
		return report{}, err
	}
	logPath := filepath.Join(dir, "lessonbot.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return report{}, err
	}
	defer logFile.Close()
	cmd := exec.Command(l.bin, "run", "--config", cfg)
	cmd.Env = append(os.Environ(), "TELEGRAM_BOT_TOKEN="+token)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		return report{}, err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer stopProcess(cmd, exited)
	rep := report{pid: cmd.Process.Pid}

	// Wait for the bot to poll.
	if err := waitFor(ctx, exited, 60*time.Second, func() bool { return len(api.Offsets()) > 0 }); err != nil {
		return rep, fmt.Errorf("lessonbot did not poll (log: %s): %w", logPath, err)
	}

	pushed := time.Now().UTC()
	rep.slot = pushed.Add(l.slotAfter).Truncate(time.Minute).Add(time.Minute)
	command := fmt.Sprintf("/subscribe %s UTC", rep.slot.Format("15:04"))
	updates := make([]map[string]any, l.chats)
	for i := range updates {
		id := int64(firstChat + i)
		updates[i] = telegramtest.MessageUpdate(api.NextUpdateID(), telegramtest.FakeChat{ID: id, Type: "private"},
			&telegramtest.FakeUser{ID: id, FirstName: "Learner"}, command)
	}
	cpu0, err := cpuTime(rep.pid)
	if err != nil {
		return rep, err
	}
	api.Push(updates...)
	fmt.Fprintf(progress, "loadtest: %d commands %q sent at %s\n", l.chats, command, pushed.Format("15:04:05"))

	replyDeadline := 2 * l.replyWithin
	if !l.fanOut {
		replyDeadline = l.replyWithin
	}
	waitErr := waitFor(ctx, exited, replyDeadline, func() bool { return api.SentCount() >= l.chats })
	if rep.commandCPU, err = cpuSince(rep.pid, cpu0); err != nil {
		return rep, err
	}
	if waitErr != nil && !errors.Is(waitErr, errTimeout) {
		return rep, fmt.Errorf("waiting for the replies (log: %s): %w", logPath, waitErr)
	}
	rep.replies, rep.twice = replyTimes(api.Sent(), pushed, rep.slot)
	fmt.Fprintf(progress, "loadtest: %d of %d chats answered\n", len(rep.replies), l.chats)

	if l.fanOut {
		if err := sleepUntil(ctx, rep.slot); err != nil {
			return rep, err
		}
		cpu1, err := cpuTime(rep.pid)
		if err != nil {
			return rep, err
		}
		fmt.Fprintf(progress, "loadtest: the slot %s has come; waiting for the fan-out to end\n", rep.slot.Format("15:04"))
		last, lastChange := api.SentCount(), time.Now()
		err = waitFor(ctx, exited, 2*time.Hour, func() bool {
			if n := api.SentCount(); n != last {
				last, lastChange = n, time.Now()
			}
			return time.Since(lastChange) > quiet
		})
		if err != nil {
			return rep, fmt.Errorf("waiting for the fan-out (log: %s): %w", logPath, err)
		}
		if rep.fanOutCPU, err = cpuSince(rep.pid, cpu1); err != nil {
			return rep, err
		}
		rep.lessonMsgs, rep.lessonChats, rep.lessonTime, rep.duplicates = fanOutFigures(api.Sent(), rep.slot)
	}
	rep.rateLimited = api.RateLimited()
	rep.peakRSS, err = peakRSS(rep.pid)
	return rep, err
}

// replyTimes returns, for each chat that got a message before the slot,
// how long after pushed its first one came, sorted; and how many chats got
// more than one.
func replyTimes(sent []telegramtest.SentMessage, pushed, slot time.Time) ([]time.Duration, int) {
	first := map[string]time.Time{}
	count := map[string]int{}
	for _, m := range sent {
		if !m.At.Before(slot) {
			continue
		}
		count[m.ChatID]++
		if at, ok := first[m.ChatID]; !ok || m.At.Before(at) {
			first[m.ChatID] = m.At
		}
	}
	times := make([]time.Duration, 0, len(first))
	for _, at := range first {
		times = append(times, at.Sub(pushed))
	}
	slices.Sort(times)
	twice := 0
	for _, n := range count {
		if n > 1 {
			twice++
		}
	}
	return times, twice
}

// fanOutFigures counts the messages sent from the slot on, the chats they
// went to, the time from the slot to the last of them, and the messages
// that went twice to the same chat.
func fanOutFigures(sent []telegramtest.SentMessage, slot time.Time) (msgs, chats int, took time.Duration, duplicates int) {
	seen := map[string]bool{}
	perChat := map[string]bool{}
	var last time.Time
	for _, m := range sent {
		if m.At.Before(slot) {
			continue
		}
		msgs++
		perChat[m.ChatID] = true
		if key := m.ChatID + "\x00" + m.Text; seen[key] {
			duplicates++
		} else {
			seen[key] = true
		}
		if m.At.After(last) {
			last = m.At
		}
	}
	if msgs > 0 {
		took = last.Sub(slot)
	}
	return msgs, len(perChat), took, duplicates
}

// print writes the report, a line per figure.
func (r report) print(w io.Writer, l load) {
	fmt.Fprintf(w, "lessonbot %s (pid %d): %d chats, %g messages/s allowed (burst %d), %v per call\n", l.bin, r.pid, l.chats, l.rate, l.burst, l.latency)
	within := 0
	for _, d := range r.replies {
		if d <= l.replyWithin {
			within++
		}
	}
	fmt.Fprintf(w, "replies: %d of %d chats answered, %d within %v", len(r.replies), l.chats, within, l.replyWithin)
	if n := len(r.replies); n > 0 {
		fmt.Fprintf(w, "; p50 %v, p95 %v, last %v", round(r.replies[n/2]), round(r.replies[n*95/100]), round(r.replies[n-1]))
	}
	fmt.Fprintf(w, "; %d chats answered more than once\n", r.twice)
	fmt.Fprintf(w, "commands: lessonbot used %.1f CPU s until the last reply = %.2f CPU s per 1,000 commands answered\n",
		r.commandCPU.Seconds(), r.commandCPU.Seconds()/float64(max(1, len(r.replies)))*1000)
	if l.fanOut {
		perSecond := 0.0
		if r.lessonTime > 0 {
			perSecond = float64(r.lessonMsgs) / r.lessonTime.Seconds()
		}
		fmt.Fprintf(w, "fan-out: %d messages to %d chats in %v from the slot = %.1f messages/s = %.3f of the allowed %g/s; %d duplicates; %.2f CPU s per 10,000 messages\n",
			r.lessonMsgs, r.lessonChats, round(r.lessonTime), perSecond, perSecond/l.rate, l.rate, r.duplicates,
			r.fanOutCPU.Seconds()/float64(max(1, r.lessonMsgs))*10000)
	}
	fmt.Fprintf(w, "429s: %d; peak resident memory %.1f MiB\n", r.rateLimited, float64(r.peakRSS)/(1<<20))
}

// ok reports whether the run met its goals: every chat its reply within
// replyWithin, no 429, no duplicate, and a fan-out at 0.95 of the rate or
// more, to every chat.
func (r report) ok(l load) bool {
	if len(r.replies) != l.chats || r.replies[len(r.replies)-1] > l.replyWithin || r.twice > 0 || r.rateLimited > 0 {
		return false
	}
	if !l.fanOut {
		return true
	}
	return r.lessonChats == l.chats && r.duplicates == 0 && r.lessonTime > 0 &&
		float64(r.lessonMsgs)/r.lessonTime.Seconds() >= 0.95*l.rate
}

func round(d time.Duration) time.Duration { return d.Round(100 * time.Millisecond) }

// errTimeout tells that waitFor's condition did not come true in time.
var errTimeout = errors.New("timed out")

// waitFor polls cond every 50 ms until it is true, the process exits, ctx
// ends or limit passes.
func waitFor(ctx context.Context, exited <-chan error, limit time.Duration, cond func() bool) error {
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			return errTimeout
		}
		select {
		case err := <-exited:
			return fmt.Errorf("lessonbot exited: %v", err)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	return nil
}

func sleepUntil(ctx context.Context, t time.Time) error {
	select {
	case <-time.After(time.Until(t)):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// stopProcess stops lessonbot as an operator would (SIGTERM), and kills
// it if it has not stopped 15 s later.
func stopProcess(cmd *exec.Cmd, exited <-chan error) {
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(15 * time.Second):
		cmd.Process.Kill()
		<-exited
	}
}

// clockTick is the unit of the CPU times in /proc: USER_HZ, 100 on Linux.
const clockTick = 10 * time.Millisecond

// cpuTime returns the user and system CPU time the process has used.
func cpuTime(pid int) (time.Duration, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("CPU time of lessonbot: %w", err)
	}
	// The command name, in parentheses, may hold spaces: the fields
	// counted here start after it, with the state (field 3).
	rest := string(data[strings.LastIndexByte(string(data), ')')+1:])
	f := strings.Fields(rest)
	if len(f) < 13 {
		return 0, fmt.Errorf("CPU time of lessonbot: unexpected /proc/%d/stat", pid)
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("CPU time of lessonbot: unexpected /proc/%d/stat", pid)
	}
	return time.Duration(utime+stime) * clockTick, nil
}

func cpuSince(pid int, start time.Duration) (time.Duration, error) {
	now, err := cpuTime(pid)
	return now - start, err
}

// peakRSS returns the process's peak resident memory, in bytes.
func peakRSS(pid int) (int64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("memory of lessonbot: %w", err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("memory of lessonbot: %q", line)
			}
			return kb * 1024, nil
		}
	}
	return 0, errors.New("memory of lessonbot: no VmHWM in /proc status")
}
