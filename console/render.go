package console

import (
	"regexp"
	"strings"

	"github.com/slack-go/slack"

	"github.com/switchboard-bot/switchboard/render"
)

// consoleEmoji maps every Slack shortcode the bot writes to the emoji Slack
// shows for it; TestConsoleEmojiCoversEveryShortcode keeps it complete.
var consoleEmoji = map[string]string{
	":hand:":                   "✋",
	":hourglass:":              "⌛",
	":hourglass_flowing_sand:": "⏳",
	":lock:":                   "🔒",
	":mag:":                    "🔍",
	":no_entry:":               "⛔",
	":no_entry_sign:":          "🚫",
	":page_facing_up:":         "📄",
	":tada:":                   "🎉",
	":telephone_receiver:":     "📞",
	":warning:":                "⚠️",
	":white_check_mark:":       "✅",
	":x:":                      "❌",
	":ballot_box_with_check:":  "☑️",
}

var emoji = func() *strings.Replacer {
	pairs := make([]string, 0, 2*len(consoleEmoji))
	for code, e := range consoleEmoji {
		pairs = append(pairs, code, e)
	}
	return strings.NewReplacer(pairs...)
}()

var (
	codeFence  = regexp.MustCompile("(?s)```\n?(.*?)\n?```")
	inlineCode = regexp.MustCompile("`([^`\n]+)`")
	bold       = regexp.MustCompile(`\*([^*\n]+)\*`)
	// italic is _text_ between word boundaries, as Slack reads it.
	italic = regexp.MustCompile(`(^|[\s(])_([^_\n]+)_($|[\s).,;:!?])`)
	// slackRef is Slack's <…> markup: mentions, channels, special mentions, links.
	slackRef = regexp.MustCompile(`<([@#!]?)([^<>|]+)(?:\|([^<>]*))?>`)
	// entities are the three characters mrkdwn escapes.
	entities = strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&")
)

// renderBlocks turns Block Kit into terminal text and buttons.
func renderBlocks(m render.Message) (string, []button) {
	var parts []string
	var buttons []button
	for _, b := range m.Blocks {
		switch b := b.(type) {
		case *slack.SectionBlock:
			if b.Text != nil {
				parts = append(parts, b.Text.Text)
			}
			for _, f := range b.Fields {
				parts = append(parts, f.Text)
			}
			if b.Accessory != nil && b.Accessory.ButtonElement != nil {
				btn := b.Accessory.ButtonElement
				buttons = append(buttons, button{label: btn.Text.Text, actionID: btn.ActionID, value: btn.Value})
			}
		case *slack.ContextBlock:
			for _, e := range b.ContextElements.Elements {
				if t, ok := e.(*slack.TextBlockObject); ok {
					parts = append(parts, t.Text)
				}
			}
		case *slack.ActionBlock:
			for _, e := range b.Elements.ElementSet {
				if btn, ok := e.(*slack.ButtonBlockElement); ok {
					buttons = append(buttons, button{label: btn.Text.Text, actionID: btn.ActionID, value: btn.Value})
				}
			}
		case *slack.HeaderBlock:
			parts = append(parts, strings.ToUpper(b.Text.Text))
		}
	}
	text := strings.Join(parts, "\n")
	if text == "" {
		text = m.Text
	}
	return renderMrkdwn(text), buttons
}

// renderMrkdwn shows Slack's mrkdwn as a terminal shows text: shortcodes as
// emoji, code blocks indented, inline code and bold as their text, mentions
// and links as what Slack would show.
func renderMrkdwn(text string) string {
	// Code is shown as written: it is taken out before the other rules run
	// and put back at the end.
	var code []string
	hold := func(s string) string {
		code = append(code, entities.Replace(s))
		return "\x00"
	}
	text = codeFence.ReplaceAllStringFunc(text, func(s string) string {
		body := codeFence.FindStringSubmatch(s)[1]
		return hold("\n    " + strings.ReplaceAll(body, "\n", "\n    ") + "\n")
	})
	text = strings.ReplaceAll(text, "\n\x00\n", "\x00")
	text = inlineCode.ReplaceAllStringFunc(text, func(s string) string {
		return hold(inlineCode.FindStringSubmatch(s)[1])
	})
	text = emoji.Replace(italic.ReplaceAllString(bold.ReplaceAllString(text, "$1"), "$1$2$3"))
	text = slackRef.ReplaceAllStringFunc(text, func(s string) string {
		sm := slackRef.FindStringSubmatch(s)
		kind, ref, label := sm[1], sm[2], sm[3]
		switch kind {
		case "@":
			if p, ok := PersonByName(ref); ok && p.Name != ref {
				return "@" + p.Name
			}
			if label != "" {
				return "@" + strings.TrimPrefix(label, "@")
			}
			return "@" + ref
		case "#":
			if ref == ChannelID {
				return "#console"
			}
			if label != "" && strings.Contains(ref, " ") {
				return label + " (#" + ref + ")" // a message's link: "#console [2]"
			}
			if strings.HasPrefix(ref, "D") {
				// A direct message with the bot, as Slack names it in a
				// message: not a channel with a # name.
				return "your direct messages with the bot"
			}
			if label != "" {
				return "#" + label
			}
			return "#" + ref
		case "!":
			if label != "" {
				return label
			}
			return "@" + strings.SplitN(ref, "^", 2)[0]
		}
		if label != "" && label != ref {
			return label + " (" + ref + ")"
		}
		return ref
	})
	text = entities.Replace(text)
	for _, c := range code {
		text = strings.Replace(text, "\x00", c, 1)
	}
	return strings.Trim(text, "\n")
}
