package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/slack-go/slack"

	"github.com/switchboard-bot/switchboard/commands"
	"github.com/switchboard-bot/switchboard/notify"
	"github.com/switchboard-bot/switchboard/state"
)

// The console's stand-in identities.
const (
	consoleUser    = "U0CONSOLE1"
	consoleChannel = "C0CONSOLE1"
)

// demoPolicy is the console's policy when POLICY_FILE is unset: the console
// user holds every permission and has demo numbers in the directory.
const demoPolicy = `roles:
  - name: console
    members: [` + consoleUser + `]
    permissions: ["*"]
directory:
  ` + consoleUser + `: {mobile: "32470000001", fixed: "3228160257"}
`

// console is a terminal stand-in for Slack: it reads slash commands, prints
// what Slack would show (ephemeral answers, channel messages, thread replies,
// edits) and takes button clicks as typed numbers.
type console struct {
	in  io.Reader
	out io.Writer

	mu       sync.Mutex
	seq      int               // last message number handed out
	ts       map[string]int    // message ts -> number shown
	buttons  []consoleButton   // buttons of the last prompt
	edits    map[string]string // ts -> last text shown, to print only real edits
	respSeq  int
	lastSeen time.Time
}

type consoleButton struct {
	label, actionID, value, responseURL string
}

func newConsole(in io.Reader, out io.Writer) *console {
	return &console{in: in, out: out, ts: map[string]int{}, edits: map[string]string{}}
}

// Run reads commands until the input ends, ctx ends, or the user types quit.
func (c *console) Run(ctx context.Context, m *Main) error {
	c.printf("Switchboard console — you are @you (%s) in #console. EnCo sandbox at %s, embedded store.\n", consoleUser, m.Config.EncoBaseURL)
	c.printf("Demo SIM cards: %s.\n", sandboxSIMs(m))
	c.printf("Try: /sim help · /sim status 0471 00 00 01 · /sim deactivate 0471 00 00 01.\n")
	c.printf("Home tab: /home · schedules: /fmu on-duty for 1m · /fmu schedule list.\n")
	c.printf("Also: /fmu · /fmu status 0470 00 00 02 0470 00 00 03 · /call 0468 37 39 01 · /call cdr · /number available zone=02 · /number reserve 02 206 07 42.\n")
	c.printf("Type a button's number to click it; quit or Ctrl-D ends.\n")
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(c.in)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			case <-ctx.Done():
				return
			}
		}
	}()
	c.prompt()
	for {
		select {
		case <-ctx.Done():
			return nil
		case line, ok := <-lines:
			if !ok {
				return nil
			}
			line = strings.TrimSpace(line)
			switch {
			case line == "":
			case line == "quit" || line == "exit":
				return nil
			case strings.HasPrefix(line, "/"):
				c.command(ctx, m, line)
			default:
				c.click(ctx, m, line)
			}
			c.prompt()
		}
	}
}

func (c *console) command(ctx context.Context, m *Main, line string) {
	name, text, _ := strings.Cut(line, " ")
	if name == "/home" { // what the app's Home tab in Slack shows
		m.Router.Go(ctx, func(ctx context.Context) { m.Router.AppHomeOpened(ctx, consoleUser) })
		return
	}
	c.mu.Lock()
	c.respSeq++
	respURL := fmt.Sprintf("console:response:%d", c.respSeq)
	c.mu.Unlock()
	reply, after := m.Router.Command(ctx, slack.SlashCommand{
		Command: name, Text: strings.TrimSpace(text), UserID: consoleUser, UserName: "you",
		ChannelID: consoleChannel, ChannelName: "console", ResponseURL: respURL, TeamID: "T0CONSOLE",
	})
	c.show("(only you) ", notify.Message{Text: reply.Text, Blocks: reply.Blocks}, respURL)
	m.Router.Go(ctx, after)
}

func (c *console) click(ctx context.Context, m *Main, line string) {
	n, err := strconv.Atoi(line)
	c.mu.Lock()
	buttons := c.buttons
	c.mu.Unlock()
	if err != nil || n < 1 || n > len(buttons) {
		if len(buttons) == 0 {
			c.printf("Type a slash command, e.g. /sim help (or quit).\n")
		} else {
			c.printf("Type a button number from 1 to %d, or a slash command.\n", len(buttons))
		}
		return
	}
	b := buttons[n-1]
	c.mu.Lock()
	c.buttons = nil
	c.mu.Unlock()
	cb := slack.InteractionCallback{
		Type:        slack.InteractionTypeBlockActions,
		User:        slack.User{ID: consoleUser, Name: "you"},
		Channel:     slack.Channel{GroupConversation: slack.GroupConversation{Conversation: slack.Conversation{ID: consoleChannel}}},
		ResponseURL: b.responseURL,
		ActionCallback: slack.ActionCallbacks{BlockActions: []*slack.BlockAction{{
			ActionID: b.actionID, Value: b.value,
		}}},
	}
	m.Router.Go(ctx, func(ctx context.Context) { m.Router.Action(ctx, cb) })
}

func (c *console) prompt() { c.printf("> ") }

func (c *console) printf(format string, args ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	fmt.Fprintf(c.out, format, args...)
	c.lastSeen = time.Now()
}

