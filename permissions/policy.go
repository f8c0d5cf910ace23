package permissions

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/switchboard-bot/switchboard"
)

// Defaults of the policy's limits, used when the file leaves them out or sets 0.
const (
	DefaultChangesPerMinute = 10
	DefaultMaxTargets       = 100
	DefaultMaxBulkTargets   = 10000
)

// knownPermissions are the permissions a policy can grant.
var knownPermissions = []string{
	switchboard.PermFMUSelf, switchboard.PermFMURead, switchboard.PermFMUSet,
	switchboard.PermSIMRead, switchboard.PermSIMActivate, switchboard.PermSIMDeactivate, switchboard.PermSIMReactivate, switchboard.PermSIMTerminate,
	switchboard.PermNumberRead, switchboard.PermNumberReserve, switchboard.PermNumberRelease,
	switchboard.PermCallSelf, switchboard.PermCallAny,
	switchboard.PermDirectoryAdmin,
	switchboard.PermAuditRead,
}

// knownSteps are the Workflow Builder steps the bot offers; a policy opts in
// to each under workflows.allow.
var knownSteps = []string{switchboard.StepSetFMUProfile, switchboard.StepSIMChange}

// defaultRequireApproval applies when the policy has no require_approval key.
var defaultRequireApproval = []string{switchboard.PermSIMTerminate}

// KnownPermissions returns every permission a policy can grant, grouped by
// command in a stable order.
func KnownPermissions() []string {
	return slices.Clone(knownPermissions)
}

// IsKnownPermission reports whether name is one of [KnownPermissions].
func IsKnownPermission(name string) bool {
	return slices.Contains(knownPermissions, name)
}

// knownCommands lists the commands of the known permissions, in order.
func knownCommands() []string {
	var cmds []string
	for _, p := range knownPermissions {
		if c := switchboard.CommandOf(p); !slices.Contains(cmds, c) {
			cmds = append(cmds, c)
		}
	}
	return cmds
}

// matches reports whether the grant pattern (an exact permission, "cmd.*" or
// "*") covers permission.
func matches(pattern, permission string) bool {
	if pattern == "*" || pattern == permission {
		return true
	}
	prefix, ok := strings.CutSuffix(pattern, "*")
	return ok && strings.HasSuffix(prefix, ".") && strings.HasPrefix(permission, prefix)
}

// Policy is a loaded policy file. It is immutable after [Load], [Parse] or
// [DenyAll] return it, and safe for concurrent use.
type Policy struct {
	loaded             bool // false for DenyAll: no policy file at all
	roles              []role
	channels           map[string][]string
	directory          map[string]switchboard.Entry
	requireApproval    []string
	approvals          []ApprovalRule // the approvals: rules, then one for require_approval
	trustProfilePhone  bool
	maskNumbers        bool
	allowInternational bool
	allowPremium       bool
	changesPerMinute   int
	maxTargets         int
	maxBulkTargets     int
	workflowSteps      []string // steps allowed in workflows; none unless the file names them
}

// role is one validated role of the policy.
type role struct {
	name        string
	members     []string // as written in the file
	permissions []string // exact names or patterns
	everyone    bool     // members contains "*"
	users       map[string]bool
	groups      []string // user-group IDs, without duplicates
}

// grant returns the first of the role's permissions covering permission.
func (r *role) grant(permission string) (string, bool) {
	for _, pattern := range r.permissions {
		if matches(pattern, permission) {
			return pattern, true
		}
	}
	return "", false
}

// DenyAll returns the policy used when there is no policy file: every
// permission check is denied, so only help (which needs no permission) works.
func DenyAll() *Policy {
	return &Policy{
		channels:         map[string][]string{},
		directory:        map[string]switchboard.Entry{},
		requireApproval:  slices.Clone(defaultRequireApproval),
		approvals:        []ApprovalRule{legacyApproval(defaultRequireApproval)},
		changesPerMinute: DefaultChangesPerMinute,
		maxTargets:       DefaultMaxTargets,
		maxBulkTargets:   DefaultMaxBulkTargets,
	}
}

