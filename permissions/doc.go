// Package permissions decides who may do what with Switchboard: the policy
// file (roles, permissions, channel allow-lists, the user directory and a few
// settings), the permission check that every command runs before it touches an
// EnCo API, and the directory lookup that turns a Slack user into phone numbers.
//
// # Policy file
//
// Operators write the policy in YAML and point the bot at it. The file is read
// strictly: an unknown key (a typo such as "permisions:") is an error naming
// the key and its line, never silently ignored, and every value is checked
// when the file is loaded, so a bad policy stops the bot at start-up instead of
// granting or denying the wrong thing later. The whole shape, with every
// optional key at its default:
//
//	roles:                                # at least one role
//	  - name: sim-operators               # unique
//	    members: [U0AAAAAAA, S0BBBBBBB]   # Slack user IDs (U…/W…), user-group IDs (S…), or "*" for everyone
//	    permissions: [sim.read, sim.activate, sim.deactivate, sim.reactivate]
//	  - name: sim-admins
//	    members: [U0CCCCCCC]
//	    permissions: ["sim.*"]            # a trailing ".*" grants a whole command; "*" grants everything
//	  - name: everyone
//	    members: ["*"]                    # quote the star: a bare * is YAML syntax
//	    permissions: [fmu.self, call.self, number.read]
//	channels:                             # optional: a command works only in these channel IDs (C…/G…/D…)
//	  sim: [C0OPS0000]
//	directory:                            # Slack user ID -> that person's numbers, E.164 digits without +
//	  U0AAAAAAA: {mobile: "32470000001", fixed: "3228160257"}
//	trust_profile_phone: false            # also use the phone number typed in a Slack profile
//	mask_numbers: false                   # mask phone numbers in channel posts
//	approvals:                            # changes that wait for approvers; the first rule covering a change applies
//	  - name: terminate
//	    permissions: [sim.terminate]
//	    required: 2                       # distinct approvers; the requester never counts
//	    approvers: [S0SIMLEADS]           # user or user-group IDs; default: holders of the permission
//	    channel: C0APPROVALS              # where requests go; default: the request's own channel
//	    expires: 4h                       # default 1h
//	    targets_over: 0                   # > 0: only changes naming more cards than this
//	require_approval: [sim.terminate]     # one more rule: one approver holding the permission, in the request's channel; [] for none
//	call:                                 # call barring beyond the always-refused emergency/special numbers
//	  allow_international: false
//	  allow_premium: false
//	limits:
//	  changes_per_minute: 10              # per-user rate limit on state-changing commands (0 = default 10)
//	  max_targets: 100                    # cap on ids/numbers per command (0 = default 100)
//	workflows:
//	  allow: []                           # Workflow Builder steps people may use: set_fmu_profile, sim_change
//
// The permissions are listed by [KnownPermissions]. A pattern must cover whole
// segments: "sim.*" is valid, "sim*" is not. The channel allow-list of a
// command applies to everyone, whatever their roles; the command of a
// permission is the part before the first dot ("sim" for "sim.deactivate").
//
// # Decisions
//
// Deny is the default. A [Checker] grants a permission when any role the user
// belongs to lists it exactly or through a pattern; membership is direct (the
// user's ID), through "*", or through a Slack user group. Direct and "*" grants
// are checked first and need no call to Slack; user groups are resolved only
// when needed, cached for a few minutes, and concurrent lookups of one group
// share a single Slack call. Every [Decision] carries the rule that decided it,
// for the audit log, and a short message for the person when it is a denial.
//
// # Directory
//
// A [Directory] finds a person's numbers: an entry set by a directory admin
// (stored in Redis) wins over the policy file, and the phone number in the
// person's Slack profile is used only when the policy sets
// trust_profile_phone, because anyone can edit their own profile.
package permissions
