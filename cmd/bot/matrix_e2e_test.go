package main

import (
	"fmt"
	"strings"
	"testing"
)

// The permission matrix: every command and subcommand, tried by users who
// hold its permission in each way a policy can grant it (directly, through a
// user group, through "*" membership, through a prefix, through the "*"
// permission) and by users who don't, in an allowed and a refused channel.

const (
	mDirect  = "U0MDIRECT1" // sim.read, sim.deactivate, by user ID
	mGroup   = "U0MGROUP01" // sim.activate, through group S0MGROUP01
	mPrefix  = "U0MPREFIX1" // sim.*, audit.read
	mRoot    = "U0MROOT001" // the "*" permission
	mNobody  = "U0MNOBODY1" // only what "*" members get
	mChannel = "C0MOPS0001"
)

const matrixPolicy = `roles:
  - name: direct
    members: [` + mDirect + `]
    permissions: [sim.read, sim.deactivate]
  - name: group
    members: [S0MGROUP01]
    permissions: [sim.activate]
  - name: prefix
    members: [` + mPrefix + `]
    permissions: ["sim.*", audit.read]
  - name: root
    members: [` + mRoot + `]
    permissions: ["*"]
  - name: everyone
    members: ["*"]
    permissions: [sim.reactivate]
channels:
  sim: [` + mChannel + `]
  audit: [` + mChannel + `]
require_approval: []
`

// grants says which permissions each matrix user holds.
var grants = map[string][]string{
	mDirect:   {"sim.read", "sim.deactivate", "sim.reactivate"},
	mGroup:    {"sim.activate", "sim.reactivate"},
	mPrefix:   {"sim.read", "sim.activate", "sim.deactivate", "sim.reactivate", "sim.terminate", "audit.read"},
	mRoot:     {"sim.read", "sim.activate", "sim.deactivate", "sim.reactivate", "sim.terminate", "audit.read"},
	mNobody:   {"sim.reactivate"},
	opsUser:   {"sim.reactivate"},
	guestUser: {"sim.reactivate"},
}

func holds(user, perm string) bool {
	for _, p := range grants[user] {
		if p == perm {
			return true
		}
	}
	return false
}

// matrixRow is one command and the permission it needs; allowed tells an
// allowed answer from a denial.
type matrixRow struct {
	text, perm string
	allowed    func(reply ackReply) bool
}

var simMatrix = []matrixRow{
	{"/sim status 0471000001", "sim.read", func(r ackReply) bool { return strings.Contains(r.Text, "Looking up") }},
	{"/sim activate 0471000004", "sim.activate", hasConfirm},
	{"/sim deactivate 0471000001", "sim.deactivate", hasConfirm},
	{"/sim reactivate 0471000003", "sim.reactivate", hasConfirm},
	{"/sim terminate 0471000009", "sim.terminate", hasConfirm},
	{"/sim audit", "audit.read", func(r ackReply) bool { return strings.Contains(r.Text, "Audit") }},
}

func hasConfirm(r ackReply) bool { return strings.Contains(string(r.Blocks), `"confirm"`) }

func TestPermissionMatrix(t *testing.T) {
	t.Parallel()
	h := newHarness(t, withPolicy(matrixPolicy))
	h.slack.SetUserGroup("S0MGROUP01", mGroup)
	users := []string{mDirect, mGroup, mPrefix, mRoot, mNobody}
	before := len(h.enco.APIRequests())
	allowedReads := 0
	for _, row := range simMatrix {
		for _, user := range users {
			for _, channel := range []string{mChannel, otherChan} {
				want := holds(user, row.perm) && channel == mChannel
				name := fmt.Sprintf("%s by %s in %s", row.text, user, channel)
				t.Run(name, func(t *testing.T) {
					_, reply := h.command(user, channel, row.text)
					got := row.allowed(reply)
					if got != want {
						t.Fatalf("allowed = %v, want %v; answer %q", got, want, reply.Text)
					}
					if want {
						if row.perm == "sim.read" {
							allowedReads++
						}
						return
					}
					if !strings.Contains(reply.Text, ":no_entry:") {
						t.Errorf("denial = %q, want a :no_entry: answer", reply.Text)
					}
					if channel != mChannel && !strings.Contains(reply.Text, mChannel) {
						t.Errorf("channel denial = %q, want it to name the allowed channel", reply.Text)
					} else if channel == mChannel && !strings.Contains(reply.Text, row.perm) {
						t.Errorf("denial = %q, want it to name %s", reply.Text, row.perm)
					}
				})
			}
		}
	}
	// Denied commands call no API; the allowed status reads call it once each.
	h.waitFor("the allowed status reads", func() bool { return len(h.enco.APIRequests())-before >= allowedReads })
	for _, r := range h.enco.APIRequests()[before:] {
		if r.Path != "/m2m/1.0.0/simcards" {
			t.Errorf("unexpected API call %s %s: only status reads may reach EnCo before a confirmation", r.Method, r.Path)
		}
	}
	if got := len(h.enco.APIRequests()) - before; got != allowedReads {
		t.Errorf("API calls = %d, want %d (one per allowed status read)", got, allowedReads)
	}
}