// Load reads and validates the policy file at path. commands are the bot's
// slash commands without the slash, the keys channels: may use.
func Load(path string, commands []string) (*Policy, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load policy: %w", err)
	}
	p, err := parse(data, commands)
	if err != nil {
		return nil, fmt.Errorf("load policy %s: %w", path, err)
	}
	return p, nil
}

// Parse decodes and validates a policy file's contents. Errors name the key
// or role at fault, its line, and what to write instead. commands are the
// bot's slash commands without the slash, the keys channels: may use.
func Parse(data []byte, commands []string) (*Policy, error) {
	p, err := parse(data, commands)
	if err != nil {
		return nil, fmt.Errorf("parse policy: %w", err)
	}
	return p, nil
}

// The file's shape, decoded strictly. The type names appear in YAML decoding
// errors, which yamlError rewrites for the operator.
type (
	policyFile struct {
		Roles             []policyRole           `yaml:"roles"`
		Channels          map[string][]string    `yaml:"channels"`
		Directory         map[string]policyEntry `yaml:"directory"`
		TrustProfilePhone bool                   `yaml:"trust_profile_phone"`
		MaskNumbers       bool                   `yaml:"mask_numbers"`
		RequireApproval   *[]string              `yaml:"require_approval"` // nil: default
		Approvals         []policyApproval       `yaml:"approvals"`
		Call              policyCall             `yaml:"call"`
		Limits            policyLimits           `yaml:"limits"`
		Workflows         policyWorkflows        `yaml:"workflows"`
	}
	policyRole struct {
		Name        string   `yaml:"name"`
		Members     []string `yaml:"members"`
		Permissions []string `yaml:"permissions"`
	}
	policyEntry struct {
		Mobile string `yaml:"mobile,omitempty"`
		Fixed  string `yaml:"fixed,omitempty"`
	}
	policyCall struct {
		AllowInternational bool `yaml:"allow_international"`
		AllowPremium       bool `yaml:"allow_premium"`
	}
	policyWorkflows struct {
		Allow []string `yaml:"allow"`
	}
	policyLimits struct {
		ChangesPerMinute int `yaml:"changes_per_minute"`
		MaxTargets       int `yaml:"max_targets"`
		MaxBulkTargets   int `yaml:"max_bulk_targets"`
	}
)

func parse(data []byte, commands []string) (*Policy, error) {
	var f policyFile
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("the file is empty: write at least one role under roles:")
		}
		return nil, yamlError(err, data)
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case err == nil:
		return nil, fmt.Errorf("line %d: a second YAML document; keep the whole policy in one document (remove the ---)", next.Line)
	case !errors.Is(err, io.EOF):
		return nil, yamlError(err, data)
	}
	// A second, lenient pass keeps the positions of the values for the
	// validation errors; it cannot fail where the strict pass succeeded.
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, yamlError(err, data)
	}
	v := &validator{root: &root, commands: commands}
	p := v.policy(&f)
	if err := v.err(); err != nil {
		return nil, err
	}
	return p, nil
}

var (
	slackUserID    = regexp.MustCompile(`^[UW][A-Z0-9]+$`)
	slackGroupID   = regexp.MustCompile(`^S[A-Z0-9]+$`)
	slackChannelID = regexp.MustCompile(`^[CGD][A-Z0-9]+$`)
	e164Digits     = regexp.MustCompile(`^[0-9]{8,15}$`)
)

// validator turns a decoded file into a Policy, collecting every problem
// with its line.
type validator struct {
	root     *yaml.Node
	commands []string // the slash commands channels: may name
	problems []problem
}

type problem struct {
	line int
	msg  string
}

// addf records a problem found at the value reached by path (mapping keys
// and sequence indexes from the top of the document).
func (v *validator) addf(path []any, format string, args ...any) {
	v.problems = append(v.problems, problem{line: locate(v.root, path...), msg: fmt.Sprintf(format, args...)})
}

