package render

import (
	"fmt"
	"slices"
	"testing"

	"github.com/switchboard-bot/switchboard"
)

func TestResultPosts(t *testing.T) {
	op := func(n int) switchboard.Operation {
		o := switchboard.Operation{ID: "op1", Kind: "sim.deactivate", UserID: "U1", ChannelID: "C1", ThreadTS: "1.1", Expected: n, Params: switchboard.Params{Title: "Deactivate"}}
		for i := range n {
			o.Targets = append(o.Targets, switchboard.Target{ID: fmt.Sprint(i)})
		}
		return o
	}
	read := func(n int) switchboard.Operation {
		o := op(n)
		o.Kind = "fmu.read"
		return o
	}
	ok := switchboard.Result{Target: "1", OK: true, Detail: "done"}
	bad := switchboard.Result{Target: "1", OK: false, Detail: "failed"}
	type post struct{ kind, channel string }
	tests := []struct {
		name     string
		op       switchboard.Operation
		result   switchboard.Result
		rules    PostRules
		wantEach []post
		wantLast []post
	}{
		{"small, success", op(3), ok, PostRules{}, []post{{KindPost, "C1"}}, []post{{KindSummary, "C1"}}},
		{"small, notify channel", op(3), ok, PostRules{NotifyChannel: "C9"}, []post{{KindPost, "C1"}, {KindPost, "C9"}}, []post{{KindSummary, "C1"}}},
		{"at the threshold is not bulk", op(20), ok, PostRules{}, []post{{KindPost, "C1"}}, []post{{KindSummary, "C1"}}},
		{"bulk, success", op(21), ok, PostRules{NotifyChannel: "C9"}, nil, []post{{KindSummary, "C1"}, {KindSummary, "C9"}}},
		{"bulk, failure", op(21), bad, PostRules{NotifyChannel: "C9"}, []post{{KindPost, "C1"}, {KindPost, "C9"}}, []post{{KindSummary, "C1"}, {KindSummary, "C9"}}},
		{"custom threshold", op(3), ok, PostRules{BulkThreshold: 2}, nil, []post{{KindSummary, "C1"}}},
		{"bulk handling off", op(500), ok, PostRules{BulkThreshold: -1}, []post{{KindPost, "C1"}}, []post{{KindSummary, "C1"}}},
		{"a read is never bulk", read(60), ok, PostRules{NotifyChannel: "C9"}, []post{{KindPost, "C1"}, {KindPost, "C9"}}, []post{{KindSummary, "C1"}}},
	}
	kinds := func(ms []switchboard.Outgoing) []post {
		var out []post
		for _, m := range ms {
			out = append(out, post{m.Kind, m.Channel})
		}
		return out
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ResultPosts(tt.op, tt.result, tt.rules)
			if !slices.Equal(kinds(got.Each), tt.wantEach) {
				t.Errorf("Each: got %v, want %v", kinds(got.Each), tt.wantEach)
			}
			if !slices.Equal(kinds(got.Last), tt.wantLast) {
				t.Errorf("Last: got %v, want %v", kinds(got.Last), tt.wantLast)
			}
			if p := got.Progress; p == nil || p.Kind != KindProgress || p.Channel != "C1" || p.TS != "1.1" || p.OperationID != "op1" {
				t.Errorf("Progress: got %+v, want the parent's progress in C1 (ts 1.1) for op1", p)
			}
			for _, m := range got.Each {
				if m.OperationID != "op1" {
					t.Errorf("%s to %s: got operation %q, want op1", m.Kind, m.Channel, m.OperationID)
				}
				if m.Kind == KindPost && m.Channel == "C1" && (m.ThreadTS != "1.1" || m.Text != tt.result.Detail) {
					t.Errorf("thread reply: got thread %q text %q, want 1.1 and the result's detail", m.ThreadTS, m.Text)
				}
			}
		})
	}
}

// TestFleetChangesEndWithTheirReport: a change sent in batches of more
// cards than the bulk threshold ends with the report file, whether its
// last result comes or it expires; a smaller one, or one sent at once,
// does not.
func TestFleetChangesEndWithTheirReport(t *testing.T) {
	fleet := func(n, batch int) switchboard.Operation {
		op := switchboard.Operation{ID: "op", Kind: "sim.deactivate", ChannelID: "C1", ThreadTS: "1.1", Expected: n, Status: switchboard.StatusRunning, Params: switchboard.Params{Batch: batch}}
		for i := range n {
			op.Targets = append(op.Targets, switchboard.Target{Type: switchboard.ICCID, ID: fmt.Sprintf("8932%015d", i)})
		}
		return op
	}
	reports := func(msgs []switchboard.Outgoing) int {
		n := 0
		for _, m := range msgs {
			if m.Kind == KindReport {
				n++
			}
		}
		return n
	}
	for _, tt := range []struct {
		name string
		op   switchboard.Operation
		want int
	}{
		{"500 cards in batches", fleet(500, 100), 1},
		{"20 cards, one per request", fleet(20, 1), 0},
		{"500 cards sent at once", fleet(500, 0), 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			last := ThreadPosts(tt.op, switchboard.Result{Target: "iccid:1"}, false, true).Last
			if got := reports(last); got != tt.want {
				t.Errorf("with the last result: %d reports, want %d", got, tt.want)
			}
			if got := reports(ExpiryPosts(tt.op, nil, "", false)); got != tt.want {
				t.Errorf("at expiry: %d reports, want %d", got, tt.want)
			}
		})
	}
}
