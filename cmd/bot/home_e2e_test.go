package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/switchboard-bot/switchboard"
	"github.com/switchboard-bot/switchboard/commands"
	"github.com/switchboard-bot/switchboard/enco"
	"github.com/switchboard-bot/switchboard/internal/slacktest"
)

// homeGuest may read numbers and SIM cards but not set an FMU profile.
const homeGuest = "U0GUEST002"

const homePolicy = `roles:
  - name: staff
    members: [` + telStaff + `, ` + telLone + `]
    permissions: [fmu.self]
  - name: readers
    members: [` + homeGuest + `]
    permissions: [number.read, sim.read]
directory:
  ` + telStaff + `: {mobile: "32470000001"}
`

// testClock is the clock of schedules in these tests: it stands still until
// the test moves it, so that a change due in a minute runs without a
// minute's wait.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func newTestClock(t time.Time) *testClock { return &testClock{now: t} }

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

func (c *testClock) Advance(d time.Duration) { c.Set(c.Now().Add(d)) }

// withClock gives the bot clk as the clock of schedules, and has its
// scheduler look at the due index every 10 ms.
func withClock(clk *testClock) harnessOption {
	return func(h *harness) {
		withCommands(func(c *commands.Config) { c.Settings.Now = clk.Now })(h)
		withMain(func(m *Main) { m.scheduler.Tick = 10 * time.Millisecond })(h)
	}
}

// homeText is the text of a published Home tab: its sections and headers,
// and each button as "[action_id value label]".
func homeText(v slacktest.PublishedView) string {
	var b strings.Builder
	for _, block := range v.View.Blocks.BlockSet {
		switch x := block.(type) {
		case *slack.HeaderBlock:
			b.WriteString(x.Text.Text + "\n")
		case *slack.SectionBlock:
			if x.Text != nil {
				b.WriteString(x.Text.Text)
			}
			if x.Accessory != nil && x.Accessory.ButtonElement != nil {
				btn := x.Accessory.ButtonElement
				fmt.Fprintf(&b, " [%s %s %s]", btn.ActionID, btn.Value, btn.Text.Text)
			}
			b.WriteString("\n")
		}
	}
	return b.String()
}

// homeView waits for the n-th view published for user and returns its text.
func (h *harness) homeView(user string, n int) (slacktest.PublishedView, string) {
	h.t.Helper()
	var views []slacktest.PublishedView
	h.waitFor(fmt.Sprintf("view %d of %s's Home tab", n, user), func() bool {
		views = h.slack.PublishedViews(user)
		return len(views) >= n
	})
	return views[n-1], homeText(views[n-1])
}

// openHome delivers app_home_opened for user and returns the view published.
func (h *harness) openHome(user string) string {
	h.t.Helper()
	n := len(h.slack.PublishedViews(user))
	if _, err := h.slack.AppHomeOpened(h.ctx, user); err != nil {
		h.t.Fatalf("app_home_opened: %v", err)
	}
	_, text := h.homeView(user, n+1)
	return text
}

// homeClick clicks a Home tab button of view v.
func (h *harness) homeClick(user string, v slacktest.PublishedView, value string) {
	h.t.Helper()
	cb := slack.InteractionCallback{
		User:      slack.User{ID: user},
		Container: slack.Container{Type: "view", ViewID: v.ID},
		View:      slack.View{ID: v.ID, Type: slack.VTHomeTab},
		ActionCallback: slack.ActionCallbacks{BlockActions: []*slack.BlockAction{{
			ActionID: commands.ActionHomeFMUSet, Value: value, BlockID: "home_fmu_" + value,
		}}},
	}
	if _, err := h.slack.BlockAction(h.ctx, cb); err != nil {
		h.t.Fatalf("click %s: %v", value, err)
	}
}

// fmuCalls counts the sandbox's FMU requests of method for msisdn (any
// number when ""); for PUT, profile "" counts every profile.
func (h *harness) fmuCalls(method, msisdn string, profile enco.Profile) int {
	n := 0
	for _, r := range h.encoCalls("/fmu/1.0.0/status") {
		if r.Method != method {
			continue
		}
		if method == http.MethodGet {
			if msisdn == "" || strings.Contains(r.Query.Encode(), msisdn) || strings.Contains(r.Path, msisdn) {
				n++
			}
			continue
		}
		var body struct {
			MSISDN json.RawMessage `json:"msisdn"`
			Status string          `json:"status"`
		}
		if json.Unmarshal(r.Body, &body) != nil {
			continue
		}
		if (msisdn == "" || strings.Contains(string(body.MSISDN), msisdn)) && (profile == "" || body.Status == string(profile)) {
			n++
		}
	}
	return n
}

