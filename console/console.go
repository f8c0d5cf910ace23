// Package console is a terminal stand-in for Slack: it reads slash
// commands and button clicks typed at a prompt, hands them to the bot, and
// prints what Slack would show (ephemeral answers, channel messages, thread
// replies, edits, the Home tab, workflow steps) with its own Block Kit
// renderer. It plays a few demo people and a demo policy, so that the bot
// can be tried without a Slack workspace.
//
// The console is both ends of Slack for the bot: it implements slackpost.Slack,
// slackpost.Steps, commands.DirectMessages and commands.HomePublisher for the
// bot to post through, and it drives the bot through a Bot (the router).
package console

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/slack-go/slack"

	"github.com/switchboard-bot/switchboard/commands"
	"github.com/switchboard-bot/switchboard/render"
	"github.com/switchboard-bot/switchboard/slackpost"
)

// The console's stand-in identities: the person typing at start (@you) and
// the channel commands are typed in (#console).
const (
	UserID    = "U0CONSOLE1"
	ChannelID = "C0CONSOLE1"
)

// Bot is what the console needs of the wired bot: *commands.Router is one.
// Command answers a slash command and returns the work to run after the
// acknowledgement; Action takes a button click; AppHomeOpened shows a
// person's Home tab; RunStep runs a Workflow Builder step; Go runs work as
// the bot runs work after an acknowledgement (the bot waits for it when it
// shuts down).
type Bot interface {
	Command(ctx context.Context, sc slack.SlashCommand) (commands.Reply, func(context.Context))
	Action(ctx context.Context, cb slack.InteractionCallback)
	AppHomeOpened(ctx context.Context, user string)
	RunStep(ctx context.Context, s commands.Step)
	ViewSubmission(ctx context.Context, cb slack.InteractionCallback) (*slack.ViewSubmissionResponse, func(context.Context))
	Go(ctx context.Context, work func(context.Context))
}

// Person is someone the console can act as (/as, bot -user) and resolve in
// commands typed as @name.
type Person struct {
	Name, ID string
	About    string // what the demo policy lets them do, for the banner
}

// people are the demo policy's people. @alice holds every permission
// too; @bob holds only what everyone holds; @carol has no numbers yet.
// @alice, @bob and @carol are the SIM leads: two of them must approve a
// termination.
var people = []Person{
	{"you", UserID, "every permission, mobile 0470 00 00 01, fixed 02 816 02 57"},
	{"alice", "U0ALICE001", "every permission, mobile 0470 00 00 02; a SIM lead, who approves terminations"},
	{"bob", "U0BOB00001", "only what everyone holds (fmu.self, call.self, number.read), mobile 0470 00 00 03; a SIM lead"},
	{"carol", "U0CAROL001", "only what everyone holds, no numbers yet; a SIM lead"},
}

// DemoPolicy is the policy that goes with the console's people, for when
// no policy file is given: @you and @alice hold every permission, the
// directory has demo numbers, and two of the three SIM leads must approve a
// termination.
const DemoPolicy = `roles:
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
approvals:
  - name: terminate
    permissions: [sim.terminate]
    required: 2
    approvers: [U0ALICE001, U0BOB00001, U0CAROL001]
workflows:
  allow: [set_fmu_profile, sim_change]
limits:
  changes_per_minute: 60   # room to try every example in one sitting
`

// PersonByName finds a console person by @name, name or user ID; any other
// Slack user ID (U…/W…) is accepted as a person without a name.
func PersonByName(s string) (Person, bool) {
	s = strings.TrimPrefix(strings.TrimSpace(s), "@")
	for _, p := range people {
		if strings.EqualFold(p.Name, s) || p.ID == strings.ToUpper(s) {
			return p, true
		}
	}
	if slackUserID.MatchString(s) {
		return Person{Name: s, ID: s}, true
	}
	return Person{}, false
}

var slackUserID = regexp.MustCompile(`^[UW][A-Z0-9]{8,}$`)

