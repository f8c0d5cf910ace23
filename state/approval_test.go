package state

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/switchboard-bot/switchboard"
	"github.com/switchboard-bot/switchboard/internal/redistest"
)

func sampleApproval(t *testing.T, required int, deadline time.Time) ApprovalRequest {
	return ApprovalRequest{
		ID:        mustNewID(t),
		Operation: switchboard.Operation{ID: "op1", Kind: "sim.terminate", UserID: "U0REQUEST", ChannelID: "C0OPS0000", ThreadTS: "1.000001"},
		Rule:      "terminate", Required: required, Approvers: []string{"S0LEADS00"},
		Channel: "C0APPROVE", Link: "https://example.slack.com/archives/C0OPS0000/p1000001", Targets: 3,
		ExpiresAt: deadline,
	}
}

var approvalScenarios = []scenario{
	{"approval counts each approver once and approves exactly once", func(t *testing.T, s *Store, rdb *redis.Client, prefix string) {
		ctx := context.Background()
		now := time.Now()
		a := sampleApproval(t, 3, now.Add(time.Hour))
		if err := s.CreateApproval(ctx, a, time.Hour); err != nil {
			t.Fatalf("CreateApproval: %v", err)
		}
		if err := s.CreateApproval(ctx, a, time.Hour); !errors.Is(err, ErrExists) {
			t.Errorf("CreateApproval twice: got %v, want ErrExists", err)
		}
		wantTTL(t, rdb, prefix+"approval:"+a.ID, 2*time.Hour)
		if vote, got, _, err := s.Approve(ctx, a.ID, "U0REQUEST", now); err != nil || vote != VoteRequester || got.Missing() != 3 {
			t.Errorf("the requester's approval: got %q (missing %d), %v; want %q and nothing counted", vote, got.Missing(), err, VoteRequester)
		}
		if vote, got, _, err := s.Approve(ctx, a.ID, "U0FIRST00", now); err != nil || vote != VoteCounted || got.Missing() != 2 {
			t.Errorf("first approval: got %q (missing %d), %v; want %q, 2 missing", vote, got.Missing(), err, VoteCounted)
		}
		if vote, got, _, err := s.Approve(ctx, a.ID, "U0FIRST00", now.Add(time.Second)); err != nil || vote != VoteRepeated || got.Missing() != 2 {
			t.Errorf("repeated approval: got %q (missing %d), %v; want %q, still 2 missing", vote, got.Missing(), err, VoteRepeated)
		}
		// The last two approvals at once, many times over: one approval
		// is told it approved the request.
		var (
			mu    sync.Mutex
			votes []string
			wg    sync.WaitGroup
		)
		for _, user := range []string{"U0SECOND0", "U0THIRD00", "U0SECOND0", "U0THIRD00", "U0FOURTH0"} {
			wg.Go(func() {
				vote, _, _, err := s.Approve(ctx, a.ID, user, now.Add(2*time.Second))
				if err != nil {
					t.Errorf("Approve(%s): %v", user, err)
				}
				mu.Lock()
				votes = append(votes, vote)
				mu.Unlock()
			})
		}
		wg.Wait()
		if n := countOf(votes, VoteApproved); n != 1 {
			t.Errorf("concurrent approvals: got votes %v, want exactly one %q", votes, VoteApproved)
		}
		got, ok, err := s.Approval(ctx, a.ID)
		if err != nil || !ok {
			t.Fatalf("Approval: %v, %v", ok, err)
		}
		if got.Status != ApprovalApproved || len(got.ApprovedBy) != 3 || got.ApprovedBy[0] != "U0FIRST00" || got.Missing() != 0 {
			t.Errorf("approved request: got %+v, want approved by three, U0FIRST00 first", got)
		}
		if got.Operation.ThreadTS != "1.000001" || got.Targets != 3 || got.Approvers[0] != "S0LEADS00" || got.Link == "" {
			t.Errorf("approved request lost its fields: %+v", got)
		}
		if vote, _, _, _ := s.Approve(ctx, a.ID, "U0FIFTH00", now); vote != VoteClosed {
			t.Errorf("approval after the end: got %q, want %q", vote, VoteClosed)
		}
		if _, ended, _, _ := s.EndApproval(ctx, a.ID, ApprovalDenied, "U0FIFTH00", "too late", now); ended {
			t.Error("a denial ended an approved request")
		}
		if pending, _ := s.PendingApprovals(ctx, 10); len(pending) != 0 {
			t.Errorf("pending after approval: %d, want 0", len(pending))
		}
	}},
	{"approval denied, cancelled and listed", func(t *testing.T, s *Store, rdb *redis.Client, prefix string) {
		ctx := context.Background()
		now := time.Now()
		a, b := sampleApproval(t, 2, now.Add(2*time.Hour)), sampleApproval(t, 1, now.Add(time.Hour))
		for _, r := range []ApprovalRequest{a, b} {
			if err := s.CreateApproval(ctx, r, time.Minute); err != nil {
				t.Fatal(err)
			}
		}
		if ok, err := s.NoteApprovalMessage(ctx, a.ID, "2.000002"); !ok || err != nil {
			t.Errorf("NoteApprovalMessage: %v, %v", ok, err)
		}
		pending, err := s.PendingApprovals(ctx, 10)
		if err != nil || len(pending) != 2 || pending[0].ID != b.ID || pending[1].TS != "2.000002" {
			t.Fatalf("PendingApprovals: got %+v, %v; want b (sooner) then a with its ts", pending, err)
		}
		got, ended, _, err := s.EndApproval(ctx, a.ID, ApprovalDenied, "U0LEAD001", "wrong card", now)
		if err != nil || !ended || got.Status != ApprovalDenied || got.EndedBy != "U0LEAD001" || got.Reason != "wrong card" {
			t.Errorf("deny: got %+v ended=%t %v", got, ended, err)
		}
		if vote, _, _, _ := s.Approve(ctx, a.ID, "U0LEAD002", now); vote != VoteClosed {
			t.Errorf("approval after a denial: got %q, want %q", vote, VoteClosed)
		}
		if _, ended, _, _ := s.EndApproval(ctx, b.ID, ApprovalCancelled, "U0REQUEST", "", now); !ended {
			t.Error("cancel did not end a pending request")
		}
		if pending, _ := s.PendingApprovals(ctx, 10); len(pending) != 0 {
			t.Errorf("pending after deny and cancel: %d, want 0", len(pending))
		}
		if _, _, found, _ := s.EndApproval(ctx, "nosuch", ApprovalDenied, "U1", "", now); found {
			t.Error("EndApproval found a request that never existed")
		}
	}},
	{"approval expiry is claimed and reported once", func(t *testing.T, s *Store, rdb *redis.Client, prefix string) {
		ctx := context.Background()
		now := time.Now()
		due, later := sampleApproval(t, 1, now.Add(-time.Second)), sampleApproval(t, 1, now.Add(time.Hour))
		for _, r := range []ApprovalRequest{due, later} {
			if err := s.CreateApproval(ctx, r, time.Minute); err != nil {
				t.Fatal(err)
			}
		}
		if vote, _, _, _ := s.Approve(ctx, due.ID, "U0LEAD001", now); vote != VoteDue {
			t.Errorf("approval past the deadline: got %q, want %q", vote, VoteDue)
		}
		if _, ended, _, _ := s.EndApproval(ctx, later.ID, ApprovalExpired, "", "", now); ended {
			t.Error("a request expired before its deadline")
		}
		var (
			mu      sync.Mutex
			claimed []string
			wg      sync.WaitGroup
		)
		for range 4 {
			wg.Go(func() {
				ids, err := s.ClaimApprovalExpiries(ctx, now, 10, time.Minute)
				if err != nil {
					t.Error(err)
				}
				mu.Lock()
				claimed = append(claimed, ids...)
				mu.Unlock()
			})
		}
		wg.Wait()
		if !slices.Equal(claimed, []string{due.ID}) {
			t.Fatalf("claimed by four sweepers: %v, want the due request once", claimed)
		}
		got, ended, _, err := s.EndApproval(ctx, due.ID, ApprovalExpired, "", "", now)
		if err != nil || !ended || got.Status != ApprovalExpired {
			t.Errorf("expire: got %+v ended=%t %v", got, ended, err)
		}
		if _, ended, _, _ := s.EndApproval(ctx, due.ID, ApprovalExpired, "", "", now); ended {
			t.Error("a request expired twice")
		}
	}},
}