// err reports every problem in one line, in the order of the file.
func (v *validator) err() error {
	if len(v.problems) == 0 {
		return nil
	}
	slices.SortStableFunc(v.problems, func(a, b problem) int { return a.line - b.line })
	msgs := make([]string, len(v.problems))
	for i, pr := range v.problems {
		msgs[i] = pr.msg
		if pr.line > 0 {
			msgs[i] = "line " + strconv.Itoa(pr.line) + ": " + pr.msg
		}
	}
	return errors.New(strings.Join(msgs, "; "))
}

func (v *validator) policy(f *policyFile) *Policy {
	p := &Policy{
		loaded:             true,
		channels:           map[string][]string{},
		directory:          map[string]switchboard.Entry{},
		requireApproval:    slices.Clone(defaultRequireApproval),
		trustProfilePhone:  f.TrustProfilePhone,
		maskNumbers:        f.MaskNumbers,
		allowInternational: f.Call.AllowInternational,
		allowPremium:       f.Call.AllowPremium,
		changesPerMinute:   f.Limits.ChangesPerMinute,
		maxTargets:         f.Limits.MaxTargets,
		maxBulkTargets:     f.Limits.MaxBulkTargets,
	}
	v.roles(p, f.Roles)
	v.channels(p, f.Channels)
	v.directory(p, f.Directory)
	v.workflows(p, f.Workflows)
	v.approvals(p, f.Approvals)
	if f.RequireApproval != nil {
		p.requireApproval = []string{}
		for i, perm := range *f.RequireApproval {
			if msg := checkPattern(perm); msg != "" {
				v.addf(path("require_approval", i), "require_approval: %s", msg)
				continue
			}
			p.requireApproval = append(p.requireApproval, perm)
		}
	}
	if len(p.requireApproval) > 0 {
		p.approvals = append(p.approvals, legacyApproval(p.requireApproval))
	}
	switch n := f.Limits.ChangesPerMinute; {
	case n < 0:
		v.addf(path("limits", "changes_per_minute"), "limits.changes_per_minute is %d; write a positive number, or 0 for the default %d", n, DefaultChangesPerMinute)
	case n == 0:
		p.changesPerMinute = DefaultChangesPerMinute
	}
	switch n := f.Limits.MaxTargets; {
	case n < 0:
		v.addf(path("limits", "max_targets"), "limits.max_targets is %d; write a positive number, or 0 for the default %d", n, DefaultMaxTargets)
	case n == 0:
		p.maxTargets = DefaultMaxTargets
	}
	switch n := f.Limits.MaxBulkTargets; {
	case n < 0:
		v.addf(path("limits", "max_bulk_targets"), "limits.max_bulk_targets is %d; write a positive number, or 0 for the default %d", n, DefaultMaxBulkTargets)
	case n == 0:
		p.maxBulkTargets = DefaultMaxBulkTargets
	}
	return p
}

// workflows reads the Workflow Builder steps the file allows.
func (v *validator) workflows(p *Policy, w policyWorkflows) {
	for i, step := range w.Allow {
		switch {
		case !slices.Contains(knownSteps, step):
			v.addf(path("workflows", "allow", i), "workflows.allow: unknown step %q; the steps are %s", step, strings.Join(knownSteps, ", "))
		case slices.Contains(p.workflowSteps, step):
			v.addf(path("workflows", "allow", i), "workflows.allow: %s is listed twice", step)
		default:
			p.workflowSteps = append(p.workflowSteps, step)
		}
	}
}

