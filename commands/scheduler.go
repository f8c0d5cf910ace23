package commands

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/switchboard-bot/switchboard"
	"github.com/switchboard-bot/switchboard/enco"
	"github.com/switchboard-bot/switchboard/render"
	"github.com/switchboard-bot/switchboard/schedule"
	"github.com/switchboard-bot/switchboard/state"
)

// Scheduler makes scheduled FMU changes when they fall due. Every replica
// runs one; the store hands each due change to one of them (see
// state.ClaimFMUSchedules), so each change is made, audited and reported to
// its person once.
//
// A change that falls due while no replica runs is made at start-up when it
// is less than MaxLate late, and otherwise skipped and reported. A change
// EnCo refuses or does not answer is tried again, with a growing pause, until
// RetryFor after its due time, and then reported as failed.
type Scheduler struct {
	schedules *scheduleCommand
	// Tick is the longest pause between two looks at the due index (0
	// means 1 s); the scheduler wakes sooner for a change due sooner. Each
	// look costs one Redis script call, which is the scheduler's whole
	// cost while nothing is due.
	Tick time.Duration
	// Lease is how long a claimed change is held before another replica may
	// take it (0 means 30 s). It must outlast one EnCo call.
	Lease time.Duration
	// Batch is how many due changes one look claims (0 means 200), and
	// Workers how many are made at once (0 means 128): a change mostly waits
	// on EnCo and Redis, so many at once keep the lateness of a burst low.
	Batch, Workers int
	// Lead is how long before its due time a change is claimed and looked
	// up (0 means 1 s); the EnCo call still waits for the due time.
	Lead time.Duration
	// MaxLate is how late a change may still be made (0 means 15 minutes).
	MaxLate time.Duration
	// RetryFor is how long after its due time a failing change is tried
	// again (0 means 5 minutes).
	RetryFor time.Duration
	// OnChange, when set, is called once for each change this replica
	// settled: its outcome (done, failed, skipped) and how long after its
	// due time it was settled (for metrics).
	OnChange func(outcome string, late time.Duration)
}

func (s *Scheduler) tick() time.Duration     { return cmp.Or(s.Tick, time.Second) }
func (s *Scheduler) lease() time.Duration    { return cmp.Or(s.Lease, 30*time.Second) }
func (s *Scheduler) maxLate() time.Duration  { return cmp.Or(s.MaxLate, 15*time.Minute) }
func (s *Scheduler) lead() time.Duration     { return cmp.Or(s.Lead, time.Second) }
func (s *Scheduler) retryFor() time.Duration { return cmp.Or(s.RetryFor, 5*time.Minute) }
func (s *Scheduler) batch() int              { return cmp.Or(s.Batch, 200) }
func (s *Scheduler) workers() int            { return cmp.Or(s.Workers, 128) }
func (s *Scheduler) log() *slog.Logger       { return s.schedules.log }

// Run makes due changes until ctx ends, then waits for the changes under way.
func (s *Scheduler) Run(ctx context.Context) error {
	if s.schedules.store == nil {
		<-ctx.Done()
		return nil
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	slots := make(chan struct{}, s.workers())
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-timer.C:
		}
		now := s.schedules.now()
		// Changes due within the lead are claimed now and made at their
		// time, so that looking them up is done before they are due.
		claimed, next, err := s.schedules.store.ClaimFMUSchedules(ctx, now.Add(s.lead()), s.batch(), s.lease())
		if err != nil {
			if ctx.Err() == nil {
				s.schedules.log.Warn("claim scheduled FMU changes", "err", err)
			}
			timer.Reset(s.tick())
			continue
		}
		for _, c := range claimed {
			select {
			case slots <- struct{}{}:
			case <-ctx.Done():
				return nil
			}
			wg.Go(func() {
				defer func() { <-slots }()
				// A change under way is finished even during shutdown:
				// its claim would otherwise hold it for a whole lease.
				cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.lease()*2/3)
				defer cancel()
				s.run(cctx, c)
			})
		}
		wait := s.tick()
		switch {
		case len(claimed) == s.batch():
			wait = 0 // more may be due
		case !next.IsZero():
			wait = min(wait, max(next.Sub(s.schedules.now())-s.lead(), 0))
		}
		timer.Reset(wait)
	}
}

