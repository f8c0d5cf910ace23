package commands

import (
	"context"
	"strings"

	"github.com/switchboard-bot/switchboard"
)

// slashCommand is one of the bot's slash commands as a value: everything
// about it that the router, the help, the metrics and the tests read is
// declared here, once.
type slashCommand struct {
	name string // without the slash: "sim"
	// helps are its help texts: the one "/<name> help" answers, then those of
	// its subcommands that have their own. They are mrkdwn, where <, > and &
	// are control characters: a placeholder is written &lt;number&gt;, which
	// Slack shows as <number>.
	helps []string
	// permissions are every permission it checks.
	permissions []string
	// answer reads the command (after "help" has been answered) and returns
	// the acknowledgement and the work to do after it, as Router.Command.
	answer func(r *Router, ctx context.Context, c *command) (Reply, func(context.Context))
	// run carries out an operation it started once it is confirmed: the
	// operations whose kind names this command (switchboard.CommandOf).
	run func(r *Router, ctx context.Context, op switchboard.Operation, responseURL string)
}

// slashCommands are the commands the bot answers, in the order its messages
// name them.
var slashCommands = []slashCommand{
	{
		name:  switchboard.CommandSIM,
		helps: []string{simUsage, auditUsage},
		permissions: []string{switchboard.PermSIMRead, switchboard.PermSIMActivate, switchboard.PermSIMDeactivate,
			switchboard.PermSIMReactivate, switchboard.PermSIMTerminate, switchboard.PermAuditRead},
		answer: (*Router).sim,
		run:    (*Router).runM2M,
	},
	{
		name:        switchboard.CommandFMU,
		helps:       []string{fmuUsage},
		permissions: []string{switchboard.PermFMUSelf, switchboard.PermFMURead, switchboard.PermFMUSet, switchboard.PermDirectoryAdmin},
		answer:      (*Router).fmu,
		run:         (*Router).runFMU,
	},
	{
		name:        switchboard.CommandNumber,
		helps:       []string{numberUsage},
		permissions: []string{switchboard.PermNumberRead, switchboard.PermNumberReserve, switchboard.PermNumberRelease},
		answer:      (*Router).number,
		run:         (*Router).runNumber,
	},
	{
		name:        switchboard.CommandCall,
		helps:       []string{callUsage},
		permissions: []string{switchboard.PermCallSelf, switchboard.PermCallAny},
		answer:      (*Router).call,
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
	return slashCommandNamed(switchboard.CommandOf(kind))
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