func (v *validator) roles(p *Policy, roles []policyRole) {
	if len(roles) == 0 {
		v.addf(path("roles"), "no roles: write at least one role under roles:, with a name, members and permissions")
		return
	}
	seen := map[string]int{} // name -> index
	for i, fr := range roles {
		r := role{name: fr.Name, members: fr.Members, permissions: fr.Permissions, users: map[string]bool{}}
		label := fmt.Sprintf("role %q", fr.Name)
		switch first, dup := seen[fr.Name]; {
		case strings.TrimSpace(fr.Name) == "":
			label = fmt.Sprintf("role #%d", i+1)
			v.addf(path("roles", i), "%s has no name: add name: <role-name>", label)
		case dup:
			v.addf(path("roles", i, "name"), "%s is defined twice (first at line %d): give each role its own name", label, locate(v.root, "roles", first, "name"))
		default:
			seen[fr.Name] = i
		}
		if len(fr.Members) == 0 {
			v.addf(path("roles", i), `%s has no members: list Slack user IDs (U…/W…), user-group IDs (S…) or "*" for everyone under members:`, label)
		}
		for j, m := range fr.Members {
			switch {
			case m == "*":
				r.everyone = true
			case slackUserID.MatchString(m):
				r.users[m] = true
			case slackGroupID.MatchString(m):
				if !slices.Contains(r.groups, m) {
					r.groups = append(r.groups, m)
				}
			default:
				v.addf(path("roles", i, "members", j), "%s: %s", label, memberProblem(m))
			}
		}
		if len(fr.Permissions) == 0 {
			v.addf(path("roles", i), "%s has no permissions: list them under permissions:, e.g. [%s]", label, switchboard.PermSIMRead)
		}
		for j, perm := range fr.Permissions {
			if msg := checkPattern(perm); msg != "" {
				v.addf(path("roles", i, "permissions", j), "%s: %s", label, msg)
			}
		}
		p.roles = append(p.roles, r)
	}
}

// commandHosts names the slash command under which the permissions of a
// prefix that is no command of its own are used.
var commandHosts = map[string]string{"audit": "sim", "directory": "fmu"}

func (v *validator) channels(p *Policy, channels map[string][]string) {
	for _, cmd := range slices.Sorted(maps.Keys(channels)) {
		ids := channels[cmd]
		if !slices.Contains(v.commands, cmd) {
			hint := "write one of " + strings.Join(v.commands, ", ")
			if trimmed := strings.TrimPrefix(cmd, "/"); trimmed != cmd && slices.Contains(v.commands, trimmed) {
				hint = fmt.Sprintf("write %s, without the slash", trimmed)
			}
			if host, ok := commandHosts[cmd]; ok {
				hint = fmt.Sprintf("channels are set per slash command, and %s.* is used under /%s: list the channels under %s", cmd, host, host)
			}
			v.addf(path("channels", cmd), "channels: unknown command %q: %s", cmd, hint)
			continue
		}
		if len(ids) == 0 {
			v.addf(path("channels", cmd), "channels.%s is empty: list channel IDs (C…/G…/D…), or remove the key to allow /%s everywhere", cmd, cmd)
			continue
		}
		var valid []string
		for j, id := range ids {
			if !slackChannelID.MatchString(id) {
				v.addf(path("channels", cmd, j), "channels.%s: %q is not a channel ID: write the ID (C…, G… or D…) shown at the bottom of the channel's details, not its name", cmd, id)
				continue
			}
			if !slices.Contains(valid, id) {
				valid = append(valid, id)
			}
		}
		p.channels[cmd] = valid
	}
}

func (v *validator) directory(p *Policy, dir map[string]policyEntry) {
	for _, user := range slices.Sorted(maps.Keys(dir)) {
		e := dir[user]
		if !slackUserID.MatchString(user) {
			v.addf(path("directory", user), "directory: %q is not a Slack user ID: write the member ID (U… or W…) from the person's profile", user)
			continue
		}
		if e.Mobile == "" && e.Fixed == "" {
			v.addf(path("directory", user), "directory.%s has no number: write mobile: and/or fixed:", user)
			continue
		}
		ok := true
		for _, field := range []struct{ key, number string }{{"mobile", e.Mobile}, {"fixed", e.Fixed}} {
			if field.number != "" && !e164Digits.MatchString(field.number) {
				v.addf(path("directory", user, field.key), "directory.%s.%s: %s", user, field.key, numberProblem(field.number))
				ok = false
			}
		}
		if ok {
			p.directory[user] = switchboard.Entry{Mobile: e.Mobile, Fixed: e.Fixed}
		}
	}
}