func countOf(votes []string, v string) int {
	n := 0
	for _, x := range votes {
		if x == v {
			n++
		}
	}
	return n
}

// BenchmarkApprove measures one approval: the script that counts it and
// returns the request as it stands, on requests of a 2-of-3 rule.
func BenchmarkApprove(b *testing.B) {
	rdb, prefix := redistest.New(b)
	s := New(rdb, prefix)
	ctx := context.Background()
	now := time.Now()
	users := []string{"U0LEAD001", "U0LEAD002"}
	var id string
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if i%len(users) == 0 {
			b.StopTimer()
			a := ApprovalRequest{ID: fmt.Sprint("bench", i), Operation: switchboard.Operation{ID: "op", Kind: "sim.terminate", UserID: "U0REQUEST", Targets: []switchboard.Target{switchboard.Number("32471000005")}},
				Rule: "terminate", Required: 2, Approvers: []string{"S0LEADS00"}, Channel: "C0APPROVE", ExpiresAt: now.Add(time.Hour)}
			if err := s.CreateApproval(ctx, a, time.Hour); err != nil {
				b.Fatal(err)
			}
			id = a.ID
			b.StartTimer()
		}
		if _, _, _, err := s.Approve(ctx, id, users[i%len(users)], now); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkPendingApprovals measures reading the list /sim approvals and
// the Home tab filter, with 100 requests pending.
func BenchmarkPendingApprovals(b *testing.B) {
	rdb, prefix := redistest.New(b)
	s := New(rdb, prefix)
	ctx := context.Background()
	now := time.Now()
	for i := range 100 {
		a := ApprovalRequest{ID: fmt.Sprint("pending", i), Operation: switchboard.Operation{ID: "op", Kind: "sim.terminate", UserID: "U0REQUEST"},
			Rule: "terminate", Required: 2, Channel: "C0APPROVE", ExpiresAt: now.Add(time.Hour)}
		if err := s.CreateApproval(ctx, a, time.Hour); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		if got, err := s.PendingApprovals(ctx, 200); err != nil || len(got) != 100 {
			b.Fatalf("PendingApprovals: %d, %v", len(got), err)
		}
	}
}
