package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lessonbot/lessonbot/internal/telegram/telegramtest"
)

// inFlightAt counts the sendMessage calls of process by that had no
// answer yet at the instant at: received before it, or after it (a
// request already on its way when the process was killed at at).
func inFlightAt(sends []sendCall, at time.Time, by string) int {
	n := 0
	for _, c := range sends {
		if c.by == by && (c.answered.IsZero() || !c.answered.Before(at)) {
			n++
		}
	}
	return n
}

// senderSwitches counts, among the sends accepted from from on in the
// order of their answers, the times the process that sent changed: one
// per failover while a single process at a time sends.
func senderSwitches(sends []sendCall, from time.Time) int {
	var acc []sendCall
	for _, c := range sends {
		if c.accepted() && !c.answered.Before(from) {
			acc = append(acc, c)
		}
	}
	slices.SortStableFunc(acc, func(a, b sendCall) int { return a.answered.Compare(b.answered) })
	n := 0
	for i := 1; i < len(acc); i++ {
		if acc[i].by != acc[i-1].by {
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
// the slot's) that got a reply, and the replies beyond one per chat (a
// command handled twice).
func helpReplies(sent []telegramtest.SentMessage, chats, n int) (replied, twice int) {
	got := map[string]int{}
	for _, m := range sent {
		if id, err := strconv.ParseInt(m.ChatID, 10, 64); err == nil && id >= firstChat+int64(chats) && id < firstChat+int64(chats+n) {
			got[m.ChatID]++
		}
	}
	for _, k := range got {
		twice += k - 1
	}
	return len(got), twice
}

// lostFigures compares the outbox with what the fake accepted. lost counts
// the messages lessonbot recorded as sent that the fake did not accept for
// that chat, the messages missing from a delivery recorded as sent in
// full (fewer ids, known or unknown, than per), and the deliveries that
// failed or found no lesson; missingChats counts the slot's chats without
// a delivery; arrived counts the messages of unknown fate that did reach
// the fake, by when the fake accepted them (a kill after the fake accepted
// a send, before lessonbot recorded it).
func lostFigures(recs []recorded, sent []telegramtest.SentMessage, chats, per int) (lost, missingChats int, arrived []time.Time, detail []string) {
	accepted := map[string]map[int]time.Time{}
	for _, m := range sent {
		if accepted[m.ChatID] == nil {
			accepted[m.ChatID] = map[int]time.Time{}
		}
		accepted[m.ChatID][m.MessageID] = m.At
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
			if _, ok := accepted[r.chat][id]; !ok {
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
			for id, at := range accepted[r.chat] {
				if !slices.Contains(r.messages, id) {
					arrived = append(arrived, at)
				}
			}
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

// arrivedByKill attributes each message of unknown fate that did reach
// the fake (accepted at the given times) to the first kill whose process
// ended after it was accepted, and counts per kill those and those
// accepted before the SIGKILL (the answer came, lessonbot had not yet
// recorded it).
func arrivedByKill(kills []kill, arrived []time.Time) (n, before []int) {
	n, before = make([]int, len(kills)), make([]int, len(kills))
	for _, at := range arrived {
		for k, kl := range kills {
			if !at.After(kl.exited) {
				n[k]++
				if at.Before(kl.at) {
					before[k]++
				}
				break
			}
		}
	}
	return n, before
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
	fmt.Fprintf(w, "webhook: setWebhook called %d times, by every instance; %d /help updates posted through the proxy (answers by HTTP status %v; %d not 2xx, posted again), %d chats got a reply, %d replies more than one per command; proxy: requests per instance %v, %d passed over from an instance that refused\n",
		r.webhookSets, r.hook.updates, r.hook.statuses, r.hook.retried, r.helpReplies, r.helpTwice, r.proxyServed, r.proxyPassed)
	fmt.Fprintf(w, "scheduler: %d instances running at the slot (pids %v); deliveries rows %d for %d due chats (%d distinct subscriptions; want exactly %d)\n",
		r.atSlot, r.startPids, r.final.rows, c.chats, r.final.subscriptions, c.chats)
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
	fmt.Fprintf(w, "one sender at a time: the process whose sends the fake accepted changed %d times from the slot on (want %d, once per kill)\n", r.switches, len(r.kills))
	if r.rateLimited > 0 {
		fmt.Fprintf(w, "429s by when they came: %s\n", strings.Join(r.limitedAt(), ", "))
	}
	fmt.Fprintf(w, "429s: %d (want 0); duplicates (the same text sent twice to one of the slot's chats): %d of %d lesson messages (want 0)\n",
		r.rateLimited, r.duplicates, r.lessonMsgs)
	states := make([]string, 0, len(r.final.byState))
	for s, n := range r.final.byState {
		states = append(states, fmt.Sprintf("%s %d", s, n))
	}
	slices.Sort(states)
	fmt.Fprintf(w, "end: deliveries by state: %s; not terminal (pending or sending): %d (want 0)\n", strings.Join(states, ", "), r.final.open())
	fmt.Fprintf(w, "lost: %d (messages recorded sent that the fake did not accept + messages missing from deliveries recorded sent + failed or exhausted deliveries; want 0); chats without a delivery: %d; unknown messages that did arrive: %d\n",
		r.lost, r.missingChats, len(r.arrivedAnyway))
	for _, d := range r.lostDetail {
		fmt.Fprintf(w, "  %s\n", d)
	}
	window := recordAheadWindow(c.rate)
	bounds, bound := r.inFlightBounds(c.rate)
	var maxFail time.Duration
	failovers := make([]string, 0, len(r.kills))
	for _, k := range r.kills {
		failovers = append(failovers, round(k.failoverTime()).String())
		maxFail = max(maxFail, k.failoverTime())
	}
	fmt.Fprintf(w, "kills: %d of %d (SIGKILL of the sender lease's holder, a new process started in its place at once)\n", len(r.kills), c.kills)
	arrived, before := arrivedByKill(r.kills, r.arrivedAnyway)
	for n, k := range r.kills {
		unknown := r.final.unknown - k.unknownBefore
		if n+1 < len(r.kills) {
			unknown = r.kills[n+1].unknownBefore - k.unknownBefore
		}
		sent, active := activeRate(r.sends, []period{{k.from, k.at}})
		never := neverReached(k, r.sends, r.texts)
		fmt.Fprintf(w, "  kill %d: %s pid %d → pid %d after %d sends in %v (%.0f/s); failover %v to %s; in flight %d = %d unanswered at the fake + %d answered, not recorded + window %d + %d past its turn; messages it left under way %d, of which never at the fake %d; unknown added %d, of which arrived %d\n",
			n+1, k.tag, k.pid, k.newPid, sent, round(active), float64(sent)/max(active.Seconds(), 1e-9), round(k.failoverTime()), k.resumedBy,
			bounds[n], k.inFlight, before[n], window, pastTurn, len(k.underWay), never, unknown, arrived[n])
	}
	fmt.Fprintf(w, "failover (SIGKILL to the next accepted send by another process): max %v (want ≤ %v); each: %s\n", round(maxFail), c.failover, strings.Join(failovers, " "))
	fmt.Fprintf(w, "failover by the lease's row (read every 100 ms): the killed holder's lease ran on after the kill + until another took it + from taking it to its first send:")
	for _, k := range r.kills {
		expires, taken, _ := leaseAtKill(r.leaseRows, k.holder, k.at)
		if expires.IsZero() || taken.IsZero() || k.resumed.IsZero() {
			fmt.Fprint(w, " ?")
			continue
		}
		fmt.Fprintf(w, " %.1f+%.1f+%.1f", expires.Sub(k.at).Seconds(), taken.Sub(expires).Seconds(), k.resumed.Sub(taken).Seconds())
	}
	gap, who := renewalGaps(r.leaseRows)
	fmt.Fprintf(w, "; longest time between two renewals by one holder: %v (%s; every 5 s is the rule)\n", gap.Round(100*time.Millisecond), who)
	for _, st := range r.slowStarts {
		fmt.Fprintf(w, "  slow start: %s took %v from taking the lease to its first send; the database's busy backends meanwhile (most at once, longest running):\n", st.by, round(st.took))
		for _, b := range st.busy {
			fmt.Fprintf(w, "    %s\n", b)
		}
	}
	fmt.Fprintf(w, "unknown messages: %d (sum of deliveries.unknown) against %d in flight at the kills (Σ per kill: the killed process's sends the fake had not answered at the SIGKILL, received or on their way; + those it had answered whose message lessonbot records as unknown; + internal/delivery's record-ahead window, %d at %g/s; + %d send past its turn, not yet at the fake)\n",
		r.final.unknown, bound, window, c.rate, pastTurn)
	for i, err := range r.stopErrs {
		if err != nil {
			fmt.Fprintf(w, "stop: lessonbot-%d: %v\n", i+1, err)
		}
	}
	r.machine.print(w, r.nice)
	fmt.Fprintf(w, "stop: leases left after every instance stopped (SIGTERM): %d\n", r.leasesLeft)
}

// lessonTexts returns the hashes of the texts of a lesson's messages, in
// order, from the first of the slot's chats that got all per of them
// (every chat of the slot gets the same lesson).
func lessonTexts(sent []telegramtest.SentMessage, per int) []uint64 {
	byChat := map[string][]telegramtest.SentMessage{}
	for _, m := range sent {
		byChat[m.ChatID] = append(byChat[m.ChatID], m)
	}
	for _, msgs := range byChat {
		if len(msgs) != per {
			continue
		}
		slices.SortFunc(msgs, func(a, b telegramtest.SentMessage) int { return a.MessageID - b.MessageID })
		out := make([]uint64, per)
		for i, m := range msgs {
			out[i] = textHash(m.Text)
		}
		return out
	}
	return nil
}

// neverReached counts the messages the killed process left recorded as
// under way that it never sent to the fake: no call of its own reached
// the fake with that chat and that message's text (texts, by index). They
// were waiting for their turn (internal/delivery's record-ahead window),
// or had taken it and their request had not been written; -1 when the
// texts are unknown.
func neverReached(k kill, sends []sendCall, texts []uint64) int {
	if texts == nil {
		return -1
	}
	reached := map[underWayRow]bool{}
	index := map[uint64]int{}
	for i, h := range texts {
		index[h] = i
	}
	for _, c := range sends {
		if i, ok := index[c.text]; ok && c.by == k.tag {
			reached[underWayRow{c.chat, i}] = true
		}
	}
	n := 0
	for _, r := range k.underWay {
		if !reached[r] {
			n++
		}
	}
	return n
}

// limitedAt places the 429 answers to lesson sends, a burst (429s less
// than 100 ms apart) at a time: the process, the time since its sending
// period began (the first accepted send of the fan-out or of a
// failover), and a stall of the loadtest it came out of.
func (r *clusterReport) limitedAt() []string {
	var out []string
	var first, last sendCall
	n := 0
	flush := func() {
		if n == 0 {
			return
		}
		var from time.Time
		for _, p := range r.periods {
			if !first.received.Before(p.from) {
				from = p.from
			}
		}
		line := fmt.Sprintf("%d from %s %v after its period began", n, first.by, first.received.Sub(from).Round(time.Millisecond))
		for _, st := range r.machine.stalls {
			// The stall is seen when the ticker runs again, a moment after
			// the server's goroutines did.
			if !first.received.Before(st.at) && first.received.Sub(st.at) < st.late+200*time.Millisecond {
				line += fmt.Sprintf(", as the loadtest (the fake) resumed from a stall of %v", st.late.Round(time.Millisecond))
			}
		}
		out = append(out, line)
		n = 0
	}
	for _, c := range r.sends {
		if c.status != http.StatusTooManyRequests {
			continue
		}
		if n > 0 && c.received.Sub(last.received) >= 100*time.Millisecond {
			flush()
		}
		if n == 0 {
			first = c
		}
		last = c
		n++
	}
	flush()
	return out
}

// writeSends writes the send log as CSV: process, chat, when the call was
// received and answered (unix µs), status.
func writeSends(path string, sends []sendCall) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(f)
	fmt.Fprintln(bw, "process,chat,received_us,answered_us,status")
	for _, c := range sends {
		fmt.Fprintf(bw, "%s,%s,%d,%d,%d\n", c.by, c.chat, c.received.UnixMicro(), c.answered.UnixMicro(), c.status)
	}
	if err := bw.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// pastTurn is the send, at most one, whose turn had come at a kill and
// whose request had not reached the fake: internal/delivery frees a
// message's place in the record-ahead window when its turn comes, before
// the request is written, and turns come one per interval (3.3 ms at
// 300/s), far longer than writing a request on loopback takes. The fake
// cannot see that send; in 2 of 160 kills measured, the killed
// process left it recorded as under way (17 messages never at the fake,
// with a window of 16).
const pastTurn = 1

// inFlightBounds returns, for each kill, the sends in flight at it: the
// killed process's sends the fake had not answered (received, or on their
// way), those the fake had answered before the SIGKILL whose message
// lessonbot records as unknown (the answer had not come back, or was not
// recorded yet), the record-ahead window, and the send past its turn
// (pastTurn); and their sum.
func (r *clusterReport) inFlightBounds(rate float64) (bounds []int, total int) {
	_, answered := arrivedByKill(r.kills, r.arrivedAnyway)
	for n, k := range r.kills {
		b := k.inFlight + answered[n] + recordAheadWindow(rate) + pastTurn
		bounds = append(bounds, b)
		total += b
	}
	return bounds, total
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
	if !r.webhookOK || r.hook.retried > 0 || r.helpTwice > 0 {
		add("webhook: %d of %d chats got their reply through the proxy, %d replies more than one per command, %d posts answered other than 2xx (%v)",
			r.helpReplies, 2*c.instances, r.helpTwice, r.hook.retried, r.hook.statuses)
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
	if r.switches != len(r.kills) {
		add("the sending process changed %d times for %d kills: two processes sent at once", r.switches, len(r.kills))
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
	for n, k := range r.kills {
		if f := k.failoverTime(); f < 0 || f > c.failover {
			add("kill %d: failover %v, want ≤ %v", n+1, round(f), c.failover)
		}
	}
	_, bound := r.inFlightBounds(c.rate)
	if r.final.unknown > bound {
		add("%d unknown messages, more than the %d in flight at the kills", r.final.unknown, bound)
	}
	return out
}