// checkPattern returns what is wrong with a permission or pattern, or "".
func checkPattern(perm string) string {
	if perm == "*" || IsKnownPermission(perm) {
		return ""
	}
	if prefix, ok := strings.CutSuffix(perm, ".*"); ok {
		if slices.Contains(knownCommands(), prefix) {
			return ""
		}
		return fmt.Sprintf("unknown permission prefix %q: write one of %s.* or *", perm, strings.Join(knownCommands(), ".*, "))
	}
	if prefix, ok := strings.CutSuffix(perm, "*"); ok {
		cmd := strings.TrimSuffix(prefix, ".")
		if slices.Contains(knownCommands(), cmd) {
			return fmt.Sprintf("%q is not a valid pattern, a * stands for whole segments: write %q", perm, cmd+".*")
		}
		return fmt.Sprintf("%q is not a valid pattern: write a command prefix such as %q, or *", perm, "sim.*")
	}
	if lower := strings.ToLower(strings.TrimSpace(perm)); IsKnownPermission(lower) {
		return fmt.Sprintf("unknown permission %q: write %q", perm, lower)
	}
	return fmt.Sprintf("unknown permission %q: write one of %s, a prefix such as sim.*, or *", perm, strings.Join(knownPermissions, ", "))
}

// memberProblem explains why m is not a valid role member.
func memberProblem(m string) string {
	switch {
	case strings.HasPrefix(m, "@"):
		return fmt.Sprintf("%q is a handle: write the person's member ID (U…, from their profile) or the user group's ID (S…) instead", m)
	case slackChannelID.MatchString(m):
		return fmt.Sprintf("%q looks like a channel ID: members are user IDs (U…/W…), user-group IDs (S…) or \"*\"", m)
	case slackUserID.MatchString(strings.ToUpper(m)) || slackGroupID.MatchString(strings.ToUpper(m)):
		return fmt.Sprintf("%q: Slack IDs are upper-case, write %q", m, strings.ToUpper(m))
	default:
		return fmt.Sprintf("%q is not a Slack user ID (U…/W…), user-group ID (S…) or \"*\"", m)
	}
}

// numberProblem explains how to write a directory number.
func numberProblem(n string) string {
	digits := strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, n)
	digits = strings.TrimPrefix(digits, "00")
	if e164Digits.MatchString(digits) {
		return fmt.Sprintf("%q is not in E.164 digits without + or spaces: write %q", n, digits)
	}
	return fmt.Sprintf("%q is not a number in E.164 digits without + (8 to 15 digits, e.g. \"32470000001\")", n)
}

// path builds a location for validator.addf.
func path(elems ...any) []any { return elems }

// locate returns the line of the node reached from the document root by
// path: a string selects a mapping key (the key's line), an int a sequence
// item. It stops at the deepest node it can reach and returns 0 only when
// even the document is missing.
func locate(root *yaml.Node, path ...any) int {
	n := root
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	line := n.Line
	for _, step := range path {
		for n.Kind == yaml.AliasNode && n.Alias != nil {
			n = n.Alias
		}
		var next *yaml.Node
		switch s := step.(type) {
		case string:
			if n.Kind != yaml.MappingNode {
				return line
			}
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == s {
					line = n.Content[i].Line
					next = n.Content[i+1]
					break
				}
			}
		case int:
			if n.Kind == yaml.SequenceNode && s >= 0 && s < len(n.Content) {
				next = n.Content[s]
				line = next.Line
			}
		}
		if next == nil {
			return line
		}
		n = next
	}
	return line
}

var (
	unknownField = regexp.MustCompile(`^line (\d+): field (.+) not found in type (\S+)$`)
	badValue     = regexp.MustCompile(`^line (\d+): (cannot unmarshal .*)$`)
)

