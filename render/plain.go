package render

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// StepPerson is how a step's error text names the person in its user_id
// input: Workflow Builder shows the text as it is, so a mention would read
// "<@U0123ABCD>".
const StepPerson = "the person named in the step"

// slackReference matches what Slack reads between < and > in mrkdwn: a
// user, a channel, a special mention or a link, with an optional label.
var slackReference = regexp.MustCompile(`<([@#!]?)([^<>|]*)(?:\|([^<>]*))?>`)

// shortcode matches an emoji shortcode with the space after it.
var shortcode = regexp.MustCompile(`:[a-z][a-z0-9_+-]*: ?`)

// plainEntities turns Slack's escapes back into the characters.
var plainEntities = strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&", "`", "", "*", "")

// StepErrorText turns a mrkdwn text into the plain text a step's
// functions.completeError shows in Workflow Builder: a user mention becomes
// StepPerson (or its label), a channel its name or "the channel", a link its
// label and address; emoji shortcodes, bold and code marks go, escapes
// become their characters, and the first letter is a capital.
func StepErrorText(s string) string {
	s = slackReference.ReplaceAllStringFunc(s, func(ref string) string {
		m := slackReference.FindStringSubmatch(ref)
		kind, target, label := m[1], m[2], m[3]
		switch {
		case kind == "@" && label != "":
			return label
		case kind == "@":
			return StepPerson
		case kind == "#" && label != "":
			return "#" + label
		case kind == "#":
			return "the channel"
		case kind == "!":
			return "@" + target
		case label != "":
			return label + " (" + target + ")"
		}
		return target
	})
	s = plainEntities.Replace(shortcode.ReplaceAllString(s, ""))
	s = strings.TrimSpace(s)
	if r, n := utf8.DecodeRuneInString(s); unicode.IsLower(r) {
		s = string(unicode.ToUpper(r)) + s[n:]
	}
	return s
}
