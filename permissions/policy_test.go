package permissions

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/switchboard-bot/switchboard"
)

// designExample is the policy file shown in the design document.
const designExample = `roles:
  - name: sim-operators
    members: [U0AAAAAAA, S0BBBBBBB]   # Slack user IDs (U…/W…) or user-group IDs (S…); "*" is everyone
    permissions: [sim.read, sim.activate, sim.deactivate, sim.reactivate]
  - name: everyone
    members: ["*"]
    permissions: [fmu.self, call.self, number.read]
channels:                 # optional: a command only works in these channel IDs
  sim: [C0OPS0000]
directory:                # Slack user ID -> that person's numbers (digits, E.164 without +)
  U0AAAAAAA: {mobile: "32470000001", fixed: "3228160257"}
trust_profile_phone: false
mask_numbers: false
`

// fullExample sets every optional key away from its default.
const fullExample = `roles:
  - name: sim-admins
    members: [W0CCCCCCC]
    permissions: ["sim.*", directory.admin]
channels:
  sim: [C0OPS0000, G0PRIV000]
  number: [D0DM00000]
directory:
  U0AAAAAAA: {mobile: "32470000001"}
  W0CCCCCCC: {fixed: "3228160257"}
trust_profile_phone: true
mask_numbers: true
require_approval: [sim.terminate, "number.*"]
call:
  allow_international: true
  allow_premium: true
limits:
  changes_per_minute: 3
  max_targets: 20
workflows:
  allow: [sim_change]
`

// testCommands stand for the bot's slash commands, which the caller passes
// (commands.Names in the bot).
var testCommands = []string{"sim", "fmu", "number", "call"}

func mustParse(t *testing.T, data string) *Policy {
	t.Helper()
	p, err := Parse([]byte(data), testCommands)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return p
}

func TestParseDesignExample(t *testing.T) {
	p := mustParse(t, designExample)

	var names []string
	for _, r := range p.roles {
		names = append(names, r.name)
	}
	if want := []string{"sim-operators", "everyone"}; !slices.Equal(names, want) {
		t.Errorf("role names: got %v, want %v", names, want)
	}
	ops := p.roles[0]
	if !ops.users["U0AAAAAAA"] || len(ops.users) != 1 {
		t.Errorf("sim-operators users: got %v, want only U0AAAAAAA", ops.users)
	}
	if want := []string{"S0BBBBBBB"}; !slices.Equal(ops.groups, want) {
		t.Errorf("sim-operators groups: got %v, want %v", ops.groups, want)
	}
	if ops.everyone {
		t.Errorf("sim-operators everyone: got true, want false")
	}
	if !p.roles[1].everyone {
		t.Errorf("everyone role everyone: got false, want true")
	}
	if got, want := p.ChannelsFor("sim"), []string{"C0OPS0000"}; !slices.Equal(got, want) {
		t.Errorf("ChannelsFor(sim): got %v, want %v", got, want)
	}
	if got := p.ChannelsFor("fmu"); got != nil {
		t.Errorf("ChannelsFor(fmu): got %v, want nil (allowed everywhere)", got)
	}
	if got, want := p.directory["U0AAAAAAA"], (switchboard.Entry{Mobile: "32470000001", Fixed: "3228160257"}); got != want {
		t.Errorf("directory U0AAAAAAA: got %+v, want %+v", got, want)
	}
}

