// Package pause waits for a while unless a context ends first.
package pause

import (
	"context"
	"time"
)

// For waits d or until ctx ends; it reports whether the full wait elapsed.
// A d of zero or less does not wait, and reports whether ctx is still live.
func For(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