// Console is a terminal stand-in for Slack: it reads slash commands, prints
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
type Console struct {
	cfg Config

	mu       sync.Mutex
	user     Person
	seq      int               // last message number handed out
	ts       map[string]int    // message ts -> number shown
	edits    map[string]string // ts -> last text shown, to print only real edits
	buttons  map[int]button    // live buttons by the number typed to click them
	owners   map[string]Person // response key -> who typed or clicked
	keySeq   int               // last response key handed out
	stepSeq  int               // last workflow step execution numbered
	prompted bool              // the prompt is on screen, waiting for a line
	handled  int               // lines handled so far
	form     *form             // the modal being filled in, if any
	view     *openView         // the view shown with a submit button, if any
}

// Config is what a console shows and where it reads and writes.
type Config struct {
	In  io.Reader // the terminal's input
	Out io.Writer // the terminal's screen
	// User is who types at start; the zero Person means @you.
	User Person
	// LogPath is the file the bot's log goes to, named in the banner; ""
	// when the log is not in a file.
	LogPath string
	// FilesDir is where UploadFile writes the files Slack would attach
	// ("" means switchboard-console under os.TempDir()).
	FilesDir string
	// EncoURL is the EnCo sandbox's address, named in the banner.
	EncoURL string
	// SIMs lists the sandbox's SIM cards for the banner, each as a number
	// and its state; nil lists none.
	SIMs func() []string
}

type button struct {
	label, actionID, value string
	// message is the key of the message showing the button: replacing or
	// editing that message takes its buttons away.
	message string
}

// New returns a console for cfg; Run starts it.
func New(cfg Config) *Console {
	user := cfg.User
	if user == (Person{}) {
		user = people[0]
	}
	return &Console{
		cfg: cfg, user: user,
		ts: map[string]int{}, edits: map[string]string{},
		buttons: map[int]button{}, owners: map[string]Person{},
	}
}

// Run shows the banner, then hands the commands and clicks typed to bot
// until the input ends, ctx ends, or the user types quit. Each line is
// handled to the end before the next is read.
func (c *Console) Run(ctx context.Context, bot Bot) error {
	c.printf("Switchboard console — you are @%s (%s) in #console. EnCo sandbox at %s, embedded store.\n", c.user.Name, c.user.ID, c.cfg.EncoURL)
	if c.cfg.LogPath != "" {
		c.printf("The bot's log goes to %s (run with -v to see it here).\n", c.cfg.LogPath)
	}
	var sims []string
	if c.cfg.SIMs != nil {
		sims = c.cfg.SIMs()
	}
	c.printf("Demo SIM cards: %s.\n", strings.Join(sims, ", "))
	c.printf("Demo people: %s.\n", peopleList())
	for _, l := range tryLines {
		c.printf("%s\n", l)
	}
	c.printf("Home tab: /home · schedules: /fmu on-duty for 1m · /fmu schedule list.\n")
	c.printf("Type a button's number to click it; /as @alice acts as someone else; quit or Ctrl-D ends.\n")
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(c.cfg.In)
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
			case line == "quit" || line == "exit":
				return nil
			case c.formOpen() && !isCommand(line):
				c.formLine(ctx, bot, line)
			case line == "":
			case line == "/as" || strings.HasPrefix(line, "/as "):
				c.actAs(strings.TrimSpace(strings.TrimPrefix(line, "/as")))
			case strings.HasPrefix(line, "/"):
				c.command(ctx, bot, line)
			default:
				c.click(ctx, bot, line)
			}
			c.mu.Lock()
			c.handled++
			c.mu.Unlock()
			c.prompt()
		}
	}
}

// TryLines are the lines of examples the console suggests at start, each
// "Try: " or "Also: " and commands separated by " · "; every one runs as
// shown (the bot's tests type them).
func TryLines() []string { return slices.Clone(tryLines) }

var tryLines = []string{
	"Try: /sim help · /sim status 0471 00 00 01 · /sim deactivate 0471 00 00 01.",
	"Also: /fmu · /fmu status 0470 00 00 02 0470 00 00 03 · /call 0468 37 39 01 · /call cdr · /number available zone=02 · /number reserve 02 206 07 42.",
}

func peopleList() string {
	var parts []string
	for _, p := range people {
		parts = append(parts, fmt.Sprintf("@%s (%s)", p.Name, p.About))
	}
	return strings.Join(parts, "; ")
}