func TestParseSettings(t *testing.T) {
	design := mustParse(t, designExample)
	full := mustParse(t, fullExample)
	tests := []struct {
		name      string
		got, want any
	}{
		{"default MaskNumbers", design.MaskNumbers(), false},
		{"default TrustProfilePhone", design.TrustProfilePhone(), false},
		{"default CallAllowInternational", design.CallAllowInternational(), false},
		{"default CallAllowPremium", design.CallAllowPremium(), false},
		{"default ChangesPerMinute", design.ChangesPerMinute(), DefaultChangesPerMinute},
		{"default MaxTargets", design.MaxTargets(), DefaultMaxTargets},
		{"default approval for sim.terminate", design.RequiresApproval(switchboard.PermSIMTerminate), true},
		{"default no approval for sim.deactivate", design.RequiresApproval(switchboard.PermSIMDeactivate), false},
		{"MaskNumbers", full.MaskNumbers(), true},
		{"TrustProfilePhone", full.TrustProfilePhone(), true},
		{"CallAllowInternational", full.CallAllowInternational(), true},
		{"CallAllowPremium", full.CallAllowPremium(), true},
		{"ChangesPerMinute", full.ChangesPerMinute(), 3},
		{"MaxTargets", full.MaxTargets(), 20},
		{"approval by exact name", full.RequiresApproval(switchboard.PermSIMTerminate), true},
		{"approval by prefix", full.RequiresApproval(switchboard.PermNumberRelease), true},
		{"no approval outside the list", full.RequiresApproval(switchboard.PermSIMActivate), false},
		{"ChannelsFor with slash", full.ChannelsFor("/sim"), []string{"C0OPS0000", "G0PRIV000"}},
		{"ChannelsFor DM", full.ChannelsFor("number"), []string{"D0DM00000"}},
		{"default no workflow step", design.AllowsStep(switchboard.StepSIMChange) || design.AllowsStep(switchboard.StepSetFMUProfile), false},
		{"workflow step allowed", full.AllowsStep(switchboard.StepSIMChange), true},
		{"workflow step not listed", full.AllowsStep(switchboard.StepSetFMUProfile), false},
		{"DenyAll allows no workflow step", DenyAll().AllowsStep(switchboard.StepSIMChange), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !reflect.DeepEqual(tt.got, tt.want) {
				t.Errorf("got %v, want %v", tt.got, tt.want)
			}
		})
	}
}

func TestParseRequireApprovalEmptyMeansNone(t *testing.T) {
	p := mustParse(t, "roles: [{name: a, members: [U1], permissions: [sim.terminate]}]\nrequire_approval: []\n")
	if p.RequiresApproval(switchboard.PermSIMTerminate) {
		t.Errorf("RequiresApproval(sim.terminate) with require_approval: []: got true, want false")
	}
}

func TestChannelsForReturnsACopy(t *testing.T) {
	p := mustParse(t, designExample)
	p.ChannelsFor("sim")[0] = "C0CHANGED"
	if got := p.ChannelsFor("sim")[0]; got != "C0OPS0000" {
		t.Errorf("ChannelsFor after changing a returned slice: got %s, want C0OPS0000", got)
	}
}

