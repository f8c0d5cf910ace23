package permissions

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/switchboard-bot/switchboard"
)

// DefaultGroupTTL is how long a [Checker] trusts the members it fetched for a
// Slack user group.
const DefaultGroupTTL = 5 * time.Minute

// Groups resolves the members of Slack user groups (usergroups.users.list).
type Groups interface {
	UserGroupMembers(ctx context.Context, groupID string) ([]string, error)
}

// Decision is the answer to one permission check.
type Decision struct {
	// Allowed is true only when a role grants the permission and the channel
	// allow-list, if any, contains the channel.
	Allowed bool
	// Permission is the permission that was checked.
	Permission string
	// Rule says why, for the audit log.
	Rule string
	// Message tells the person, when denied, why and what to do about it.
	Message string
	// Unsure is set on a denial that may not stand: a user group that could
	// grant the permission could not be resolved just now. Asking again
	// later may allow it.
	Unsure bool
}

// Option configures a [Checker].
type Option func(*Checker)

// WithGroupTTL sets how long user-group members are cached; d <= 0 keeps
// [DefaultGroupTTL].
func WithGroupTTL(d time.Duration) Option {
	return func(c *Checker) {
		if d > 0 {
			c.ttl = d
		}
	}
}

// WithClock sets the clock used for the group cache.
func WithClock(now func() time.Time) Option {
	return func(c *Checker) {
		if now != nil {
			c.now = now
		}
	}
}

// Checker answers permission checks against one policy. It is safe for
// concurrent use.
type Checker struct {
	policy *Policy
	groups Groups
	ttl    time.Duration
	now    func() time.Time

	mu       sync.Mutex
	cache    map[string]cachedGroup  // group ID -> members, while fresh
	inflight map[string]*groupLookup // group ID -> the lookup under way
}

type cachedGroup struct {
	members map[string]bool
	expires time.Time
}

// groupLookup is one Slack call shared by every check that needs the same
// group while it runs.
type groupLookup struct {
	done    chan struct{} // closed when members and err are set
	members map[string]bool
	err     error
	waiters int // checks waiting besides the one that made the call
}

// NewChecker returns a Checker for policy p (nil means [DenyAll]) that
// resolves user groups with g. g may be nil when the policy names no user
// group; a group that cannot be resolved never grants anything.
func NewChecker(p *Policy, g Groups, opts ...Option) *Checker {
	if p == nil {
		p = DenyAll()
	}
	c := &Checker{
		policy:   p,
		groups:   g,
		ttl:      DefaultGroupTTL,
		now:      time.Now,
		cache:    map[string]cachedGroup{},
		inflight: map[string]*groupLookup{},
	}
	for _, opt := range opts {
		opt(c)
	}
	return c
}

// Policy returns the policy the checker applies.
func (c *Checker) Policy() *Policy { return c.policy }

// RequiresApproval reports whether an approval rule covers permission (see
// [Policy.RequiresApproval]).
func (c *Checker) RequiresApproval(permission string) bool {
	return c.policy.RequiresApproval(permission)
}

// Check decides whether userID may use permission in channelID, as part of
// the command the permission belongs to (sim.deactivate: /sim). See
// CheckCommand.
func (c *Checker) Check(ctx context.Context, userID, channelID, permission string) Decision {
	return c.CheckCommand(ctx, userID, channelID, switchboard.CommandOf(permission), permission)
}

// CheckCommand decides whether userID may use permission in channelID while
// running the slash command command ("sim" or "/sim"). The channel
// allow-list is the command's, whatever the permission: /sim audit needs
// audit.read and obeys the channels set for sim, /fmu link needs
// directory.admin and obeys those set for fmu. Grants by user ID or "*" are
// found without calling Slack; user groups are resolved only when no such
// grant exists.
func (c *Checker) CheckCommand(ctx context.Context, userID, channelID, command, permission string) Decision {
	return c.check(ctx, userID, channelID, command, permission, true)
}

// CheckOffChannel decides whether userID may use permission where there is
// no channel: the app's Home tab, a scheduled change made on their behalf.
// Channel allow-lists say where a slash command may be typed, so they do not
// apply there; everything else does.
func (c *Checker) CheckOffChannel(ctx context.Context, userID, permission string) Decision {
	return c.check(ctx, userID, "", switchboard.CommandOf(permission), permission, false)
}

