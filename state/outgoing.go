package state

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/switchboard-bot/switchboard"
)

// outboxGroup is the consumer group every replica's sender joins.
const outboxGroup = "senders"

// maxReclaimRounds bounds the XAUTOCLAIM scan of one Claim.
const maxReclaimRounds = 16

// unblockFallback bounds one blocking read on a server that cannot be told to
// end it early (see blockingRead), so shutdown waits at most this long.
const unblockFallback = 250 * time.Millisecond

func (s *Store) outboxKey() string { return s.prefix + "outbox" }

// Enqueue adds a message to the outgoing queue and returns its stream id. The
// queue has no length cap: an undelivered message is never dropped.
func (s *Store) Enqueue(ctx context.Context, m switchboard.Outgoing) (string, error) {
	if m.Kind == "" {
		return "", errors.New("enqueue message: empty kind")
	}
	id, err := s.rdb.XAdd(ctx, &redis.XAddArgs{Stream: s.outboxKey(), Values: outgoingFields(m)}).Result()
	if err != nil {
		return "", fmt.Errorf("enqueue message: %w", err)
	}
	return id, nil
}

// outgoingFields is how a message is kept in the stream: its non-empty fields.
func outgoingFields(m switchboard.Outgoing) []any { return appendOutgoingFields(nil, m) }

// appendOutgoingFields appends m's fields, as outgoingFields gives them, to
// dst.
func appendOutgoingFields(dst []any, m switchboard.Outgoing) []any {
	dst = append(dst, "kind", m.Kind)
	for _, f := range [...]struct{ name, value string }{
		{"channel", m.Channel}, {"user", m.User}, {"thread_ts", m.ThreadTS}, {"ts", m.TS},
		{"text", m.Text}, {"blocks", string(m.Blocks)}, {"response_url", m.ResponseURL},
		{"op", m.OperationID}, {"dedupe", m.DedupeKey},
	} {
		if f.value != "" {
			dst = append(dst, f.name, f.value)
		}
	}
	return dst
}

// EnsureGroup creates the queue's consumer group (and the stream) unless it
// exists. The group starts at the beginning of the stream, so messages
// enqueued before any sender started are delivered too. Claim calls it itself
// when it finds the group missing (e.g. after Redis lost its data).
func (s *Store) EnsureGroup(ctx context.Context) error {
	err := s.rdb.XGroupCreateMkStream(ctx, s.outboxKey(), outboxGroup, "0").Err()
	if err != nil && !strings.HasPrefix(err.Error(), "BUSYGROUP") {
		return fmt.Errorf("create outgoing queue group: %w", err)
	}
	return nil
}

// Claim returns up to n messages for consumer (a name unique to this
// replica's sender): first messages delivered to some consumer more than
// minIdle ago and never acknowledged (their sender presumably died; minIdle ≤
// 0 skips this), then new messages. When there is nothing to reclaim it waits
// up to block for new messages (block ≤ 0: does not wait); the wait ends as
// soon as ctx does. The caller
// acknowledges each message with Ack once Slack accepted it; one not
// acknowledged is delivered again, to whichever consumer reclaims it.
func (s *Store) Claim(ctx context.Context, consumer string, n int, block time.Duration, minIdle time.Duration) ([]switchboard.Outgoing, error) {
	if consumer == "" || n < 1 {
		return nil, fmt.Errorf("claim outgoing messages: need a consumer and n ≥ 1, got %q, %d", consumer, n)
	}
	out, err := s.claim(ctx, consumer, n, block, minIdle)
	if err != nil && strings.HasPrefix(err.Error(), "NOGROUP") {
		if err := s.EnsureGroup(ctx); err != nil {
			return nil, fmt.Errorf("claim outgoing messages: %w", err)
		}
		out, err = s.claim(ctx, consumer, n, block, minIdle)
	}
	if err != nil {
		return nil, fmt.Errorf("claim outgoing messages: %w", err)
	}
	return out, nil
}

func (s *Store) claim(ctx context.Context, consumer string, n int, block, minIdle time.Duration) ([]switchboard.Outgoing, error) {
	var out []switchboard.Outgoing
	if minIdle > 0 {
		reclaimed, err := s.reclaim(ctx, consumer, n, minIdle)
		if err != nil {
			return nil, err
		}
		out = reclaimed
		if len(out) >= n {
			return out, nil
		}
	}
	args := &redis.XReadGroupArgs{
		Group:    outboxGroup,
		Consumer: consumer,
		Streams:  []string{s.outboxKey(), ">"},
		Count:    int64(n - len(out)),
		Block:    -1, // go-redis: a negative Block sends no BLOCK (zero would wait forever)
	}
	streams, err := s.rdb.XReadGroup(ctx, args).Result()
	if errors.Is(err, redis.Nil) && len(out) == 0 && block > 0 {
		// Nothing waiting: wait for new entries, in a read that ends as soon as ctx does.
		args.Block = block
		streams, err = s.blockingRead(ctx, args)
	}
	if errors.Is(err, redis.Nil) {
		return out, nil
	}
	if err != nil {
		return nil, err
	}
	for _, st := range streams {
		for _, m := range st.Messages {
			out = append(out, decodeOutgoing(m, 1))
		}
	}
	return out, nil
}

