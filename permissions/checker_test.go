package permissions

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-bot/switchboard"
)

// checkPolicy covers every way to hold a permission.
const checkPolicy = `roles:
  - name: sim-operators
    members: [U0AAAAAAA, S0BBBBBBB]
    permissions: [sim.read, sim.activate, sim.deactivate, sim.reactivate]
  - name: sim-admins
    members: [U0ADMIN00]
    permissions: ["sim.*"]
  - name: root
    members: [W0ROOT000]
    permissions: ["*"]
  - name: fleet
    members: [S0FLEET00]
    permissions: [fmu.read, fmu.set]
  - name: everyone
    members: ["*"]
    permissions: [fmu.self, call.self, number.read]
channels:
  sim: [C0OPS0000, C0OPS0001]
`

// fakeGroups answers user-group lookups with members and counts the calls.
type fakeGroups struct {
	calls   atomic.Int64
	members func(ctx context.Context, groupID string) ([]string, error)
}

func (f *fakeGroups) UserGroupMembers(ctx context.Context, groupID string) ([]string, error) {
	f.calls.Add(1)
	return f.members(ctx, groupID)
}

// staticGroups returns a fakeGroups serving fixed memberships.
func staticGroups(groups map[string][]string) *fakeGroups {
	return &fakeGroups{members: func(_ context.Context, id string) ([]string, error) {
		return groups[id], nil
	}}
}

var testGroups = map[string][]string{
	"S0BBBBBBB": {"U0GROUPED", "U0OTHER00"},
	"S0FLEET00": {"U0FLEET00"},
}

// fakeClock is a clock the test moves by hand.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func TestCheck(t *testing.T) {
	c := NewChecker(mustParse(t, checkPolicy), staticGroups(testGroups))
	tests := []struct {
		name       string
		user       string
		channel    string
		permission string
		allowed    bool
		rule       string
		message    string // substring; only checked when set
	}{
		{"direct exact", "U0AAAAAAA", "C0OPS0000", switchboard.PermSIMRead, true,
			`role "sim-operators" grants "sim.read" (member as U0AAAAAAA)`, ""},
		{"group exact", "U0GROUPED", "C0OPS0001", switchboard.PermSIMActivate, true,
			`role "sim-operators" grants "sim.activate" (member via group S0BBBBBBB)`, ""},
		{"everyone", "U0NOBODY0", "C0RANDOM0", switchboard.PermFMUSelf, true,
			`role "everyone" grants "fmu.self" (member via "*")`, ""},
		{"prefix", "U0ADMIN00", "C0OPS0000", switchboard.PermSIMTerminate, true,
			`role "sim-admins" grants "sim.*" (member as U0ADMIN00)`, ""},
		{"star grants everything", "W0ROOT000", "C0RANDOM0", switchboard.PermDirectoryAdmin, true,
			`role "root" grants "*" (member as W0ROOT000)`, ""},
		{"group of another role", "U0FLEET00", "C0RANDOM0", switchboard.PermFMUSet, true,
			`role "fleet" grants "fmu.set" (member via group S0FLEET00)`, ""},
		{"no role", "U0NOBODY0", "C0OPS0000", switchboard.PermSIMTerminate, false,
			`no role grants "sim.terminate" to U0NOBODY0`,
			"You don't have permission sim.terminate. Ask an admin to add you to a role that grants it (roles with it: sim-admins, root)."},
		{"role without this permission", "U0AAAAAAA", "C0OPS0000", switchboard.PermSIMTerminate, false,
			`no role grants "sim.terminate" to U0AAAAAAA`, "roles with it: sim-admins, root"},
		{"group member without this permission", "U0GROUPED", "C0OPS0000", switchboard.PermFMUSet, false,
			`no role grants "fmu.set" to U0GROUPED`, "roles with it: root, fleet"},
		{"channel outside the allow-list", "U0ADMIN00", "C0RANDOM0", switchboard.PermSIMRead, false,
			"channel C0RANDOM0 not in allow-list for /sim", "/sim works only in <#C0OPS0000> or <#C0OPS0001>."},
		{"allow-list applies to star role", "W0ROOT000", "C0RANDOM0", switchboard.PermSIMTerminate, false,
			"channel C0RANDOM0 not in allow-list for /sim", "/sim works only in"},
		{"no channel with an allow-list", "U0ADMIN00", "", switchboard.PermSIMRead, false,
			"channel (none) not in allow-list for /sim", "/sim works only in"},
		{"command without allow-list", "U0AAAAAAA", "", switchboard.PermFMUSelf, true,
			`role "everyone" grants "fmu.self" (member via "*")`, ""},
		{"unknown permission", "W0ROOT000", "C0OPS0000", "sim.explode", false,
			`unknown permission "sim.explode"`, "not covered"},
		{"pattern is not a permission", "W0ROOT000", "C0OPS0000", "sim.*", false,
			`unknown permission "sim.*"`, ""},
		{"no user", "", "C0OPS0000", switchboard.PermFMUSelf, false, "no user ID", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := c.Check(t.Context(), tt.user, tt.channel, tt.permission)
			if d.Allowed != tt.allowed {
				t.Errorf("Allowed: got %t, want %t (rule %q)", d.Allowed, tt.allowed, d.Rule)
			}
			if d.Permission != tt.permission {
				t.Errorf("Permission: got %q, want %q", d.Permission, tt.permission)
			}
			if d.Rule != tt.rule {
				t.Errorf("Rule: got %q, want %q", d.Rule, tt.rule)
			}
			if tt.message != "" && !strings.Contains(d.Message, tt.message) {
				t.Errorf("Message: got %q, want it to contain %q", d.Message, tt.message)
			}
			if !tt.allowed && d.Message == "" {
				t.Errorf("Message: got empty, want a reason for the denial")
			}
		})
	}
}