// actAs switches the person typing: /as @alice, /as you; /as alone says who.
func (c *Console) actAs(who string) {
	if who == "" {
		c.mu.Lock()
		me := c.user
		c.mu.Unlock()
		c.printf("You are @%s (%s). People: %s.\n", me.Name, me.ID, peopleList())
		return
	}
	p, ok := PersonByName(who)
	if !ok {
		c.printf("I don't know %s. Type /as with one of @you, @alice, @bob, @carol, or a Slack user ID like U0123ABCD.\n", who)
		return
	}
	c.mu.Lock()
	c.user = p
	c.mu.Unlock()
	c.printf("You are now @%s (%s). /as you switches back.\n", p.Name, p.ID)
}

// mentionName matches an @name typed in a command; known people become the
// mention Slack would send (<@U…|name>).
var mentionName = regexp.MustCompile(`(^|[\s,;])@([A-Za-z][A-Za-z0-9._-]*)`)

func (c *Console) resolveMentions(text string) string {
	return mentionName.ReplaceAllStringFunc(text, func(s string) string {
		sm := mentionName.FindStringSubmatch(s)
		for _, p := range people {
			if strings.EqualFold(p.Name, sm[2]) {
				return sm[1] + "<@" + p.ID + "|" + p.Name + ">"
			}
		}
		return s
	})
}

// newKey hands out a response key for a message and remembers who it answers.
func (c *Console) newKey(owner Person) string {
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

func (c *Console) command(ctx context.Context, bot Bot, line string) {
	name, text, _ := strings.Cut(line, " ")
	c.mu.Lock()
	me := c.user
	c.dropButtons(homeKey)
	c.mu.Unlock()
	if c.closeForm() {
		c.printf("(the form was closed; nothing was sent)\n")
	}
	switch name {
	case "/step":
		c.step(ctx, bot, text)
		return
	case "/home": // what the app's Home tab in Slack shows
		bot.Go(ctx, func(ctx context.Context) { bot.AppHomeOpened(ctx, me.ID) })
		return
	}
	key := c.newKey(me)
	reply, after := bot.Command(ctx, slack.SlashCommand{
		Command: name, Text: c.resolveMentions(strings.TrimSpace(text)), UserID: me.ID, UserName: me.Name,
		ChannelID: ChannelID, ChannelName: "console", ResponseURL: responseURL(key), TeamID: "T0CONSOLE",
	})
	c.show(c.onlyPrefix(me, ""), render.Message{Text: reply.Text, Blocks: reply.Blocks}, key)
	c.await(ctx, bot, after)
}

// await runs work as the router runs work after an acknowledgement, and
// waits for it, so that the next line acts on its outcome.
func (c *Console) await(ctx context.Context, bot Bot, work func(context.Context)) {
	if work == nil {
		return
	}
	done := make(chan struct{})
	bot.Go(ctx, func(ctx context.Context) {
		defer close(done)
		work(ctx)
	})
	select {
	case <-done:
	case <-ctx.Done():
	}
}

func (c *Console) click(ctx context.Context, bot Bot, line string) {
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
	if b.actionID == viewSubmitAction || b.actionID == viewCloseAction {
		c.viewClick(ctx, bot, b)
		return
	}
	c.mu.Lock()
	c.owners[b.message] = me // answers through the response URL go to whoever clicked
	c.mu.Unlock()
	cb := slack.InteractionCallback{
		Type:        slack.InteractionTypeBlockActions,
		User:        slack.User{ID: me.ID, Name: me.Name},
		Channel:     slack.Channel{GroupConversation: slack.GroupConversation{Conversation: slack.Conversation{ID: ChannelID}}},
		ResponseURL: responseURL(b.message),
		ActionCallback: slack.ActionCallbacks{BlockActions: []*slack.BlockAction{{
			ActionID: b.actionID, Value: b.value,
		}}},
	}
	c.await(ctx, bot, func(ctx context.Context) { bot.Action(ctx, cb) })
}

// Handled reports how many typed lines the console has handled to the end
// (the command, the work after it, a click's outcome); a program typing into
// the console can wait for it to grow before typing the next line.
func (c *Console) Handled() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.handled
}

// Button is a button on screen, clicked by typing its number.
type Button struct {
	Number                 int
	Label, ActionID, Value string
}

