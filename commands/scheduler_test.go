package commands

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-bot/switchboard"
	"github.com/switchboard-bot/switchboard/enco"
	"github.com/switchboard-bot/switchboard/permissions"
	"github.com/switchboard-bot/switchboard/state"
)

// recordingAudit keeps the audit entries written through it.
type recordingAudit struct {
	mu      sync.Mutex
	entries []switchboard.AuditEntry
}

func (s *recordingAudit) Audit(_ context.Context, e switchboard.AuditEntry) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.entries = append(s.entries, e)
	return nil
}

func (s *recordingAudit) RecentAudit(_ context.Context, n int, filter func(switchboard.AuditEntry) bool) ([]switchboard.AuditEntry, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []switchboard.AuditEntry
	for i := len(s.entries) - 1; i >= 0 && len(out) < n; i-- {
		if filter == nil || filter(s.entries[i]) {
			out = append(out, s.entries[i])
		}
	}
	return out, nil
}

// settleStore answers every settle with won.
type settleStore struct {
	ScheduleStore
	won     bool
	settled []state.ScheduleEffects
	nexts   []*state.FMUSchedule
}

func (s *settleStore) SettleFMUSchedule(_ context.Context, _ state.ClaimedSchedule, next *state.FMUSchedule, _ time.Time, fx state.ScheduleEffects) (bool, error) {
	s.settled = append(s.settled, fx)
	s.nexts = append(s.nexts, next)
	return s.won, nil
}

// setFMU records the profile changes asked of it.
type setFMU struct {
	FMUAPI
	sets []string
}

func (f *setFMU) SetFMUStatus(_ context.Context, msisdn string, p enco.Profile) error {
	f.sets = append(f.sets, msisdn+"="+string(p))
	return nil
}

// TestSchedulerAuditsAChangeWhoseClaimWasLost checks that an EnCo call is
// audited even when its claim was lost meanwhile (the schedule cleared, or
// taken over), while the report and its audit entry go only with a won
// claim.
func TestSchedulerAuditsAChangeWhoseClaimWasLost(t *testing.T) {
	now := time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		name      string
		won       bool
		wantAudit string // the decision audited by the router itself, "" for none
	}{
		{"claim won", true, ""},
		{"claim lost", false, "api call, claim lost: not reported"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			audits, scheds, fmu := &recordingAudit{}, &settleStore{won: tt.won}, &setFMU{}
			runDueChange(now, telChecker{"fmu.self": true}, audits, fmu, scheds)

			if len(fmu.sets) != 1 || fmu.sets[0] != "32470000001=PRIVATE" {
				t.Fatalf("EnCo changes = %v, want one to PRIVATE", fmu.sets)
			}
			if len(scheds.settled) != 1 {
				t.Fatalf("settles = %d, want 1", len(scheds.settled))
			}
			fx := scheds.settled[0]
			if fx.Report == nil || !strings.Contains(fx.Report.Text, "is now *Private*") || fx.Report.Channel != "U0ME" {
				t.Errorf("report = %+v, want the change, to the person", fx.Report)
			}
			if fx.Audit == nil || fx.Audit.Decision != "api call" {
				t.Errorf("settle's audit = %+v, want api call", fx.Audit)
			}
			var got string
			if len(audits.entries) > 0 {
				got = audits.entries[0].Decision
			}
			if got != tt.wantAudit || len(audits.entries) > 1 {
				t.Errorf("router audit = %+v, want %q", audits.entries, tt.wantAudit)
			}
		})
	}
}

// unsureChecker cannot resolve the user groups that might grant anything.
type unsureChecker struct{ telChecker }

func (unsureChecker) CheckOffChannel(_ context.Context, _, permission string) permissions.Decision {
	return permissions.Decision{Permission: permission, Rule: "could not resolve user groups", Unsure: true}
}

// TestSchedulerRetriesWhenThePermissionCannotBeChecked: Slack's user groups
// not answering for a moment must not skip a scheduled change for good; it
// is tried again, as after a failed EnCo call.
func TestSchedulerRetriesWhenThePermissionCannotBeChecked(t *testing.T) {
	now := time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)
	scheds, fmu := &settleStore{won: true}, &setFMU{}
	runDueChange(now, unsureChecker{}, &recordingAudit{}, fmu, scheds)

	if len(fmu.sets) != 0 {
		t.Errorf("EnCo changes = %v, want none while the permission is unknown", fmu.sets)
	}
	if len(scheds.settled) != 1 || scheds.settled[0].Report != nil {
		t.Fatalf("settles = %+v, want one, reporting nothing yet", scheds.settled)
	}
	if next := scheds.nexts[0]; next == nil || next.Attempts != 1 {
		t.Errorf("next = %+v, want the same change again, attempt 1", next)
	}
}

// runDueChange has a scheduler make U0ME's one-off change to PRIVATE, due a
// second before now, with the given checker and stores.
func runDueChange(now time.Time, checker Checker, audits *recordingAudit, fmu *setFMU, scheds *settleStore) {
	s := New(Config{
		Checker:   checker,
		State:     Stores{AuditTrail: audits, Schedules: scheds},
		EnCo:      EnCo{FMU: fmu},
		Directory: telDirectory{"U0ME": {Mobile: "32470000001"}},
		Log:       slog.New(slog.NewTextHandler(io.Discard, nil)),
		Settings:  Settings{Now: func() time.Time { return now }},
	}).Scheduler()
	c := state.ClaimedSchedule{FMUSchedule: state.FMUSchedule{ID: "s1", User: "U0ME", CreatedBy: "U0ME", Kind: state.ScheduleOnce,
		Zone: "Europe/Brussels", Due: now.Add(-time.Second), DueProfile: "PRIVATE"}, Lease: 1}
	s.run(context.Background(), c)
}
