package notify

import (
	"context"
	"sync"
	"time"
)

const (
	finishedTTL = time.Minute
	finishedMax = 256
)

// finishedOps remembers, for operations every target of which has
// answered, which targets those are. Such an operation's results no longer
// change, so a callback for it can be answered without the store: the same
// card again is a duplicate (200), another card is refused (409). This
// spares a flood of either the rendering of posts and the store round trip
// that would only be thrown away.
type finishedOps struct {
	mu sync.Mutex
	m  map[string]finishedOp
}

type finishedOp struct {
	targets map[string]struct{}
	until   time.Time
}

// answered reports, for an operation known to be finished, whether target
// is one of its answers; known is false when the operation is not known
// here to be finished.
func (f *finishedOps) answered(opID, target string, now time.Time) (answered, known bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	op, ok := f.m[opID]
	if !ok || now.After(op.until) {
		return false, false
	}
	_, answered = op.targets[target]
	return answered, true
}

func (f *finishedOps) put(opID string, targets []string, now time.Time) {
	set := make(map[string]struct{}, len(targets))
	for _, t := range targets {
		set[t] = struct{}{}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.m == nil || len(f.m) >= finishedMax {
		f.m = make(map[string]finishedOp)
	}
	f.m[opID] = finishedOp{targets: set, until: now.Add(finishedTTL)}
}

// learnFinished reads the targets of an operation the store reported as
// finished (every target answered), so that the next callbacks for it need
// not reach the store.
func (rc *Receiver) learnFinished(ctx context.Context, opID string, expected int) {
	if _, known := rc.finished.answered(opID, "", time.Now()); known {
		return
	}
	targets, err := rc.Store.ResultTargets(ctx, opID)
	if err != nil || len(targets) < expected {
		return // the store answers the next one
	}
	rc.finished.put(opID, targets, time.Now())
}
