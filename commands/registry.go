package commands

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/switchboard-bot/switchboard"
)

// slashCommand is one of the bot's slash commands as a value: it declares
// what the router, the help, the metrics and the policy read about it, and
// holds what it needs to answer.
type slashCommand interface {
	spec() commandSpec
	// answer reads the command (after "help" has been answered) and returns
	// the acknowledgement and the work to do after it, as Router.Command.
	answer(ctx context.Context, c *command) (Reply, func(context.Context))
	// run carries out an operation it started once it is confirmed: the
	// operations whose kind names this command (switchboard.CommandOf).
	run(ctx context.Context, op switchboard.Operation, responseURL string)
}

// commandSpec is what a slash command declares about itself.
type commandSpec struct {
	name string // without the slash: "sim"
	// helps are its help texts: the one "/<name> help" answers, then those of
	// its subcommands that have their own. They are mrkdwn, where <, > and &
	// are control characters: a placeholder is written &lt;number&gt;, which
	// Slack shows as <number>.
	helps []string
	// permissions are every permission it checks.
	permissions []string
}

func (sm *simCommand) spec() commandSpec {
	return commandSpec{name: switchboard.CommandSIM, helps: []string{simUsage, auditUsage, approvalsUsage},
		permissions: []string{switchboard.PermSIMRead, switchboard.PermSIMActivate, switchboard.PermSIMDeactivate,
			switchboard.PermSIMReactivate, switchboard.PermSIMTerminate, switchboard.PermAuditRead}}
}

func (fm *fmuCommand) spec() commandSpec {
	return commandSpec{name: switchboard.CommandFMU, helps: []string{fmuUsage},
		permissions: []string{switchboard.PermFMUSelf, switchboard.PermFMURead, switchboard.PermFMUSet, switchboard.PermDirectoryAdmin}}
}

func (nc *numberCommand) spec() commandSpec {
	return commandSpec{name: switchboard.CommandNumber, helps: []string{numberUsage},
		permissions: []string{switchboard.PermNumberRead, switchboard.PermNumberReserve, switchboard.PermNumberRelease}}
}

func (cc *callCommand) spec() commandSpec {
	return commandSpec{name: switchboard.CommandCall, helps: []string{callUsage},
		permissions: []string{switchboard.PermCallSelf, switchboard.PermCallAny}}
}

// registry is the bot's slash commands, in the order its messages name
// them. Nothing else lists them: dispatch, help, the metrics' labels and
// the policy's channels all read it.
type registry struct {
	commands []slashCommand
	log      *slog.Logger
}

// newRegistry is the one list of the bot's slash commands.
func newRegistry(sim *simCommand, fmu *fmuCommand, number *numberCommand, call *callCommand) registry {
	return registry{commands: []slashCommand{sim, fmu, number, call}}
}

// declared is the registry of commands without dependencies, for what
// they declare (names, permissions, help).
var declared = newRegistry(&simCommand{}, &fmuCommand{}, &numberCommand{}, &callCommand{})

// Names are the names of the slash commands the router answers, without
// the slash, e.g. to bound a metric's labels and to check the policy's
// channels against.
func Names() []string {
	names := make([]string, len(declared.commands))
	for i, sc := range declared.commands {
		names[i] = sc.spec().name
	}
	return names
}

// named finds a command by its name without the slash.
func (rg registry) named(name string) (slashCommand, bool) {
	for _, sc := range rg.commands {
		if sc.spec().name == name {
			return sc, true
		}
	}
	return nil, false
}

// list names the commands for a sentence: "`/sim`, `/fmu`, `/number`
// and `/call`".
func (rg registry) list() string { return rg.sentence("`/%s`") }

// sentence names each command with format (its name for %s) in a
// sentence: "`/sim help`, `/fmu help`, `/number help` and `/call help`".
func (rg registry) sentence(format string) string {
	quoted := make([]string, len(rg.commands))
	for i, sc := range rg.commands {
		quoted[i] = fmt.Sprintf(format, sc.spec().name)
	}
	if len(quoted) == 1 {
		return quoted[0]
	}
	return strings.Join(quoted[:len(quoted)-1], ", ") + " and " + quoted[len(quoted)-1]
}

// execute starts a confirmed operation with the command whose operations
// are of its kind.
func (rg registry) execute(ctx context.Context, op switchboard.Operation, responseURL string) {
	sc, ok := rg.named(switchboard.CommandOf(op.Kind))
	if !ok {
		rg.log.Error("no executor for operation", "kind", op.Kind, "operation", op.ID)
		return
	}
	sc.run(ctx, op, responseURL)
}
