package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
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
// record as under way before their turn at rate messages a second:
// max(2, ⌈50 ms × rate⌉) (its recordAhead). A kill may leave that many
// unknown besides the sends the Bot API had under way.
func recordAheadWindow(rate float64) int {
	return max(2, int(math.Ceil(0.05*rate)))
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
	holder   string
	pid      int // killed
	newPid   int // the process started in its place
	// from is the first accepted send of the sending period the kill
	// ended; at is when SIGKILL was sent, exited when the process's end
	// was seen.
	from, at, exited time.Time
	// resumed is the first accepted send of a call that reached the fake
	// after the killed process had ended: the next holder's; zero when
	// none came.
	resumed time.Time
	// inFlight counts the sendMessage calls the fake had received from
	// the killed process and not answered when SIGKILL was sent.
	inFlight int
	// underWay counts the deliveries the killed holder left 'sending'
	// with a message recorded as under way, read right after its end.
	underWay int
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
	proxyServed   []int
	proxyPassed   int
	perDelivery   int
	kills         []kill
	periods       []period
	activeMsgs    int
	activeTime    time.Duration
	rateLimited   int
	lessonMsgs    int
	duplicates    int
	final         outbox
	lost          int
	missingChats  int
	lostDetail    []string
	arrivedAnyway int
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
	configs := make([]string, c.instances)
	for i := range c.instances {
		configs[i] = filepath.Join(dir, fmt.Sprintf("lessonbot-%d.yaml", i+1))
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
`, c.database, lessons, c.questions, summaryDay, admins[i], fake.URL(), c.rate, hookURL, hooks[i])
		if err := os.WriteFile(configs[i], []byte(body), 0o644); err != nil {
			return rep, err
		}
	}
	env := append(os.Environ(), "TELEGRAM_BOT_TOKEN="+token)
	fl := newFleet(c.bin, dir, env, c.instances,
		func(i int) string { return "http://" + admins[i] + "/readyz" },
		func(i int) []string { return []string{"run", "--config", configs[i]} })
	stopped := false
	defer func() {
		if !stopped {
			fl.stopAll(20 * time.Second)
		}
	}()

	// The schema: the first instance makes it, alone, and stops.
	if ok, err := db.hasSchema(ctx); err != nil {
		return rep, err
	} else if !ok {
		say("making the schema: starting one instance")
		if err := fl.start(0); err != nil {
			return rep, err
		}
		if err := fl.waitReady(ctx, 0, 60*time.Second); err != nil {
			return rep, err
		}
		if err := fl.stop(0, 20*time.Second); err != nil {
			return rep, fmt.Errorf("the instance that made the schema did not stop cleanly: %w", err)
		}
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
	waitFor(ctx, nil, 10*time.Second, func() bool { return helpReplies(fake.Sent(), c.chats, len(help)) >= len(help) })
	rep.helpReplies = helpReplies(fake.Sent(), c.chats, len(help))
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
	err = c.fanOut(ctx, rep, fake, db, fl, say)
	fanOutErr := err

	// The end: what the fake got, what the outbox says.
	if rep.final, err = db.outbox(ctx); err != nil && fanOutErr == nil {
		fanOutErr = err
	}
	if per, err := db.perDelivery(ctx); err == nil && per > 0 {
		rep.perDelivery = per
	}
	sent := fake.Sent()
	_, _, _, rep.duplicates = fanOutFigures(sent, rep.slot)
	for _, m := range sent {
		if !m.At.Before(rep.slot) {
			rep.lessonMsgs++
		}
	}
	rep.rateLimited = fake.RateLimited()
	rep.activeMsgs, rep.activeTime = activeRate(fake.Sends(), rep.periods)
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
		if t, ok := fake.firstAccepted(rep.slot); ok {
			from = t
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
					share := time.Duration(left / float64(c.kills-k+1) * float64(time.Second))
					killAt = from.Add(max(share, time.Second))
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
		kl := kill{instance: i, holder: l.holder, pid: pid, from: from, unknownBefore: ob.unknown, at: time.Now()}
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
		// Another instance sends again: the first accepted send of a call
		// made after the killed process was gone.
		for {
			if t, ok := fake.firstAccepted(kl.exited); ok {
				kl.resumed = t
				break
			}
			if time.Since(kl.at) > 4*c.failover {
				break
			}
			if err := tick(20 * time.Millisecond); err != nil {
				return err
			}
		}
		kl.inFlight = inFlightAt(fake.Sends(), kl.at, kl.exited)
		rep.kills = append(rep.kills, kl)
		rep.periods = append(rep.periods, period{from, kl.at})
		if kl.resumed.IsZero() {
			return fmt.Errorf("kill %d: no instance sent again within %v", k+1, 4*c.failover)
		}
		say("kill %d: lessonbot-%d (pid %d) after %v of sending, %d sends in flight; sending again after %v; pid %d started in its place",
			k+1, i+1, pid, round(kl.at.Sub(from)), kl.inFlight, round(kl.failoverTime()), kl.newPid)
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
	rep.periods = append(rep.periods, period{from, lastAccepted(fake.Sends())})
	say("every delivery has ended, %v after the slot", round(rep.fanOutEnd.Sub(rep.slot)))
	return nil
}

// inFlightAt counts the sendMessage calls received before exited (the
// killed process's end: no other process sends between the kill and
// then) that had no answer yet at the kill.
func inFlightAt(sends []sendCall, at, exited time.Time) int {
	n := 0
	for _, c := range sends {
		if c.received.Before(exited) && (c.answered.IsZero() || !c.answered.Before(at)) {
			n++
		}
	}
	return n
}

// lastAccepted returns the answer time of the last accepted send.
func lastAccepted(sends []sendCall) time.Time {
	var last time.Time
	for _, c := range sends {
		if c.accepted() && c.answered.After(last) {
			last = c.answered
		}
	}
	return last
}

// period is a time a sender was active: from the first accepted send
// after the fan-out began or a failover, to the kill that ended it or the
// last send.
type period struct{ from, to time.Time }

// activeRate counts the sends accepted in the periods, and their total
// length.
func activeRate(sends []sendCall, periods []period) (msgs int, active time.Duration) {
	for _, p := range periods {
		if !p.to.After(p.from) {
			continue
		}
		active += p.to.Sub(p.from)
		for _, c := range sends {
			if c.accepted() && !c.answered.Before(p.from) && !c.answered.After(p.to) {
				msgs++
			}
		}
	}
	return msgs, active
}

// helpReplies counts the chats of the /help commands (the n chats after
// the slot's) that got a reply.
func helpReplies(sent []telegramtest.SentMessage, chats, n int) int {
	got := map[string]bool{}
	for _, m := range sent {
		for i := range n {
			if m.ChatID == fmt.Sprint(firstChat+chats+i) {
				got[m.ChatID] = true
			}
		}
	}
	return len(got)
}

// lostFigures compares the outbox with what the fake accepted. lost counts
// the messages lessonbot recorded as sent that the fake did not accept for
// that chat, the messages missing from a delivery recorded as sent in
// full (fewer ids, known or unknown, than per), and the deliveries that
// failed or found no lesson; missingChats counts the slot's chats without
// a delivery; arrived counts the messages of unknown fate that did reach
// the fake (a kill after the fake accepted a send, before lessonbot heard).
func lostFigures(recs []recorded, sent []telegramtest.SentMessage, chats, per int) (lost, missingChats, arrived int, detail []string) {
	accepted := map[string]map[int]bool{}
	perChat := map[string]int{}
	for _, m := range sent {
		if accepted[m.ChatID] == nil {
			accepted[m.ChatID] = map[int]bool{}
		}
		accepted[m.ChatID][m.MessageID] = true
		perChat[m.ChatID]++
	}
	note := func(format string, args ...any) {
		if len(detail) < 5 {
			detail = append(detail, fmt.Sprintf(format, args...))
		}
	}
	have := map[string]bool{}
	for _, r := range recs {
		have[r.chat] = true
		for _, id := range r.messages {
			if !accepted[r.chat][id] {
				lost++
				note("chat %s: message %d recorded as sent, not accepted by the fake", r.chat, id)
			}
		}
		switch r.state {
		case "sent":
			if n := len(r.messages) + r.uncertain; per > 0 && n < per {
				lost += per - n
				note("chat %s: sent with %d of %d messages", r.chat, n, per)
			}
		case "failed", "exhausted":
			lost++
			note("chat %s: delivery %s", r.chat, r.state)
		}
		if r.uncertain > 0 {
			arrived += max(0, perChat[r.chat]-len(r.messages))
		}
	}
	for i := range chats {
		if !have[fmt.Sprint(firstChat+i)] {
			missingChats++
		}
	}
	if missingChats > 0 {
		note("%d chats of the slot have no delivery", missingChats)
	}
	return lost, missingChats, arrived, detail
}

// slotLog returns, for one instance's logs, a line per "slot due" or
// "caught up missed slots" entry: which process wrote how many rows.
func slotLog(name string, logs []string) []string {
	var out []string
	for g, path := range logs {
		f, err := os.Open(path)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var e struct {
				Msg        string `json:"msg"`
				Deliveries *int   `json:"deliveries"`
				Time       string `json:"time"`
			}
			if json.Unmarshal(sc.Bytes(), &e) != nil || (e.Msg != "slot due" && e.Msg != "caught up missed slots") || e.Deliveries == nil {
				continue
			}
			out = append(out, fmt.Sprintf("%s process %d: %q, %d rows written", name, g+1, e.Msg, *e.Deliveries))
		}
		f.Close()
	}
	return out
}

// print writes the report: each figure with what it counts.
func (r *clusterReport) print(w io.Writer, c cluster) {
	fmt.Fprintf(w, "lessonbot %s × %d instances on one PostgreSQL, webhook through a round-robin proxy; %d chats due at %s UTC; fake Bot API %g messages/s (burst %d), %v per call\n",
		c.bin, c.instances, c.chats, r.slot.Format("15:04"), c.rate, c.burst, c.latency)
	fmt.Fprintf(w, "wall time: %v (of which from the slot to every delivery ended: %v)\n", round(r.wall), round(durationOrZero(r.slot, r.fanOutEnd)))
	fmt.Fprintf(w, "webhook: setWebhook called %d times (every start); %d /help updates posted through the proxy, %d answers not 2xx and posted again, %d chats got a reply; proxy: requests per instance %v, %d passed over from an instance that refused\n",
		r.webhookSets, r.hook.updates, r.hook.retried, r.helpReplies, r.proxyServed, r.proxyPassed)
	fmt.Fprintf(w, "scheduler: %d instances running at the slot; deliveries rows %d for %d due chats (%d distinct subscriptions; want exactly %d)\n",
		r.atSlot, r.final.rows, c.chats, r.final.subscriptions, c.chats)
	for _, l := range r.slotLogs {
		fmt.Fprintf(w, "  %s\n", l)
	}
	fmt.Fprintf(w, "lesson: %d messages per delivery (post + %d questions)\n", r.perDelivery, c.questions)
	rate := 0.0
	if r.activeTime > 0 {
		rate = float64(r.activeMsgs) / r.activeTime.Seconds()
	}
	fmt.Fprintf(w, "rate: %d sends accepted in %v while a sender was active (from the first accepted send after each (re)start to the kill, or to the last send) = %.1f/s = %.3f of %g (want ≥ 0.95)\n",
		r.activeMsgs, round(r.activeTime), rate, rate/c.rate, c.rate)
	fmt.Fprintf(w, "429s: %d (want 0); duplicates (a chat sent the same text twice, from the slot on): %d of %d lesson messages (want 0)\n",
		r.rateLimited, r.duplicates, r.lessonMsgs)
	states := make([]string, 0, len(r.final.byState))
	for s, n := range r.final.byState {
		states = append(states, fmt.Sprintf("%s %d", s, n))
	}
	slices.Sort(states)
	fmt.Fprintf(w, "end: deliveries by state: %s; not terminal (pending or sending): %d (want 0)\n", strings.Join(states, ", "), r.final.open())
	fmt.Fprintf(w, "lost: %d (messages recorded sent that the fake did not accept + messages missing from deliveries recorded sent + failed or exhausted deliveries; want 0); chats without a delivery: %d; unknown messages that did arrive: %d\n",
		r.lost, r.missingChats, r.arrivedAnyway)
	for _, d := range r.lostDetail {
		fmt.Fprintf(w, "  %s\n", d)
	}
	window := recordAheadWindow(c.rate)
	var maxFail time.Duration
	bound, failovers := 0, make([]string, 0, len(r.kills))
	for _, k := range r.kills {
		bound += k.inFlight + window
		failovers = append(failovers, round(k.failoverTime()).String())
		maxFail = max(maxFail, k.failoverTime())
	}
	fmt.Fprintf(w, "kills: %d of %d (SIGKILL of the sender lease's holder, a new process started in its place at once)\n", len(r.kills), c.kills)
	for n, k := range r.kills {
		unknown := r.final.unknown - k.unknownBefore
		if n+1 < len(r.kills) {
			unknown = r.kills[n+1].unknownBefore - k.unknownBefore
		}
		fmt.Fprintf(w, "  kill %d: lessonbot-%d pid %d → pid %d, after %v of sending; failover %v; in flight at the fake %d + record-ahead window %d; left under way in its rows %d; unknown added by the next kill %d\n",
			n+1, k.instance+1, k.pid, k.newPid, round(k.at.Sub(k.from)), round(k.failoverTime()), k.inFlight, window, k.underWay, unknown)
	}
	fmt.Fprintf(w, "failover (SIGKILL to the next accepted send): max %v (want ≤ %v); each: %s\n", round(maxFail), c.failover, strings.Join(failovers, " "))
	fmt.Fprintf(w, "unknown messages: %d (sum of deliveries.unknown) against the in-flight bound %d (Σ over the kills of the sends the fake had received from the killed process and not answered at the kill + the record-ahead window max(2, ⌈50 ms × rate⌉) = %d)\n",
		r.final.unknown, bound, window)
	for i, err := range r.stopErrs {
		if err != nil {
			fmt.Fprintf(w, "stop: lessonbot-%d: %v\n", i+1, err)
		}
	}
	fmt.Fprintf(w, "stop: leases left after every instance stopped (SIGTERM): %d\n", r.leasesLeft)
}

func durationOrZero(from, to time.Time) time.Duration {
	if from.IsZero() || to.IsZero() {
		return 0
	}
	return to.Sub(from)
}

// missed lists the goals the run missed.
func (r *clusterReport) missed(c cluster) []string {
	var out []string
	add := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	if !r.webhookOK {
		add("webhook: %d of %d chats got their reply through the proxy", r.helpReplies, 2*c.instances)
	}
	if r.atSlot != c.instances {
		add("scheduler: %d instances running at the slot, not %d", r.atSlot, c.instances)
	}
	if r.final.rows != c.chats || r.final.subscriptions != c.chats {
		add("scheduler: %d deliveries rows for %d subscriptions, want exactly %d", r.final.rows, r.final.subscriptions, c.chats)
	}
	if r.activeTime <= 0 || float64(r.activeMsgs)/r.activeTime.Seconds() < 0.95*c.rate {
		add("rate below 0.95 of %g", c.rate)
	}
	if r.rateLimited > 0 {
		add("%d 429s", r.rateLimited)
	}
	if r.duplicates > 0 {
		add("%d duplicates", r.duplicates)
	}
	if r.final.open() > 0 {
		add("%d deliveries not terminal", r.final.open())
	}
	if r.lost > 0 || r.missingChats > 0 {
		add("%d messages lost, %d chats without a delivery", r.lost, r.missingChats)
	}
	if len(r.kills) < c.kills {
		add("%d kills of %d", len(r.kills), c.kills)
	}
	bound := 0
	for n, k := range r.kills {
		if f := k.failoverTime(); f < 0 || f > c.failover {
			add("kill %d: failover %v, want ≤ %v", n+1, round(f), c.failover)
		}
		bound += k.inFlight + recordAheadWindow(c.rate)
	}
	if r.final.unknown > bound {
		add("%d unknown messages, more than the %d in flight at the kills", r.final.unknown, bound)
	}
	return out
}