func TestCheckNoRoleGrantsIt(t *testing.T) {
	c := NewChecker(mustParse(t, designExample), nil)
	d := c.Check(t.Context(), "U0AAAAAAA", "C0OPS0000", switchboard.PermSIMTerminate)
	if d.Allowed {
		t.Fatalf("Allowed: got true, want false")
	}
	if want := "no role grants it yet"; !strings.Contains(d.Message, want) {
		t.Errorf("Message: got %q, want it to contain %q", d.Message, want)
	}
}

func TestCheckDenyAll(t *testing.T) {
	for _, p := range []*Policy{DenyAll(), nil} {
		c := NewChecker(p, nil)
		for _, perm := range KnownPermissions() {
			d := c.Check(t.Context(), "U0AAAAAAA", "C0OPS0000", perm)
			if d.Allowed {
				t.Errorf("Check(%s) without a policy: got allowed, want denied", perm)
			}
			if want := "only help works"; !strings.Contains(d.Message, want) {
				t.Errorf("Check(%s) message: got %q, want it to contain %q", perm, d.Message, want)
			}
		}
	}
}

func TestCheckGroupLookupFailing(t *testing.T) {
	slackDown := errors.New("slack: service unavailable")
	groups := &fakeGroups{members: func(context.Context, string) ([]string, error) {
		return nil, slackDown
	}}
	c := NewChecker(mustParse(t, checkPolicy), groups)

	tests := []struct {
		name       string
		user       string
		permission string
		allowed    bool
		wantCalls  int64
		message    string
	}{
		{"direct grant needs no Slack", "U0AAAAAAA", switchboard.PermSIMRead, true, 0, ""},
		{"star grant needs no Slack", "U0GROUPED", switchboard.PermFMUSelf, true, 0, ""},
		{"group-only grant is denied", "U0GROUPED", switchboard.PermSIMActivate, false, 1, "try again"},
		{"failures are not cached", "U0GROUPED", switchboard.PermSIMActivate, false, 1, "try again"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := groups.calls.Load()
			d := c.Check(t.Context(), tt.user, "C0OPS0000", tt.permission)
			if d.Allowed != tt.allowed {
				t.Errorf("Allowed: got %t, want %t (rule %q)", d.Allowed, tt.allowed, d.Rule)
			}
			if got := groups.calls.Load() - before; got != tt.wantCalls {
				t.Errorf("group lookups: got %d, want %d", got, tt.wantCalls)
			}
			if tt.message != "" && !strings.Contains(d.Message, tt.message) {
				t.Errorf("Message: got %q, want it to contain %q", d.Message, tt.message)
			}
			if !tt.allowed && !strings.Contains(d.Rule, "S0BBBBBBB") {
				t.Errorf("Rule: got %q, want it to name group S0BBBBBBB", d.Rule)
			}
		})
	}
}

