package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/slack-go/slack"

	"github.com/switchboard-bot/switchboard/enco/encotest"
	"github.com/switchboard-bot/switchboard/notify"
	"github.com/switchboard-bot/switchboard/state"
)

// The console's stand-in identities.
const (
	consoleUser    = "U0CONSOLE1"
	consoleChannel = "C0CONSOLE1"
)

// consolePerson is someone the console can act as (/as, -user) and resolve
// in commands typed as @name.
type consolePerson struct {
	name, id, about string
}

// consolePeople are the demo policy's people. @alice holds every permission
// too, so she can approve what @you asked for (the two-person rule); @bob
// holds only what everyone holds; @carol has no numbers yet.
var consolePeople = []consolePerson{
	{"you", consoleUser, "every permission, mobile 0470 00 00 01, fixed 02 816 02 57"},
	{"alice", "U0ALICE001", "every permission, mobile 0470 00 00 02: can approve what you ask for"},
	{"bob", "U0BOB00001", "only what everyone holds (fmu.self, call.self, number.read), mobile 0470 00 00 03"},
	{"carol", "U0CAROL001", "only what everyone holds, no numbers yet"},
}

// demoPolicy is the console's policy when POLICY_FILE is unset: the console
// user (and @alice, so that someone can approve) holds every permission and
// the directory has demo numbers.
const demoPolicy = `roles:
  - name: console
    members: [U0CONSOLE1, U0ALICE001]
    permissions: ["*"]
  - name: everyone
    members: ["*"]
    permissions: [fmu.self, call.self, number.read]
directory:
  U0CONSOLE1: {mobile: "32470000001", fixed: "3228160257"}
  U0ALICE001: {mobile: "32470000002"}
  U0BOB00001: {mobile: "32470000003"}
workflows:
  allow: [set_fmu_profile, sim_change]
limits:
  changes_per_minute: 60   # room to try every example in one sitting
`

// personByName finds a console person by @name, name or user ID; any other
// Slack user ID (U…/W…) is accepted as a person without a name.
func personByName(s string) (consolePerson, bool) {
	s = strings.TrimPrefix(strings.TrimSpace(s), "@")
	for _, p := range consolePeople {
		if strings.EqualFold(p.name, s) || p.id == strings.ToUpper(s) {
			return p, true
		}
	}
	if slackUserID.MatchString(s) {
		return consolePerson{name: s, id: s}, true
	}
	return consolePerson{}, false
}

var slackUserID = regexp.MustCompile(`^[UW][A-Z0-9]{8,}$`)

// console is a terminal stand-in for Slack: it reads slash commands, prints
// what Slack would show (ephemeral answers, channel messages, thread replies,
// edits) and takes button clicks as typed numbers.
//
// Each line is handled to the end (the command, the work after its
// acknowledgement, a click's outcome) before the next is read, so lines typed
// ahead or piped in act in order. Results that arrive later are printed as
// they come, and the prompt is drawn again after them.
//
// Buttons live as long as the message that shows them: a click does not
// remove them, replacing or editing their message does, as in Slack. So the
// requester whose own approval was refused can still click Cancel.
type console struct {
	in      io.Reader
	out     io.Writer
	logPath string // where the log goes; "" when it is not in a file

	mu       sync.Mutex
	user     consolePerson
	seq      int                      // last message number handed out
	ts       map[string]int           // message ts -> number shown
	edits    map[string]string        // ts -> last text shown, to print only real edits
	buttons  map[int]consoleButton    // live buttons by the number typed to click them
	owners   map[string]consolePerson // response key -> who typed or clicked
	keySeq   int                      // last response key handed out
	stepSeq  int                      // last workflow step execution numbered
	prompted bool                     // the prompt is on screen, waiting for a line
	handled  int                      // lines handled so far

	// filesDir is where UploadFile writes files ("" means
	// switchboard-console under os.TempDir()).
	filesDir string
}

type consoleButton struct {
	label, actionID, value string
	// message is the key of the message showing the button: replacing or
	// editing that message takes its buttons away.
	message string
}

func newConsole(in io.Reader, out io.Writer, user consolePerson, logPath string) *console {
	return &console{
		in: in, out: out, user: user, logPath: logPath,
		ts: map[string]int{}, edits: map[string]string{},
		buttons: map[int]consoleButton{}, owners: map[string]consolePerson{},
	}
}