func TestChangesAreRateLimitedPerUser(t *testing.T) {
	t.Parallel()
	h := newHarness(t, withPolicy(testPolicy+"limits:\n  changes_per_minute: 3\n"))
	for i := range 3 {
		if _, reply := h.command(opsUser, opsChan, "/sim deactivate 0471000001"); !hasConfirm(reply) {
			t.Fatalf("change %d refused: %q", i+1, reply.Text)
		}
	}
	_, reply := h.command(opsUser, opsChan, "/sim deactivate 0471000001")
	if hasConfirm(reply) || !strings.Contains(reply.Text, "3 changes in the last minute") {
		t.Errorf("fourth change = %q, want the rate-limit answer", reply.Text)
	}
	// Reads are not limited, and other users have their own allowance.
	if _, reply := h.command(opsUser, opsChan, "/sim status 0471000001"); !strings.Contains(reply.Text, "Looking up") {
		t.Errorf("status after the limit = %q, want it allowed", reply.Text)
	}
	if _, reply := h.command(opsUser2, opsChan, "/sim deactivate 0471000001"); !hasConfirm(reply) {
		t.Errorf("another user's change = %q, want it allowed", reply.Text)
	}
}

func TestWithoutPolicyOnlyHelpWorks(t *testing.T) {
	t.Parallel()
	h := newHarness(t, withPolicy(""))
	if !strings.Contains(h.logs.String(), "POLICY_FILE is unset") {
		t.Errorf("start-up log does not say that POLICY_FILE is unset")
	}
	if _, reply := h.command(opsUser, opsChan, "/sim help"); !strings.Contains(reply.Text, "Usage") {
		t.Errorf("help = %q, want the usage", reply.Text)
	}
	for _, text := range []string{"/sim status 0471000001", "/sim deactivate 0471000001", "/sim audit"} {
		if _, reply := h.command(mRoot, opsChan, text); !strings.Contains(reply.Text, ":no_entry:") {
			t.Errorf("%s without a policy = %q, want a denial", text, reply.Text)
		}
	}
	if got := len(h.enco.APIRequests()); got != 1 { // the start-up callback configuration only
		t.Errorf("API calls = %d, want only the callback configuration", got)
	}
}

func TestEmbeddedStoreWhenRedisURLIsUnset(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(h *harness) { h.cfg.RedisURL = "" })
	if !strings.Contains(h.logs.String(), "REDIS_URL is unset: using the embedded in-memory store") {
		t.Errorf("start-up log does not warn about the embedded store")
	}
	_, reply := h.command(opsUser, opsChan, "/sim deactivate 0471000001")
	h.click(opsUser, opsChan, "confirm", reply.button(t, "confirm"))
	h.waitFor("the result with the embedded store", func() bool {
		p := h.parents(opsChan)
		return len(p) == 1 && strings.Contains(p[0].Text, "all 1 done")
	})
}

// The same matrix for /fmu, /number and /call, whose users need numbers in
// the directory. Denied combinations run first and must reach no API at all.

const (
	xSelf   = "U0XSELF001" // fmu.self, call.self, number.read, directly
	xFleet  = "U0XFLEET01" // fmu.*, through group S0XFLEET01
	xAdmin  = "U0XADMIN01" // number.*, call.*, directory.admin
	xRoot   = "U0XROOT001" // "*"
	xNobody = "U0XNOBODY1" // nothing
	xChan   = "C0XOPS0001"
)

