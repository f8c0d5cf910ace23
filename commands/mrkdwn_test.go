package commands

import (
	"regexp"
	"strings"
	"testing"

	"github.com/slack-go/slack"

	"github.com/switchboard-bot/switchboard/enco"
	"github.com/switchboard-bot/switchboard/enco/sandbox"
	"github.com/switchboard-bot/switchboard/internal/redistest"
	"github.com/switchboard-bot/switchboard/render"
	"github.com/switchboard-bot/switchboard/state"
)

// slackEntity matches what Slack reads between < and > in mrkdwn: a
// mention, a channel, a special mention or date, a link, each with an
// optional label.
var slackEntity = regexp.MustCompile(`<(?:@[UW][A-Z0-9]+|#[CGD][A-Z0-9]+|![a-z][^<>]*|(?:https?|mailto):[^<>|]+)(?:\|[^<>]*)?>`)

// htmlEntity matches the three escapes Slack reads back as <, > and &.
var htmlEntity = regexp.MustCompile(`&(?:lt|gt|amp);`)

// rawControl returns, with a little context, each <, > or & in mrkdwn text
// that is neither part of a Slack entity nor one of its escapes: Slack
// treats those characters as control characters and mangles the text around
// them.
func rawControl(text string) []string {
	s := htmlEntity.ReplaceAllString(slackEntity.ReplaceAllString(text, "\x00"), "\x00")
	var out []string
	for i, r := range s {
		if r == '<' || r == '>' || r == '&' {
			out = append(out, strings.ReplaceAll(s[max(0, i-30):min(len(s), i+30)], "\x00", "…"))
		}
	}
	return out
}

// mrkdwnTexts returns the message's text and the mrkdwn text objects of its
// blocks.
func mrkdwnTexts(m render.Message) []string {
	out := []string{m.Text}
	add := func(t *slack.TextBlockObject) {
		if t != nil && t.Type == slack.MarkdownType {
			out = append(out, t.Text)
		}
	}
	for _, b := range m.Blocks {
		switch b := b.(type) {
		case *slack.SectionBlock:
			add(b.Text)
			for _, f := range b.Fields {
				add(f)
			}
		case *slack.ContextBlock:
			for _, e := range b.ContextElements.Elements {
				if t, ok := e.(*slack.TextBlockObject); ok {
					add(t)
				}
			}
		}
	}
	return out
}

func TestRawControlFindsWhatSlackWouldMangle(t *testing.T) {
	tests := []struct {
		text string
		raw  int
	}{
		{"`/sim status <numbers>`", 2},
		{"`/sim status &lt;numbers&gt;`", 0},
		{"fish & chips", 1},
		{"fish &amp; chips", 0},
		{"asked by <@U0ME> in <#C0CHAN> · <https://example.com|the docs> <!here>", 0},
		{"a <b> c", 2},
	}
	for _, tt := range tests {
		if got := rawControl(tt.text); len(got) != tt.raw {
			t.Errorf("rawControl(%q) = %q, want %d", tt.text, got, tt.raw)
		}
	}
}

// TestNoHelpOrAnswerSendsRawMrkdwnControls scans every help text, usage
// refusal, hint and example answer for a raw <, > or & (Slack mangles
// "`/sim status <numbers>`"): the help texts of the registry and of the
// subcommands, the Home tab's lines, then the answers to every help
// example, to each command's help, and to malformed commands.
func TestNoHelpOrAnswerSendsRawMrkdwnControls(t *testing.T) {
	static := []string{scheduleUsage, voiceOff}
	for _, c := range declared.commands {
		static = append(static, c.spec().helps...)
	}
	for _, use := range permissionUses {
		static = append(static, use)
	}
	for _, text := range static {
		if raw := rawControl(text); len(raw) > 0 {
			t.Errorf("help text sends raw %q:\n%s", raw, text)
		}
	}

	sb := sandbox.New(t)
	client := &enco.Client{BaseURL: sb.URL, APIKey: sb.APIKey,
		HTTPClient: enco.NewHTTPClient(enco.StaticTokenSource(sb.PermanentToken), sb.HTTPClient().Transport)}
	var perms []string
	inputs := []string{"/nope", "/sim", "/sim frob", "/sim status", "/sim status iccid:8932", "/sim activate 0471", "/sim audit frob",
		"/fmu frob", "/fmu status", "/fmu schedule", "/fmu schedule frob", "/fmu schedule weekdays 08:00 private", "/fmu link",
		"/number", "/number frob", "/number reserve", "/number available zone=99", "/number available zone=02 type=fixed",
		"/call", "/call frob", "/call 0468", "/call cdr since=x", "/call cdr frob", "/call 112"}
	for _, c := range declared.commands {
		sc := c.spec()
		perms = append(perms, sc.permissions...)
		inputs = append(inputs, "/"+sc.name+" help")
		for _, help := range sc.helps {
			for _, m := range helpCommand.FindAllStringSubmatch(help, -1) {
				if ex := strings.TrimSpace(m[1]); !strings.Contains(ex, "@") {
					inputs = append(inputs, ex)
				}
			}
		}
	}
	for _, in := range inputs {
		t.Run(in, func(t *testing.T) {
			f := newTelFixture(perms...)
			f.cfg.EnCo.SIM, f.cfg.EnCo.FMU, f.cfg.EnCo.Voice, f.cfg.EnCo.Numbers = client, client, client, client
			rdb, prefix := redistest.New(t)
			useStore(&f.cfg, state.New(rdb, prefix))
			name, text, _ := strings.Cut(in, " ")
			reply := f.command(t, name, text)
			f.slack.mu.Lock()
			msgs := append([]render.Message{reply.Message()}, append(f.slack.responses, f.slack.posts...)...)
			f.slack.mu.Unlock()
			for _, m := range msgs {
				for _, text := range mrkdwnTexts(m) {
					if raw := rawControl(text); len(raw) > 0 {
						t.Errorf("answer sends raw %q:\n%s", raw, text)
					}
				}
			}
		})
	}
}
