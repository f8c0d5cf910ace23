package switchboard

import (
	"errors"
	"time"
)

// ErrNotFound reports that an operation a write depends on does not exist
// (it was never created or has expired).
var ErrNotFound = errors.New("not found")

// Result is the outcome for one target of an operation.
type Result struct {
	Target string    `json:"target"`
	OK     bool      `json:"ok"`
	Detail string    `json:"detail,omitempty"`
	At     time.Time `json:"at"`
	// Message is what EnCo said about it, as it said it (not escaped), when
	// it said something; Detail is the line posted in Slack.
	Message string `json:"message,omitempty"`
}

// Progress counts an operation's results after a RecordResult.
type Progress struct {
	Done     int  // results that succeeded
	Failed   int  // results that failed
	Expected int  // the operation's Expected
	First    bool // this call stored a new result (false for a duplicate)
}

// Finished returns how many results arrived, successful or not.
func (p Progress) Finished() int { return p.Done + p.Failed }

// Complete reports whether every expected result has arrived.
func (p Progress) Complete() bool { return p.Expected > 0 && p.Finished() >= p.Expected }

// ErrClosed reports a result for an operation that no longer takes any: it
// failed, was cancelled or expired.
var ErrClosed = errors.New("operation takes no more results")

// ErrAllAnswered reports a result for a new target of an operation whose
// every expected target has answered already.
var ErrAllAnswered = errors.New("every target of the operation has answered")

// Effects are what RecordResult does along with storing a new result; a
// duplicate result has none.
type Effects struct {
	// Progress, when set, is queued unless a progress message of the
	// operation is waiting in the queue already (see TakeProgress).
	Progress *Outgoing
	// Each is queued with every new result (the reply in the thread, the
	// parent's progress, a copy for a notification channel).
	Each []Outgoing
	// Last is queued too when the new result is the last one expected (the
	// summary that closes the thread).
	Last []Outgoing
	// Audit, when set, is appended to the audit trail (see Audit).
	Audit *AuditEntry
	// EachUpTo, when positive, queues Each with a failed result only while
	// it is among the operation's first EachUpTo failures (a fleet change
	// names its first failures in the thread, and the rest in a file).
	EachUpTo int
}

// ErrParkFull reports that an operation already holds as many early
// callbacks (or bytes of them) as it may. The callback is not stored;
// answering the sender with a 5xx lets it retry later, when the tracking
// number is likely to be known.
var ErrParkFull = errors.New("too many parked callbacks")
