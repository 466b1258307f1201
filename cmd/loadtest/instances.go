package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/lessonbot/lessonbot/internal/telegram/telegramtest"
)

// cluster is one run of the instances mode: several lessonbot run
// processes on one PostgreSQL database, receiving Telegram by webhook
// through a round-robin proxy, fanning out one slot of many chats to the
// fake Bot API while the holder of the sender lease is killed again and
// again.
type cluster struct {
	bin       string
	database  string
	lessons   string
	keep      string
	instances int
	chats     int
	rate      float64
	burst     int
	latency   time.Duration
	kills     int
	failover  time.Duration
	questions int
	lead      time.Duration
	timeout   time.Duration
}

// recordAheadWindow is the number of messages internal/delivery may
// record as under way and waiting for their turn at rate messages a
// second, computed as it does: max(2, ⌈recordAhead / interval⌉) with
// recordAhead 50 ms and the interval a whole number of nanoseconds (so 16
// at 300/s: 50 ms / 3.333333 ms is a hair above 15). A kill may leave
// that many unknown besides the sends under way at the Bot API.
func recordAheadWindow(rate float64) int {
	iv := time.Duration(float64(time.Second) / rate)
	return max(2, int(math.Ceil(float64(50*time.Millisecond)/float64(iv))))
}

// slotChat tells whether chat is one of the slot's: the lesson sends go to
// them, and only them (the webhook check's replies go to others).
func (c cluster) slotChat(chat string) bool {
	id, err := strconv.ParseInt(chat, 10, 64)
	return err == nil && id >= firstChat && id < firstChat+int64(c.chats)
}

// lessonSends returns the sends to the slot's chats.
func (c cluster) lessonSends(sends []sendCall) []sendCall {
	var out []sendCall
	for _, s := range sends {
		if c.slotChat(s.chat) {
			out = append(out, s)
		}
	}
	return out
}