func (c *Checker) check(ctx context.Context, userID, channelID, command, permission string, inChannel bool) Decision {
	p := c.policy
	d := Decision{Permission: permission}
	switch {
	case !IsKnownPermission(permission):
		d.Rule = fmt.Sprintf("unknown permission %q", permission)
		d.Message = "This operation is not covered by the bot's permissions. Please tell an admin."
		return d
	case !p.loaded:
		d.Rule = "no policy file: everything but help is denied"
		d.Message = "Permissions are not set up yet, so only help works. Ask an admin to give the bot a policy file."
		return d
	case userID == "":
		d.Rule = "no user ID"
		d.Message = "I could not tell who you are, so I can't let you do this."
		return d
	}

	cmd := strings.TrimPrefix(strings.ToLower(command), "/")
	if allowed, limited := p.channels[cmd]; inChannel && limited && !slices.Contains(allowed, channelID) {
		d.Rule = fmt.Sprintf("channel %s not in allow-list for /%s", orNone(channelID), cmd)
		d.Message = fmt.Sprintf("/%s works only in %s.", cmd, channelMentions(allowed))
		return d
	}

	for i := range p.roles {
		r := &p.roles[i]
		pattern, ok := r.grant(permission)
		if !ok {
			continue
		}
		switch {
		case r.users[userID]:
			return allow(d, r, pattern, "member as "+userID)
		case r.everyone:
			return allow(d, r, pattern, `member via "*"`)
		}
	}

	var failed, reasons []string // groups that could not be resolved, and why
	for i := range p.roles {
		r := &p.roles[i]
		pattern, ok := r.grant(permission)
		if !ok {
			continue
		}
		for _, g := range r.groups {
			if slices.Contains(failed, g) {
				continue
			}
			members, err := c.groupMembers(ctx, g)
			if err != nil {
				failed = append(failed, g)
				reasons = append(reasons, err.Error())
				continue
			}
			if members[userID] {
				return allow(d, r, pattern, "member via group "+g)
			}
		}
	}
	if len(failed) > 0 {
		d.Rule = fmt.Sprintf("could not resolve user groups granting %q: %s", permission, strings.Join(reasons, "; "))
		d.Message = "I could not check your Slack user groups just now, so I can't tell whether you may do this. Please try again in a minute."
		d.Unsure = true
		return d
	}

	d.Rule = fmt.Sprintf("no role grants %q to %s", permission, userID)
	if roles := p.rolesGranting(permission); len(roles) > 0 {
		d.Message = fmt.Sprintf("You don't have permission %s. Ask an admin to add you to a role that grants it (roles with it: %s).", permission, strings.Join(roles, ", "))
	} else {
		d.Message = fmt.Sprintf("You don't have permission %s, and no role grants it yet. Ask an admin to add it to a role for you.", permission)
	}
	return d
}

func allow(d Decision, r *role, pattern, how string) Decision {
	d.Allowed = true
	d.Rule = fmt.Sprintf("role %q grants %q (%s)", r.name, pattern, how)
	return d
}

func orNone(channelID string) string {
	if channelID == "" {
		return "(none)"
	}
	return channelID
}

// channelMentions renders channel IDs as Slack channel links.
func channelMentions(ids []string) string {
	links := make([]string, len(ids))
	for i, id := range ids {
		links[i] = "<#" + id + ">"
	}
	switch len(links) {
	case 1:
		return links[0]
	default:
		return strings.Join(links[:len(links)-1], ", ") + " or " + links[len(links)-1]
	}
}

// Holders returns the user IDs holding permission, for example to say who may
// approve an operation; "*" in the result means everyone holds it. Channel
// allow-lists are not considered. It fails when a user group granting the
// permission cannot be resolved.
func (c *Checker) Holders(ctx context.Context, permission string) ([]string, error) {
	p := c.policy
	if !p.loaded || !IsKnownPermission(permission) {
		return nil, nil
	}
	holders := map[string]bool{}
	for i := range p.roles {
		r := &p.roles[i]
		if _, ok := r.grant(permission); !ok {
			continue
		}
		if r.everyone {
			holders["*"] = true
		}
		for u := range r.users {
			holders[u] = true
		}
		for _, g := range r.groups {
			members, err := c.groupMembers(ctx, g)
			if err != nil {
				return nil, fmt.Errorf("permission holders of %s: %w", permission, err)
			}
			for u := range members {
				holders[u] = true
			}
		}
	}
	out := make([]string, 0, len(holders))
	for u := range holders {
		out = append(out, u)
	}
	slices.Sort(out)
	return out, nil
}

// groupMembers returns the members of a user group from the cache, from the
// lookup already under way for it, or from Slack.
func (c *Checker) groupMembers(ctx context.Context, groupID string) (map[string]bool, error) {
	c.mu.Lock()
	if cg, ok := c.cache[groupID]; ok && c.now().Before(cg.expires) {
		c.mu.Unlock()
		return cg.members, nil
	}
	if l, ok := c.inflight[groupID]; ok {
		l.waiters++
		c.mu.Unlock()
		select {
		case <-l.done:
			return l.members, l.err
		case <-ctx.Done():
			return nil, fmt.Errorf("user group %s: %w", groupID, ctx.Err())
		}
	}
	// err stays set if the lookup panics, so nothing is cached and the
	// waiters are released with an error.
	l := &groupLookup{done: make(chan struct{}), err: fmt.Errorf("user group %s: lookup failed", groupID)}
	c.inflight[groupID] = l
	c.mu.Unlock()

	defer func() {
		c.mu.Lock()
		delete(c.inflight, groupID)
		if l.err == nil {
			c.cache[groupID] = cachedGroup{members: l.members, expires: c.now().Add(c.ttl)}
		}
		c.mu.Unlock()
		close(l.done)
	}()
	l.members, l.err = c.fetchGroup(ctx, groupID)
	return l.members, l.err
}

func (c *Checker) fetchGroup(ctx context.Context, groupID string) (map[string]bool, error) {
	if c.groups == nil {
		return nil, fmt.Errorf("user group %s: no user-group resolver configured", groupID)
	}
	ids, err := c.groups.UserGroupMembers(ctx, groupID)
	if err != nil {
		return nil, fmt.Errorf("user group %s: %w", groupID, err)
	}
	members := make(map[string]bool, len(ids))
	for _, id := range ids {
		members[id] = true
	}
	return members, nil
}