// run makes one claimed change and settles it. The settle also queues the
// direct message that reports the change, appends its audit entry and
// notes it among the person's recent operations (see
// state.SettleFMUSchedule), so that all of these happen once, exactly when
// the claim is won; the deliverer posts the message, and the worker moves on
// to the next change without waiting on Slack.
func (s *Scheduler) run(ctx context.Context, c state.ClaimedSchedule) {
	now := s.schedules.now()
	late := now.Sub(c.Due)
	profile := enco.Profile(c.DueProfile)
	loc, _ := schedule.Location(c.Zone)
	when := whenLabel(c.Due, loc)
	next := s.following(c, now)
	due := c.Due.UTC().Format(time.RFC3339)

	if c.Attempts == 0 && late > s.maxLate() {
		s.finish(ctx, c, next, outcome{
			report: fmt.Sprintf(":warning: I skipped the scheduled change of your FMU profile to *%s* due %s: I was not running then, and it is now %s late (the most I catch up on is %s). Your profile is as it was. %s",
				render.ProfileLabel(profile), when, humanDuration(late.Round(time.Minute)), humanDuration(s.maxLate()), s.afterwards(next)),
			decision: "skipped: too late", detail: fmt.Sprintf("%s: <@%s> to %s, due %s, %s late", c.ID, c.User, profile, due, late.Round(time.Second)),
			status: "skipped",
		})
		return
	}
	why, unsure := s.refusal(ctx, c)
	if unsure {
		// The permission could not be checked (Slack's user groups did not
		// answer): try again, as after a failed change.
		s.failed(ctx, c, errors.New(why), now)
		return
	}
	if why != "" {
		s.finish(ctx, c, next, outcome{
			report:   fmt.Sprintf(":no_entry: I did not make the scheduled change of your FMU profile to *%s* due %s: %s %s", render.ProfileLabel(profile), when, why, s.afterwards(next)),
			decision: "skipped: denied", detail: fmt.Sprintf("%s: <@%s> to %s: %s", c.ID, c.User, profile, why),
			status: "skipped",
		})
		return
	}
	e, _, _, err := s.schedules.who.lookup(ctx, c.User)
	if err == nil && e.Mobile == "" {
		s.finish(ctx, c, next, outcome{
			report:   fmt.Sprintf(":warning: I did not make the scheduled change of your FMU profile to *%s* due %s: %s", render.ProfileLabel(profile), when, s.schedules.who.noNumberHint(c.User, "mobile", "mobile=0470 12 34 56")),
			decision: "skipped: no number", detail: fmt.Sprintf("%s: <@%s> to %s", c.ID, c.User, profile),
			status: "skipped",
		})
		return
	}
	if err == nil {
		if !s.waitUntil(ctx, c.Due) {
			return // shutting down: the claim runs out and another replica makes it
		}
		err = s.schedules.fmu.SetFMUStatus(ctx, e.Mobile, profile)
	}
	if err != nil {
		s.failed(ctx, c, err, now)
		return
	}
	me := fmuTarget{digits: e.Mobile}
	s.finish(ctx, c, next, outcome{
		report:   fmt.Sprintf(":white_check_mark: Your FMU profile (%s) is now *%s*, as scheduled for %s (`%s`). %s", me.label(false), render.ProfileLabel(profile), when, c.ID, s.afterwards(next)),
		decision: "api call", detail: fmt.Sprintf("%s: <@%s> set to %s, due %s, %s late", c.ID, c.User, profile, due, late.Round(time.Millisecond)),
		status: switchboard.StatusDone, msisdn: e.Mobile,
	})
}

// failed handles a change EnCo refused or did not answer (or whose number
// could not be looked up): it is tried again later while within RetryFor of
// its due time, and reported after that.
func (s *Scheduler) failed(ctx context.Context, c state.ClaimedSchedule, err error, now time.Time) {
	if now.Sub(c.Due) < s.retryFor() {
		retry := c.FMUSchedule
		retry.Attempts++
		pause := min(5*time.Second<<min(c.Attempts, 5), time.Minute)
		s.schedules.log.Warn("scheduled FMU change failed; trying again", "err", err, "schedule", c.ID, "user", c.User, "attempt", retry.Attempts, "retry_in", pause)
		s.settle(ctx, c, &retry, now.Add(pause), state.ScheduleEffects{})
		return
	}
	profile := enco.Profile(c.DueProfile)
	loc, _ := schedule.Location(c.Zone)
	next := s.following(c, now)
	s.finish(ctx, c, next, outcome{
		report: fmt.Sprintf(":x: I could not make the scheduled change of your FMU profile to *%s* due %s; I tried %s over %s. %s Your profile may still be as it was; `/fmu` shows it. %s",
			render.ProfileLabel(profile), whenLabel(c.Due, loc), plural(c.Attempts+1, "time"), humanDuration(s.retryFor()), s.schedules.ops.fmuError(err, "scheduled fmu change"), s.afterwards(next)),
		decision: "api error", detail: fmt.Sprintf("%s: <@%s> to %s, %d attempts", c.ID, c.User, profile, c.Attempts+1),
		status: switchboard.StatusFailed,
	})
}

// outcome is how a claimed change ended, for its report, audit entry and
// recent-operations line.
type outcome struct {
	report           string
	decision, detail string // of the audit entry
	status           string // of the recent-operations line
	msisdn           string // set when the change was made: its profile is cached
}

