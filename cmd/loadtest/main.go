// Command loadtest drives a lessonbot binary as a wave of new users
// would, against an in-process fake Telegram Bot API that enforces a rate
// with 429 and retry_after and adds latency to every call, and measures
// what the users get: every chat sends /subscribe at once, then the lesson
// of the slot they chose goes out to all of them.
//
// It reports how soon the replies came, the CPU the lessonbot process
// used per 1,000 commands, the rate the fan-out reached as a share of the
// allowed one, the 429s and duplicates, and the process's peak resident
// memory. It drives any build of lessonbot, so two versions can be
// measured by the same load:
//
//	go build -o /tmp/lessonbot ./cmd/lessonbot
//	go run ./cmd/loadtest -bin /tmp/lessonbot -chats 30000 -rate 1000 -latency 50ms
//
// It reads /proc for the process's CPU time and memory, so it runs on
// Linux.
//
// The instances mode runs several lessonbot processes on one PostgreSQL
// database instead, receiving Telegram by webhook through a round-robin
// proxy, and kills the holder of the sender lease again and again during
// the fan-out of one slot; it reports the rate while a sender was active,
// each failover, the 429s, duplicates and lost or unknown messages, and
// the deliveries rows the instances' schedulers wrote:
//
//	go run ./cmd/loadtest instances -bin /tmp/lessonbot -database postgres://... \
//		-instances 3 -chats 10000 -rate 300 -kills 10
//
// Both modes exit 1 when a goal is missed.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// run parses the flags, runs the load and prints its report; it returns
// the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "instances" {
		return runInstances(ctx, args[1:], stdout, stderr)
	}
	fs := flag.NewFlagSet("loadtest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var l load
	fs.StringVar(&l.bin, "bin", "", "the lessonbot binary to drive (required)")
	fs.IntVar(&l.chats, "chats", 30000, "private chats that send /subscribe at once")
	fs.Float64Var(&l.rate, "rate", 1000, "messages a second the fake Bot API allows, and lessonbot is configured for")
	fs.DurationVar(&l.latency, "latency", 50*time.Millisecond, "added to every Bot API call")
	fs.IntVar(&l.burst, "burst", 0, "messages the fake Bot API lets through at once above its rate before it answers 429 (default: 50 ms worth at -rate)")
	fs.DurationVar(&l.replyWithin, "reply-within", 60*time.Second, "how soon every chat should have its reply")
	fs.DurationVar(&l.slotAfter, "slot-after", 2*time.Minute, "the slot the chats choose is the first whole minute at least this long after the commands")
	fs.StringVar(&l.lessons, "lessons", "lessons", "the lessons folder lessonbot serves")
	fs.BoolVar(&l.fanOut, "fanout", true, "after the replies, wait for the slot and measure its fan-out")
	fs.StringVar(&l.keep, "keep", "", "keep lessonbot's database and log in this folder (default: a temporary one, removed)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if l.burst <= 0 {
		// Requests reach the fake up to tens of milliseconds off the pace
		// lessonbot sends them at, when the machine is busy (measured: a
		// burst of 10 at 1,000/s drew 429s, one of 50 none).
		l.burst = max(1, int(l.rate*0.05))
	}
	if l.bin == "" || fs.NArg() > 0 || l.chats < 1 || l.rate <= 0 {
		fmt.Fprintln(stderr, "loadtest: want -bin PATH, a positive -chats and -rate, and no arguments (see -help)")
		return 2
	}
	rep, err := l.run(ctx, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "loadtest: %v\n", err)
		return 1
	}
	rep.print(stdout, l)
	if !rep.ok(l) {
		return 1
	}
	return 0
}
