package slackpost

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-bot/switchboard"
	"github.com/switchboard-bot/switchboard/notify"
	"github.com/switchboard-bot/switchboard/render"
)

// fakeSteps records the step completions it accepts.
type fakeSteps struct {
	mu          sync.Mutex
	completions []string // "exec ok k=v…" or "exec error text"
}

func (f *fakeSteps) CompleteStep(_ context.Context, exec string, outputs map[string]any) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.completions = append(f.completions, fmt.Sprintf("%s ok %v", exec, outputs))
	return nil
}

func (f *fakeSteps) FailStep(_ context.Context, exec, message string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.completions = append(f.completions, exec+" error "+message)
	return nil
}

func (f *fakeSteps) Permalink(_ context.Context, channel, ts string) (string, error) {
	return "https://example.slack.com/archives/" + channel + "/p" + ts, nil
}

func (f *fakeSteps) got() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.completions...)
}

// TestStepCompletesOnceWithTheOperationsOutputs records an operation's
// results the way callbacks do, and checks that its step completes once,
// with the counts and the thread's link, however many ways the step ended.
func TestStepCompletesOnceWithTheOperationsOutputs(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	op := switchboard.Operation{ID: "op1", Kind: "sim.deactivate", ChannelID: "C1", ThreadTS: "1.000001", Status: switchboard.StatusRunning,
		Targets: []switchboard.Target{switchboard.Number("32471000001"), switchboard.Number("32471000002")}, Expected: 2,
		Params: switchboard.Params{Step: "Fx1", StepFunction: switchboard.StepSIMChange}}
	if err := s.CreateOperation(ctx, op, time.Hour); err != nil {
		t.Fatal(err)
	}
	for i, ok := range []bool{true, false} {
		res := switchboard.Result{Target: op.Targets[i].String(), OK: ok, Detail: "result"}
		if _, err := s.RecordResult(ctx, op.ID, res, render.ThreadPosts(op, res, true, true)); err != nil {
			t.Fatal(err)
		}
	}
	// A late cancel and an expiry of the same execution lose to the first.
	enqueue(t, s, render.StepFailure("Fx1", op.ID, "cancelled"), render.StepFailure("Fx1", op.ID, "expired"))
	// Another execution that never got an operation fails on its own.
	enqueue(t, s, render.StepFailure("Fx2", "", "bad input"))

	steps := &fakeSteps{}
	d := newDeliverer(s, &fakeSlack{}, "c1")
	d.Steps = steps
	run(t, d)
	waitUntil(t, "an empty queue", func() bool { return queueDepth(t, s) == 0 })

	outputs := map[string]string{"succeeded": "1", "failed": "1", "thread_url": "https://example.slack.com/archives/C1/p1.000001"}
	want := []string{fmt.Sprintf("Fx1 ok %v", outputs), "Fx2 error Bad input"}
	if got := steps.got(); len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("completions:\n got %q\nwant %q", got, want)
	}
}

// TestExpiryFailsTheStep checks the expiry sweeper's two endings of a step:
// nobody confirmed (the operation was pending), and targets that never
// answered (it was running).
func TestExpiryFailsTheStep(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	now := time.Now()
	pending := switchboard.Operation{ID: "op-pending", Kind: "sim.activate", UserID: "U1", ChannelID: "D1", Status: switchboard.StatusPending,
		Targets: []switchboard.Target{switchboard.Number("32471000004")}, Expected: 1, ExpiresAt: now.Add(time.Minute),
		Params: switchboard.Params{Step: "Fx1", StepFunction: switchboard.StepSIMChange, Title: "Activate 1 SIM card"}}
	running := pending
	running.ID, running.Status, running.ThreadTS = "op-running", switchboard.StatusRunning, "1.000001"
	running.Params.Step = "Fx2" // Params is a struct: the copy is the running operation's own
	// Confirmed after the sweeper claimed it: its deadline moved on.
	moved := running
	moved.ID, moved.ExpiresAt = "op-moved", now.Add(time.Hour)
	moved.Params.Step = "Fx3"
	for _, op := range []switchboard.Operation{pending, running, moved} {
		if err := s.CreateOperation(ctx, op, 2*time.Hour); err != nil {
			t.Fatal(err)
		}
		if err := s.ScheduleExpiry(ctx, op.ID, pending.ExpiresAt, time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	e := &notify.Expirer{Store: s}
	if n, err := e.Sweep(ctx, now); err != nil || n != 0 {
		t.Fatalf("sweep before the deadline: expired %d, %v; want 0", n, err)
	}
	if n, err := e.Sweep(ctx, now.Add(2*time.Minute)); err != nil || n != 2 {
		t.Fatalf("sweep after the deadline: expired %d, %v; want 2", n, err)
	}
	if op, _, _ := s.Operation(ctx, moved.ID); op.Status != switchboard.StatusRunning {
		t.Errorf("operation whose deadline moved: got status %q, want it still %q", op.Status, switchboard.StatusRunning)
	}
	steps := &fakeSteps{}
	d := newDeliverer(s, &fakeSlack{}, "c1")
	d.Steps = steps
	run(t, d)
	waitUntil(t, "an empty queue", func() bool { return queueDepth(t, s) == 0 })
	if n := len(steps.got()); n != 2 {
		t.Errorf("completions: got %d %q, want 2 (none for the operation whose deadline moved)", n, steps.got())
	}
	got := map[string]bool{}
	for _, c := range steps.got() {
		got[c] = true
	}
	for _, want := range []string{
		"Fx1 error The person named in the step did not confirm or cancel activate 1 SIM card in time, so nothing was changed.",
		"Fx2 error No answer from EnCo for 1 of 1 before the request expired: +32 471 00 00 04.",
	} {
		if !got[want] {
			t.Errorf("completions %q: want %q among them", steps.got(), want)
		}
	}
}