// Buttons lists the buttons on screen, by number.
func (c *Console) Buttons() []Button {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []Button
	for _, n := range c.liveNumbers() {
		b := c.buttons[n]
		out = append(out, Button{Number: n, Label: b.label, ActionID: b.actionID, Value: b.value})
	}
	return out
}

// liveNumbers lists the numbers of the live buttons, in order. c.mu is held.
func (c *Console) liveNumbers() []int {
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
func (c *Console) prompt() {
	c.mu.Lock()
	defer c.mu.Unlock()
	fmt.Fprint(c.cfg.Out, c.promptText())
	c.prompted = true
}

func (c *Console) promptText() string {
	if c.user.ID == UserID {
		return "> "
	}
	return "@" + c.user.Name + "> "
}

// endLine ends the prompt's line, if it is on screen.
func (c *Console) endLine() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.prompted {
		fmt.Fprintln(c.cfg.Out)
		c.prompted = false
	}
}

func (c *Console) printf(format string, args ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	fmt.Fprintf(c.cfg.Out, format, args...)
}

// onlyPrefix is the prefix of a message shown to one person.
func (c *Console) onlyPrefix(to Person, how string) string {
	who := "you"
	if to.ID != UserID {
		who = "@" + to.Name
	}
	return "(only " + who + how + ") "
}

// show prints a message with key and makes its buttons live. A message
// shown while the prompt waits (a late result) is followed by the prompt again.
func (c *Console) show(prefix string, m render.Message, key string) {
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
	fmt.Fprint(c.cfg.Out, b.String())
}

// dropButtons takes away the buttons of the message with key. c.mu is held.
func (c *Console) dropButtons(key string) {
	for n, b := range c.buttons {
		if b.message == key {
			delete(c.buttons, n)
		}
	}
}

// PostMessage implements slackpost.Slack.
func (c *Console) PostMessage(ctx context.Context, channel string, m render.Message) (string, error) {
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

// UpdateMessage implements slackpost.Slack.
func (c *Console) UpdateMessage(ctx context.Context, channel, ts string, m render.Message) error {
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

// PostEphemeral implements slackpost.Slack.
func (c *Console) PostEphemeral(ctx context.Context, channel, user string, m render.Message) error {
	to, _ := PersonByName(user)
	c.show(c.onlyPrefix(to, ""), m, c.newKey(to))
	return nil
}

// Respond implements slackpost.Slack. Replacing swaps the message the response
// URL belongs to, buttons and all; otherwise the answer is a new message.
func (c *Console) Respond(ctx context.Context, responseURL string, m render.Message, replace bool) error {
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
func (c *Console) PublishHome(ctx context.Context, user string, blocks []slack.Block) error {
	c.show("(Home tab) ", render.Message{Blocks: blocks}, homeKey)
	return nil
}

// homeKey keys the Home tab's buttons. The Home tab is a surface of its own
// in Slack: typing a command leaves it, and its buttons go, so that a number
// typed for a new prompt never clicks a profile button left on screen.
const homeKey = "home"

// UploadFile implements slackpost.Slack: the file Slack would attach is
// written to disk, and its path shown.
func (c *Console) UploadFile(ctx context.Context, channel, threadTS, filename, title string, content []byte) error {
	dir := c.cfg.FilesDir
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
	c.show(fmt.Sprintf("%s file %s: ", channelName(channel), filename), render.Message{Text: title + " — written to " + path}, "")
	return nil
}

// channelName is how a message's channel is shown: #console, or
// "(direct message)" for a direct message, whether it was sent to the
// person's user ID or to the D… channel OpenDM returns.
func channelName(id string) string {
	switch {
	case id == ChannelID:
		return "#console"
	case id == UserID, strings.HasPrefix(id, "D"):
		return "(direct message)"
	}
	return "#" + id
}

// The console is the bot's Slack, and the router is its Bot.
var (
	_ slackpost.Slack         = (*Console)(nil)
	_ slackpost.Steps         = (*Console)(nil)
	_ commands.DirectMessages = (*Console)(nil)
	_ commands.HomePublisher  = (*Console)(nil)
	_ Bot                     = (*commands.Router)(nil)
)