// runInstances is the instances mode: it parses its flags, runs the
// cluster and prints its report; it returns the exit status.
func runInstances(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("loadtest instances", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c cluster
	fs.StringVar(&c.bin, "bin", "", "the lessonbot binary to run (required)")
	fs.StringVar(&c.database, "database", os.Getenv("LESSONBOT_DATABASE_URL"), "a new, empty PostgreSQL database (postgres://...) the instances share (default: $LESSONBOT_DATABASE_URL)")
	fs.IntVar(&c.instances, "instances", 3, "lessonbot run processes")
	fs.IntVar(&c.chats, "chats", 10000, "private chats subscribed to the one slot")
	fs.Float64Var(&c.rate, "rate", 300, "messages a second the fake Bot API allows, and lessonbot is configured for")
	fs.IntVar(&c.burst, "burst", 0, "messages the fake lets through at once above its rate before it answers 429 (default: 50 ms worth at -rate)")
	fs.DurationVar(&c.latency, "latency", 50*time.Millisecond, "added to every Bot API call")
	fs.IntVar(&c.kills, "kills", 10, "times the holder of the sender lease is killed (SIGKILL) during the fan-out")
	fs.DurationVar(&c.failover, "failover", 17*time.Second, "how soon after each kill another instance must send again")
	fs.IntVar(&c.questions, "questions", 1, "quiz questions per lesson (quiz.questions): a lesson is its post and one message per question")
	fs.DurationVar(&c.lead, "lead", 15*time.Second, "the slot is the first whole minute at least this long after the subscriptions are written")
	fs.DurationVar(&c.timeout, "timeout", 20*time.Minute, "give up on the run after this long")
	fs.StringVar(&c.lessons, "lessons", "lessons", "the lessons folder lessonbot serves")
	fs.StringVar(&c.keep, "keep", "", "keep the configurations and logs in this folder (default: a temporary one, removed)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if c.burst <= 0 {
		c.burst = max(1, int(c.rate*0.05))
	}
	if c.bin == "" || c.database == "" || fs.NArg() > 0 || c.instances < 2 || c.chats < 1 || c.rate <= 0 || c.kills < 0 || c.questions < 1 {
		fmt.Fprintln(stderr, "loadtest instances: want -bin PATH, -database postgres://..., -instances 2 or more, a positive -chats, -rate and -questions, and no arguments (see -help)")
		return 2
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	rep, err := c.run(ctx, stderr)
	if err != nil {
		if rep.atSlot > 0 {
			// What was measured from the slot on helps to see why.
			rep.print(stdout, c)
		}
		fmt.Fprintf(stderr, "loadtest instances: %v\n", err)
		return 1
	}
	rep.print(stdout, c)
	if missed := rep.missed(c); len(missed) > 0 {
		for _, m := range missed {
			fmt.Fprintf(stdout, "MISSED: %s\n", m)
		}
		return 1
	}
	fmt.Fprintln(stdout, "every goal met")
	return 0
}

// kill is one SIGKILL of the sender lease's holder.
type kill struct {
	instance int
	tag      string // the killed process's
	holder   string
	pid      int // killed
	newPid   int // the process started in its place
	// from is the first accepted send of the sending period the kill
	// ended; at is when SIGKILL was sent, exited when the process's end
	// was seen.
	from, at, exited time.Time
	// resumed is the first accepted send of another process after the
	// kill: the next holder's; zero when none came.
	resumed   time.Time
	resumedBy string
	// inFlight counts the sendMessage calls of the killed process that
	// the fake had received and not answered when SIGKILL was sent.
	inFlight int
	// underWay are the messages the killed holder left recorded as under
	// way in the deliveries it was sending, read right after its end.
	underWay []underWayRow
	// unknownBefore is the sum of deliveries.unknown just before the kill.
	unknownBefore int
}

// failoverTime is the time from the kill to the next accepted send, or
// -1 when none came.
func (k kill) failoverTime() time.Duration {
	if k.resumed.IsZero() {
		return -1
	}
	return k.resumed.Sub(k.at)
}

// slowStart is a new sender that took over a second from taking the
// lease to its first send, and what the database was busy with meanwhile.
type slowStart struct {
	by   string
	took time.Duration
	busy []string
}

// clusterReport is what a run of the cluster measured.
type clusterReport struct {
	started time.Time
	wall    time.Duration
	slot    time.Time
	// fanOutEnd is when the last delivery reached a terminal state.
	fanOutEnd time.Time
	startPids []int
	atSlot    int // instances running at the slot

	webhookSets   int
	webhookOK     bool
	hook          webhookStats
	helpReplies   int
	helpTwice     int
	proxyServed   []int
	proxyPassed   int
	perDelivery   int
	kills         []kill
	periods       []period
	switches      int
	sends         []sendCall
	texts         []uint64 // the lesson's texts, hashed, in order
	machine       machineUse
	leaseRows     []leaseState // the sender lease's row at each change
	slowStarts    []slowStart
	nice          int // the loadtest's nice value, 0 when unchanged
	activeMsgs    int
	activeTime    time.Duration
	rateLimited   int
	lessonMsgs    int
	duplicates    int
	final         outbox
	lost          int
	missingChats  int
	lostDetail    []string
	arrivedAnyway []time.Time
	slotLogs      []string
	stopErrs      []error
	leasesLeft    int
}

// run starts the cluster and drives it; the report holds what was
// measured up to an error.
func (c cluster) run(ctx context.Context, progress io.Writer) (*clusterReport, error) {
	rep := &clusterReport{started: time.Now()}
	defer func() { rep.wall = time.Since(rep.started) }()
	say := func(format string, args ...any) {
		fmt.Fprintf(progress, "loadtest instances %s: "+format+"\n", append([]any{time.Now().Format("15:04:05.000")}, args...)...)
	}

	dir := c.keep
	if dir == "" {
		tmp, err := os.MkdirTemp("", "loadtest-instances-")
		if err != nil {
			return rep, err
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		return rep, err
	}
	lessons, err := filepath.Abs(c.lessons)
	if err != nil {
		return rep, err
	}
	db, err := openPG(ctx, c.database)
	if err != nil {
		return rep, err
	}
	defer db.Close()
	if ok, err := db.hasSchema(ctx); err != nil {
		return rep, err
	} else if ok {
		if n, err := db.chatsKnown(ctx); err != nil || n > 0 {
			return rep, fmt.Errorf("the database already knows %d chats (%v): want a new, empty one", n, err)
		}
	}

	if rep.nice, err = prioritize(); err != nil {
		say("running at normal priority (%v): the fake may stall when the machine is busy", err)
	}
	fake := newFakeTelegram(c.rate, c.burst, c.latency)
	defer fake.Close()
	addrs, err := freePorts(2 * c.instances)
	if err != nil {
		return rep, err
	}
	hooks, admins := addrs[:c.instances], addrs[c.instances:]
	proxy := newRoundRobin(hooks)
	front := proxy.serveTLS()
	defer front.Close()
	hookURL := front.URL + "/telegram"

	// The weekly summary falls on a day that is neither today's nor the
	// slot's (which may be tomorrow's, near midnight), so that the slot
	// carries lessons only.
	summaryDay := strings.ToLower(time.Now().UTC().AddDate(0, 0, 3).Weekday().String())
	// Each process gets a configuration of its own, whose api_url names
	// it, so that the fake tells its calls apart.
	config := func(i, gen int) ([]string, error) {
		path := filepath.Join(dir, processTag(i, gen)+".yaml")
		body := fmt.Sprintf(`database: %q
lessons: %q
timezone: UTC
quiz:
  questions: %d
learning:
  summary_day: %s
admin:
  listen: %q
log:
  format: json
telegram:
  api_url: %q
  rate:
    messages_per_second: %g
    per_chat_per_second: 1
  webhook:
    url: %q
    listen: %q
`, c.database, lessons, c.questions, summaryDay, admins[i], fake.processURL(processTag(i, gen)), c.rate, hookURL, hooks[i])
		return []string{"run", "--config", path}, os.WriteFile(path, []byte(body), 0o644)
	}
	env := append(os.Environ(), "TELEGRAM_BOT_TOKEN="+token)
	fl := newFleet(c.bin, dir, env, c.instances,
		func(i int) string { return "http://" + admins[i] + "/readyz" }, config)
	fl.renice = -rep.nice // lessonbot runs at the usual priority
	stopped := false
	defer func() {
		if !stopped {
			fl.stopAll(20 * time.Second)
		}
	}()

	// The schema, by lessonbot's own migrations.
	args, err := config(0, 0)
	if err != nil {
		return rep, err
	}
	migrate := exec.CommandContext(ctx, c.bin, append([]string{"db", "migrate"}, args[1:]...)...)
	migrate.Env = env
	if out, err := migrate.CombinedOutput(); err != nil {
		return rep, fmt.Errorf("lessonbot db migrate: %v\n%s", err, out)
	}

	// The chats: all subscribed to the first whole minute at least lead
	// from now, written before the instances start so that each loads
	// them (the scheduler reads the subscriptions at start).
	now := time.Now().UTC()
	rep.slot = now.Add(c.lead).Truncate(time.Minute).Add(time.Minute)
	if err := db.seed(ctx, c.chats, rep.slot.Hour(), rep.slot.Minute(), now); err != nil {
		return rep, err
	}
	say("%d chats subscribed to %s UTC; starting %d instances", c.chats, rep.slot.Format("15:04"), c.instances)
	for i := range c.instances {
		if err := fl.start(i); err != nil {
			return rep, err
		}
		rep.startPids = append(rep.startPids, fl.pid(i))
	}
	for i := range c.instances {
		if err := fl.waitReady(ctx, i, 60*time.Second); err != nil {
			return rep, err
		}
	}
	if time.Now().After(rep.slot.Add(-time.Second)) {
		return rep, fmt.Errorf("the instances were ready only at %s, after the slot: raise -lead", time.Now().Format("15:04:05"))
	}

	// Webhook mode through the proxy: every instance set the webhook to
	// the proxy's URL; a command from each of a few chats outside the
	// slot's goes through the proxy (round robin, so to every instance)
	// and gets its reply.
	setAll := func() bool {
		for i := range c.instances {
			if fake.called(fl.tag(i), "setWebhook") == 0 {
				return false
			}
		}
		return true
	}
	if err := waitFor(ctx, nil, 30*time.Second, setAll); err != nil {
		return rep, fmt.Errorf("not every instance set the webhook within 30 s of being ready: %w", err)
	}
	url, _, sets, _ := fake.Webhook()
	rep.webhookSets = sets
	if url != hookURL {
		return rep, fmt.Errorf("the webhook is %q, not the proxy's %q", url, hookURL)
	}
	var help []map[string]any
	for i := range 2 * c.instances {
		id := int64(firstChat + c.chats + i)
		help = append(help, telegramtest.MessageUpdate(fake.NextUpdateID(), telegramtest.FakeChat{ID: id, Type: "private"},
			&telegramtest.FakeUser{ID: id, FirstName: "Learner"}, "/help"))
	}
	hookCtx, cancelHook := context.WithTimeout(ctx, 30*time.Second)
	rep.hook, err = fake.postUpdates(hookCtx, front.Client(), help)
	cancelHook()
	if err != nil {
		return rep, fmt.Errorf("%w (answers by status: %v)", err, rep.hook.statuses)
	}
	waitFor(ctx, nil, 10*time.Second, func() bool { n, _ := helpReplies(fake.Sent(), c.chats, len(help)); return n >= len(help) })
	rep.helpReplies, _ = helpReplies(fake.Sent(), c.chats, len(help))
	rep.webhookOK = rep.helpReplies >= len(help)
	rep.proxyServed, rep.proxyPassed = proxy.counts()
	say("webhook: %d updates posted through the proxy (%d retried), %d replies; waiting for the slot", len(help), rep.hook.retried, rep.helpReplies)

	if err := sleepUntil(ctx, rep.slot); err != nil {
		return rep, err
	}
	for i := range c.instances {
		if _, ok := fl.byPid(fl.pid(i)); ok {
			rep.atSlot++
		}
	}
	// The machine during the fan-out: is the run alone on it?
	var stalls stallWatch
	var leases leaseWatch
	watchCtx, stopWatch := context.WithCancel(ctx)
	go stalls.run(watchCtx, 10*time.Millisecond, 50*time.Millisecond)
	go leases.run(watchCtx, db)
	cpu0, _ := readCPU()
	fleet0, self0 := fl.cpu(), selfCPU()
	err = c.fanOut(ctx, rep, fake, db, fl, say)
	fanOutErr := err
	stopWatch()
	rep.leaseRows = leases.rows()
	for _, k := range rep.kills {
		_, taken, _ := leaseAtKill(rep.leaseRows, k.holder, k.at)
		if !taken.IsZero() && k.resumed.Sub(taken) > time.Second {
			rep.slowStarts = append(rep.slowStarts, slowStart{k.resumedBy, k.resumed.Sub(taken), leases.busyBetween(taken, k.resumed)})
		}
	}
	cpu1, _ := readCPU()
	busy, steal := busyShare(cpu0, cpu1)
	rep.machine = machineUse{
		busy:      busy,
		steal:     steal,
		cpus:      runtime.NumCPU(),
		wall:      time.Since(rep.slot),
		lessonbot: fl.cpu() - fleet0,
		loadtest:  selfCPU() - self0,
		stalls:    stalls.since(rep.slot),
	}

	// The end: what the fake got, what the outbox says.
	if rep.final, err = db.outbox(ctx); err != nil && fanOutErr == nil {
		fanOutErr = err
	}
	if per, err := db.perDelivery(ctx); err == nil && per > 0 {
		rep.perDelivery = per
	}
	sent := fake.Sent()
	var toSlot []telegramtest.SentMessage
	for _, m := range sent {
		if c.slotChat(m.ChatID) {
			toSlot = append(toSlot, m)
		}
	}
	// The slot's chats get nothing but the lesson: a text twice is a
	// duplicate whenever it came.
	rep.lessonMsgs, _, _, rep.duplicates = fanOutFigures(toSlot, time.Time{})
	rep.texts = lessonTexts(toSlot, rep.perDelivery)
	rep.helpReplies, rep.helpTwice = helpReplies(sent, c.chats, len(help))
	rep.rateLimited = fake.RateLimited()
	rep.sends = c.lessonSends(fake.Sends())
	rep.activeMsgs, rep.activeTime = activeRate(rep.sends, rep.periods)
	rep.switches = senderSwitches(rep.sends, rep.slot)
	if c.keep != "" {
		if err := writeSends(filepath.Join(dir, "sends.csv"), fake.Sends()); err != nil && fanOutErr == nil {
			fanOutErr = err
		}
	}
	if recs, err := db.deliveries(ctx); err == nil {
		rep.lost, rep.missingChats, rep.arrivedAnyway, rep.lostDetail = lostFigures(recs, sent, c.chats, rep.perDelivery)
	} else if fanOutErr == nil {
		fanOutErr = err
	}
	rep.proxyServed, rep.proxyPassed = proxy.counts()

	say("stopping the instances (SIGTERM)")
	stopped = true
	rep.stopErrs = fl.stopAll(20 * time.Second)
	db.pool.QueryRow(context.WithoutCancel(ctx), `SELECT count(*) FROM leases`).Scan(&rep.leasesLeft)
	for i := range c.instances {
		rep.slotLogs = append(rep.slotLogs, slotLog(fmt.Sprintf("lessonbot-%d", i+1), fl.logs(i))...)
	}
	return rep, fanOutErr
}

// fanOut waits for the slot's first send, then kills the sender lease's
// holder c.kills times, each after a share of the remaining fan-out has
// gone out, starting a new process in its place at once; then waits for
// every delivery to reach a terminal state.
func (c cluster) fanOut(ctx context.Context, rep *clusterReport, fake *fakeTelegram, db *pgdb, fl *fleet, say func(string, ...any)) error {
	// tick waits a little, and fails when an instance ended by itself.
	tick := func(d time.Duration) error {
		if err := fl.unexpected(); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(d):
			return nil
		}
	}
	var from time.Time
	for {
		if c, ok := fake.firstAccepted(rep.slot, "", c.slotChat); ok {
			from = c.answered
			break
		}
		if time.Since(rep.slot) > time.Minute {
			return errors.New("no lesson sent within a minute of the slot")
		}
		if err := tick(20 * time.Millisecond); err != nil {
			return err
		}
	}
	say("first lesson message at slot + %v", round(from.Sub(rep.slot)))

	for k := range c.kills {
		// When to kill: after the share of the remaining messages that
		// spreads the remaining kills evenly over the rest of the
		// fan-out, at the allowed rate.
		var killAt time.Time
		for killAt.IsZero() || time.Now().Before(killAt) {
			if killAt.IsZero() {
				if rep.perDelivery == 0 {
					per, err := db.perDelivery(ctx)
					if err != nil {
						return err
					}
					rep.perDelivery = per
				}
				if rep.perDelivery > 0 {
					ob, err := db.outbox(ctx)
					if err != nil {
						return err
					}
					left := float64((c.chats-(ob.rows-ob.open()))*rep.perDelivery) / c.rate
					share := left / float64(c.kills-k+1)
					// Half to one and a half shares at random: sending
					// periods of about 6 s would otherwise put every kill
					// at the same point of the holder's 5 s renewals, and
					// the lease left at a kill (10 to 15 s) would be
					// sampled at one value only.
					killAt = from.Add(max(time.Duration(share*(0.5+rand.Float64())*float64(time.Second)), time.Second))
				}
			}
			if err := tick(50 * time.Millisecond); err != nil {
				return err
			}
		}
		l, ok, err := db.senderLease(ctx)
		if err != nil {
			return err
		}
		if !ok || !l.live {
			return fmt.Errorf("kill %d: no live sender lease while lessons were being sent (row: %v)", k+1, ok)
		}
		pid, err := l.pid()
		if err != nil {
			return err
		}
		i, ok := fl.byPid(pid)
		if !ok {
			return fmt.Errorf("kill %d: the sender lease's holder %s is no running instance", k+1, l.holder)
		}
		ob, err := db.outbox(ctx)
		if err != nil {
			return err
		}
		kl := kill{instance: i, tag: fl.tag(i), holder: l.holder, pid: pid, from: from, unknownBefore: ob.unknown, at: time.Now()}
		if err := fl.kill(i); err != nil {
			return err
		}
		kl.exited = time.Now()
		if kl.underWay, err = db.underWay(ctx, l.holder); err != nil {
			return err
		}
		if err := fl.start(i); err != nil {
			return err
		}
		kl.newPid = fl.pid(i)
		// Another process sends again.
		for {
			if c, ok := fake.firstAccepted(kl.at, kl.tag, c.slotChat); ok {
				kl.resumed, kl.resumedBy = c.answered, c.by
				break
			}
			if time.Since(kl.at) > 4*c.failover {
				break
			}
			if err := tick(20 * time.Millisecond); err != nil {
				return err
			}
		}
		kl.inFlight = inFlightAt(c.lessonSends(fake.Sends()), kl.at, kl.tag)
		rep.kills = append(rep.kills, kl)
		rep.periods = append(rep.periods, period{from, kl.at})
		if kl.resumed.IsZero() {
			return fmt.Errorf("kill %d: no instance sent again within %v", k+1, 4*c.failover)
		}
		say("kill %d: %s (pid %d) after %v of sending, %d sends in flight; %s sent again after %v; pid %d started in its place",
			k+1, kl.tag, pid, round(kl.at.Sub(from)), kl.inFlight, kl.resumedBy, round(kl.failoverTime()), kl.newPid)
		from = kl.resumed
	}

	// Every delivery terminal.
	for {
		ob, err := db.outbox(ctx)
		if err != nil {
			return err
		}
		if ob.rows >= c.chats && ob.open() == 0 {
			rep.fanOutEnd = time.Now()
			break
		}
		if err := tick(250 * time.Millisecond); err != nil {
			return fmt.Errorf("waiting for every delivery to end (%d rows, %d open): %w", ob.rows, ob.open(), err)
		}
	}
	rep.periods = append(rep.periods, period{from, lastAccepted(c.lessonSends(fake.Sends()))})
	say("every delivery has ended, %v after the slot", round(rep.fanOutEnd.Sub(rep.slot)))
	return nil
}
