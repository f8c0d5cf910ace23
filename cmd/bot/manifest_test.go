package main

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/slack-go/slack"
	"go.yaml.in/yaml/v3"

	"github.com/switchboard-bot/switchboard"
	"github.com/switchboard-bot/switchboard/internal/slacktest"
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

// manifestBotScopes returns the bot scopes manifest.yml asks for.
func manifestBotScopes(t testing.TB) []string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "manifest.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		OAuth struct {
			Scopes struct {
				Bot []string `yaml:"bot"`
			} `yaml:"scopes"`
		} `yaml:"oauth_config"`
	}
	if err := yaml.Unmarshal(raw, &m); err != nil {
		t.Fatalf("manifest.yml: %v", err)
	}
	return m.OAuth.Scopes.Bot
}

// slackGoMethods are the Web API methods behind the slack-go calls the bot
// may make. A slack-go call the code makes that is missing here fails
// TestManifestScopesMatchTheCalls until it is added.
var slackGoMethods = map[string][]string{
	"PostMessageContext":           {"chat.postMessage"},
	"PostEphemeralContext":         {"chat.postEphemeral"},
	"UpdateMessageContext":         {"chat.update"},
	"GetPermalinkContext":          {"chat.getPermalink"},
	"OpenConversationContext":      {"conversations.open"},
	"PublishViewContext":           {"views.publish"},
	"FunctionCompleteErrorContext": {"functions.completeError"},
	"GetUserInfoContext":           {"users.info"},
	"GetUserGroupMembersContext":   {"usergroups.users.list"},
	"UploadFileContext":            {"files.getUploadURLExternal", "files.completeUploadExternal"},
	"OpenViewContext":              {"views.open"},
	"UpdateViewContext":            {"views.update"},
	"GetFileInfoContext":           {"files.info"},
	// Socket mode: apps.connections.open takes the app-level token
	// (connections:write), not a bot scope.
	"StartSocketModeContext": {"apps.connections.open"},
}

// nonWebAPIScopes are bot scopes needed by something other than a Web API
// method: commands lets the app own slash commands. (files:read also covers
// the download of a file's url_private_download, but files.info needs it
// first.)
var nonWebAPIScopes = []string{"commands"}

// TestManifestScopesMatchTheCalls holds manifest.yml's bot scopes to the Web
// API calls in the bot's code: every slack-go method of *slack.Client the
// code calls (and every method it calls by name, such as
// functions.completeSuccess) has a scope in the manifest, as Slack's
// reference lists them (slacktest.MethodScopes), and every scope in the
// manifest is needed by one of those calls. The end-to-end tests check the
// same from the other side: the fake Slack grants only the manifest's scopes
// and refuses any other call with missing_scope.
func TestManifestScopesMatchTheCalls(t *testing.T) {
	clientMethods := map[string]bool{}
	typ := reflect.TypeOf(&slack.Client{})
	for i := range typ.NumMethod() {
		clientMethods[typ.Method(i).Name] = true
	}
	called := map[string]string{} // Web API method -> where
	root := filepath.Join("..", "..")
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); path != root && (strings.HasPrefix(name, ".") || name == "testdata" || path == filepath.Join(root, "internal", "slacktest")) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.CallExpr:
				sel, ok := n.Fun.(*ast.SelectorExpr)
				if !ok || !clientMethods[sel.Sel.Name] || !strings.HasSuffix(sel.Sel.Name, "Context") {
					return true
				}
				methods, ok := slackGoMethods[sel.Sel.Name]
				if !ok {
					t.Errorf("%s calls slack-go's %s: add its Web API methods to slackGoMethods", path, sel.Sel.Name)
				}
				for _, m := range methods {
					called[m] = path
				}
			case *ast.BasicLit:
				if s, err := strconv.Unquote(n.Value); err == nil && n.Kind == token.STRING {
					if _, ok := slacktest.MethodScopes[s]; ok {
						called[s] = path
					}
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"chat.postMessage", "functions.completeSuccess", "users.info"} {
		if _, ok := called[want]; !ok {
			t.Fatalf("found no call of %s in the code: the scan is broken (found %v)", want, called)
		}
	}

	declared := manifestBotScopes(t)
	if dup := duplicates(declared); len(dup) > 0 {
		t.Errorf("manifest.yml lists %v more than once", dup)
	}
	needed := map[string]bool{}
	for m, where := range called {
		if m == "apps.connections.open" {
			continue // the app-level token's call
		}
		scopes, ok := slacktest.MethodScopes[m]
		if !ok {
			t.Errorf("%s (called in %s): the fake Slack does not implement it, so no test covers it", m, where)
			continue
		}
		if len(scopes) == 0 {
			continue
		}
		i := slices.IndexFunc(scopes, func(s string) bool { return slices.Contains(declared, s) })
		if i < 0 {
			t.Errorf("%s (called in %s) needs one of %v; manifest.yml has none", m, where, scopes)
			continue
		}
		needed[scopes[i]] = true
	}
	for _, s := range declared {
		if !needed[s] && !slices.Contains(nonWebAPIScopes, s) {
			t.Errorf("manifest.yml asks for %s, but no call the bot makes needs it", s)
		}
	}
}

func duplicates(ss []string) []string {
	seen := map[string]bool{}
	var dup []string
	for _, s := range ss {
		if seen[s] {
			dup = append(dup, s)
		}
		seen[s] = true
	}
	return dup
}