// Run reads commands until the input ends, ctx ends, or the user types quit.
func (c *console) Run(ctx context.Context, m *Main) error {
	c.printf("Switchboard console — you are @%s (%s) in #console. EnCo sandbox at %s, embedded store.\n", c.user.name, c.user.id, m.Config.EncoBaseURL)
	if c.logPath != "" {
		c.printf("The bot's log goes to %s (run with -v to see it here).\n", c.logPath)
	}
	c.printf("Demo SIM cards: %s.\n", sandboxSIMs(m))
	c.printf("Demo people: %s.\n", peopleList())
	for _, l := range consoleTryLines {
		c.printf("%s\n", l)
	}
	c.printf("Home tab: /home · schedules: /fmu on-duty for 1m · /fmu schedule list.\n")
	c.printf("Type a button's number to click it; /as @alice acts as someone else; quit or Ctrl-D ends.\n")
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
			c.endLine()
			return nil
		case line, ok := <-lines:
			if !ok {
				c.endLine() // Ctrl-D: leave the shell's prompt on a line of its own
				return nil
			}
			c.mu.Lock()
			c.prompted = false
			c.mu.Unlock()
			line = strings.TrimSpace(line)
			switch {
			case line == "":
			case line == "quit" || line == "exit":
				return nil
			case line == "/as" || strings.HasPrefix(line, "/as "):
				c.actAs(strings.TrimSpace(strings.TrimPrefix(line, "/as")))
			case strings.HasPrefix(line, "/"):
				c.command(ctx, m, line)
			default:
				c.click(ctx, m, line)
			}
			c.mu.Lock()
			c.handled++
			c.mu.Unlock()
			c.prompt()
		}
	}
}

// consoleTryLines are the examples the console suggests at start; every one
// runs as shown (console_examples_test.go types them).
var consoleTryLines = []string{
	"Try: /sim help · /sim status 0471 00 00 01 · /sim deactivate 0471 00 00 01.",
	"Also: /fmu · /fmu status 0470 00 00 02 0470 00 00 03 · /call 0468 37 39 01 · /call cdr · /number available zone=02 · /number reserve 02 206 07 42.",
}

func peopleList() string {
	var parts []string
	for _, p := range consolePeople {
		parts = append(parts, fmt.Sprintf("@%s (%s)", p.name, p.about))
	}
	return strings.Join(parts, "; ")
}

// actAs switches the person typing: /as @alice, /as you; /as alone says who.
func (c *console) actAs(who string) {
	if who == "" {
		c.mu.Lock()
		me := c.user
		c.mu.Unlock()
		c.printf("You are @%s (%s). People: %s.\n", me.name, me.id, peopleList())
		return
	}
	p, ok := personByName(who)
	if !ok {
		c.printf("I don't know %s. Type /as with one of @you, @alice, @bob, @carol, or a Slack user ID like U0123ABCD.\n", who)
		return
	}
	c.mu.Lock()
	c.user = p
	c.mu.Unlock()
	c.printf("You are now @%s (%s). /as you switches back.\n", p.name, p.id)
}

// mentionName matches an @name typed in a command; known people become the
// mention Slack would send (<@U…|name>).
var mentionName = regexp.MustCompile(`(^|[\s,;])@([A-Za-z][A-Za-z0-9._-]*)`)

func (c *console) resolveMentions(text string) string {
	return mentionName.ReplaceAllStringFunc(text, func(s string) string {
		sm := mentionName.FindStringSubmatch(s)
		for _, p := range consolePeople {
			if strings.EqualFold(p.name, sm[2]) {
				return sm[1] + "<@" + p.id + "|" + p.name + ">"
			}
		}
		return s
	})
}

// newKey hands out a response key for a message and remembers who it answers.
func (c *console) newKey(owner consolePerson) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.keySeq++
	key := fmt.Sprintf("r%d", c.keySeq)
	c.owners[key] = owner
	return key
}

// responseURL is the response URL of the message with key; Respond finds
// the message again from it.
func responseURL(key string) string { return "console:response:" + key }

