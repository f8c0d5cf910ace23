package state

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/switchboard-bot/switchboard"
	"github.com/switchboard-bot/switchboard/internal/redistest"
)

// scheduleScenarios run on the shared test Redis and on the embedded server,
// which the console uses.
var scheduleScenarios = []struct {
	name string
	run  func(t *testing.T, s *Store)
}{
	{"claimed once by concurrent callers", testClaimOnce},
	{"settle needs the lease", testSettleFencing},
	{"lease runs out", testLeaseRunsOut},
	{"update is atomic and checked", testUpdateSchedules},
	{"recent operations", testRecentOps},
}

func TestSchedules(t *testing.T) {
	for _, sc := range scheduleScenarios {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			rdb, prefix := redistest.New(t)
			sc.run(t, New(rdb, prefix))
		})
	}
}

func TestSchedulesOnEmbeddedServer(t *testing.T) {
	mr := miniredis.NewMiniRedis()
	if err := mr.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(mr.Close)
	for i, sc := range scheduleScenarios {
		t.Run(sc.name, func(t *testing.T) {
			rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
			t.Cleanup(func() { _ = rdb.Close() })
			sc.run(t, New(rdb, fmt.Sprintf("emb%d:", i)))
		})
	}
}

var t0 = time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)

func putSchedules(t *testing.T, s *Store, scs ...FMUSchedule) {
	t.Helper()
	for _, sc := range scs {
		err := s.UpdateFMUSchedules(context.Background(), sc.User, func([]FMUSchedule) ([]FMUSchedule, []string, error) {
			return []FMUSchedule{sc}, nil, nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

func testClaimOnce(t *testing.T, s *Store) {
	ctx := context.Background()
	const n = 200
	for i := range n {
		putSchedules(t, s, FMUSchedule{ID: fmt.Sprintf("s%d", i), User: fmt.Sprintf("U%d", i%7), Kind: ScheduleOnce, Due: t0, DueProfile: "PRIVATE"})
	}
	putSchedules(t, s, FMUSchedule{ID: "later", User: "U0", Kind: ScheduleOnce, Due: t0.Add(time.Hour)})
	var mu sync.Mutex
	got := map[string]int{}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for {
				claimed, _, err := s.ClaimFMUSchedules(ctx, t0.Add(time.Second), 7, time.Minute)
				if err != nil {
					t.Error(err)
					return
				}
				if len(claimed) == 0 {
					return
				}
				mu.Lock()
				for _, c := range claimed {
					got[c.User+"/"+c.ID]++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(got) != n {
		t.Fatalf("claimed %d schedules, want %d", len(got), n)
	}
	for k, c := range got {
		if c != 1 {
			t.Errorf("%s claimed %d times, want once", k, c)
		}
	}
	_, next, err := s.ClaimFMUSchedules(ctx, t0.Add(time.Second), 10, time.Minute)
	// The claimed schedules come back when their lease ends, before the later one.
	if want := t0.Add(time.Second + time.Minute); err != nil || !next.Equal(want) {
		t.Errorf("next due: got %v, %v; want %v (the end of the leases)", next, err, want)
	}
}

func testSettleFencing(t *testing.T, s *Store) {
	ctx := context.Background()
	putSchedules(t, s, FMUSchedule{ID: "w", User: "U1", Kind: ScheduleWeekly, Due: t0, DueProfile: "PROFESSIONAL"})
	claimed, _, err := s.ClaimFMUSchedules(ctx, t0, 10, time.Minute)
	if err != nil || len(claimed) != 1 {
		t.Fatalf("claim: %v, %v", claimed, err)
	}
	c := claimed[0]
	stale := c
	stale.Lease--
	if ok, err := s.SettleFMUSchedule(ctx, stale, nil, time.Time{}, ScheduleEffects{Report: &switchboard.Outgoing{Kind: "post", Channel: "U1", Text: "stale"}}); ok || err != nil {
		t.Fatalf("settle with another lease: got %v, %v; want false", ok, err)
	}
	next := c.FMUSchedule
	next.Due, next.DueProfile = t0.Add(9*time.Hour), "PRIVATE"
	if ok, err := s.SettleFMUSchedule(ctx, c, &next, next.Due, ScheduleEffects{
		Report:  &switchboard.Outgoing{Kind: "post", Channel: "U1", Text: "now Professional"},
		Audit:   &switchboard.AuditEntry{UserID: "U1", Command: "fmu.schedule", Decision: "api call", Detail: "w"},
		Recent:  &RecentOp{Title: "Scheduled change to Professional", Status: switchboard.StatusDone},
		MSISDN:  "32470000001",
		Profile: "PROFESSIONAL", ProfileTTL: time.Minute,
	}); !ok || err != nil {
		t.Fatalf("settle: got %v, %v; want true", ok, err)
	}
	if ok, _ := s.SettleFMUSchedule(ctx, c, nil, time.Time{}, ScheduleEffects{}); ok {
		t.Error("settled twice with the same claim")
	}
	// Only the settle that won had its effects.
	if n, err := s.QueueDepth(ctx); err != nil || n != 1 {
		t.Errorf("queued reports = %d (%v), want 1", n, err)
	}
	if a, err := s.RecentAudit(ctx, 10, nil); err != nil || len(a) != 1 || a[0].Detail != "w" || a[0].Decision != "api call" {
		t.Errorf("audit = %+v (%v), want the one entry", a, err)
	}
	if r, err := s.RecentOps(ctx, "U1"); err != nil || len(r) != 1 || r[0].Status != switchboard.StatusDone {
		t.Errorf("recent = %+v (%v), want the one change", r, err)
	}
	if p, ok, err := s.CachedFMUProfile(ctx, "32470000001"); err != nil || !ok || p != "PROFESSIONAL" {
		t.Errorf("cached profile = %q, %v, %v; want PROFESSIONAL", p, ok, err)
	}
	list, err := s.FMUSchedules(ctx, "U1")
	if err != nil || len(list) != 1 || list[0].DueProfile != "PRIVATE" || !list[0].Due.Equal(next.Due) {
		t.Fatalf("after settle: got %+v, %v", list, err)
	}
	if claimed, _, _ := s.ClaimFMUSchedules(ctx, t0.Add(time.Hour), 10, time.Minute); len(claimed) != 0 {
		t.Errorf("claimed %+v before its next due time", claimed)
	}
	claimed, _, _ = s.ClaimFMUSchedules(ctx, next.Due, 10, time.Minute)
	if len(claimed) != 1 {
		t.Fatalf("at next due: claimed %d, want 1", len(claimed))
	}
	if ok, err := s.SettleFMUSchedule(ctx, claimed[0], nil, time.Time{}, ScheduleEffects{}); !ok || err != nil {
		t.Fatalf("final settle: %v, %v", ok, err)
	}
	if list, _ := s.FMUSchedules(ctx, "U1"); len(list) != 0 {
		t.Errorf("after the final settle: %+v left, want none", list)
	}
}

func testLeaseRunsOut(t *testing.T, s *Store) {
	ctx := context.Background()
	putSchedules(t, s, FMUSchedule{ID: "o", User: "U2", Kind: ScheduleOnce, Due: t0})
	first, _, _ := s.ClaimFMUSchedules(ctx, t0, 10, 30*time.Second)
	if again, _, _ := s.ClaimFMUSchedules(ctx, t0.Add(29*time.Second), 10, 30*time.Second); len(first) != 1 || len(again) != 0 {
		t.Fatalf("within the lease: first %d, again %d; want 1, 0", len(first), len(again))
	}
	second, _, _ := s.ClaimFMUSchedules(ctx, t0.Add(31*time.Second), 10, 30*time.Second)
	if len(second) != 1 {
		t.Fatalf("after the lease: claimed %d, want 1", len(second))
	}
	if ok, _ := s.SettleFMUSchedule(ctx, first[0], nil, time.Time{}, ScheduleEffects{}); ok {
		t.Error("the first caller settled after losing its claim")
	}
	if ok, _ := s.SettleFMUSchedule(ctx, second[0], nil, time.Time{}, ScheduleEffects{}); !ok {
		t.Error("the second caller could not settle")
	}
}

func testUpdateSchedules(t *testing.T, s *Store) {
	ctx := context.Background()
	tooMany := errors.New("too many")
	add := func(id string) error {
		return s.UpdateFMUSchedules(ctx, "U3", func(cur []FMUSchedule) ([]FMUSchedule, []string, error) {
			if len(cur) >= 5 {
				return nil, nil, tooMany
			}
			return []FMUSchedule{{ID: id, User: "U3", Due: t0}}, nil, nil
		})
	}
	var wg sync.WaitGroup
	errs := make(chan error, 10)
	for i := range 10 {
		wg.Go(func() { errs <- add(fmt.Sprintf("x%d", i)) })
	}
	wg.Wait()
	close(errs)
	var refused int
	for err := range errs {
		switch {
		case errors.Is(err, tooMany):
			refused++
		case err != nil:
			t.Errorf("add: %v", err)
		}
	}
	list, err := s.FMUSchedules(ctx, "U3")
	if err != nil || len(list) != 5 || refused != 5 {
		t.Fatalf("got %d schedules and %d refusals (%v), want 5 and 5", len(list), refused, err)
	}
	if err := s.UpdateFMUSchedules(ctx, "U3", func(cur []FMUSchedule) ([]FMUSchedule, []string, error) {
		return nil, []string{cur[0].ID, cur[1].ID}, nil
	}); err != nil {
		t.Fatal(err)
	}
	if list, _ := s.FMUSchedules(ctx, "U3"); len(list) != 3 {
		t.Errorf("after removing two: %d left, want 3", len(list))
	}
	if claimed, _, _ := s.ClaimFMUSchedules(ctx, t0, 100, time.Minute); len(claimed) != 3 {
		t.Errorf("claimed %d, want the 3 left in the index", len(claimed))
	}
}

func testRecentOps(t *testing.T, s *Store) {
	ctx := context.Background()
	op := switchboard.Operation{ID: "op1", Kind: "fmu.set", UserID: "U4", Status: switchboard.StatusRunning, CreatedAt: t0, ExpiresAt: time.Now().Add(time.Hour)}
	if err := s.CreateOperation(ctx, op, time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := s.NoteRecentOp(ctx, "U4", RecentOp{Title: "Set 3 numbers", Status: switchboard.StatusRunning, OperationID: "op1"}); err != nil {
		t.Fatal(err)
	}
	for i := range MaxRecentOps + 2 {
		if err := s.NoteRecentOp(ctx, "U4", RecentOp{Title: fmt.Sprintf("change %d", i), Status: "done"}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.RecentOps(ctx, "U4")
	if err != nil || len(got) != MaxRecentOps || got[0].Title != fmt.Sprintf("change %d", MaxRecentOps+1) {
		t.Fatalf("got %d entries (%v), first %+v; want %d, newest first", len(got), err, got, MaxRecentOps)
	}
	if err := s.NoteRecentOp(ctx, "U5", RecentOp{Title: "Set 3 numbers", Status: switchboard.StatusRunning, OperationID: "op1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdateOperation(ctx, "op1", func(o *switchboard.Operation) error { o.Status = switchboard.StatusDone; return nil }); err != nil {
		t.Fatal(err)
	}
	got, err = s.RecentOps(ctx, "U5")
	if err != nil || len(got) != 1 || got[0].Status != switchboard.StatusDone {
		t.Errorf("got %+v, %v; want the operation's current status %q", got, err, switchboard.StatusDone)
	}
}

// TestRecentOpsCountResultsAndAgeOut: a finished operation's line carries
// its result counts (done says only that every target answered), and one
// noted as running whose record expired no longer reads as running.
func TestRecentOpsCountResultsAndAgeOut(t *testing.T) {
	rdb, prefix := redistest.New(t)
	s := New(rdb, prefix)
	ctx := context.Background()
	id := createWithExpected(t, s, 2, time.Minute)
	if err := s.NoteRecentOp(ctx, "U6", RecentOp{Title: "Deactivate 2 SIM cards", Status: switchboard.StatusRunning, OperationID: id}); err != nil {
		t.Fatal(err)
	}
	for _, r := range []switchboard.Result{{Target: "msisdn:1", OK: true}, {Target: "msisdn:2", OK: false}} {
		if _, err := s.RecordResult(ctx, id, r, switchboard.Effects{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.NoteRecentOp(ctx, "U6", RecentOp{Title: "Gone", Status: switchboard.StatusRunning, OperationID: "expired-op"}); err != nil {
		t.Fatal(err)
	}
	got, err := s.RecentOps(ctx, "U6")
	if err != nil || len(got) != 2 {
		t.Fatalf("got %+v, %v; want 2 entries", got, err)
	}
	if got[0].Status == switchboard.StatusRunning {
		t.Errorf("an operation whose record expired reads %q, want it no longer running", got[0].Status)
	}
	if got[1].Status != switchboard.StatusDone || got[1].Succeeded != 1 || got[1].Failed != 1 {
		t.Errorf("finished operation = %+v, want done with 1 succeeded and 1 failed", got[1])
	}
}