// finish settles the claim with the outcome's effects; false means the claim
// was lost and nothing was reported.
func (s *Scheduler) finish(ctx context.Context, c state.ClaimedSchedule, next *state.FMUSchedule, o outcome) bool {
	profile := enco.Profile(c.DueProfile)
	audit := switchboard.AuditEntry{At: time.Now(), UserID: c.CreatedBy, Command: "fmu.schedule", Decision: o.decision, Detail: o.detail}
	fx := state.ScheduleEffects{
		// To the person's user ID: Slack posts it in their direct
		// messages with the app.
		Report: &switchboard.Outgoing{Kind: render.KindPost, Channel: c.User, Text: strings.TrimSpace(o.report)},
		Audit:  &audit,
		Recent: &state.RecentOp{At: s.schedules.now(), Title: "Scheduled change to " + render.ProfileLabel(profile), Status: o.status},
	}
	if o.msisdn != "" {
		fx.MSISDN, fx.Profile, fx.ProfileTTL = o.msisdn, string(profile), profileCacheTTL
	}
	var at time.Time
	if next != nil {
		at = next.Due
	}
	if !s.settle(ctx, c, next, at, fx) {
		if o.msisdn != "" {
			// EnCo was called all the same (the schedule was cleared, or
			// another replica took it over, meanwhile): every call is audited.
			lost := audit
			lost.Decision += ", claim lost: not reported"
			s.schedules.gate.audit(ctx, lost)
		}
		return false
	}
	s.schedules.log.Info("audit", "user", audit.UserID, "command", audit.Command, "decision", audit.Decision, "detail", audit.Detail)
	if s.OnChange != nil {
		s.OnChange(o.status, s.schedules.now().Sub(c.Due))
	}
	return true
}

// waitUntil waits for the router's clock to reach due, at most Lead, and
// reports false when ctx ends first.
func (s *Scheduler) waitUntil(ctx context.Context, due time.Time) bool {
	wait := min(due.Sub(s.schedules.now()), s.lead())
	if wait <= 0 {
		return true
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// refusal is why the change may not be made now, or "": the permission is
// checked again, as the policy may have changed since it was scheduled.
// unsure reports a refusal that may not stand (the check could not be made).
func (s *Scheduler) refusal(ctx context.Context, c state.ClaimedSchedule) (why string, unsure bool) {
	perm, who := switchboard.PermFMUSelf, c.User
	if c.CreatedBy != c.User {
		perm, who = switchboard.PermFMUSet, c.CreatedBy
	}
	d := s.schedules.gate.checker.CheckOffChannel(ctx, who, perm)
	switch {
	case d.Allowed:
		return "", false
	case d.Unsure:
		return d.Rule, true
	case who != c.User:
		return fmt.Sprintf("<@%s>, who scheduled it, no longer holds `%s`.", who, perm), false
	}
	return cmp.Or(d.Message, "you no longer hold `fmu.self`."), false
}

// following is what remains of the schedule after its pending change: nil
// for a one-off, else the weekly rule's next change after now.
func (s *Scheduler) following(c state.ClaimedSchedule, now time.Time) *state.FMUSchedule {
	if c.Kind != state.ScheduleWeekly {
		return nil
	}
	loc, _ := schedule.Location(c.Zone)
	next := c.FMUSchedule
	next.Attempts = 0
	from := now
	if c.Due.After(now) {
		from = c.Due
	}
	due, start := weeklyOf(next).Next(from, loc)
	next.Due, next.DueProfile = due, next.Else
	if start {
		next.DueProfile = next.Profile
	}
	return &next
}

// afterwards says what comes next for the schedule.
func (s *Scheduler) afterwards(next *state.FMUSchedule) string {
	if next == nil {
		return ""
	}
	loc, _ := schedule.Location(next.Zone)
	return fmt.Sprintf("Next: *%s* at %s.", render.ProfileLabel(enco.Profile(next.DueProfile)), whenLabel(next.Due, loc))
}

// settle ends the claim; false means it was lost and nothing was done.
func (s *Scheduler) settle(ctx context.Context, c state.ClaimedSchedule, next *state.FMUSchedule, at time.Time, fx state.ScheduleEffects) bool {
	ok, err := s.schedules.store.SettleFMUSchedule(ctx, c, next, at, fx)
	switch {
	case err != nil:
		// The claim runs out and another replica takes the change again.
		s.schedules.log.Warn("settle scheduled FMU change", "err", err, "schedule", c.ID, "user", c.User)
	case !ok:
		s.schedules.log.Warn("scheduled FMU change was taken over or cleared meanwhile; not reporting it", "schedule", c.ID, "user", c.User)
	}
	return ok && err == nil
}