func (c *console) command(ctx context.Context, m *Main, line string) {
	name, text, _ := strings.Cut(line, " ")
	c.mu.Lock()
	me := c.user
	c.dropButtons(homeKey)
	c.mu.Unlock()
	switch name {
	case "/step":
		c.step(ctx, m, text)
		return
	case "/home": // what the app's Home tab in Slack shows
		m.Router.Go(ctx, func(ctx context.Context) { m.Router.AppHomeOpened(ctx, me.id) })
		return
	}
	key := c.newKey(me)
	reply, after := m.Router.Command(ctx, slack.SlashCommand{
		Command: name, Text: c.resolveMentions(strings.TrimSpace(text)), UserID: me.id, UserName: me.name,
		ChannelID: consoleChannel, ChannelName: "console", ResponseURL: responseURL(key), TeamID: "T0CONSOLE",
	})
	c.show(c.onlyPrefix(me, ""), notify.Message{Text: reply.Text, Blocks: reply.Blocks}, key)
	c.await(ctx, m, after)
}

// await runs work as the router runs work after an acknowledgement, and
// waits for it, so that the next line acts on its outcome.
func (c *console) await(ctx context.Context, m *Main, work func(context.Context)) {
	if work == nil {
		return
	}
	done := make(chan struct{})
	m.Router.Go(ctx, func(ctx context.Context) {
		defer close(done)
		work(ctx)
	})
	select {
	case <-done:
	case <-ctx.Done():
	}
}

func (c *console) click(ctx context.Context, m *Main, line string) {
	n, err := strconv.Atoi(strings.Trim(line, "[]"))
	c.mu.Lock()
	b, ok := c.buttons[n]
	live := c.liveNumbers()
	me := c.user
	c.mu.Unlock()
	if err != nil || !ok {
		switch {
		case len(live) == 0:
			c.printf("No button is shown now; type a slash command, e.g. /sim help (or quit).\n")
		case err != nil:
			c.printf("Type a button's number (%s) or a slash command.\n", joinInts(live))
		default:
			c.printf("There is no button %d; the buttons shown are %s.\n", n, joinInts(live))
		}
		return
	}
	c.mu.Lock()
	c.owners[b.message] = me // answers through the response URL go to whoever clicked
	c.mu.Unlock()
	cb := slack.InteractionCallback{
		Type:        slack.InteractionTypeBlockActions,
		User:        slack.User{ID: me.id, Name: me.name},
		Channel:     slack.Channel{GroupConversation: slack.GroupConversation{Conversation: slack.Conversation{ID: consoleChannel}}},
		ResponseURL: responseURL(b.message),
		ActionCallback: slack.ActionCallbacks{BlockActions: []*slack.BlockAction{{
			ActionID: b.actionID, Value: b.value,
		}}},
	}
	c.await(ctx, m, func(ctx context.Context) { m.Router.Action(ctx, cb) })
}

// liveNumbers lists the numbers of the live buttons, in order. c.mu is held.
func (c *console) liveNumbers() []int {
	ns := make([]int, 0, len(c.buttons))
	for n := range c.buttons {
		ns = append(ns, n)
	}
	sort.Ints(ns)
	return ns
}

func joinInts(ns []int) string {
	s := make([]string, len(ns))
	for i, n := range ns {
		s[i] = strconv.Itoa(n)
	}
	if len(s) == 1 {
		return s[0]
	}
	return strings.Join(s[:len(s)-1], ", ") + " or " + s[len(s)-1]
}

// prompt draws the prompt; it names the person typing unless that is @you.
func (c *console) prompt() {
	c.mu.Lock()
	defer c.mu.Unlock()
	fmt.Fprint(c.out, c.promptText())
	c.prompted = true
}

func (c *console) promptText() string {
	if c.user.id == consoleUser {
		return "> "
	}
	return "@" + c.user.name + "> "
}

// endLine ends the prompt's line, if it is on screen.
func (c *console) endLine() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.prompted {
		fmt.Fprintln(c.out)
		c.prompted = false
	}
}

func (c *console) printf(format string, args ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	fmt.Fprintf(c.out, format, args...)
}

// onlyPrefix is the prefix of a message shown to one person.
func (c *console) onlyPrefix(to consolePerson, how string) string {
	who := "you"
	if to.id != consoleUser {
		who = "@" + to.name
	}
	return "(only " + who + how + ") "
}

