package permissions

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

const approvalRoles = `roles:
  - name: sim-admins
    members: [U0ADMIN01, U0ADMIN02, S0LEADS00]
    permissions: ["sim.*"]
`

// designApprovals is the approvals: example of the design document.
const designApprovals = approvalRoles + `approvals:
  - name: terminate
    permissions: [sim.terminate]
    required: 2
    approvers: [S0SIMLEADS]
    channel: C0APPROVALS
    expires: 4h
  - name: big-deactivations
    permissions: [sim.deactivate, sim.reactivate, sim.activate]
    targets_over: 100
    required: 1
`

func TestApprovalRules(t *testing.T) {
	p := mustParse(t, designApprovals)
	tests := []struct {
		name       string
		permission string
		targets    int
		want       string // rule name, "" for none
	}{
		{"terminate: the first rule", "sim.terminate", 1, "terminate"},
		{"deactivation of 100 cards: no rule", "sim.deactivate", 100, ""},
		{"deactivation of 101 cards: targets_over", "sim.deactivate", 101, "big-deactivations"},
		{"read: no rule", "sim.read", 500, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, ok := p.Approval(tt.permission, tt.targets)
			if got := map[bool]string{true: r.Name, false: ""}[ok]; got != tt.want {
				t.Errorf("Approval(%s, %d): got rule %q, want %q", tt.permission, tt.targets, got, tt.want)
			}
		})
	}
	r, _ := p.Approval("sim.terminate", 1)
	if r.Required != 2 || r.Channel != "C0APPROVALS" || r.Expires != 4*time.Hour || len(r.Approvers) != 1 || r.Approvers[0] != "S0SIMLEADS" {
		t.Errorf("terminate rule = %+v, want 2 of S0SIMLEADS in C0APPROVALS for 4h", r)
	}
	big, _ := p.Approval("sim.activate", 500)
	if big.Required != 1 || big.Channel != "" || big.Expires != DefaultApprovalExpiry || len(big.Approvers) != 0 {
		t.Errorf("big-deactivations rule = %+v, want the defaults: 1 holder of the permission, in the request's channel, for 1h", big)
	}
}

func TestRequireApprovalIsOneHolderInTheRequestsChannel(t *testing.T) {
	for _, tt := range []struct {
		name, data string
	}{
		{"default", approvalRoles},
		{"written", approvalRoles + "require_approval: [sim.terminate]\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r, ok := mustParse(t, tt.data).Approval("sim.terminate", 1)
			if !ok || r.Required != 1 || r.Channel != "" || len(r.Approvers) != 0 || r.Expires != time.Hour {
				t.Errorf("Approval(sim.terminate) = %+v, %t; want one holder of the permission, in the request's channel, for 1h", r, ok)
			}
		})
	}
	if _, ok := mustParse(t, approvalRoles+"require_approval: []\n").Approval("sim.terminate", 1); ok {
		t.Error("require_approval: [] still asks for an approval of sim.terminate")
	}
	// An approvals: rule comes before require_approval's.
	p := mustParse(t, approvalRoles+"approvals:\n  - name: two\n    permissions: [sim.terminate]\n    required: 2\n")
	if r, _ := p.Approval("sim.terminate", 1); r.Name != "two" || r.Required != 2 {
		t.Errorf("Approval(sim.terminate) = %+v, want rule two first", r)
	}
}