// audited returns the audit entries whose command is command.
func (h *harness) audited(command string) []switchboard.AuditEntry {
	h.t.Helper()
	entries, err := h.store.RecentAudit(context.Background(), 1000, func(e switchboard.AuditEntry) bool { return e.Command == command })
	if err != nil {
		h.t.Fatal(err)
	}
	return entries
}

func TestHomeTabShowsProfileAndClickSetsIt(t *testing.T) {
	t.Parallel()
	h := newHarness(t, withPolicy(homePolicy))

	first := h.openHome(telStaff)
	for _, want := range []string{
		"+32 470 00 00 01 is *Private*",
		"[home_fmu_set PRIVATE Private (current)]", "[home_fmu_set PROFESSIONAL Set Professional]", "[home_fmu_set ON_DUTY Set On duty]",
		"*Scheduled changes*\nNone.", "*Your last operations*\nNone yet.",
	} {
		if !strings.Contains(first, want) {
			t.Errorf("home view lacks %q:\n%s", want, first)
		}
	}
	v, _ := h.homeView(telStaff, 1)
	h.homeClick(telStaff, v, string(enco.ProfileOnDuty))
	_, second := h.homeView(telStaff, 2)
	for _, want := range []string{
		"Set to *On duty*", "+32 470 00 00 01 is *On duty*", "[home_fmu_set ON_DUTY On duty (current)]",
		"Set your FMU profile to On duty: done",
	} {
		if !strings.Contains(second, want) {
			t.Errorf("view after the click lacks %q:\n%s", want, second)
		}
	}
	if p, _ := h.enco.FMU(telStaffMobile); p != string(enco.ProfileOnDuty) {
		t.Errorf("sandbox profile = %q, want ON_DUTY", p)
	}
	if n := h.fmuCalls(http.MethodPut, telStaffMobile, enco.ProfileOnDuty); n != 1 {
		t.Errorf("PUT status ON_DUTY calls = %d, want 1", n)
	}
	entries := h.audited("fmu.self")
	if len(entries) != 1 || entries[0].Decision != "api call" || !strings.Contains(entries[0].Detail, "ON_DUTY from the Home tab") {
		t.Errorf("fmu.self audit = %+v, want one api call from the Home tab", entries)
	}
	if allowed := h.audited("/fmu on_duty (Home tab)"); len(allowed) != 1 || allowed[0].Decision != "allowed" {
		t.Errorf("permission audit = %+v, want one allowed decision", allowed)
	}

	// The profile read at the first visit is cached: neither the click nor
	// another visit asks EnCo again.
	third := h.openHome(telStaff)
	if !strings.Contains(third, "is *On duty*") {
		t.Errorf("third view = %s, want On duty", third)
	}
	if n := h.fmuCalls(http.MethodGet, "", ""); n != 1 {
		t.Errorf("GET status calls = %d, want 1 (later views use the cache)", n)
	}
}

func TestHomeTabWithoutNumberOrPermission(t *testing.T) {
	t.Parallel()
	h := newHarness(t, withPolicy(homePolicy))

	lone := h.openHome(telLone)
	if !telHasAll(lone, "don't know your mobile number", "/fmu link") || strings.Contains(lone, commands.ActionHomeFMUSet) {
		t.Errorf("view without a number = %s, want how to get one linked and no buttons", lone)
	}
	guest := h.openHome(homeGuest)
	if !telHasAll(guest, "fmu.self", "*What you may do*", "/number available", "/sim status") || strings.Contains(guest, "/call") || strings.Contains(guest, commands.ActionHomeFMUSet) {
		t.Errorf("view without fmu.self = %s, want what they may do (numbers, SIMs) and no buttons", guest)
	}

	// A click without fmu.self (an old view, say) changes nothing.
	v, _ := h.homeView(homeGuest, 1)
	h.homeClick(homeGuest, v, string(enco.ProfileOnDuty))
	_, after := h.homeView(homeGuest, 2)
	if !strings.Contains(after, ":no_entry:") {
		t.Errorf("view after a denied click = %s, want the denial", after)
	}
	if n := len(h.encoCalls("/fmu/")); n != 0 {
		t.Errorf("FMU API calls = %d, want none", n)
	}
}