// show prints a message with key and makes its buttons live. A message
// shown while the prompt waits (a late result) is followed by the prompt again.
func (c *console) show(prefix string, m notify.Message, key string) {
	body, buttons := renderBlocks(m)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.dropButtons(key)
	var b strings.Builder
	b.WriteString("\n")
	for i, l := range strings.Split(body, "\n") {
		if i == 0 {
			b.WriteString(prefix + l + "\n")
		} else {
			b.WriteString(strings.TrimRight("  "+l, " ") + "\n")
		}
	}
	if len(buttons) > 0 {
		var labels []string
		n := 0
		for _, btn := range buttons {
			for n++; c.buttons[n].label != ""; n++ {
			}
			btn.message = key
			c.buttons[n] = btn
			labels = append(labels, fmt.Sprintf("[%d] %s", n, btn.label))
		}
		b.WriteString("  " + strings.Join(labels, "   ") + "   (type the number)\n")
	}
	if c.prompted {
		b.WriteString(c.promptText())
	}
	fmt.Fprint(c.out, b.String())
}

// dropButtons takes away the buttons of the message with key. c.mu is held.
func (c *console) dropButtons(key string) {
	for n, b := range c.buttons {
		if b.message == key {
			delete(c.buttons, n)
		}
	}
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
	c.show(prefix, m, ts)
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
		c.show(fmt.Sprintf("%s [%d] (edited) ", channelName(channel), n), m, ts)
	}
	return nil
}

// PostEphemeral implements notify.Slack.
func (c *console) PostEphemeral(ctx context.Context, channel, user string, m notify.Message) error {
	to, _ := personByName(user)
	c.show(c.onlyPrefix(to, ""), m, c.newKey(to))
	return nil
}

// Respond implements notify.Slack. Replacing swaps the message the response
// URL belongs to, buttons and all; otherwise the answer is a new message.
func (c *console) Respond(ctx context.Context, responseURL string, m notify.Message, replace bool) error {
	key := strings.TrimPrefix(responseURL, "console:response:")
	c.mu.Lock()
	to := c.owners[key]
	c.mu.Unlock()
	if !replace {
		c.show(c.onlyPrefix(to, ""), m, c.newKey(to))
		return nil
	}
	c.show(c.onlyPrefix(to, ", replacing the prompt"), m, key)
	return nil
}

// PublishHome implements commands.HomePublisher: the Home tab as text.
func (c *console) PublishHome(ctx context.Context, user string, blocks []slack.Block) error {
	c.show("(Home tab) ", notify.Message{Blocks: blocks}, homeKey)
	return nil
}

// homeKey keys the Home tab's buttons. The Home tab is a surface of its own
// in Slack: typing a command leaves it, and its buttons go, so that a number
// typed for a new prompt never clicks a profile button left on screen.
const homeKey = "home"

// UploadFile implements notify.Slack: the file Slack would attach is
// written to disk, and its path shown.
func (c *console) UploadFile(ctx context.Context, channel, threadTS, filename, title string, content []byte) error {
	dir := c.filesDir
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "switchboard-console")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("console file: %w", err)
	}
	path := filepath.Join(dir, filepath.Base(filename))
	if err := os.WriteFile(path, content, 0o600); err != nil {
		return fmt.Errorf("console file: %w", err)
	}
	c.show(fmt.Sprintf("%s file %s: ", channelName(channel), filename), notify.Message{Text: title + " — written to " + path}, "")
	return nil
}

// drain waits, at the end of input, for results still on their way, or
// until ctx ends. By then every command, click and step has ended (the
// router has no work left), so results can only come from callbacks the
// sandbox is still to send for requests it answered, and from the delivery
// queue: drain waits for the one, then for the other to empty, since an entry
// leaves the queue only once it is shown (or given up on).
func (c *console) drain(ctx context.Context, sandbox *encotest.Sandbox, store *state.Store) {
	if err := sandbox.WaitSent(ctx); err != nil {
		return
	}
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for {
		if depth, err := store.QueueDepth(ctx); err == nil && depth == 0 {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
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

// sandboxSIMs lists the sandbox's SIM cards by number and state.
func sandboxSIMs(m *Main) string {
	var parts []string
	for _, sim := range m.Sandbox.SIMs() {
		parts = append(parts, fmt.Sprintf("%s (%s)", notify.NumberLabel(sim.MSISDN, false), sim.State))
	}
	return strings.Join(parts, ", ")
}
