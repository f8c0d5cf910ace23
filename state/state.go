// Package state keeps in Redis everything that replicas of the bot share: any
// replica may receive a Slack click or an EnCo callback, so nothing that links
// one to a Slack thread lives in process memory.
//
// A miss is a value, not an error: lookups return (zero, false, nil) when a key
// does not exist or has expired. Every method takes a context first.
//
// # Key layout
//
// Every key starts with the Store's prefix P (default "sb:"). The bot runs on
// one Redis primary (or a Sentinel group), not on Redis Cluster: its scripts
// touch keys of several kinds at once (an operation's keys with the outbox
// and the audit stream). Keys of one operation carry the hash tag {id} all
// the same.
//
//	key               type    TTL                       written by / read by
//	P op:{id}         string  given at creation          commands create and update it; notify reads it
//	                          (JSON switchboard.Operation)
//	P res:{id}        hash    the operation's TTL left   notify records one result per target
//	                          at the first result        (field target, JSON Result); commands and notify read
//	P prog:{id}       hash    as op:{id}                 fields expected and status, written with the
//	                                                     operation and on every change of its status (the
//	                                                     status here is the operation's: the result script
//	                                                     marks it done here alone); done (succeeded) and
//	                                                     failed, kept with res:{id} by one script; queued is
//	                                                     set while a progress message of the operation
//	                                                     waits in the queue (slackpost takes it off when it
//	                                                     renders, and sets it again with the entry when it
//	                                                     queues that entry anew); reply is the stream id
//	                                                     of the newest post queued in the operation's
//	                                                     thread, so slackpost can tell at once whether one
//	                                                     waits behind a progress entry
//	P tok:<sel>       string  given at binding           commands bind a callback token; notify looks it up
//	                          (JSON {op, verifier})      (sel: first half of the token's SHA-256, hex)
//	P park:{id}       hash    refreshed on each park     notify parks the callbacks that beat their
//	                          (capped in count and bytes operation's tracking number, under the operation
//	                          per operation)             of the token that sent them, and takes them once
//	                                                     that number is known
//	P conf:<id>       string  given at saving            commands save a pending click; the click handler
//	                          (JSON Confirmation)        consumes it once
//	P seen:<kind>:<k> string  given per call             whoever must not do a thing twice (callbacks,
//	                                                     socket-mode envelopes, clicks)
//	P rl:<key>        zset    the window                 the rate limiter: one member per allowed request,
//	                                                     scored by its time in milliseconds
//	P audit           stream  none; capped by length     every permission decision and operation, appended
//	                          (and age, when set)        by commands, and each callback result, appended
//	                                                     with the result; read by the audit command
//	P outbox          stream  none; entries are deleted  outgoing Slack messages, consumer group "senders";
//	                          once Slack accepted them   written by anyone, delivered by slackpost
//	P dir:<user>      hash    none                       directory admins set mobile and fixed numbers;
//	                                                     permissions reads them
//	P expiries        zset    none; members leave when   commands schedule an operation's deadline; notify's
//	                          their operation is closed  expiry sweeper closes it and names what never answered
//	P pace:<channel>  string  until the channel's next   slackpost's senders share each channel's next free
//	                          slot, plus a minute        posting slot (Redis clock)
//	P rendered:{id}   string  as the operation           slackpost: the newest progress version posted to the
//	                                                     parent, so progress never goes backwards
//	P ack:<envelope>  string  given at saving            commands keep a slash command's answer, for Slack's
//	                                                     repeated deliveries of the same envelope
//	P step:<exec>     string  given at claiming          slackpost's sender claims the completion of a Workflow
//	                          (queue entry id)           Builder step execution for one queue entry (step.go)
//
// The scripts and commands used here (EVALSHA with cjson and TIME, GETDEL,
// SET NX PX, WATCH/MULTI, XADD MAXLEN, XTRIM MINID, XREADGROUP, XAUTOCLAIM,
// XPENDING) need Redis 6.2 or later, and are all supported by the embedded
// in-memory server (miniredis) that the bot uses when no Redis is configured.
// That server expires keys on the wall clock only with ClockTTL(true).
package state

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// DefaultPrefix is the key prefix used when New is given an empty one.
const DefaultPrefix = "sb:"

var (
	// ErrExists reports that a create-only write found its key already taken.
	ErrExists = errors.New("already exists")
)

// Store is the bot's shared state in Redis. It is safe for concurrent use.
type Store struct {
	rdb    redis.UniversalClient
	prefix string

	auditMaxLen atomic.Int64 // entries kept in the audit stream; 0: no cap
	auditMaxAge atomic.Int64 // nanoseconds of audit kept; 0: no age limit

	record *scriptBatcher // RecordResult's script, batched under load

	noUnblock atomic.Bool // the server lacks CLIENT ID / CLIENT UNBLOCK (see blockingRead)
}

// New returns a Store that keeps its keys under prefix (DefaultPrefix when
// empty). The caller owns rdb and closes it.
func New(rdb redis.UniversalClient, prefix string) *Store {
	if prefix == "" {
		prefix = DefaultPrefix
	}
	s := &Store{rdb: rdb, prefix: prefix, record: newScriptBatcher(rdb, recordScript)}
	s.auditMaxLen.Store(DefaultAuditMaxLen)
	return s
}

// Ping checks that Redis answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.rdb.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("ping redis: %w", err)
	}
	return nil
}

// key names a key of one kind, e.g. key("conf", id) is "sb:conf:<id>".
func (s *Store) key(kind, id string) string { return s.prefix + kind + ":" + id }

// opKey and its siblings carry the hash tag {id} so that one operation's keys
// live in one cluster slot.
func (s *Store) opKey(id string) string   { return s.prefix + "op:{" + id + "}" }
func (s *Store) resKey(id string) string  { return s.prefix + "res:{" + id + "}" }
func (s *Store) progKey(id string) string { return s.prefix + "prog:{" + id + "}" }

// checkTTL refuses a missing TTL: every key that can expire must have one.
func checkTTL(ttl time.Duration) error {
	if ttl <= 0 {
		return fmt.Errorf("ttl must be positive, got %v", ttl)
	}
	return nil
}

// millis converts a positive duration to whole milliseconds, at least 1, so
// that a short TTL never becomes "expire now".
func millis(d time.Duration) int64 { return max(d.Milliseconds(), 1) }

// getString reads a string key, turning a miss into ok=false.
func (s *Store) getString(ctx context.Context, key string) (string, bool, error) {
	v, err := s.rdb.Get(ctx, key).Result()
	if errors.Is(err, redis.Nil) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	return v, true, nil
}