func TestCheckWithoutGroupResolver(t *testing.T) {
	c := NewChecker(mustParse(t, checkPolicy), nil)
	if d := c.Check(t.Context(), "U0AAAAAAA", "C0OPS0000", switchboard.PermSIMRead); !d.Allowed {
		t.Errorf("direct grant without resolver: got denied (%q), want allowed", d.Rule)
	}
	d := c.Check(t.Context(), "U0GROUPED", "C0OPS0000", switchboard.PermSIMRead)
	if d.Allowed {
		t.Fatalf("group grant without resolver: got allowed, want denied")
	}
	if want := "no user-group resolver"; !strings.Contains(d.Rule, want) {
		t.Errorf("Rule: got %q, want it to contain %q", d.Rule, want)
	}
}

func TestCheckGroupCache(t *testing.T) {
	clock := &fakeClock{now: time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)}
	groups := staticGroups(testGroups)
	c := NewChecker(mustParse(t, checkPolicy), groups, WithGroupTTL(time.Minute), WithClock(clock.Now))

	steps := []struct {
		name      string
		advance   time.Duration
		wantCalls int64
	}{
		{"first check asks Slack", 0, 1},
		{"second check within TTL uses the cache", 59 * time.Second, 1},
		{"check after TTL asks Slack again", time.Second, 2},
		{"fresh again after refresh", 30 * time.Second, 2},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			clock.Advance(s.advance)
			if d := c.Check(t.Context(), "U0GROUPED", "C0OPS0000", switchboard.PermSIMRead); !d.Allowed {
				t.Fatalf("Allowed: got false (%q), want true", d.Rule)
			}
			if got := groups.calls.Load(); got != s.wantCalls {
				t.Errorf("group lookups so far: got %d, want %d", got, s.wantCalls)
			}
		})
	}
}

func TestCheckCoalescesGroupLookups(t *testing.T) {
	release := make(chan struct{})
	groups := &fakeGroups{members: func(ctx context.Context, id string) ([]string, error) {
		select {
		case <-release:
			return testGroups[id], nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}}
	c := NewChecker(mustParse(t, checkPolicy), groups)

	const n = 20
	results := make(chan Decision, n)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			results <- c.Check(t.Context(), "U0GROUPED", "C0OPS0000", switchboard.PermSIMRead)
		})
	}
	// Every check but the one calling Slack must be waiting on that call.
	waitFor(t, func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		l := c.inflight["S0BBBBBBB"]
		return l != nil && l.waiters == n-1
	})
	close(release)
	wg.Wait()
	close(results)

	for d := range results {
		if !d.Allowed {
			t.Errorf("Allowed: got false (%q), want true", d.Rule)
		}
	}
	if got := groups.calls.Load(); got != 1 {
		t.Errorf("group lookups for %d concurrent checks: got %d, want 1", n, got)
	}
}

func TestCheckWaiterHonoursItsContext(t *testing.T) {
	release := make(chan struct{})
	groups := &fakeGroups{members: func(context.Context, string) ([]string, error) {
		<-release
		return testGroups["S0BBBBBBB"], nil
	}}
	c := NewChecker(mustParse(t, checkPolicy), groups)

	var wg sync.WaitGroup
	defer wg.Wait()
	defer close(release) // before waiting for the check that holds the lookup
	wg.Go(func() { c.Check(t.Context(), "U0GROUPED", "C0OPS0000", switchboard.PermSIMRead) })
	waitFor(t, func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.inflight["S0BBBBBBB"] != nil
	})

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	d := c.Check(ctx, "U0GROUPED", "C0OPS0000", switchboard.PermSIMRead)
	if d.Allowed {
		t.Fatalf("Allowed with a cancelled context: got true, want false")
	}
	if !strings.Contains(d.Rule, context.Canceled.Error()) {
		t.Errorf("Rule: got %q, want it to contain %q", d.Rule, context.Canceled)
	}
}

