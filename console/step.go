package console

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/switchboard-bot/switchboard"
	"github.com/switchboard-bot/switchboard/commands"
	"github.com/switchboard-bot/switchboard/render"
)

// The console runs Workflow Builder steps as a workflow would:
//
//	/step sim_change user=@you action=deactivate sim_ids=0471 00 00 01, 0471 00 00 02
//	/step set_fmu_profile user=@you profile=ON_DUTY
//
// The step's inputs are name=value pairs; a value runs to the next name=.
// The confirmation arrives as a direct message, and the step's completion
// is printed as Slack would record it.

const stepUsage = "Usage: /step sim_change user=@you action=activate|deactivate|reactivate sim_ids=<ids> [channel_id=…] · /step set_fmu_profile user=@you profile=PRIVATE|PROFESSIONAL|ON_DUTY [started_by=@you]"

// stepInputs are the inputs /step takes, by step.
var stepInputs = map[string][]string{
	switchboard.StepSIMChange:     {"user", "action", "sim_ids", "channel_id"},
	switchboard.StepSetFMUProfile: {"user", "profile", "started_by"},
}

func (c *Console) step(ctx context.Context, bot Bot, text string) {
	fn, rest, _ := strings.Cut(strings.TrimSpace(text), " ")
	names, ok := stepInputs[fn]
	if !ok {
		c.printf("%s\n", stepUsage)
		return
	}
	in, err := stepArgs(rest, names)
	if err != nil {
		c.printf("%v\n%s\n", err, stepUsage)
		return
	}
	user := func(v string) string {
		if v == "me" {
			return UserID
		}
		if p, ok := PersonByName(v); ok {
			return p.ID
		}
		return strings.TrimPrefix(v, "@")
	}
	c.mu.Lock()
	c.stepSeq++
	exec := fmt.Sprintf("Fx%06d", c.stepSeq)
	c.mu.Unlock()
	s := commands.Step{
		ExecutionID: exec, Function: fn, User: user(in["user"]), Interactor: user(in["started_by"]),
		Profile: in["profile"], Action: in["action"], SIMIDs: in["sim_ids"], Channel: in["channel_id"],
	}
	c.printf("workflow step %s (%s) started\n", exec, fn)
	bot.Go(ctx, func(ctx context.Context) { bot.RunStep(ctx, s) })
}

// stepArgs reads name=value pairs, each value running to the next known
// name=.
func stepArgs(text string, names []string) (map[string]string, error) {
	in := map[string]string{}
	var name string
	var value []string
	flush := func() {
		if name != "" {
			in[name] = strings.Join(value, " ")
		}
	}
	for _, word := range strings.Fields(text) {
		k, v, hasEq := strings.Cut(word, "=")
		if hasEq && slices.Contains(names, k) {
			flush()
			name, value = k, []string{v}
			continue
		}
		if name == "" {
			return nil, fmt.Errorf("%q is not an input of this step; its inputs are %s", k, strings.Join(names, ", "))
		}
		value = append(value, word)
	}
	flush()
	if in["user"] == "" {
		return nil, fmt.Errorf("the step needs user=@you")
	}
	return in, nil
}

// CompleteStep implements slackpost.Steps.
func (c *Console) CompleteStep(ctx context.Context, executionID string, outputs map[string]any) error {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(outputs)) {
		parts = append(parts, fmt.Sprintf("%s=%v", k, outputs[k]))
	}
	// Shown as a message is, so that the prompt comes back after it.
	c.show("", render.Message{Text: fmt.Sprintf("workflow step %s completed: %s", executionID, strings.Join(parts, " "))}, "step:"+executionID)
	return nil
}

// FailStep implements slackpost.Steps.
func (c *Console) FailStep(ctx context.Context, executionID, message string) error {
	c.show("", render.Message{Text: fmt.Sprintf("workflow step %s failed: %s", executionID, message)}, "step:"+executionID)
	return nil
}

// Permalink implements slackpost.Steps: the console's messages are numbered.
func (c *Console) Permalink(ctx context.Context, channel, ts string) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return fmt.Sprintf("%s [%d]", channelName(channel), c.ts[ts]), nil
}

// OpenDM implements commands.DirectMessages: the console has one person,
// whose direct messages it shows like any channel's.
func (c *Console) OpenDM(ctx context.Context, user string) (string, error) {
	return "D" + strings.TrimPrefix(user, "U"), nil
}
