package commands

import (
	"strings"

	"github.com/slack-go/slack"

	"github.com/switchboard-bot/switchboard/render"
)

// Reply is what the bot answers in the acknowledgement of a slash command:
// always ephemeral (only the person who typed the command sees it).
type Reply struct {
	Text   string
	Blocks []slack.Block
	// outcome classifies the answer for metrics: "ok", "usage", "denied",
	// "confirm", "rate_limited", "unavailable" or "unknown".
	outcome string
}

// Outcome says how the command ended, for metrics.
func (r Reply) Outcome() string {
	if r.outcome == "" {
		return "ok"
	}
	return r.outcome
}

func (r Reply) with(outcome string) Reply {
	r.outcome = outcome
	return r
}

// Payload is the JSON body of the socket-mode acknowledgement.
func (r Reply) Payload() map[string]any {
	p := map[string]any{"response_type": "ephemeral", "text": r.Text}
	if len(r.Blocks) > 0 {
		p["blocks"] = r.Blocks
	}
	return p
}

// Message turns the reply into a render.Message, for response URLs.
func (r Reply) Message() render.Message { return render.Message{Text: r.Text, Blocks: r.Blocks} }

func mrkdwn(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.MarkdownType, s, false, false)
}

func plain(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.PlainTextType, s, true, false)
}

func section(s string) slack.Block { return slack.NewSectionBlock(mrkdwn(truncate(s, 2900)), nil, nil) }

func contextLine(s string) slack.Block {
	return slack.NewContextBlock("", mrkdwn(truncate(s, 1900)))
}

// textReply is a reply of one mrkdwn section with the same text as fallback.
func textReply(s string) Reply { return Reply{Text: s, Blocks: []slack.Block{section(s)}} }

func usageReply(err *UsageError) Reply {
	s := ":warning: " + err.Msg
	if err.Usage != "" {
		s += "\n\n" + err.Usage
	}
	return textReply(s).with("usage")
}

// Button action IDs, part of the contract with Slack (design.md).
const (
	ActionConfirm = "confirm"
	ActionCancel  = "cancel"
	ActionApprove = "approve"
)

func confirmBlocks(title string, lines []string, note string, confirmLabel string, danger bool, id string) []slack.Block {
	var b strings.Builder
	b.WriteString("*" + title + "*")
	for _, l := range lines {
		b.WriteString("\n• " + l)
	}
	confirm := slack.NewButtonBlockElement(ActionConfirm, id, plain(confirmLabel))
	if danger {
		confirm.Style = slack.StyleDanger
	} else {
		confirm.Style = slack.StylePrimary
	}
	cancel := slack.NewButtonBlockElement(ActionCancel, id, plain("Cancel"))
	blocks := []slack.Block{section(b.String())}
	if note != "" {
		blocks = append(blocks, contextLine(note))
	}
	return append(blocks, slack.NewActionBlock("confirm:"+id, confirm, cancel))
}

// truncate cuts s to at most n bytes on a rune boundary, marking the cut.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n - len("…")
	for cut > 0 && !isRuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }

// confirming reports whether the reply is a confirmation prompt (rather
// than a refusal that took its place: rate limit, state store down).
func (r Reply) confirming() bool { return r.outcome == "confirm" }
