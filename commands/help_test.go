package commands

import (
	"regexp"
	"strings"
	"testing"

	"github.com/switchboard-bot/switchboard/enco"
	"github.com/switchboard-bot/switchboard/enco/sandbox"
	"github.com/switchboard-bot/switchboard/internal/redistest"
	"github.com/switchboard-bot/switchboard/state"
)

func TestMain(m *testing.M) { redistest.Main(m) }

// helpCommand matches a command written out in a help text: backticked,
// starting with "/", with no placeholder (&lt;…&gt;, […], a|b, …).
var helpCommand = regexp.MustCompile("`(/[a-z]+(?: [^`<>&\\[\\]|…]*)?)`")

// TestEveryHelpExampleWorks runs every command the help texts of the
// registered commands write out, against the EnCo sandbox and Redis, as the
// person reading them would: none is refused, and none ends in an error.
func TestEveryHelpExampleWorks(t *testing.T) {
	sb := sandbox.New(t)
	hc := sb.HTTPClient()
	client := &enco.Client{BaseURL: sb.URL, APIKey: sb.APIKey,
		HTTPClient: enco.NewHTTPClient(enco.StaticTokenSource(sb.PermanentToken), hc.Transport)}
	var helps, perms []string
	for _, c := range declared.commands {
		sc := c.spec()
		helps = append(helps, sc.helps...)
		perms = append(perms, sc.permissions...)
	}
	seen := 0
	for _, help := range helps {
		for _, m := range helpCommand.FindAllStringSubmatch(help, -1) {
			example := strings.TrimSpace(m[1])
			if strings.Contains(example, "@") {
				continue // a mention needs Slack to turn it into a user ID
			}
			seen++
			t.Run(example, func(t *testing.T) {
				f := newTelFixture(perms...)
				f.cfg.EnCo.SIM, f.cfg.EnCo.FMU, f.cfg.EnCo.Voice, f.cfg.EnCo.Numbers = client, client, client, client
				f.cfg.Fleet.Views = openedViews{}
				rdb, prefix := redistest.New(t)
				useStore(&f.cfg, state.New(rdb, prefix))
				name, text, _ := strings.Cut(example, " ")
				reply := f.command(t, name, text)
				switch reply.Outcome() {
				case "usage", "unknown", "denied":
					t.Fatalf("refused (%s): %s", reply.Outcome(), reply.Text)
				}
				f.slack.mu.Lock()
				defer f.slack.mu.Unlock()
				for _, m := range append(f.slack.responses, f.slack.posts...) {
					if strings.Contains(m.Text, ":x:") || strings.Contains(m.Text, ":warning:") {
						t.Errorf("answered with an error: %s", m.Text)
					}
				}
			})
		}
	}
	if seen < 10 {
		t.Errorf("found %d examples in the help texts, want them all (the pattern is broken)", seen)
	}
}