func TestParseErrors(t *testing.T) {
	const role = "roles:\n  - name: ops\n    members: [U0AAAAAAA]\n    permissions: [sim.read]\n"
	tests := []struct {
		name string
		data string
		want []string // substrings of the error
	}{
		{"empty file", "", []string{"empty", "roles:"}},
		{"comments only", "# nothing yet\n", []string{"empty"}},
		{"no roles", "roles: []\n", []string{"line 1", "no roles"}},
		{
			"unknown key in a role",
			"roles:\n  - name: ops\n    members: [U0AAAAAAA]\n    permisions: [sim.read]\n",
			[]string{"line 4", `unknown key "permisions"`, "name, members, permissions"},
		},
		{"unknown top-level key", role + "channel:\n  sim: [C0OPS0000]\n", []string{"line 5", `unknown key "channel"`, "channels"}},
		{"unknown key in limits", role + "limits:\n  max_target: 5\n", []string{"line 6", `unknown key "max_target"`, "max_targets"}},
		{"unknown key in directory entry", role + "directory:\n  U0AAAAAAA: {mobil: \"32470000001\"}\n", []string{"line 6", `unknown key "mobil"`, "mobile, fixed"}},
		{"wrong type", role + "mask_numbers: maybe\n", []string{"line 5", "mask_numbers", "true or false"}},
		{"top level is a list", "- ops\n", []string{"line 1", "the policy"}},
		{"bare star", "roles:\n  - name: all\n    members: [*]\n    permissions: [fmu.self]\n", []string{"line 3", `write "*" in quotes`}},
		{"two documents", role + "---\nroles: []\n", []string{"line 5", "one document"}},
		{"duplicate key", role + "mask_numbers: true\nmask_numbers: false\n", []string{"line 6", "mask_numbers", "already defined"}},
		{"role without name", "roles:\n  - members: [U0AAAAAAA]\n    permissions: [sim.read]\n", []string{"line 2", "role #1 has no name", "name:"}},
		{"duplicate role", role + "  - name: ops\n    members: [U0BBBBBBB]\n    permissions: [fmu.self]\n", []string{"line 5", `role "ops" is defined twice (first at line 2)`}},
		{"role without members", "roles:\n  - name: ops\n    permissions: [sim.read]\n", []string{"line 2", `role "ops" has no members`, "U…/W…"}},
		{"role without permissions", "roles:\n  - name: ops\n    members: [U0AAAAAAA]\n", []string{"line 2", `role "ops" has no permissions`}},
		{"unknown permission", "roles:\n  - name: ops\n    members: [U0AAAAAAA]\n    permissions:\n      - sim.read\n      - sim.terminat\n", []string{"line 6", `role "ops"`, `unknown permission "sim.terminat"`, "sim.terminate"}},
		{"permission in capitals", "roles:\n  - name: ops\n    members: [U0AAAAAAA]\n    permissions: [SIM.read]\n", []string{"line 4", `write "sim.read"`}},
		{"star inside a segment", "roles:\n  - name: ops\n    members: [U0AAAAAAA]\n    permissions: [sim*]\n", []string{"line 4", `"sim*" is not a valid pattern`, `write "sim.*"`}},
		{"unknown prefix", "roles:\n  - name: ops\n    members: [U0AAAAAAA]\n    permissions: [\"foo.*\"]\n", []string{"line 4", `unknown permission prefix "foo.*"`, "sim.*"}},
		{"handle as member", "roles:\n  - name: ops\n    members:\n      - U0AAAAAAA\n      - \"@alice\"\n    permissions: [sim.read]\n", []string{"line 5", `"@alice" is a handle`, "member ID"}},
		{"lower-case member", "roles:\n  - name: ops\n    members: [u0aaaaaaa]\n    permissions: [sim.read]\n", []string{"line 3", `write "U0AAAAAAA"`}},
		{"channel as member", "roles:\n  - name: ops\n    members: [C0OPS0000]\n    permissions: [sim.read]\n", []string{"line 3", "looks like a channel ID"}},
		{"channels: unknown command", role + "channels:\n  sms: [C0OPS0000]\n", []string{"line 6", `unknown command "sms"`, "sim, fmu, number, call"}},
		{"channels: slash command", role + "channels:\n  /sim: [C0OPS0000]\n", []string{"line 6", "write sim, without the slash"}},
		{"channels: empty list", role + "channels:\n  sim: []\n", []string{"line 6", "channels.sim is empty"}},
		{"channels: name instead of ID", role + "channels:\n  sim: [C0OPS0000, \"#ops\"]\n", []string{"line 6", `channels.sim: "#ops" is not a channel ID`}},
		{"directory: group ID", role + "directory:\n  S0BBBBBBB: {mobile: \"32470000001\"}\n", []string{"line 6", `"S0BBBBBBB" is not a Slack user ID`}},
		{"directory: number with plus", role + "directory:\n  U0AAAAAAA:\n    fixed: \"+32 2 816 02 57\"\n", []string{"line 7", "directory.U0AAAAAAA.fixed", `write "3228160257"`}},
		{"directory: short number", role + "directory:\n  U0AAAAAAA: {mobile: \"1234\"}\n", []string{"line 6", "directory.U0AAAAAAA.mobile", "8 to 15 digits"}},
		{"directory: no number", role + "directory:\n  U0AAAAAAA: {}\n", []string{"line 6", "directory.U0AAAAAAA has no number"}},
		{"require_approval: unknown", role + "require_approval: [sim.kill]\n", []string{"line 5", "require_approval", `unknown permission "sim.kill"`}},
		{"limits: negative", role + "limits:\n  changes_per_minute: -1\n", []string{"line 6", "limits.changes_per_minute is -1"}},
		{"limits: not a number", role + "limits:\n  max_targets: lots\n", []string{"line 6", "limits.max_targets", "whole number"}},
		{"workflows: unknown key", role + "workflows:\n  allowed: [sim_change]\n", []string{"line 6", `unknown key "allowed"`, "allow"}},
		{"workflows: unknown step", role + "workflows:\n  allow: [sim_change, sim_terminate]\n", []string{"line 6", `unknown step "sim_terminate"`, "set_fmu_profile, sim_change"}},
		{"workflows: step listed twice", role + "workflows:\n  allow:\n    - sim_change\n    - sim_change\n", []string{"line 8", "sim_change is listed twice"}},
		{"workflows: not a list", role + "workflows:\n  allow: sim_change\n", []string{"line 6", "workflows"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Parse([]byte(tt.data), testCommands)
			if err == nil {
				t.Fatalf("Parse: got policy %q, want an error containing %q", p.Describe(), tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Parse error: got %q, want it to contain %q", err, w)
				}
			}
			if !strings.HasPrefix(err.Error(), "parse policy: ") {
				t.Errorf("Parse error: got %q, want it to start with %q", err, "parse policy: ")
			}
		})
	}
}

