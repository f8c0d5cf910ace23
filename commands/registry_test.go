package commands

import (
	"slices"
	"strings"
	"testing"

	"github.com/slack-go/slack"

	"github.com/switchboard-bot/switchboard"
	"github.com/switchboard-bot/switchboard/permissions"
)

// TestRegistryAgreesWithThePolicy: the policy takes channels for every
// command the router answers, each declares permissions the policy
// knows, and its first help is its own.
func TestRegistryAgreesWithThePolicy(t *testing.T) {
	policy := "roles: [{name: a, members: [U0AAAAAAA], permissions: [sim.read]}]\nchannels:\n"
	for _, name := range Names() {
		policy += "  " + name + ": [C0OPS0000]\n"
	}
	if _, err := permissions.Parse([]byte(policy), Names()); err != nil {
		t.Errorf("a policy with channels for every registered command: %v", err)
	}
	known := permissions.KnownPermissions()
	var all []string
	for _, c := range declared.commands {
		sc := c.spec()
		if len(sc.helps) == 0 || !strings.Contains(sc.helps[0], "`/"+sc.name) {
			t.Errorf("/%s: first help does not show /%s", sc.name, sc.name)
		}
		for _, p := range sc.permissions {
			if !slices.Contains(known, p) {
				t.Errorf("/%s: permission %q is unknown to the policy", sc.name, p)
			}
			if slices.Contains(all, p) {
				t.Errorf("/%s: permission %q is declared twice", sc.name, p)
			}
			all = append(all, p)
		}
	}
	for _, p := range known {
		if _, ok := permissionUses[p]; ok && !slices.Contains(all, p) {
			t.Errorf("permission %q has a use on the Home tab but no command declares it", p)
		}
	}
	for _, kind := range []string{
		switchboard.KindSIMActivate, switchboard.KindSIMDeactivate, switchboard.KindSIMReactivate, switchboard.KindSIMTerminate,
		switchboard.KindFMURead, switchboard.KindFMUSet, switchboard.KindFMUSelf,
		switchboard.KindCallSelf, switchboard.KindCallAny,
		switchboard.KindNumberReserve, switchboard.KindNumberRelease,
	} {
		if sc, ok := declared.named(switchboard.CommandOf(kind)); !ok || !slices.Contains(sc.spec().permissions, kind) {
			t.Errorf("operations of kind %q have no executor among the commands that check it", kind)
		}
	}
}

// TestHelpAndUnknownCommandsComeFromTheRegistry: "help" answers each
// command's first help text, and an unknown command names them all.
func TestHelpAndUnknownCommandsComeFromTheRegistry(t *testing.T) {
	r := New(Config{})
	for _, c := range declared.commands {
		sc := c.spec()
		for _, text := range []string{"help", "HELP"} {
			reply, after := r.Command(t.Context(), slack.SlashCommand{Command: "/" + sc.name, Text: text})
			if reply.Text != sc.helps[0] || after != nil {
				t.Errorf("/%s %s: got %q, want its help", sc.name, text, reply.Text)
			}
		}
	}
	reply, _ := r.Command(t.Context(), slack.SlashCommand{Command: "/weather"})
	const want = ":warning: I don't know the command `/weather`. I answer `/sim`, `/fmu`, `/number` and `/call`; add `help` to any of them for usage."
	if reply.Text != want || reply.Outcome() != "unknown" {
		t.Errorf("got %q (%s), want %q (unknown)", reply.Text, reply.Outcome(), want)
	}
}
