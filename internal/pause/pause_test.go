package pause

import (
	"context"
	"testing"
	"time"
)

func TestFor(t *testing.T) {
	if !For(t.Context(), 0) {
		t.Error("For(live, 0) = false, want true")
	}
	if !For(t.Context(), time.Millisecond) {
		t.Error("For(live, 1ms) = false, want true: the wait elapsed")
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if For(ctx, 0) {
		t.Error("For(ended, 0) = true, want false")
	}
	if For(ctx, time.Hour) {
		t.Error("For(ended, 1h) = true, want false without waiting")
	}
}
