package permissions

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

// DefaultApprovalExpiry is how long a request waits for its approvals when
// its rule names no expires.
const DefaultApprovalExpiry = time.Hour

// ApprovalRule says who must approve a change before it runs and where the
// request waits. A rule of the policy's approvals: list, or the one that
// require_approval stands for (one approver holding the same permission, in
// the request's channel).
type ApprovalRule struct {
	Name        string
	Permissions []string // exact names or patterns
	// Required is the number of distinct approvers needed; the requester
	// never counts.
	Required int
	// Approvers are user IDs (U…/W…) and user-group IDs (S…). None means
	// the holders of the permission being approved.
	Approvers []string
	// Channel is where the request is posted; "" means the request's own
	// channel.
	Channel string
	// Expires is how long the request waits (never 0).
	Expires time.Duration
	// TargetsOver, when above 0, limits the rule to changes naming more
	// targets than that.
	TargetsOver int
}

// applies reports whether the rule covers a change using permission on
// targets targets.
func (r ApprovalRule) applies(permission string, targets int) bool {
	if r.TargetsOver > 0 && targets <= r.TargetsOver {
		return false
	}
	return slices.ContainsFunc(r.Permissions, func(p string) bool { return matches(p, permission) })
}

// legacyApproval is the rule require_approval stands for.
func legacyApproval(perms []string) ApprovalRule {
	return ApprovalRule{Name: "require_approval", Permissions: slices.Clone(perms), Required: 1, Expires: DefaultApprovalExpiry}
}

// policyApproval is one rule under approvals:, as written.
type policyApproval struct {
	Name        string   `yaml:"name"`
	Permissions []string `yaml:"permissions"`
	Required    *int     `yaml:"required"` // nil: 1
	Approvers   []string `yaml:"approvers"`
	Channel     string   `yaml:"channel"`
	Expires     string   `yaml:"expires"`
	TargetsOver int      `yaml:"targets_over"`
}

func (v *validator) approvals(p *Policy, rules []policyApproval) {
	seen := map[string]int{}
	for i, fr := range rules {
		r := ApprovalRule{Name: fr.Name, Required: 1, Channel: fr.Channel, Expires: DefaultApprovalExpiry, TargetsOver: fr.TargetsOver}
		label := fmt.Sprintf("approval rule %q", fr.Name)
		switch first, dup := seen[fr.Name]; {
		case strings.TrimSpace(fr.Name) == "":
			label = fmt.Sprintf("approval rule #%d", i+1)
			v.addf(path("approvals", i), "%s has no name: add name: <rule-name>, which requests and the audit show", label)
		case dup:
			v.addf(path("approvals", i, "name"), "%s is defined twice (first at line %d): give each rule its own name", label, locate(v.root, "approvals", first, "name"))
		default:
			seen[fr.Name] = i
		}
		if len(fr.Permissions) == 0 {
			v.addf(path("approvals", i), "%s has no permissions: list the changes it covers under permissions:, e.g. [%s]", label, "sim.terminate")
		}
		for j, perm := range fr.Permissions {
			if msg := checkPattern(perm); msg != "" {
				v.addf(path("approvals", i, "permissions", j), "%s: %s", label, msg)
				continue
			}
			r.Permissions = append(r.Permissions, perm)
		}
		if fr.Required != nil {
			if n := *fr.Required; n < 1 {
				v.addf(path("approvals", i, "required"), "%s: required is %d; write how many distinct people must approve, 1 or more (the requester never counts)", label, n)
			} else {
				r.Required = n
			}
		}
		for j, a := range fr.Approvers {
			switch {
			case slackUserID.MatchString(a) || slackGroupID.MatchString(a):
				if !slices.Contains(r.Approvers, a) {
					r.Approvers = append(r.Approvers, a)
				}
			case a == "*":
				v.addf(path("approvals", i, "approvers", j), `%s: approvers cannot be "*": list user IDs (U…/W…) or user-group IDs (S…), or leave approvers out for the holders of the same permission`, label)
			default:
				v.addf(path("approvals", i, "approvers", j), "%s: %s", label, approverProblem(a))
			}
		}
		if fr.Channel != "" && !slackChannelID.MatchString(fr.Channel) {
			v.addf(path("approvals", i, "channel"), "%s: channel %q is not a channel ID: write the ID (C… or G…) shown at the bottom of the channel's details, not its name, or leave channel out to ask in the request's own channel", label, fr.Channel)
		}
		if fr.Expires != "" {
			d, err := time.ParseDuration(fr.Expires)
			switch {
			case err != nil:
				v.addf(path("approvals", i, "expires"), "%s: expires %q is not a duration: write one such as 30m, 4h or 24h", label, fr.Expires)
			case d <= 0:
				v.addf(path("approvals", i, "expires"), "%s: expires is %s; write a positive duration such as 30m or 4h, or leave it out for the default, 1h", label, fr.Expires)
			default:
				r.Expires = d
			}
		}
		if fr.TargetsOver < 0 {
			v.addf(path("approvals", i, "targets_over"), "%s: targets_over is %d; write 0 or more (the rule applies to changes naming more cards than that)", label, fr.TargetsOver)
		}
		r.Approvers = slices.Clip(r.Approvers)
		p.approvals = append(p.approvals, r)
	}
}

