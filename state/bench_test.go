package state

import (
	"context"
	"fmt"
	"testing"
	"time"

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
		if _, err := s.RecordResult(ctx, id, Result{Target: fmt.Sprint(i), OK: i%10 != 0}, Effects{}); err != nil {
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