func TestCheckConcurrent(t *testing.T) {
	clock := &fakeClock{now: time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)}
	groups := staticGroups(testGroups)
	c := NewChecker(mustParse(t, checkPolicy), groups, WithClock(clock.Now), WithGroupTTL(time.Minute))

	cases := []struct {
		user, channel, permission string
		allowed                   bool
	}{
		{"U0AAAAAAA", "C0OPS0000", switchboard.PermSIMRead, true},
		{"U0GROUPED", "C0OPS0001", switchboard.PermSIMDeactivate, true},
		{"U0FLEET00", "C0RANDOM0", switchboard.PermFMURead, true},
		{"U0NOBODY0", "C0OPS0000", switchboard.PermSIMRead, false},
		{"U0GROUPED", "C0RANDOM0", switchboard.PermSIMRead, false},
		{"U0FLEET00", "C0RANDOM0", switchboard.PermFMUSelf, true},
	}
	var wg sync.WaitGroup
	errs := make(chan error, 64*len(cases))
	for g := range 64 {
		wg.Go(func() {
			if g%8 == 0 {
				clock.Advance(10 * time.Second) // expire the cache now and then
			}
			for _, tc := range cases {
				d := c.Check(t.Context(), tc.user, tc.channel, tc.permission)
				if d.Allowed != tc.allowed {
					errs <- fmt.Errorf("Check(%s, %s, %s): got allowed=%t, want %t (%s)", tc.user, tc.channel, tc.permission, d.Allowed, tc.allowed, d.Rule)
				}
			}
			if _, err := c.Holders(t.Context(), switchboard.PermSIMRead); err != nil {
				errs <- fmt.Errorf("Holders: %w", err)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestHolders(t *testing.T) {
	c := NewChecker(mustParse(t, checkPolicy), staticGroups(testGroups))
	tests := []struct {
		permission string
		want       []string
	}{
		{switchboard.PermSIMTerminate, []string{"U0ADMIN00", "W0ROOT000"}},
		{switchboard.PermSIMRead, []string{"U0AAAAAAA", "U0ADMIN00", "U0GROUPED", "U0OTHER00", "W0ROOT000"}},
		{switchboard.PermFMUSelf, []string{"*", "W0ROOT000"}},
		{"sim.explode", nil},
	}
	for _, tt := range tests {
		t.Run(tt.permission, func(t *testing.T) {
			got, err := c.Holders(t.Context(), tt.permission)
			if err != nil {
				t.Fatalf("Holders: %v", err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("Holders(%s): got %v, want %v", tt.permission, got, tt.want)
			}
		})
	}
}

func TestHoldersGroupFailure(t *testing.T) {
	groups := &fakeGroups{members: func(context.Context, string) ([]string, error) {
		return nil, errors.New("slack: ratelimited")
	}}
	c := NewChecker(mustParse(t, checkPolicy), groups)
	got, err := c.Holders(t.Context(), switchboard.PermSIMRead)
	if err == nil {
		t.Fatalf("Holders: got %v and no error, want an error", got)
	}
	if want := "permission holders of sim.read: user group S0BBBBBBB: slack: ratelimited"; err.Error() != want {
		t.Errorf("Holders error: got %q, want %q", err, want)
	}
}

func TestCheckerRequiresApproval(t *testing.T) {
	c := NewChecker(mustParse(t, designExample), nil)
	tests := []struct {
		permission string
		want       bool
	}{
		{switchboard.PermSIMTerminate, true},
		{switchboard.PermSIMDeactivate, false},
		{switchboard.PermNumberRelease, false},
	}
	for _, tt := range tests {
		t.Run(tt.permission, func(t *testing.T) {
			if got := c.RequiresApproval(tt.permission); got != tt.want {
				t.Errorf("RequiresApproval(%s): got %t, want %t", tt.permission, got, tt.want)
			}
		})
	}
	if c.Policy() == nil || c.Policy().MaxTargets() != DefaultMaxTargets {
		t.Errorf("Policy: got %v, want the policy the checker was made with", c.Policy())
	}
}

// waitFor polls cond until it holds or a deadline passes.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.After(5 * time.Second)
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-deadline:
			t.Fatal("condition not met within 5s")
		case <-tick.C:
		}
	}
}

// A slash command's channel allow-list applies to every permission used
// under it: /sim audit (audit.read) and /fmu link (directory.admin) obey the
// channels set for sim and fmu.
func TestChannelAllowListsAreKeyedByCommand(t *testing.T) {
	p := mustParse(t, `roles:
  - name: admins
    members: [U0ADMIN01]
    permissions: ["*"]
channels:
  sim: [C0OPS0000]
  fmu: [C0OPS0001]
`)
	c := NewChecker(p, nil)
	ctx := context.Background()
	tests := []struct {
		name                         string
		channel, command, permission string
		want                         bool
	}{
		{"/sim audit in the sim channel", "C0OPS0000", "/sim", switchboard.PermAuditRead, true},
		{"/sim audit elsewhere", "C0ELSE000", "/sim", switchboard.PermAuditRead, false},
		{"/sim audit in the fmu channel", "C0OPS0001", "/sim", switchboard.PermAuditRead, false},
		{"/fmu link in the fmu channel", "C0OPS0001", "/fmu", switchboard.PermDirectoryAdmin, true},
		{"/fmu link elsewhere", "C0ELSE000", "/fmu", switchboard.PermDirectoryAdmin, false},
		{"/number anywhere", "C0ELSE000", "/number", switchboard.PermNumberRead, true},
		{"command without its slash", "C0ELSE000", "sim", switchboard.PermSIMRead, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := c.CheckCommand(ctx, "U0ADMIN01", tt.channel, tt.command, tt.permission)
			if d.Allowed != tt.want {
				t.Errorf("CheckCommand(%s, %s, %s) allowed = %v (%s), want %v", tt.channel, tt.command, tt.permission, d.Allowed, d.Rule, tt.want)
			}
			if !tt.want && !strings.Contains(d.Message, "works only in") {
				t.Errorf("denial message = %q, want it to name the channels", d.Message)
			}
		})
	}
	// The keys are slash commands: audit and directory are refused with a hint.
	for key, host := range map[string]string{"audit": "sim", "directory": "fmu"} {
		_, err := Parse([]byte("roles: [{name: a, members: [U1], permissions: [sim.read]}]\nchannels:\n  "+key+": [C0OPS0000]\n"), testCommands)
		if err == nil || !strings.Contains(err.Error(), "list the channels under "+host) {
			t.Errorf("channels.%s: got %v, want a refusal pointing to %s", key, err, host)
		}
	}
}

// TestOffChannelChecksIgnoreChannelAllowLists: a Home tab click or a
// scheduled change has no channel, so the allow-list of /fmu (which says
// where the command may be typed) must not refuse it; the roles still decide.
func TestOffChannelChecksIgnoreChannelAllowLists(t *testing.T) {
	p := mustParse(t, `roles:
  - name: staff
    members: [U0STAFF01]
    permissions: [fmu.self]
channels:
  fmu: [C0OPS0001]
`)
	c := NewChecker(p, nil)
	ctx := context.Background()
	if d := c.CheckCommand(ctx, "U0STAFF01", "", "/fmu", switchboard.PermFMUSelf); d.Allowed {
		t.Errorf("CheckCommand with no channel = allowed, want the allow-list to refuse a slash command outside C0OPS0001")
	}
	if d := c.CheckOffChannel(ctx, "U0STAFF01", switchboard.PermFMUSelf); !d.Allowed {
		t.Errorf("CheckOffChannel(fmu.self) = refused (%s), want allowed: the allow-list is for typed commands", d.Rule)
	}
	if d := c.CheckOffChannel(ctx, "U0STAFF01", switchboard.PermFMUSet); d.Allowed {
		t.Errorf("CheckOffChannel(fmu.set) = allowed, want the roles still to refuse it")
	}
}