// blockingRead runs a blocking XREADGROUP that ends when ctx does. go-redis
// notices a cancelled context only once a blocking command returns, so the
// read runs on a connection of its own whose client ID is known, and ctx's
// end sends CLIENT UNBLOCK for it: Redis then answers the read at once, as if
// its time had run out. A server without CLIENT ID (the embedded one) gets a
// plain read of at most unblockFallback instead.
func (s *Store) blockingRead(ctx context.Context, args *redis.XReadGroupArgs) ([]redis.XStream, error) {
	client, ok := s.rdb.(interface{ Conn() *redis.Conn })
	if !ok || s.noUnblock.Load() {
		args.Block = min(args.Block, unblockFallback)
		return s.rdb.XReadGroup(ctx, args).Result()
	}
	conn := client.Conn()
	defer conn.Close()
	id, err := conn.ClientID(ctx).Result()
	if err != nil {
		if ctx.Err() != nil {
			return nil, err
		}
		s.noUnblock.Store(true)
		args.Block = min(args.Block, unblockFallback)
		return s.rdb.XReadGroup(ctx, args).Result()
	}
	read := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		// The read may not have reached Redis yet, and then CLIENT UNBLOCK
		// finds nothing to unblock: ask again until it does or the read ends.
		uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), args.Block)
		defer cancel()
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			if n, err := s.rdb.ClientUnblock(uctx, id).Result(); err != nil || n == 1 {
				return
			}
			select {
			case <-read:
				return
			case <-uctx.Done():
				return
			case <-tick.C:
			}
		}
	})
	defer stop()
	streams, err := conn.XReadGroup(ctx, args).Result()
	close(read)
	return streams, err
}

// reclaim takes over up to n messages idle for more than minIdle, with their
// delivery counts.
func (s *Store) reclaim(ctx context.Context, consumer string, n int, minIdle time.Duration) ([]switchboard.Outgoing, error) {
	key := s.outboxKey()
	var msgs []redis.XMessage
	var gone []string
	start := "0-0"
	for range maxReclaimRounds {
		got, next, err := s.rdb.XAutoClaim(ctx, &redis.XAutoClaimArgs{
			Stream: key, Group: outboxGroup, Consumer: consumer,
			MinIdle: minIdle, Start: start, Count: int64(n - len(msgs)),
		}).Result()
		if err != nil {
			return nil, err
		}
		for _, m := range got {
			if len(m.Values) == 0 {
				gone = append(gone, m.ID) // deleted from the stream but still pending
				continue
			}
			msgs = append(msgs, m)
		}
		if next == "0-0" || len(msgs) >= n {
			break
		}
		start = next
	}
	if len(gone) > 0 {
		if err := s.rdb.XAck(ctx, key, outboxGroup, gone...).Err(); err != nil {
			return nil, err
		}
	}
	if len(msgs) == 0 {
		return nil, nil
	}
	pending := make([]*redis.XPendingExtCmd, len(msgs))
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, m := range msgs {
			pending[i] = p.XPendingExt(ctx, &redis.XPendingExtArgs{
				Stream: key, Group: outboxGroup, Start: m.ID, End: m.ID, Count: 1, Consumer: consumer,
			})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := make([]switchboard.Outgoing, len(msgs))
	for i, m := range msgs {
		attempts := int64(0)
		if p := pending[i].Val(); len(p) == 1 {
			attempts = p[0].RetryCount
		}
		out[i] = decodeOutgoing(m, attempts)
	}
	return out, nil
}

// Ack removes delivered messages from the queue (XACK and XDEL in one
// transaction).
func (s *Store) Ack(ctx context.Context, ids ...string) error {
	if len(ids) == 0 {
		return nil
	}
	key := s.outboxKey()
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.XAck(ctx, key, outboxGroup, ids...)
		p.XDel(ctx, key, ids...)
		return nil
	})
	if err != nil {
		return fmt.Errorf("ack outgoing messages: %w", err)
	}
	return nil
}

// QueueDepth returns how many messages wait: claimed but not acknowledged,
// plus not yet claimed. Acknowledged messages are deleted, so this is the
// stream's length.
func (s *Store) QueueDepth(ctx context.Context) (int64, error) {
	n, err := s.rdb.XLen(ctx, s.outboxKey()).Result()
	if err != nil {
		return 0, fmt.Errorf("outgoing queue depth: %w", err)
	}
	return n, nil
}

// decodeOutgoing reads a queue entry tolerantly: missing fields stay empty.
func decodeOutgoing(m redis.XMessage, attempts int64) switchboard.Outgoing {
	str := func(name string) string {
		v, _ := m.Values[name].(string)
		return v
	}
	o := switchboard.Outgoing{
		ID:          m.ID,
		Kind:        str("kind"),
		Channel:     str("channel"),
		User:        str("user"),
		ThreadTS:    str("thread_ts"),
		TS:          str("ts"),
		Text:        str("text"),
		ResponseURL: str("response_url"),
		OperationID: str("op"),
		DedupeKey:   str("dedupe"),
		Attempts:    attempts,
	}
	if b := str("blocks"); b != "" {
		o.Blocks = json.RawMessage(b)
	}
	return o
}