func TestParseReportsEveryProblemInFileOrder(t *testing.T) {
	data := "roles:\n" +
		"  - name: ops\n" +
		"    members: [U0AAAAAAA]\n" +
		"    permissions: [sim.kill]\n" + // line 4
		"channels:\n" +
		"  sim: [\"#ops\"]\n" + // line 6
		"directory:\n" +
		"  U0AAAAAAA: {mobile: \"12\"}\n" // line 8
	_, err := Parse([]byte(data), testCommands)
	if err == nil {
		t.Fatal("Parse: got no error, want three problems")
	}
	msg := err.Error()
	i4, i6, i8 := strings.Index(msg, "line 4:"), strings.Index(msg, "line 6:"), strings.Index(msg, "line 8:")
	if i4 < 0 || i6 < 0 || i8 < 0 || !(i4 < i6 && i6 < i8) {
		t.Errorf("Parse error: got %q, want problems at lines 4, 6 and 8 in that order", msg)
	}
	if strings.Contains(msg, "\n") {
		t.Errorf("Parse error: got %q, want a single line", msg)
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "policy.yaml")
	if err := os.WriteFile(good, []byte(designExample), 0o600); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("roles: []\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	p, err := Load(good, testCommands)
	if err != nil {
		t.Fatalf("Load(%s): %v", good, err)
	}
	if got := len(p.roles); got != 2 {
		t.Errorf("Load roles: got %d, want 2", got)
	}

	tests := []struct {
		name string
		path string
		want string
	}{
		{"missing file", filepath.Join(dir, "missing.yaml"), "load policy: open"},
		{"invalid file", bad, "load policy " + bad + ": line 1: no roles"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(tt.path, testCommands)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Load error: got %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestDenyAll(t *testing.T) {
	p := DenyAll()
	tests := []struct {
		name      string
		got, want any
	}{
		{"ChangesPerMinute", p.ChangesPerMinute(), DefaultChangesPerMinute},
		{"MaxTargets", p.MaxTargets(), DefaultMaxTargets},
		{"MaskNumbers", p.MaskNumbers(), false},
		{"TrustProfilePhone", p.TrustProfilePhone(), false},
		{"RequiresApproval(sim.terminate)", p.RequiresApproval(switchboard.PermSIMTerminate), true},
		{"ChannelsFor(sim)", p.ChannelsFor("sim"), []string(nil)},
		{"Describe", p.Describe(), "no policy file: every command except help is denied"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !reflect.DeepEqual(tt.got, tt.want) {
				t.Errorf("got %v, want %v", tt.got, tt.want)
			}
		})
	}
}

func TestDescribe(t *testing.T) {
	got := mustParse(t, designExample).Describe()
	for _, want := range []string{
		"2 roles [sim-operators everyone]",
		"naming 1 user IDs and 1 user groups",
		"roles for everyone [everyone]",
		"channel-limited commands [sim]",
		"directory entries 1",
		"require_approval [sim.terminate]",
		"changes_per_minute=10 max_targets=100",
		"workflow steps []",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("Describe: got %q, want it to contain %q", got, want)
		}
	}
	for _, number := range []string{"32470000001", "3228160257"} {
		if strings.Contains(got, number) {
			t.Errorf("Describe: got %q, want no phone number (found %s)", got, number)
		}
	}
	if strings.Contains(got, "\n") {
		t.Errorf("Describe: got %q, want one line", got)
	}
}

func TestKnownPermissions(t *testing.T) {
	want := []string{
		"fmu.self", "fmu.read", "fmu.set",
		"sim.read", "sim.activate", "sim.deactivate", "sim.reactivate", "sim.terminate",
		"number.read", "number.reserve", "number.release",
		"call.self", "call.any", "directory.admin", "audit.read",
	}
	got := KnownPermissions()
	if !slices.Equal(got, want) {
		t.Errorf("KnownPermissions: got %v, want %v", got, want)
	}
	got[0] = "changed"
	if KnownPermissions()[0] != "fmu.self" {
		t.Errorf("KnownPermissions after changing a returned slice: got %q first, want fmu.self", KnownPermissions()[0])
	}
}

func TestMatches(t *testing.T) {
	tests := []struct {
		pattern, permission string
		want                bool
	}{
		{"sim.read", "sim.read", true},
		{"sim.read", "sim.reactivate", false},
		{"sim.*", "sim.terminate", true},
		{"sim.*", "fmu.self", false},
		{"*", "directory.admin", true},
		{"sim*", "sim.read", false},
		{"fmu.*", "fmu", false},
	}
	for _, tt := range tests {
		t.Run(tt.pattern+" "+tt.permission, func(t *testing.T) {
			if got := matches(tt.pattern, tt.permission); got != tt.want {
				t.Errorf("matches(%q, %q): got %t, want %t", tt.pattern, tt.permission, got, tt.want)
			}
		})
	}
}

// encode writes a policy back as a policy file.
func encode(t *testing.T, p *Policy) []byte {
	t.Helper()
	f := policyFile{
		Channels:          p.channels,
		Directory:         map[string]policyEntry{},
		TrustProfilePhone: p.trustProfilePhone,
		MaskNumbers:       p.maskNumbers,
		RequireApproval:   &p.requireApproval,
		Call:              policyCall{AllowInternational: p.allowInternational, AllowPremium: p.allowPremium},
		Limits:            policyLimits{ChangesPerMinute: p.changesPerMinute, MaxTargets: p.maxTargets},
		Workflows:         policyWorkflows{Allow: p.workflowSteps},
	}
	for _, r := range p.roles {
		f.Roles = append(f.Roles, policyRole{Name: r.name, Members: r.members, Permissions: r.permissions})
	}
	for u, e := range p.directory {
		f.Directory[u] = policyEntry{Mobile: e.Mobile, Fixed: e.Fixed}
	}
	rules := p.approvals
	if len(p.requireApproval) > 0 {
		rules = rules[:len(rules)-1] // require_approval's own, written above
	}
	for _, r := range rules {
		f.Approvals = append(f.Approvals, policyApproval{Name: r.Name, Permissions: r.Permissions, Required: &r.Required,
			Approvers: r.Approvers, Channel: r.Channel, Expires: r.Expires.String(), TargetsOver: r.TargetsOver})
	}
	data, err := yaml.Marshal(f)
	if err != nil {
		t.Fatalf("encode policy: %v", err)
	}
	return data
}

func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		designExample,
		fullExample,
		"roles: [{name: a, members: [\"*\"], permissions: [\"*\"]}]\nrequire_approval: []\n",
		"roles:\n  - name: a\n    members: [U1, S2, W3]\n    permissions: [fmu.self]\nlimits: {changes_per_minute: 1, max_targets: 0}\n",
		"roles:\n  - name: ops\n    permisions: [sim.read]\n",
		"directory:\n  U1: {mobile: '+32'}\n",
		"roles: &r [{name: a, members: [U1], permissions: [sim.read]}]\nchannels: {sim: [C1, C1]}\n",
		designApprovals,
		approvalRoles + "approvals: [{name: x, permissions: [\"*\"], required: 3, approvers: [U1, U1, S2], expires: 90s}]\nrequire_approval: []\n",
		"",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Parse(data, testCommands)
		if err != nil {
			if p != nil {
				t.Fatalf("Parse: got a policy and error %v, want only the error", err)
			}
			return
		}
		if p.ChangesPerMinute() <= 0 || p.MaxTargets() <= 0 {
			t.Errorf("limits: got changes_per_minute=%d max_targets=%d, want both positive", p.ChangesPerMinute(), p.MaxTargets())
		}
		if len(p.roles) == 0 {
			t.Errorf("roles: got none, want an accepted policy to have at least one")
		}
		names := map[string]bool{}
		for _, r := range p.roles {
			if strings.TrimSpace(r.name) == "" || names[r.name] {
				t.Errorf("role name %q: want non-empty and unique", r.name)
			}
			names[r.name] = true
			if len(r.members) == 0 || len(r.permissions) == 0 {
				t.Errorf("role %q: got %d members and %d permissions, want both non-zero", r.name, len(r.members), len(r.permissions))
			}
			for _, perm := range r.permissions {
				if msg := checkPattern(perm); msg != "" {
					t.Errorf("role %q accepted an invalid permission: %s", r.name, msg)
				}
			}
		}
		for cmd, ids := range p.channels {
			if len(ids) == 0 {
				t.Errorf("channels.%s: got an empty allow-list, want at least one channel", cmd)
			}
		}
		for u, e := range p.directory {
			for _, n := range []string{e.Mobile, e.Fixed} {
				if n != "" && !e164Digits.MatchString(n) {
					t.Errorf("directory.%s: accepted number %q, want 8 to 15 digits", u, n)
				}
			}
		}

		for _, r := range p.approvals {
			if r.Required < 1 || r.Expires <= 0 || r.TargetsOver < 0 || len(r.Permissions) == 0 {
				t.Errorf("approval rule %+v: want required >= 1, a positive expiry, targets_over >= 0 and permissions", r)
			}
			if r.Channel != "" && !slackChannelID.MatchString(r.Channel) {
				t.Errorf("approval rule %q: accepted channel %q", r.Name, r.Channel)
			}
		}

		again, err := Parse(encode(t, p), testCommands)
		if err != nil {
			t.Fatalf("Parse of the re-encoded policy: %v", err)
		}
		if !reflect.DeepEqual(again, p) {
			t.Errorf("round trip: got %+v, want %+v", again, p)
		}
	})
}

// TestPackageDocExample parses the policy file shown in the package comment,
// so the documentation cannot drift from what Parse accepts.
func TestPackageDocExample(t *testing.T) {
	src, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	var example strings.Builder
	for line := range strings.Lines(string(src)) {
		if code, ok := strings.CutPrefix(line, "//\t"); ok {
			example.WriteString(code)
		}
	}
	p, err := Parse([]byte(example.String()), testCommands)
	if err != nil {
		t.Fatalf("Parse of the package comment's example: %v\n%s", err, example.String())
	}
	tests := []struct {
		name      string
		got, want any
	}{
		{"roles", len(p.roles), 3},
		{"ChannelsFor(sim)", p.ChannelsFor("sim"), []string{"C0OPS0000"}},
		{"ChangesPerMinute", p.ChangesPerMinute(), DefaultChangesPerMinute},
		{"MaxTargets", p.MaxTargets(), DefaultMaxTargets},
		{"RequiresApproval(sim.terminate)", p.RequiresApproval(switchboard.PermSIMTerminate), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !reflect.DeepEqual(tt.got, tt.want) {
				t.Errorf("got %v, want %v", tt.got, tt.want)
			}
		})
	}
}