// show prints a message and remembers its buttons.
func (c *console) show(prefix string, m notify.Message, responseURL string) {
	body, buttons := renderBlocks(m)
	c.mu.Lock()
	defer c.mu.Unlock()
	var b strings.Builder
	b.WriteString("\n")
	for i, l := range strings.Split(body, "\n") {
		if i == 0 {
			b.WriteString(prefix + l + "\n")
		} else {
			b.WriteString(strings.Repeat(" ", 2) + l + "\n")
		}
	}
	if len(buttons) > 0 {
		c.buttons = nil
		var labels []string
		for _, btn := range buttons {
			btn.responseURL = responseURL
			c.buttons = append(c.buttons, btn)
			labels = append(labels, fmt.Sprintf("[%d] %s", len(c.buttons), btn.label))
		}
		b.WriteString("  " + strings.Join(labels, "   ") + "   (type the number)\n")
	}
	fmt.Fprint(c.out, b.String())
	c.lastSeen = time.Now()
}

// PostMessage implements notify.Slack.
func (c *console) PostMessage(ctx context.Context, channel string, m notify.Message) (string, error) {
	c.mu.Lock()
	c.seq++
	n := c.seq
	ts := fmt.Sprintf("%d.%06d", time.Now().Unix(), n)
	c.ts[ts] = n
	parent := c.ts[m.ThreadTS]
	c.mu.Unlock()
	prefix := fmt.Sprintf("%s [%d] ", channelName(channel), n)
	if m.ThreadTS != "" {
		prefix = fmt.Sprintf("%s [%d] ↳ in thread of [%d]: ", channelName(channel), n, parent)
	}
	c.show(prefix, m, "")
	return ts, nil
}

// UpdateMessage implements notify.Slack.
func (c *console) UpdateMessage(ctx context.Context, channel, ts string, m notify.Message) error {
	c.mu.Lock()
	n := c.ts[ts]
	same := c.edits[ts] == m.Text
	c.edits[ts] = m.Text
	c.mu.Unlock()
	if !same {
		c.show(fmt.Sprintf("%s [%d] (edited) ", channelName(channel), n), m, "")
	}
	return nil
}

// PostEphemeral implements notify.Slack.
func (c *console) PostEphemeral(ctx context.Context, channel, user string, m notify.Message) error {
	c.show("(only you) ", m, "")
	return nil
}

// Respond implements notify.Slack.
func (c *console) Respond(ctx context.Context, responseURL string, m notify.Message, replace bool) error {
	prefix := "(only you) "
	if replace {
		prefix = "(only you, replacing the prompt) "
	}
	c.show(prefix, m, responseURL)
	return nil
}

// PublishHome implements commands.HomePublisher: the Home tab as text.
func (c *console) PublishHome(ctx context.Context, user string, blocks []slack.Block) error {
	c.show("(Home tab) ", notify.Message{Blocks: blocks}, "")
	return nil
}

// UploadFile implements notify.Slack.
func (c *console) UploadFile(ctx context.Context, channel, threadTS, filename, title string, content []byte) error {
	c.show(fmt.Sprintf("%s file %s: ", channelName(channel), filename), notify.Message{Text: title + "\n" + string(content)}, "")
	return nil
}

// drain waits, at the end of input, for results still on their way: until the
// delivery queue is empty and nothing was printed for a moment, or ctx ends.
func (c *console) drain(ctx context.Context, store *state.Store) {
	quiet := 1500 * time.Millisecond
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		depth, err := store.QueueDepth(ctx)
		c.mu.Lock()
		idle := time.Since(c.lastSeen)
		c.mu.Unlock()
		if err == nil && depth == 0 && idle > quiet {
			return
		}
	}
}

func channelName(id string) string {
	switch id {
	case consoleChannel:
		return "#console"
	case consoleUser:
		return "(direct message)"
	}
	return "#" + id
}

var (
	emoji = strings.NewReplacer(
		":white_check_mark:", "✅", ":x:", "❌", ":warning:", "⚠️", ":no_entry:", "⛔",
		":no_entry_sign:", "🚫", ":hourglass:", "⌛", ":hourglass_flowing_sand:", "⏳",
		":mag:", "🔍", ":tada:", "🎉", ":telephone_receiver:", "📞",
	)
	bold    = regexp.MustCompile(`\*([^*\n]+)\*`)
	mention = regexp.MustCompile(`<([@#!])([^>|]+)(?:\|([^>]*))?>`)
)

// renderBlocks turns Block Kit into terminal text and buttons.
func renderBlocks(m notify.Message) (string, []consoleButton) {
	var parts []string
	var buttons []consoleButton
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
				label := btn.Text.Text
				if btn.ActionID == commands.ActionHomeFMUSet {
					label += " " + btn.Value // the Home tab's buttons say Set / Current
				}
				buttons = append(buttons, consoleButton{label: label, actionID: btn.ActionID, value: btn.Value})
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
					buttons = append(buttons, consoleButton{label: btn.Text.Text, actionID: btn.ActionID, value: btn.Value})
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
	text = emoji.Replace(bold.ReplaceAllString(text, "$1"))
	text = mention.ReplaceAllStringFunc(text, func(s string) string {
		sm := mention.FindStringSubmatch(s)
		switch {
		case sm[1] == "@" && sm[2] == consoleUser:
			return "@you"
		case sm[1] == "#" && sm[2] == consoleChannel:
			return "#console"
		case sm[3] != "":
			return sm[3]
		}
		return sm[1] + sm[2]
	})
	return text, buttons
}

// sandboxSIMs lists the sandbox's SIM cards by number and state.
func sandboxSIMs(m *Main) string {
	var parts []string
	for _, sim := range m.Sandbox.SIMs() {
		parts = append(parts, fmt.Sprintf("%s (%s)", notify.NumberLabel(sim.MSISDN, false), sim.State))
	}
	return strings.Join(parts, ", ")
}
