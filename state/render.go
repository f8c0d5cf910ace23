package state

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/switchboard-bot/switchboard"
)

// An operation's parent message is re-rendered from its stored results each
// time a result arrives. Replicas render it concurrently, so each render is
// numbered (a version that grows with the results) and only a render newer
// than every one before may reach Slack: the parent never goes back to older
// counts, and an unchanged parent is not sent again.
//
//	key                 type    TTL                  written by / read by
//	P rendered:{id}     string  given at claiming    slackpost's sender: the newest version of the
//	                                                 operation's parent sent (or being sent) to Slack

func (s *Store) renderedKey(opID string) string { return s.prefix + "rendered:{" + opID + "}" }

// claimRenderScript stores ARGV[1] when it is greater than the stored
// version. KEYS[1] rendered key; ARGV[1] version, ARGV[2] ttl in ms. Returns
// 1 when claimed, 0 when an equal or newer version was claimed before.
var claimRenderScript = redis.NewScript(`
local cur = tonumber(redis.call('GET', KEYS[1]) or '-1')
if tonumber(ARGV[1]) <= cur then
  return 0
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
`)

// releaseRenderScript deletes the stored version if it is still ARGV[1].
// KEYS[1] rendered key. Returns 1 when deleted.
var releaseRenderScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
`)

// ResultCounts returns how many results of an operation succeeded and
// failed so far (Done and Failed; the other fields are zero). It reads the
// counters RecordResult keeps, not the results themselves, so it stays cheap
// for an operation with a thousand targets.
func (s *Store) ResultCounts(ctx context.Context, opID string) (switchboard.Progress, error) {
	vals, err := s.rdb.HMGet(ctx, s.progKey(opID), "done", "failed").Result()
	if err != nil {
		return switchboard.Progress{}, fmt.Errorf("result counts: %w", err)
	}
	return countsOf(opID, vals)
}

// countsOf reads the done and failed counters, as HMGET returns them.
func countsOf(opID string, vals []any) (switchboard.Progress, error) {
	var p switchboard.Progress
	for i, v := range vals {
		str, _ := v.(string)
		if str == "" {
			continue
		}
		n, err := strconv.Atoi(str)
		if err != nil {
			return switchboard.Progress{}, fmt.Errorf("result counts of operation %s: %w", opID, err)
		}
		if i == 0 {
			p.Done = n
		} else {
			p.Failed = n
		}
	}
	return p, nil
}

// TakeProgress is ResultCounts for the deliverer of a progress message: it
// also takes off the mark that keeps RecordResult from queueing another
// progress message while one waits, in the same step. A result recorded
// after it queues a new progress message, so none is left unrendered.
func (s *Store) TakeProgress(ctx context.Context, opID string) (switchboard.Progress, error) {
	key := s.progKey(opID)
	var counts *redis.SliceCmd
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HDel(ctx, key, "queued")
		counts = p.HMGet(ctx, key, "done", "failed")
		return nil
	})
	if err != nil {
		return switchboard.Progress{}, fmt.Errorf("take progress: %w", err)
	}
	return countsOf(opID, counts.Val())
}

// RenderedVersion returns the newest version of an operation's parent
// message claimed with ClaimRender, or -1 when none was.
func (s *Store) RenderedVersion(ctx context.Context, opID string) (int64, error) {
	v, ok, err := s.getString(ctx, s.renderedKey(opID))
	if err != nil {
		return 0, fmt.Errorf("rendered version: %w", err)
	}
	if !ok {
		return -1, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("rendered version of operation %s: %w", opID, err)
	}
	return n, nil
}

// ClaimRender reports whether version is newer than every version of the
// operation's parent claimed so far, and if so records it, for ttl. The
// caller then sends that render to Slack, and calls ReleaseRender if Slack
// did not take it.
func (s *Store) ClaimRender(ctx context.Context, opID string, version int64, ttl time.Duration) (bool, error) {
	if opID == "" || version < 0 {
		return false, fmt.Errorf("claim render: need an operation id and a version ≥ 0, got %q, %d", opID, version)
	}
	if err := checkTTL(ttl); err != nil {
		return false, fmt.Errorf("claim render: %w", err)
	}
	n, err := claimRenderScript.Run(ctx, s.rdb, []string{s.renderedKey(opID)}, version, millis(ttl)).Int()
	if err != nil {
		return false, fmt.Errorf("claim render: %w", err)
	}
	return n == 1, nil
}

// ReleaseRender withdraws a claimed version that never reached Slack, unless
// a newer one was claimed since, so that the next render is sent.
func (s *Store) ReleaseRender(ctx context.Context, opID string, version int64) error {
	if opID == "" {
		return errors.New("release render: empty operation id")
	}
	if err := releaseRenderScript.Run(ctx, s.rdb, []string{s.renderedKey(opID)}, version).Err(); err != nil {
		return fmt.Errorf("release render: %w", err)
	}
	return nil
}

// ThreadPostQueuedAfter reports whether a post in the thread of operation
// opID was queued after the entry with stream id after. A result's reply is
// queued in the same step as its count (see RecordResult), so when counters
// read before this call count a result whose reply is queued after a
// progress entry, the parent rendered from them would run ahead of its
// thread ("all 2 done" above one reply); the deliverer then moves the
// progress entry behind the reply (RequeueProgress).
//
// It reads the stream id of the newest such post, which the record script
// (and ExpireOperation) keep in the operation's counters, so it costs one
// read however long the queue is. That post may have been delivered
// already (by another replica); the answer is then a needless yes, never a
// wrong no.
func (s *Store) ThreadPostQueuedAfter(ctx context.Context, after, opID string) (bool, error) {
	newest, ok, err := s.hashString(ctx, s.progKey(opID), "reply")
	if err != nil {
		return false, fmt.Errorf("queued thread posts: %w", err)
	}
	if !ok {
		return false, nil
	}
	later, err := QueuedBefore(after, newest)
	if err != nil {
		return false, fmt.Errorf("queued thread posts of operation %s: %w", opID, err)
	}
	return later, nil
}

// hashString reads one field of a hash, turning a miss into ok=false.
func (s *Store) hashString(ctx context.Context, key, field string) (string, bool, error) {
	v, err := s.rdb.HGet(ctx, key, field).Result()
	if errors.Is(err, redis.Nil) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	return v, true, nil
}

// QueuedBefore reports whether the queue entry with stream id a was queued
// before the one with id b (Redis gives each new entry a greater id:
// milliseconds, a dash, a sequence number).
func QueuedBefore(a, b string) (bool, error) {
	ams, aseq, err := parseStreamID(a)
	if err != nil {
		return false, err
	}
	bms, bseq, err := parseStreamID(b)
	if err != nil {
		return false, err
	}
	return ams < bms || ams == bms && aseq < bseq, nil
}

func parseStreamID(id string) (ms, seq uint64, err error) {
	msPart, seqPart, ok := strings.Cut(id, "-")
	if ok {
		ms, err = strconv.ParseUint(msPart, 10, 64)
	}
	if ok && err == nil {
		seq, err = strconv.ParseUint(seqPart, 10, 64)
	}
	if !ok || err != nil {
		return 0, 0, fmt.Errorf("stream id %q: want <ms>-<seq>", id)
	}
	return ms, seq, nil
}

// isThreadPost reports whether m is a post in the thread of operation opID,
// the kind of message ThreadPostQueuedAfter looks for (the record script
// tells them the same way).
func isThreadPost(m switchboard.Outgoing, opID string) bool {
	return m.Kind == "post" && m.ThreadTS != "" && m.OperationID == opID
}

// queueThreadPostScript queues a post in an operation's thread and keeps its
// stream id in the operation's counters (see ThreadPostQueuedAfter). KEYS[1]
// outbox, KEYS[2] prog; ARGV the entry's field strings. Returns the id.
var queueThreadPostScript = redis.NewScript(`
local id = redis.call('XADD', KEYS[1], '*', unpack(ARGV))
redis.call('HSET', KEYS[2], 'reply', id)
return id
`)

// requeueProgressScript queues a progress entry again and marks it queued,
// unless one is marked queued already (that one renders for both). KEYS[1]
// prog, KEYS[2] outbox; ARGV the entry's field strings. Returns the new
// entry's id, or false when nothing was queued: another progress entry
// waits, or the operation's counters are gone (it expired).
var requeueProgressScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 0 or redis.call('HSETNX', KEYS[1], 'queued', 1) == 0 then
  return false
end
return redis.call('XADD', KEYS[2], '*', unpack(ARGV))
`)

// RequeueProgress puts a progress entry of m.OperationID at the end of the
// queue, for the deliverer that found a thread post queued behind it (see
// ThreadPostQueuedAfter), and marks it queued in the same step, as
// RecordResult does: results recorded meanwhile then queue no progress
// entry of their own, and one that did is left to render for both (nothing
// is queued). It reports whether it queued the entry. The caller
// acknowledges the old entry afterwards.
func (s *Store) RequeueProgress(ctx context.Context, m switchboard.Outgoing) (bool, error) {
	if m.Kind == "" || m.OperationID == "" {
		return false, fmt.Errorf("requeue progress: need a kind and an operation id, got %q, %q", m.Kind, m.OperationID)
	}
	err := requeueProgressScript.Run(ctx, s.rdb, []string{s.progKey(m.OperationID), s.outboxKey()}, outgoingFields(m)...).Err()
	if errors.Is(err, redis.Nil) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("requeue progress: %w", err)
	}
	return true, nil
}
