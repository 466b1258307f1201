// Package lease holds a role for one lessonbot instance among several that
// share a PostgreSQL database: the scheduler, the sender of a bot token,
// the poller of a Telegram token. A role is a lease row in the database
// (store.AcquireLease): its holder renews it every TTL/3, stops acting
// when TTL−1 s have passed since its last renewal without another, and
// deletes it on a clean stop; another instance takes the role once the
// lease has run out, or at once after the delete.
//
// The margin of one second covers the time a renewal takes to reach the
// database, which times the lease: the holder counts from before it asked,
// the database from when it wrote.
package lease

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/lessonbot/lessonbot/internal/store"
)

// Defaults: a failover after a holder's death takes TTL at most, from its
// last renewal.
const (
	// TTL is how long a lease lasts after its last renewal.
	TTL = 15 * time.Second
	// Margin is how long before its lease runs out a holder that could
	// not renew it stops acting.
	Margin = time.Second
)

// Store is where the leases live: *store.Store.
type Store interface {
	AcquireLease(ctx context.Context, role, holder string, ttl time.Duration) (bool, store.Lease, error)
	ReleaseLease(ctx context.Context, role, holder string) error
}

// Options tune Run; the zero value means the defaults.
type Options struct {
	// TTL is the lease's length; zero means TTL. Tests shorten it.
	TTL time.Duration
	// Log receives a line when the role is won, lost or given up.
	Log *slog.Logger
	// Held, when set, is told each time the role is won (true) and lost
	// or given up (false).
	Held func(held bool)
}

// askAfterExpiry is how long after a lease runs out a standby asks for
// it, so that the database finds it run out.
const askAfterExpiry = 50 * time.Millisecond

// errLost and errRanOut end the work of a holder that lost its role.
var (
	errLost   = errors.New("another instance holds the lease")
	errRanOut = errors.New("the lease ran out without a renewal")
)

// Run holds role for holder until ctx ends. While another instance holds
// it, Run asks for it every TTL/3, or as its lease runs out when that is
// sooner. Each time it wins the role it calls
// work with a context that ends when the role is lost: another instance
// took it, or TTL−Margin passed since the last renewal (the database did
// not answer). When work returns, or ctx ends, Run gives the role up
// (deletes the lease) unless it was lost. work may thus run several times;
// it should return soon after its context ends, and must not act after.
func Run(ctx context.Context, st Store, role, holder string, opts Options, work func(ctx context.Context)) {
	ttl := opts.TTL
	if ttl <= 0 {
		ttl = TTL
	}
	margin := min(Margin, ttl/4)
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("role", role)
	held := func(h bool) {
		if opts.Held != nil {
			opts.Held(h)
		}
	}
	every := ttl / 3
	for ctx.Err() == nil {
		asked := time.Now()
		won, current, err := st.AcquireLease(ctx, role, holder, ttl)
		if err != nil && ctx.Err() == nil {
			log.Warn("asking for the lease failed; asking again", "err", err)
		}
		if !won {
			wait := every
			if err == nil && current.Holder != "" {
				log.Debug("another instance holds the lease", "holder", current.Holder)
				// Ask again as it runs out, rather than up to a whole
				// turn later: a dead holder's role then passes on about
				// TTL after its last renewal.
				wait = min(every, max(current.Left+askAfterExpiry, askAfterExpiry))
			}
			sleep(ctx, wait)
			continue
		}
		log.Info("lease won: acting in this role", "lease_ttl", ttl)
		held(true)
		reason := hold(ctx, st, role, holder, ttl, margin, asked, work)
		held(false)
		if errors.Is(reason, errLost) || errors.Is(reason, errRanOut) {
			log.Warn("lease lost: stopped acting in this role", "err", reason)
			continue
		}
		// Given up: ctx ended or the work returned on its own.
		release, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		if err := st.ReleaseLease(release, role, holder); err != nil {
			log.Warn("giving the lease up failed; it runs out by itself", "err", err)
		} else {
			log.Info("lease given up")
		}
		cancel()
		if ctx.Err() == nil {
			sleep(ctx, every)
		}
	}
}

// hold runs work while the lease won at asked stays renewed, and returns
// why it ended: errLost, errRanOut, or nil when ctx ended or work returned.
// The deadline runs on a timer of its own, so that a renewal stuck on the
// database cannot hold it back.
func hold(ctx context.Context, st Store, role, holder string, ttl, margin time.Duration, asked time.Time,
	work func(ctx context.Context)) error {
	workCtx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	done := make(chan struct{})
	go func() {
		defer close(done)
		work(workCtx)
	}()
	deadline := time.AfterFunc(time.Until(asked.Add(ttl-margin)), func() { stop(errRanOut) })
	defer deadline.Stop()
	renew := time.NewTicker(ttl / 3)
	defer renew.Stop()
	end := func(reason error) error {
		stop(reason)
		<-done
		if cause := context.Cause(workCtx); errors.Is(cause, errRanOut) {
			return errRanOut
		}
		return reason
	}
	for {
		select {
		case <-done:
			return end(nil)
		case <-workCtx.Done():
			return end(nil)
		case <-renew.C:
			asked := time.Now()
			ask, cancel := context.WithTimeout(workCtx, ttl/3)
			won, _, err := st.AcquireLease(ask, role, holder, ttl)
			cancel()
			switch {
			case err != nil:
				// The deadline stops the work if no renewal gets through.
				continue
			case !won:
				return end(errLost)
			}
			if !deadline.Reset(time.Until(asked.Add(ttl - margin))) {
				return end(errRanOut) // it fired meanwhile: the work is stopping
			}
		}
	}
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