// approverProblem explains why a is not a valid approver.
func approverProblem(a string) string {
	switch {
	case strings.HasPrefix(a, "@"):
		return fmt.Sprintf("approver %q is a handle: write the person's member ID (U…, from their profile) or the user group's ID (S…) instead", a)
	case slackChannelID.MatchString(a):
		return fmt.Sprintf("approver %q looks like a channel ID: approvers are user IDs (U…/W…) or user-group IDs (S…); the channel goes under channel:", a)
	case slackUserID.MatchString(strings.ToUpper(a)) || slackGroupID.MatchString(strings.ToUpper(a)):
		return fmt.Sprintf("approver %q: Slack IDs are upper-case, write %q", a, strings.ToUpper(a))
	default:
		return fmt.Sprintf("approver %q is not a Slack user ID (U…/W…) or user-group ID (S…)", a)
	}
}

// Approval returns the first rule that covers a change using permission on
// targets targets, or false when the change runs without approval.
func (p *Policy) Approval(permission string, targets int) (ApprovalRule, bool) {
	for _, r := range p.approvals {
		if r.applies(permission, targets) {
			r.Permissions = slices.Clone(r.Permissions)
			r.Approvers = slices.Clone(r.Approvers)
			return r, true
		}
	}
	return ApprovalRule{}, false
}

// Approval returns the policy's rule for a change (see [Policy.Approval]).
func (c *Checker) Approval(permission string, targets int) (ApprovalRule, bool) {
	return c.policy.Approval(permission, targets)
}

// MayApprove decides whether userID may approve (or deny) a change using
// permission under rule, asked in channelID. With no approvers named, the
// holders of the permission may (in channelID, as if they asked for it
// there); otherwise the people named and the members of the user groups
// named, resolved through Slack. It does not know who asked: the caller
// refuses the requester.
func (c *Checker) MayApprove(ctx context.Context, userID, channelID, permission string, rule ApprovalRule) Decision {
	if len(rule.Approvers) == 0 {
		return c.Check(ctx, userID, channelID, permission)
	}
	d := Decision{Permission: permission}
	if slices.Contains(rule.Approvers, userID) {
		d.Allowed = true
		d.Rule = fmt.Sprintf("approval rule %q names %s", rule.Name, userID)
		return d
	}
	var failed []string
	for _, a := range rule.Approvers {
		if !slackGroupID.MatchString(a) {
			continue
		}
		members, err := c.groupMembers(ctx, a)
		if err != nil {
			failed = append(failed, err.Error())
			continue
		}
		if members[userID] {
			d.Allowed = true
			d.Rule = fmt.Sprintf("approval rule %q names group %s", rule.Name, a)
			return d
		}
	}
	if len(failed) > 0 {
		d.Rule = fmt.Sprintf("could not resolve the approver groups of rule %q: %s", rule.Name, strings.Join(failed, "; "))
		d.Message = "I could not check your Slack user groups just now, so I can't tell whether you may approve this. Please try again in a minute."
		d.Unsure = true
		return d
	}
	d.Rule = fmt.Sprintf("approval rule %q does not name %s", rule.Name, userID)
	d.Message = fmt.Sprintf("Only %s can answer this request.", approverMentions(rule.Approvers))
	return d
}

// approverMentions renders approver IDs as Slack mentions.
func approverMentions(ids []string) string {
	out := make([]string, len(ids))
	for i, id := range ids {
		if slackGroupID.MatchString(id) {
			out[i] = "<!subteam^" + id + ">"
		} else {
			out[i] = "<@" + id + ">"
		}
	}
	if len(out) == 1 {
		return out[0]
	}
	return strings.Join(out[:len(out)-1], ", ") + " or " + out[len(out)-1]
}

// ApproverMentions renders a rule's approvers for Slack: the people and
// groups it names, or the holders of permission.
func (r ApprovalRule) ApproverMentions(permission string) string {
	if len(r.Approvers) == 0 {
		return fmt.Sprintf("people holding `%s`", permission)
	}
	return approverMentions(r.Approvers)
}
