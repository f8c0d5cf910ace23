package main

import (
	"os"
	"slices"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/switchboard-bot/switchboard"
)

// TestManifestDeclaresTheWorkflowSteps reads manifest.yml the way Slack
// would take it and checks what custom steps need: the functions with the
// inputs the bot reads and the outputs it sends, the remote runtime, the
// function_executed event, an org-ready app, interactivity for the
// confirmation buttons, and the scope of conversations.open.
func TestManifestDeclaresTheWorkflowSteps(t *testing.T) {
	raw, err := os.ReadFile("../../manifest.yml")
	if err != nil {
		t.Fatal(err)
	}
	type params struct {
		Properties map[string]struct {
			Type string `yaml:"type"`
		} `yaml:"properties"`
		Required []string `yaml:"required"`
	}
	var m struct {
		OAuth struct {
			Scopes struct {
				Bot []string `yaml:"bot"`
			} `yaml:"scopes"`
		} `yaml:"oauth_config"`
		Settings struct {
			Events struct {
				Bot []string `yaml:"bot_events"`
			} `yaml:"event_subscriptions"`
			Interactivity struct {
				Enabled bool `yaml:"is_enabled"`
			} `yaml:"interactivity"`
			OrgDeploy bool   `yaml:"org_deploy_enabled"`
			Runtime   string `yaml:"function_runtime"`
		} `yaml:"settings"`
		Functions map[string]struct {
			Title   string `yaml:"title"`
			Inputs  params `yaml:"input_parameters"`
			Outputs params `yaml:"output_parameters"`
		} `yaml:"functions"`
	}
	if err := yaml.Unmarshal(raw, &m); err != nil {
		t.Fatalf("manifest.yml: %v", err)
	}
	s := m.Settings
	if s.Runtime != "remote" || !s.OrgDeploy || !s.Interactivity.Enabled || !slices.Contains(s.Events.Bot, "function_executed") {
		t.Errorf("settings: got function_runtime %q, org_deploy_enabled %t, interactivity %t, bot_events %v; want remote, true, true and function_executed",
			s.Runtime, s.OrgDeploy, s.Interactivity.Enabled, s.Events.Bot)
	}
	if !slices.Contains(m.OAuth.Scopes.Bot, "im:write") {
		t.Errorf("bot scopes %v: want im:write (conversations.open)", m.OAuth.Scopes.Bot)
	}
	type param struct{ name, typ string }
	tests := []struct {
		step             string
		inputs, outputs  []param
		required, outReq []string
	}{
		{
			switchboard.StepSetFMUProfile,
			[]param{{"user_id", "slack#/types/user_id"}, {"profile", "string"}, {"interactivity", "slack#/types/interactivity"}},
			[]param{{"profile", "string"}},
			[]string{"user_id", "profile"}, []string{"profile"},
		},
		{
			switchboard.StepSIMChange,
			[]param{{"user_id", "slack#/types/user_id"}, {"action", "string"}, {"sim_ids", "string"}, {"channel_id", "slack#/types/channel_id"}},
			[]param{{"succeeded", "integer"}, {"failed", "integer"}, {"thread_url", "string"}},
			[]string{"user_id", "action", "sim_ids"}, []string{"succeeded", "failed", "thread_url"},
		},
	}
	if len(m.Functions) != len(tests) {
		t.Errorf("functions: got %d, want %d", len(m.Functions), len(tests))
	}
	for _, tt := range tests {
		t.Run(tt.step, func(t *testing.T) {
			f, ok := m.Functions[tt.step]
			if !ok || f.Title == "" {
				t.Fatalf("no function %q with a title", tt.step)
			}
			for _, c := range []struct {
				what     string
				got      params
				want     []param
				required []string
			}{{"input", f.Inputs, tt.inputs, tt.required}, {"output", f.Outputs, tt.outputs, tt.outReq}} {
				if len(c.got.Properties) != len(c.want) {
					t.Errorf("%ss: got %d, want %d", c.what, len(c.got.Properties), len(c.want))
				}
				for _, p := range c.want {
					if got := c.got.Properties[p.name].Type; got != p.typ {
						t.Errorf("%s %s: got type %q, want %q", c.what, p.name, got, p.typ)
					}
				}
				if !slices.Equal(c.got.Required, c.required) {
					t.Errorf("required %ss: got %v, want %v", c.what, c.got.Required, c.required)
				}
			}
		})
	}
}
