// Package render turns operations, their results and their progress into
// what people read in Slack: the parent message that roots an operation's
// thread, the replies and closing summary in it, expiry notices, and the
// labels for numbers, SIMs and FMU profiles. It also decides which queued
// posts a new result or an expiry causes. The command path and the callback
// path both render through it, so a message reads the same whichever of
// them produced it.
package render

import (
	"fmt"
	"strings"
	"sync"

	"github.com/nyaruka/phonenumbers"
	"github.com/slack-go/slack"

	"github.com/switchboard-bot/switchboard"
	"github.com/switchboard-bot/switchboard/enco"
	"github.com/switchboard-bot/switchboard/phone"
)

// Message is what the bot shows in Slack: Block Kit blocks with a plain-text
// fallback (used by notifications, screen readers and the console).
type Message struct {
	Text     string
	Blocks   []slack.Block
	ThreadTS string
}

// DeviceLabel shows a SIM to people: a mobile number grouped for reading
// (masked when asked), or the ICCID/IMSI with its type. The identifier may
// come from EnCo, so it is escaped for mrkdwn.
func DeviceLabel(d enco.Device, mask bool) string {
	if d.IdentifierType == enco.MSISDN || d.IdentifierType == "" {
		return NumberLabel(d.Identifier, mask)
	}
	return Escape(fmt.Sprintf("%s %s", d.IdentifierType, d.Identifier))
}

// mrkdwnEscaper replaces the three characters Slack's mrkdwn gives a
// meaning to: a "<" opens a link or a mention such as <!channel>.
var mrkdwnEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// Escape makes text safe to put in a Slack message: it can no longer ping
// anyone (<!channel>, <@U…>) or form a link. Every string that comes from
// EnCo (error messages, release causes, identifiers) goes through it before
// any post.
func Escape(text string) string { return mrkdwnEscaper.Replace(text) }

// NumberLabel shows a phone number (E.164 digits) grouped for reading,
// masked when asked. A number libphonenumber does not know to be in use but
// whose length its country allows (EnCo's pool holds such numbers, e.g.
// +32 9 999 99 99) is grouped the same way; anything else is shown as
// given.
func NumberLabel(digits string, mask bool) string {
	key := numberKey{digits, mask}
	if label, ok := numberLabels.get(key); ok {
		return label
	}
	label := numberLabel(digits, mask)
	numberLabels.put(key, label)
	return label
}

// numberKey names one label: the same digits read differently masked.
type numberKey struct {
	digits string
	mask   bool
}

// numberLabels keeps the labels made lately. Parsing a number
// (libphonenumber's regular expressions) was the largest cost of recording a
// callback, paid again for every result of the same operation's targets and
// for every duplicate, before the store could say it changes nothing.
var numberLabels = labelCache{max: 4096}

// labelCache is a bounded memo of a pure function: when full it starts
// over, which bounds its memory whatever the numbers it is asked about.
type labelCache struct {
	mu  sync.Mutex
	m   map[numberKey]string
	max int
}

func (c *labelCache) get(k numberKey) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.m[k]
	return v, ok
}

func (c *labelCache) put(k numberKey, v string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= c.max {
		c.m = make(map[numberKey]string, 64)
	}
	c.m[k] = v
}

func numberLabel(digits string, mask bool) string {
	n, err := phone.Parse("+" + strings.TrimPrefix(digits, "+"))
	if err != nil {
		if p, perr := phonenumbers.Parse("+"+strings.TrimPrefix(digits, "+"), phone.DefaultRegion); perr == nil && phonenumbers.IsPossibleNumber(p) {
			label := phonenumbers.Format(p, phonenumbers.INTERNATIONAL)
			if mask {
				return phone.Mask(label)
			}
			return label
		}
		if mask {
			return Escape(phone.Mask(digits))
		}
		return Escape(digits)
	}
	if mask {
		return n.Masked()
	}
	return n.International()
}

// TargetLabel shows one of an operation's targets to people: a number
// (masked when asked) with the person it belongs to when the command named
// them, or a SIM's ICCID or IMSI.
func TargetLabel(op switchboard.Operation, target switchboard.Target, mask bool) string {
	if target.Type == "" {
		return NumberLabel(target.ID, mask)
	}
	label := DeviceLabel(enco.TargetDevice(target), mask)
	if user := op.Params.Who[target.ID]; user != "" {
		label = fmt.Sprintf("<@%s> (%s)", user, label)
	}
	return label
}

// ProfileLabel names an FMU profile in words: "Private", "Professional", "On duty".
func ProfileLabel(p enco.Profile) string {
	switch p {
	case enco.ProfilePrivate:
		return "Private"
	case enco.ProfileProfessional:
		return "Professional"
	case enco.ProfileOnDuty:
		return "On duty"
	}
	return Escape(string(p)) // a word EnCo sent that is no profile
}

// ParentMessage renders the message that roots an operation's thread: what
// was asked, by whom, and how far it got.
func ParentMessage(op switchboard.Operation, p switchboard.Progress, mask bool) Message {
	title := op.Params.Title
	if title == "" {
		title = op.Kind
	}
	icon, status := progressWords(op, p)
	head := fmt.Sprintf("%s *%s* — requested by <@%s>", icon, title, op.UserID)
	text := fmt.Sprintf("%s %s — requested by <@%s> · %s", icon, title, op.UserID, status)
	return Message{
		Text: text,
		Blocks: []slack.Block{
			slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, head, false, false), nil, nil),
			slack.NewContextBlock("", slack.NewTextBlockObject(slack.MarkdownType, status+" · results in the thread", false, false)),
		},
	}
}

func progressWords(op switchboard.Operation, p switchboard.Progress) (icon, status string) {
	finished := p.Done + p.Failed
	expected := max(p.Expected, op.Expected)
	switch {
	case op.Status == switchboard.StatusFailed && finished == 0:
		return ":x:", "not carried out"
	case op.Status == switchboard.StatusExpired:
		return ":hourglass:", fmt.Sprintf("%d of %d answered; %d never answered", finished, expected, expected-finished)
	case expected > 0 && finished >= expected && p.Failed == 0:
		return ":white_check_mark:", fmt.Sprintf("all %d done", expected)
	case expected > 0 && finished >= expected:
		return ":warning:", fmt.Sprintf("%d succeeded, %d failed", p.Done, p.Failed)
	case p.Failed > 0:
		return ":hourglass_flowing_sand:", fmt.Sprintf("%d of %d done (%d failed)", finished, expected, p.Failed)
	}
	return ":hourglass_flowing_sand:", fmt.Sprintf("%d of %d done", finished, expected)
}
