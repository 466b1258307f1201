package chat

import (
	"errors"
	"fmt"
	"time"
)

// ErrorKind sorts the errors of a send by what the sender should do next.
// The adapters map their platform's native errors to these kinds.
type ErrorKind int

// The kinds of send error.
const (
	// Transient errors (connection refused, a 5xx answer, a timeout before
	// the request was written) are retried with backoff.
	Transient ErrorKind = iota
	// RateLimited means the platform asked to wait RetryAfter; the whole
	// platform's queue waits, and it never counts as a failure.
	RateLimited
	// ChatGone means the bot can no longer post there (blocked, kicked,
	// the chat deleted): the subscription is deactivated.
	ChatGone
	// ChatMoved means the chat has a new id (a Telegram group upgraded to a
	// supergroup): the subscription moves to MovedTo and the message is
	// sent there.
	ChatMoved
	// Ambiguous means the request may have reached the platform (a timeout
	// after it was written): resending could post twice.
	Ambiguous
	// Rejected means the platform refused this message for good (such as a
	// formatting error): retrying would fail the same way.
	Rejected
)

var kindNames = map[ErrorKind]string{
	Transient: "transient", RateLimited: "rate limited", ChatGone: "chat gone",
	ChatMoved: "chat moved", Ambiguous: "ambiguous", Rejected: "rejected",
}

// String names the kind for logs.
func (k ErrorKind) String() string { return kindNames[k] }

// SendError is an error of a send, sorted by kind. Err is the platform's
// error, which must not hold a token.
type SendError struct {
	Kind ErrorKind
	// RetryAfter is how long to wait, for RateLimited.
	RetryAfter time.Duration
	// MovedTo is the new chat id, for ChatMoved.
	MovedTo string
	Err     error
}

// Error describes the error with its kind.
func (e *SendError) Error() string {
	switch e.Kind {
	case RateLimited:
		return fmt.Sprintf("%s (retry after %s): %v", e.Kind, e.RetryAfter, e.Err)
	case ChatMoved:
		return fmt.Sprintf("%s to %s: %v", e.Kind, e.MovedTo, e.Err)
	}
	return fmt.Sprintf("%s: %v", e.Kind, e.Err)
}

// Unwrap returns the platform's error.
func (e *SendError) Unwrap() error { return e.Err }

// KindOf returns the kind of a send error; an error that is not a
// SendError is Transient.
func KindOf(err error) ErrorKind {
	var se *SendError
	if errors.As(err, &se) {
		return se.Kind
	}
	return Transient
}