func TestParseRefusesMalformedApprovalRules(t *testing.T) {
	rule := approvalRoles + "approvals:\n  - name: t\n    permissions: [sim.terminate]\n"
	tests := []struct {
		name string
		data string
		want []string
	}{
		{"required: 0", rule + "    required: 0\n", []string{"line 8", `approval rule "t": required is 0`, "1 or more"}},
		{"channel name", rule + "    channel: \"#approvals\"\n", []string{"line 8", `channel "#approvals" is not a channel ID`}},
		{"user ID as channel", rule + "    channel: U0ADMIN01\n", []string{"line 8", `channel "U0ADMIN01" is not a channel ID`}},
		{"negative expires", rule + "    expires: -1h\n", []string{"line 8", "expires is -1h", "positive duration"}},
		{"expires without unit", rule + "    expires: 4\n", []string{"line 8", `expires "4" is not a duration`}},
		{"unknown key", rule + "    approver: [U0ADMIN02]\n", []string{"line 8", `unknown key "approver" in an approval rule`, "approvers"}},
		{"handle as approver", rule + "    approvers: [\"@bob\"]\n", []string{"line 8", `approver "@bob" is a handle`}},
		{"everyone as approver", rule + "    approvers: [\"*\"]\n", []string{"line 8", `approvers cannot be "*"`}},
		{"negative targets_over", rule + "    targets_over: -5\n", []string{"line 8", "targets_over is -5"}},
		{"unknown permission", approvalRoles + "approvals:\n  - name: t\n    permissions: [sim.kill]\n", []string{"line 7", `unknown permission "sim.kill"`}},
		{"no name", approvalRoles + "approvals:\n  - permissions: [sim.terminate]\n", []string{"line 6", "approval rule #1 has no name"}},
		{"no permissions", approvalRoles + "approvals:\n  - name: t\n", []string{"line 6", `approval rule "t" has no permissions`}},
		{"name twice", rule + "  - name: t\n    permissions: [sim.deactivate]\n", []string{"line 8", "defined twice (first at line 6)"}},
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
		})
	}
}

type groupsFunc func(ctx context.Context, groupID string) ([]string, error)

func (f groupsFunc) UserGroupMembers(ctx context.Context, groupID string) ([]string, error) {
	return f(ctx, groupID)
}

func TestMayApprove(t *testing.T) {
	p := mustParse(t, designApprovals+`  - name: named
    permissions: [sim.reactivate]
    approvers: [U0NAMED01, S0DOWN000]
`)
	c := NewChecker(p, groupsFunc(func(_ context.Context, g string) ([]string, error) {
		switch g {
		case "S0SIMLEADS":
			return []string{"U0LEAD001", "U0LEAD002"}, nil
		case "S0LEADS00":
			return nil, nil
		}
		return nil, errors.New("usergroup_not_found")
	}))
	ctx := context.Background()
	terminate, _ := p.Approval("sim.terminate", 1)
	big, _ := p.Approval("sim.deactivate", 101)
	named, _ := p.Approval("sim.reactivate", 1)
	tests := []struct {
		name       string
		user       string
		permission string
		rule       ApprovalRule
		allowed    bool
		unsure     bool
	}{
		{"member of the approver group", "U0LEAD002", "sim.terminate", terminate, true, false},
		{"permission holder not in the group", "U0ADMIN01", "sim.terminate", terminate, false, false},
		{"holder of the permission, no approvers named", "U0ADMIN02", "sim.deactivate", big, true, false},
		{"no holder, no approvers named", "U0LEAD001", "sim.deactivate", big, false, false},
		{"named user", "U0NAMED01", "sim.reactivate", named, true, false},
		{"group that cannot be resolved", "U0LEAD001", "sim.reactivate", named, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := c.MayApprove(ctx, tt.user, "C0OPS0000", tt.permission, tt.rule)
			if d.Allowed != tt.allowed || d.Unsure != tt.unsure {
				t.Errorf("MayApprove(%s): got allowed=%t unsure=%t (%s), want allowed=%t unsure=%t", tt.user, d.Allowed, d.Unsure, d.Rule, tt.allowed, tt.unsure)
			}
		})
	}
	if d := c.MayApprove(ctx, "U0ADMIN01", "C0OPS0000", "sim.terminate", terminate); !strings.Contains(d.Message, "<!subteam^S0SIMLEADS>") {
		t.Errorf("refusal = %q, want the approver group named", d.Message)
	}
}
