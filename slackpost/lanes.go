package slackpost

import (
	"context"
	"sync"

	"github.com/switchboard-bot/switchboard"
	"github.com/switchboard-bot/switchboard/render"
	"github.com/switchboard-bot/switchboard/state"
)

// lanes hold the entries a deliverer has claimed, one lane per channel, and
// run one worker per lane that has entries. A lane delivers in queue order,
// one message at a time (Slack paces each channel on its own), so lanes
// never wait on each other.
//
// Within a lane, a progress entry of an operation that already has one
// waiting is merged with it: a progress entry renders the results stored
// when it is sent, so either covers both. The one queued first is kept, in
// the waiting one's place, and the other is acknowledged at once. Keeping
// the first one's id matters: the deliverer looks for replies queued after
// the entry it delivers (state.Store.ThreadPostQueuedAfter), and from the
// waiting one's place on, the replies queued after the first may still be
// to come.
//
// An entry claimed again while this replica still holds it (the queue hands
// an entry idle for MinIdle back to whoever claims, this replica included)
// is ignored.
type lanes struct {
	d   *Deliverer
	max int

	mu    sync.Mutex
	held  map[string]bool                   // ids of the entries held, waiting or being delivered
	queue map[string][]switchboard.Outgoing // waiting entries by channel; a key exists while its worker runs
	freed chan struct{}                     // signalled when an entry is let go
	wg    sync.WaitGroup
}

func newLanes(d *Deliverer, max int) *lanes {
	return &lanes{
		d:     d,
		max:   max,
		held:  map[string]bool{},
		queue: map[string][]switchboard.Outgoing{},
		freed: make(chan struct{}, 1),
	}
}

// room waits until fewer than max entries are held and returns how many
// more may be claimed; 0 once ctx has ended.
func (l *lanes) room(ctx context.Context) int {
	for {
		l.mu.Lock()
		n := l.max - len(l.held)
		l.mu.Unlock()
		if n > 0 {
			return n
		}
		select {
		case <-ctx.Done():
			return 0
		case <-l.freed:
		}
	}
}

// add puts claimed entries into their channels' lanes and starts the
// workers of lanes that were idle.
func (l *lanes) add(ctx context.Context, msgs []switchboard.Outgoing) {
	var merged []string
	l.mu.Lock()
	for _, m := range msgs {
		if l.held[m.ID] {
			continue
		}
		l.held[m.ID] = true
		q, running := l.queue[m.Channel]
		if m.Kind == render.KindProgress {
			if i := waitingProgress(q, m.OperationID); i >= 0 {
				keep, drop := q[i], m
				if first, err := state.QueuedBefore(m.ID, q[i].ID); err == nil && first {
					keep, drop = m, q[i] // m was reclaimed
				}
				merged = append(merged, drop.ID)
				delete(l.held, drop.ID)
				q[i] = keep
				continue
			}
		}
		l.queue[m.Channel] = append(q, m)
		if !running {
			l.wg.Go(func() { l.work(ctx, m.Channel) })
		}
	}
	l.mu.Unlock()
	if len(merged) > 0 {
		l.d.ack(ctx, merged...)
		l.signal()
	}
}

// waitingProgress returns the index in q of the progress entry of opID, or -1.
func waitingProgress(q []switchboard.Outgoing, opID string) int {
	for i, m := range q {
		if m.Kind == render.KindProgress && m.OperationID == opID {
			return i
		}
	}
	return -1
}

// work delivers a channel's entries until its lane is empty or ctx ends;
// entries left when ctx ends stay unacknowledged, for this or another
// replica to claim again.
func (l *lanes) work(ctx context.Context, channel string) {
	for {
		l.mu.Lock()
		q := l.queue[channel]
		if len(q) == 0 || ctx.Err() != nil {
			for _, m := range q {
				delete(l.held, m.ID)
			}
			delete(l.queue, channel)
			l.mu.Unlock()
			l.signal()
			return
		}
		m := q[0]
		l.queue[channel] = q[1:]
		l.mu.Unlock()

		l.d.handle(ctx, m)

		l.mu.Lock()
		delete(l.held, m.ID)
		l.mu.Unlock()
		l.signal()
	}
}

// signal wakes a room waiting for space, if any.
func (l *lanes) signal() {
	select {
	case l.freed <- struct{}{}:
	default:
	}
}

// wait returns once every worker has stopped.
func (l *lanes) wait() { l.wg.Wait() }