// yamlTypes names the file's types for the operator, longest spelling first.
var yamlTypes = []struct {
	goName, name string
	t            reflect.Type
}{
	{"[]permissions.policyRole", "a list of roles", nil},
	{"map[string]permissions.policyEntry", "a map of user IDs to numbers", nil},
	{"map[string][]string", "a map of commands to channel IDs", nil},
	{"permissions.policyFile", "the policy", reflect.TypeFor[policyFile]()},
	{"permissions.policyRole", "a role", reflect.TypeFor[policyRole]()},
	{"permissions.policyEntry", "a directory entry", reflect.TypeFor[policyEntry]()},
	{"permissions.policyCall", "call:", reflect.TypeFor[policyCall]()},
	{"permissions.policyLimits", "limits:", reflect.TypeFor[policyLimits]()},
	{"[]permissions.policyApproval", "a list of approval rules", nil},
	{"permissions.policyApproval", "an approval rule", reflect.TypeFor[policyApproval]()},
	{"*[]string", "a list", nil},
	{"[]string", "a list", nil},
	{"into bool", "into true or false", nil},
	{"into int", "into a whole number", nil},
}

// yamlError rewrites a YAML decoding error of data in the policy's own words:
// an unknown key lists the keys allowed where it was found, a bad value names
// its key.
func yamlError(err error, data []byte) error {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		msg := strings.TrimPrefix(err.Error(), "yaml: ")
		if strings.Contains(msg, "alphabetic or numeric character") {
			msg += ` (write "*" in quotes: a bare * is YAML syntax)`
		}
		return errors.New(msg)
	}
	var root yaml.Node
	_ = yaml.Unmarshal(data, &root) // only to name keys; the syntax is valid
	msgs := make([]string, 0, len(te.Errors))
	for _, e := range te.Errors {
		msgs = append(msgs, explainTypeError(e, &root))
	}
	return errors.New(strings.Join(msgs, "; "))
}

func explainTypeError(e string, root *yaml.Node) string {
	if m := unknownField.FindStringSubmatch(e); m != nil {
		for _, yt := range yamlTypes {
			if yt.goName == m[3] && yt.t != nil {
				return fmt.Sprintf("line %s: unknown key %q in %s: the keys allowed there are %s", m[1], m[2], yt.name, strings.Join(yamlKeys(yt.t), ", "))
			}
		}
		return fmt.Sprintf("line %s: unknown key %q", m[1], m[2])
	}
	for _, yt := range yamlTypes {
		e = strings.ReplaceAll(e, yt.goName, yt.name)
	}
	if m := badValue.FindStringSubmatch(e); m != nil {
		if line, err := strconv.Atoi(m[1]); err == nil {
			if key := keyAt(root, line); key != "" {
				return fmt.Sprintf("line %s: %s: %s", m[1], key, m[2])
			}
		}
	}
	return e
}

// keyAt returns the dotted path of the first mapping key written on line
// (the outermost, for a flow mapping), or "" when there is none.
func keyAt(n *yaml.Node, line int) string {
	var found string
	var walk func(n *yaml.Node, prefix string)
	walk = func(n *yaml.Node, prefix string) {
		switch n.Kind {
		case yaml.DocumentNode:
			for _, c := range n.Content {
				walk(c, prefix)
			}
		case yaml.SequenceNode:
			for i, c := range n.Content {
				walk(c, fmt.Sprintf("%s[%d]", prefix, i))
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k := n.Content[i]
				name := k.Value
				if prefix != "" {
					name = prefix + "." + k.Value
				}
				if k.Line == line && found == "" {
					found = name
				}
				walk(n.Content[i+1], name)
			}
		}
	}
	walk(n, "")
	return found
}

// yamlKeys lists the keys of a struct decoded from YAML.
func yamlKeys(t reflect.Type) []string {
	keys := make([]string, 0, t.NumField())
	for f := range t.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		keys = append(keys, name)
	}
	return keys
}

// MaskNumbers reports whether phone numbers are masked in channel posts.
func (p *Policy) MaskNumbers() bool { return p.maskNumbers }

// TrustProfilePhone reports whether the phone number in a person's Slack
// profile may stand in for a directory entry.
func (p *Policy) TrustProfilePhone() bool { return p.trustProfilePhone }

