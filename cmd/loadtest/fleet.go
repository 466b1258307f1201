package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// fleet runs several lessonbot processes, each with its own configuration
// file, and starts, kills and stops them by their index. An instance keeps
// its configuration (and so its ports) across restarts; each process it
// runs writes its own log, NAME-GEN.log.
type fleet struct {
	bin string
	dir string
	env []string
	// args returns the arguments of process gen (1, 2...) of instance i,
	// and may write its configuration.
	args func(i, gen int) ([]string, error)

	// renice, when not 0, is added to the processes' nice value: they
	// start at the loadtest's own otherwise (see prioritize).
	renice int

	mu    sync.Mutex
	insts []*member
}

// member is one instance of the fleet and its current process.
type member struct {
	name  string
	ready string // a URL that answers 200 once the process is ready
	gen   int    // processes started, the current one included
	cmd   *exec.Cmd
	// exited receives the process's exit once; it is closed after.
	exited  chan struct{}
	waitErr error
	// expected tells that the current process was told to end (killed or
	// stopped), so that its end is no failure.
	expected bool
	logPath  string
	pids     []int // every process started, in order
	// usedCPU is the CPU time of the processes that ended.
	usedCPU time.Duration
}

func newFleet(bin, dir string, env []string, n int, ready func(i int) string, args func(i, gen int) ([]string, error)) *fleet {
	f := &fleet{bin: bin, dir: dir, env: env, args: args}
	for i := range n {
		f.insts = append(f.insts, &member{name: fmt.Sprintf("lessonbot-%d", i+1), ready: ready(i)})
	}
	return f
}

// start starts instance i's process; the previous one must have ended.
func (f *fleet) start(i int) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	m := f.insts[i]
	if m.cmd != nil && !m.done() {
		return fmt.Errorf("%s: pid %d still runs", m.name, m.cmd.Process.Pid)
	}
	args, err := f.args(i, m.gen+1)
	if err != nil {
		return err
	}
	m.gen++
	m.logPath = filepath.Join(f.dir, fmt.Sprintf("%s-%d.log", m.name, m.gen))
	logFile, err := os.Create(m.logPath)
	if err != nil {
		return err
	}
	cmd := exec.Command(f.bin, args...)
	if f.renice != 0 {
		// nice(1) execs the binary: the process keeps its pid.
		cmd = exec.Command("nice", append([]string{"-n", strconv.Itoa(f.renice), f.bin}, args...)...)
	}
	cmd.Env = f.env
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return fmt.Errorf("%s: %w", m.name, err)
	}
	m.cmd, m.expected, m.waitErr = cmd, false, nil
	m.exited = make(chan struct{})
	m.pids = append(m.pids, cmd.Process.Pid)
	exited := m.exited
	go func() {
		err := cmd.Wait()
		logFile.Close()
		f.mu.Lock()
		m.waitErr = err
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			m.usedCPU += time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
		}
		f.mu.Unlock()
		close(exited)
	}()
	return nil
}

// done tells whether the current process has ended.
func (m *member) done() bool {
	select {
	case <-m.exited:
		return true
	default:
		return false
	}
}

// tag names instance i's current process: "lessonbot-I.GEN".
func (f *fleet) tag(i int) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return processTag(i, f.insts[i].gen)
}

// processTag names process gen of instance i.
func processTag(i, gen int) string { return fmt.Sprintf("lessonbot-%d.%d", i+1, gen) }

// pid returns instance i's current process id.
func (f *fleet) pid(i int) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.insts[i].cmd.Process.Pid
}

// byPid returns the index of the instance whose current, running process
// has this id.
func (f *fleet) byPid(pid int) (int, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, m := range f.insts {
		if m.cmd != nil && m.cmd.Process.Pid == pid && !m.done() {
			return i, true
		}
	}
	return 0, false
}

// kill sends SIGKILL to instance i's process and waits for its end.
func (f *fleet) kill(i int) error {
	f.mu.Lock()
	m := f.insts[i]
	m.expected = true
	cmd, exited := m.cmd, m.exited
	f.mu.Unlock()
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("%s: kill pid %d: %w", m.name, cmd.Process.Pid, err)
	}
	<-exited
	return nil
}

// stop asks instance i's process to stop (SIGTERM), as an operator would,
// and kills it if it has not ended within grace; it returns the process's
// exit error (nil for a clean stop).
func (f *fleet) stop(i int, grace time.Duration) error {
	f.mu.Lock()
	m := f.insts[i]
	if m.cmd == nil {
		f.mu.Unlock()
		return nil
	}
	m.expected = true
	cmd, exited := m.cmd, m.exited
	f.mu.Unlock()
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(grace):
		cmd.Process.Kill()
		<-exited
		return fmt.Errorf("%s: pid %d did not stop within %v of SIGTERM: killed", m.name, cmd.Process.Pid, grace)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return m.waitErr
}

// stopAll stops every instance at once and returns their exit errors.
func (f *fleet) stopAll(grace time.Duration) []error {
	errs := make([]error, len(f.insts))
	var wg sync.WaitGroup
	for i := range f.insts {
		wg.Go(func() { errs[i] = f.stop(i, grace) })
	}
	wg.Wait()
	return errs
}

// unexpected returns an error for the first instance whose process ended
// without being told to, or nil.
func (f *fleet) unexpected() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, m := range f.insts {
		if m.cmd != nil && !m.expected && m.done() {
			return fmt.Errorf("%s (pid %d) ended by itself: %v (log: %s)", m.name, m.cmd.Process.Pid, m.waitErr, m.logPath)
		}
	}
	return nil
}

// waitReady waits until instance i's ready URL answers 200, its process
// ends, ctx ends or limit passes.
func (f *fleet) waitReady(ctx context.Context, i int, limit time.Duration) error {
	f.mu.Lock()
	m := f.insts[i]
	url, exited, logPath := m.ready, m.exited, m.logPath
	f.mu.Unlock()
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(limit)
	for {
		if resp, err := client.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not ready within %v (log: %s)", m.name, limit, logPath)
		}
		select {
		case <-exited:
			return fmt.Errorf("%s ended while starting (log: %s)", m.name, logPath)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// cpu returns the CPU time every process of the fleet has used so far.
func (f *fleet) cpu() time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	var total time.Duration
	for _, m := range f.insts {
		total += m.usedCPU
		if m.cmd != nil && !m.done() {
			if t, err := cpuTime(m.cmd.Process.Pid); err == nil {
				total += t
			}
		}
	}
	return total
}

// logs returns the log files of every process instance i ran, in order.
func (f *fleet) logs(i int) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	m := f.insts[i]
	var out []string
	for g := 1; g <= m.gen; g++ {
		out = append(out, filepath.Join(f.dir, fmt.Sprintf("%s-%d.log", m.name, g)))
	}
	return out
}

// freePorts returns n distinct TCP addresses on 127.0.0.1 that were free a
// moment ago (the kernel's choice; another process may take one between
// this and its use, which then fails the start).
func freePorts(n int) ([]string, error) {
	var lns []net.Listener
	defer func() {
		for _, ln := range lns {
			ln.Close()
		}
	}()
	var out []string
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		lns = append(lns, ln)
		out = append(out, ln.Addr().String())
	}
	return out, nil
}
