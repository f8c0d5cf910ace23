package main

import (
	"context"
	"testing"
	"time"
)

// eventually waits until cond holds, looking every 10 ms, and fails t when
// ctx ends first, naming what it waited for and adding more's text (the
// log, the screen) when more is set. It is the one way these tests wait
// for something that happens in another goroutine or process.
func eventually(t testing.TB, ctx context.Context, what string, cond func() bool, more func() string) {
	t.Helper()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			msg := "timed out waiting for " + what
			if more != nil {
				msg += "\n" + more()
			}
			t.Fatal(msg)
		case <-tick.C:
		}
	}
}