// CallAllowInternational reports whether call-outs to international numbers
// are allowed.
func (p *Policy) CallAllowInternational() bool { return p.allowInternational }

// CallAllowPremium reports whether call-outs to premium-rate numbers are
// allowed.
func (p *Policy) CallAllowPremium() bool { return p.allowPremium }

// ChangesPerMinute is the per-user limit on state-changing commands.
func (p *Policy) ChangesPerMinute() int { return p.changesPerMinute }

// MaxTargets is the largest number of ids or numbers one command may name.
func (p *Policy) MaxTargets() int { return p.maxTargets }

// MaxBulkTargets is the largest number of SIM cards one change from a file
// may name.
func (p *Policy) MaxBulkTargets() int { return p.maxBulkTargets }

// ChannelsFor returns the channel IDs where the slash command ("sim" or
// "/sim") is allowed, with every permission used under it, or nil when it is
// allowed everywhere.
func (p *Policy) ChannelsFor(command string) []string {
	return slices.Clone(p.channels[strings.TrimPrefix(command, "/")])
}

// AllowsStep reports whether workflows may run the Workflow Builder step
// with that callback_id. Steps are off unless the file lists them under
// workflows.allow: a workflow's author chooses a step's inputs, so an admin
// opts in to each step.
func (p *Policy) AllowsStep(callbackID string) bool {
	return slices.Contains(p.workflowSteps, callbackID)
}

// RequiresApproval reports whether an approval rule covers permission, for
// some changes at least (a rule with targets_over covers only the larger
// ones; see [Policy.Approval]).
func (p *Policy) RequiresApproval(permission string) bool {
	return slices.ContainsFunc(p.approvals, func(r ApprovalRule) bool {
		return slices.ContainsFunc(r.Permissions, func(pattern string) bool { return matches(pattern, permission) })
	})
}

// rolesGranting returns the names of the roles that grant permission.
func (p *Policy) rolesGranting(permission string) []string {
	var names []string
	for i := range p.roles {
		if _, ok := p.roles[i].grant(permission); ok {
			names = append(names, p.roles[i].name)
		}
	}
	return names
}

// Describe summarises the policy in one line for the start-up log. It holds
// counts and names of roles and commands, never phone numbers.
func (p *Policy) Describe() string {
	if !p.loaded {
		return "no policy file: every command except help is denied"
	}
	users, groups := map[string]bool{}, map[string]bool{}
	var names, everyone []string
	for _, r := range p.roles {
		names = append(names, r.name)
		if r.everyone {
			everyone = append(everyone, r.name)
		}
		for u := range r.users {
			users[u] = true
		}
		for _, g := range r.groups {
			groups[g] = true
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "policy: %d roles [%s] naming %d user IDs and %d user groups", len(p.roles), strings.Join(names, " "), len(users), len(groups))
	if len(everyone) > 0 {
		fmt.Fprintf(&b, ", roles for everyone [%s]", strings.Join(everyone, " "))
	}
	if len(p.channels) > 0 {
		fmt.Fprintf(&b, ", channel-limited commands [%s]", strings.Join(slices.Sorted(maps.Keys(p.channels)), " "))
	}
	fmt.Fprintf(&b, ", directory entries %d, require_approval [%s], trust_profile_phone=%t, mask_numbers=%t",
		len(p.directory), strings.Join(p.requireApproval, " "), p.trustProfilePhone, p.maskNumbers)
	fmt.Fprintf(&b, ", call allow_international=%t allow_premium=%t, limits changes_per_minute=%d max_targets=%d",
		p.allowInternational, p.allowPremium, p.changesPerMinute, p.maxTargets)
	fmt.Fprintf(&b, ", workflow steps [%s]", strings.Join(p.workflowSteps, " "))
	var rules []string
	for _, r := range p.approvals {
		rules = append(rules, fmt.Sprintf("%s(%d)", r.Name, r.Required))
	}
	fmt.Fprintf(&b, ", approval rules [%s]", strings.Join(rules, " "))
	return b.String()
}
