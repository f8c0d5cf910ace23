package state

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/switchboard-bot/switchboard"
	"github.com/switchboard-bot/switchboard/internal/redistest"
)

func BenchmarkRecordResult(b *testing.B) {
	rdb, prefix := redistest.New(b)
	s := New(rdb, prefix)
	ctx := context.Background()
	id, err := NewID()
	if err != nil {
		b.Fatal(err)
	}
	op := switchboard.Operation{ID: id, Kind: "sim.deactivate", Expected: 1 << 30, Targets: benchTargets(50), Status: switchboard.StatusRunning}
	if err := s.CreateOperation(ctx, op, time.Hour); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := s.RecordResult(ctx, id, switchboard.Result{Target: fmt.Sprint(i), OK: i%10 != 0}, switchboard.Effects{}); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

func BenchmarkFirstSeen(b *testing.B) {
	rdb, prefix := redistest.New(b)
	s := New(rdb, prefix)
	ctx := context.Background()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := s.FirstSeen(ctx, "callback", fmt.Sprint(i%1000), time.Minute); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// benchTargets returns n distinct phone number targets.
func benchTargets(n int) []switchboard.Target {
	targets := make([]switchboard.Target, n)
	for i := range targets {
		targets[i] = switchboard.Number(fmt.Sprintf("324700%05d", i))
	}
	return targets
}

// BenchmarkThreadPostQueuedAfter is the deliverer's check before it renders
// a parent, with a progress entry at the head of a queue of backlog other
// messages (a long Slack outage): none is a reply of the operation, the case
// a scan of the queue would have to read to its end.
func BenchmarkThreadPostQueuedAfter(b *testing.B) {
	for _, backlog := range []int{10, 10_000} {
		b.Run(fmt.Sprintf("backlog=%d", backlog), func(b *testing.B) {
			rdb, prefix := redistest.New(b)
			s := New(rdb, prefix)
			ctx := context.Background()
			id, err := NewID()
			if err != nil {
				b.Fatal(err)
			}
			op := switchboard.Operation{ID: id, Kind: "sim.deactivate", ChannelID: "C1", ThreadTS: "1.1", Expected: 2, Targets: benchTargets(2), Status: switchboard.StatusRunning}
			if err := s.CreateOperation(ctx, op, time.Hour); err != nil {
				b.Fatal(err)
			}
			fx := switchboard.Effects{
				Each:     []switchboard.Outgoing{{Kind: "post", Channel: "C1", ThreadTS: "1.1", Text: "reply", OperationID: id}},
				Progress: &switchboard.Outgoing{Kind: "progress", Channel: "C1", TS: "1.1", OperationID: id},
			}
			if _, err := s.RecordResult(ctx, id, switchboard.Result{Target: "a", OK: true}, fx); err != nil {
				b.Fatal(err)
			}
			msgs, err := rdb.XRange(ctx, s.outboxKey(), "-", "+").Result()
			if err != nil || len(msgs) != 2 {
				b.Fatalf("queued: %d messages, %v; want the reply and the progress entry", len(msgs), err)
			}
			progress := msgs[1].ID
			p := rdb.Pipeline()
			for i := range backlog {
				p.XAdd(ctx, &redis.XAddArgs{Stream: s.outboxKey(), Values: outgoingFields(switchboard.Outgoing{
					Kind: "post", Channel: fmt.Sprint("C", 2+i%50), ThreadTS: "2.2", Text: fmt.Sprint("message ", i), OperationID: "another"})})
			}
			if _, err := p.Exec(ctx); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				behind, err := s.ThreadPostQueuedAfter(ctx, progress, id)
				if err != nil {
					b.Fatal(err)
				}
				if behind {
					b.Fatal("a reply found behind the progress entry; none is there")
				}
			}
		})
	}
}