const otherMatrixPolicy = `roles:
  - name: self
    members: [` + xSelf + `]
    permissions: [fmu.self, call.self, number.read]
  - name: fleet
    members: [S0XFLEET01]
    permissions: ["fmu.*"]
  - name: admin
    members: [` + xAdmin + `]
    permissions: ["number.*", "call.*", directory.admin]
  - name: root
    members: [` + xRoot + `]
    permissions: ["*"]
channels:
  fmu: [` + xChan + `]
  number: [` + xChan + `]
  call: [` + xChan + `]
  directory: [` + xChan + `]
directory:
  ` + xSelf + `: {mobile: "32470000001", fixed: "3228160257"}
  ` + xFleet + `: {mobile: "32470000002", fixed: "3228160257"}
  ` + xAdmin + `: {mobile: "32470000003", fixed: "3228160257"}
  ` + xRoot + `: {mobile: "32470000004", fixed: "3228160257"}
  ` + xNobody + `: {mobile: "32470000005", fixed: "3228160257"}
`

var otherGrants = map[string][]string{
	xSelf:   {"fmu.self", "call.self", "number.read"},
	xFleet:  {"fmu.self", "fmu.read", "fmu.set"},
	xAdmin:  {"number.read", "number.reserve", "number.release", "call.self", "call.any", "directory.admin"},
	xRoot:   {"fmu.self", "fmu.read", "fmu.set", "number.read", "number.reserve", "number.release", "call.self", "call.any", "directory.admin"},
	xNobody: nil,
}

func TestPermissionMatrixOtherCommands(t *testing.T) {
	t.Parallel()
	h := newHarness(t, withPolicy(otherMatrixPolicy))
	h.slack.SetUserGroup("S0XFLEET01", xFleet)
	rows := []struct{ text, perm string }{
		{"/fmu", "fmu.self"},
		{"/fmu professional", "fmu.self"},
		{"/fmu status 0470 00 00 02", "fmu.read"},
		{"/fmu status 0470000002 0470000003", "fmu.read"},
		{"/fmu on-duty 0470000002 0470000003", "fmu.set"},
		{"/fmu link <@" + xNobody + "> mobile=0470000009", "directory.admin"},
		{"/fmu unlink <@" + xNobody + ">", "directory.admin"},
		{"/number available zone=02", "number.read"},
		{"/number list", "number.read"},
		{"/number reserve 02 206 07 42", "number.reserve"},
		{"/number release 02 206 07 42", "number.release"},
		{"/call 0468 37 39 01", "call.self"},
		{"/call 0468 37 39 01 from=02 206 07 42", "call.any"},
		{"/call cdr", "call.self"},
	}
	holdsOther := func(user, perm string) bool {
		for _, p := range otherGrants[user] {
			if p == perm {
				return true
			}
		}
		return false
	}
	users := []string{xSelf, xFleet, xAdmin, xRoot, xNobody}
	before := len(h.enco.APIRequests())
	// Phase 1: every denied combination, and no API call from any of them.
	for _, row := range rows {
		for _, user := range users {
			for _, channel := range []string{xChan, otherChan} {
				if holdsOther(user, row.perm) && channel == xChan {
					continue
				}
				t.Run(fmt.Sprintf("denied %s by %s in %s", row.text, user, channel), func(t *testing.T) {
					_, reply := h.command(user, channel, row.text)
					if !strings.Contains(reply.Text, ":no_entry:") {
						t.Fatalf("answer = %q, want a denial", reply.Text)
					}
					if channel == xChan && !strings.Contains(reply.Text, row.perm) {
						t.Errorf("denial = %q, want it to name %s", reply.Text, row.perm)
					}
					if channel != xChan && !strings.Contains(reply.Text, xChan) {
						t.Errorf("channel denial = %q, want it to name the allowed channel", reply.Text)
					}
				})
			}
		}
	}
	if got := h.enco.APIRequests()[before:]; len(got) != 0 {
		t.Fatalf("denied commands made %d API calls, first %s %s", len(got), got[0].Method, got[0].Path)
	}
	// Phase 2: every allowed combination is allowed.
	for _, row := range rows {
		for _, user := range users {
			if !holdsOther(user, row.perm) {
				continue
			}
			t.Run(fmt.Sprintf("allowed %s by %s", row.text, user), func(t *testing.T) {
				_, reply := h.command(user, xChan, row.text)
				if strings.Contains(reply.Text, ":no_entry:") || strings.Contains(reply.Text, ":warning:") {
					t.Errorf("answer = %q, want it allowed", reply.Text)
				}
			})
		}
	}
}
