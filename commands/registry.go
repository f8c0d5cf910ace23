package commands

import (
	"context"
	"strings"

	"github.com/switchboard-bot/switchboard/permissions"
	"github.com/switchboard-bot/switchboard/state"
)

// slashCommand is one of the bot's slash commands as a value: everything
// about it that the router, the help, the metrics and the tests read is
// declared here, once.
type slashCommand struct {
	name string // without the slash: "sim"
	// helps are its help texts: the one "/<name> help" answers, then those of
	// its subcommands that have their own.
	helps []string
	// permissions are every permission it checks.
	permissions []string
	// answer reads the command (after "help" has been answered) and returns
	// the acknowledgement and the work to do after it, as Router.Command.
	answer func(r *Router, ctx context.Context, c *command) (Reply, func(context.Context))
	// kinds prefixes the kinds of the operations it starts, which run
	// carries out once confirmed.
	kinds string
	run   func(r *Router, ctx context.Context, op state.Operation, responseURL string)
}

// slashCommands are the commands the bot answers, in the order its messages
// name them.
var slashCommands = []slashCommand{
	{
		name:  "sim",
		helps: []string{simUsage, auditUsage},
		permissions: []string{permissions.SIMRead, permissions.SIMActivate, permissions.SIMDeactivate,
			permissions.SIMReactivate, permissions.SIMTerminate, permissions.AuditRead},
		answer: (*Router).sim,
		kinds:  "sim.",
		run:    (*Router).runM2M,
	},
	{
		name:        "fmu",
		helps:       []string{fmuUsage},
		permissions: []string{permissions.FMUSelf, permissions.FMURead, permissions.FMUSet, permissions.DirectoryAdmin},
		answer:      (*Router).fmu,
		kinds:       "fmu.",
		run:         (*Router).runFMU,
	},
	{
		name:        "number",
		helps:       []string{numberUsage},
		permissions: []string{permissions.NumberRead, permissions.NumberReserve, permissions.NumberRelease},
		answer:      (*Router).number,
		kinds:       "number.",
		run:         (*Router).runNumber,
	},
	{
		name:        "call",
		helps:       []string{callUsage},
		permissions: []string{permissions.CallSelf, permissions.CallAny},
		answer:      (*Router).call,
		kinds:       "call",
		run:         (*Router).runCall,
	},
}

// Names are the names of the slash commands the router answers, without
// the slash, e.g. to bound a metric's labels.
func Names() []string {
	names := make([]string, len(slashCommands))
	for i, sc := range slashCommands {
		names[i] = sc.name
	}
	return names
}

// slashCommandNamed finds a command by its name without the slash.
func slashCommandNamed(name string) (slashCommand, bool) {
	for _, sc := range slashCommands {
		if sc.name == name {
			return sc, true
		}
	}
	return slashCommand{}, false
}

// slashCommandRunning finds the command whose operations are of kind.
func slashCommandRunning(kind string) (slashCommand, bool) {
	for _, sc := range slashCommands {
		if strings.HasPrefix(kind, sc.kinds) {
			return sc, true
		}
	}
	return slashCommand{}, false
}

// commandList names the commands for a sentence: "`/sim`, `/fmu`, `/number`
// and `/call`".
func commandList() string {
	quoted := make([]string, len(slashCommands))
	for i, sc := range slashCommands {
		quoted[i] = "`/" + sc.name + "`"
	}
	if len(quoted) == 1 {
		return quoted[0]
	}
	return strings.Join(quoted[:len(quoted)-1], ", ") + " and " + quoted[len(quoted)-1]
}
