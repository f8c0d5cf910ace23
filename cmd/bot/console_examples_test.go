package main

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/slack-go/slack"

	"github.com/switchboard-bot/switchboard/console"
)

// badAnswer matches the words of an answer that went wrong. An example may
// show one only when it says so (see readmeExamples). A workflow step's
// output "failed=0" counts no failure, so it is not one.
var badAnswer = regexp.MustCompile(`(?i)not found|not a valid|failed(?:$|[^=]|=[1-9])`)

// logLine matches a structured log line (text or JSON) on the screen.
var logLine = regexp.MustCompile(`level=|"level":`)

// typedLine matches a line typed at the console prompt in a README
// transcript: "> /sim help", or "@alice> 1" while acting as @alice.
var typedLine = regexp.MustCompile(`^(@[a-z]+)?> (.*)$`)

// readmeBlock is one of the README's code blocks that shows the console.
type readmeBlock struct {
	line int // where it starts in README.md
	// transcript is set for a block of typed lines and answers; lines then
	// holds both, else the commands alone.
	transcript bool
	lines      []string
	refusals   map[string]bool // commands that show a refusal, by text
}

// readmeExamples returns the README's code blocks without a language (or
// "console") that hold slash commands: transcripts (lines typed after "> ")
// and lists of commands, one a line, each maybe followed by two spaces and
// a comment. A comment starting with "refused" marks an example that shows a
// refusal.
func readmeExamples(t *testing.T) []readmeBlock {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var (
		blocks []readmeBlock
		cur    *readmeBlock
		n      int
	)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		n++
		l := sc.Text()
		if strings.HasPrefix(l, "```") {
			switch {
			case cur != nil:
				if len(cur.lines) > 0 {
					blocks = append(blocks, *cur)
				}
				cur = nil
			case l == "```" || l == "```console":
				cur = &readmeBlock{line: n, refusals: map[string]bool{}}
			default:
				cur = &readmeBlock{line: n, refusals: nil} // sh, yaml: not console examples
			}
			continue
		}
		if cur == nil || cur.refusals == nil {
			continue
		}
		if typedLine.MatchString(l) {
			cur.transcript = true
		}
		cur.lines = append(cur.lines, l)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	var out []readmeBlock
	for _, b := range blocks {
		if b.transcript {
			out = append(out, b)
			continue
		}
		var cmds []string
		for _, l := range b.lines {
			if !strings.HasPrefix(l, "/") {
				continue
			}
			cmd, comment, _ := strings.Cut(l, "  ")
			cmd = strings.TrimSpace(cmd)
			if strings.HasPrefix(strings.TrimSpace(comment), "refused") {
				b.refusals[cmd] = true
			}
			cmds = append(cmds, cmd)
		}
		if len(cmds) > 0 {
			b.lines = cmds
			out = append(out, b)
		}
	}
	return out
}

// TestReadmeTranscriptsRunAsShown types every line a README transcript shows
// typed, in a console of its own, and checks that the console answers with
// the lines the transcript shows, in that order ("…" stands for any text),
// and that no answer is a failure or a log line.
func TestReadmeTranscriptsRunAsShown(t *testing.T) {
	var n int
	for _, b := range readmeExamples(t) {
		if !b.transcript {
			continue
		}
		n++
		t.Run("README.md:"+strconv.Itoa(b.line), func(t *testing.T) {
			s := startConsole(t, func(m *Main) { m.LogOutput, m.ConsoleLogDir = nil, t.TempDir() })
			var want []string
			for _, l := range b.lines {
				if m := typedLine.FindStringSubmatch(l); m != nil {
					s.do(m[2])
					continue
				}
				if strings.TrimSpace(l) != "" {
					want = append(want, l)
				}
			}
			s.end()
			out := s.out.String()
			checkScreen(t, out, nil)
			log, err := os.ReadFile(s.m.logFile.Name())
			if err != nil || !strings.Contains(string(log), "msg=command") {
				t.Errorf("the log file %s holds no command line (err %v):\n%s", s.m.logFile.Name(), err, log)
			}
			if !strings.Contains(out, "The bot's log goes to "+s.m.logFile.Name()) {
				t.Errorf("the console did not say where its log goes:\n%s", out)
			}
			if missing := missingInOrder(screenLines(out), want); missing != "" {
				t.Errorf("the console did not show, in the README's order:\n  %s\nIt showed:\n%s", missing, out)
			}
		})
	}
	if n == 0 {
		t.Fatal("README.md has no console transcript")
	}
}

// TestReadmeCommandExamplesRun types each list of README command examples
// into a console of its own, confirming every change that asks for it, and
// checks that no answer is a failure unless the example says it shows a
// refusal.
func TestReadmeCommandExamplesRun(t *testing.T) {
	var n int
	for _, b := range readmeExamples(t) {
		if b.transcript {
			continue
		}
		n++
		t.Run("README.md:"+strconv.Itoa(b.line), func(t *testing.T) {
			s := startConsole(t)
			var allowed []string
			for _, cmd := range b.lines {
				out := runExample(s, cmd)
				if b.refusals[cmd] {
					if !badAnswer.MatchString(out) && !strings.Contains(out, "⛔") && !strings.Contains(out, "⚠️") {
						t.Errorf("%s is marked as a refusal but was not refused:\n%s", cmd, out)
					}
					allowed = append(allowed, out)
				}
			}
			s.end()
			checkScreen(t, s.out.String(), allowed)
		})
	}
	if n == 0 {
		t.Fatal("README.md has no list of command examples")
	}
}

// TestHelpExamplesRun types every example the help texts and the console's
// greeting give, confirming every change that asks for it, and checks that
// none is answered with a failure. They run in one console after the
// README's command lists, as a newcomer would try them in one sitting, so
// that two examples changing the same card the same way show up.
func TestHelpExamplesRun(t *testing.T) {
	s := startConsole(t)
	var allowed []string
	for _, b := range readmeExamples(t) {
		if b.transcript {
			continue
		}
		for _, cmd := range b.lines {
			if out := runExample(s, cmd); b.refusals[cmd] {
				allowed = append(allowed, out)
			}
		}
	}
	var examples []string
	for _, cmd := range []string{"/sim", "/fmu", "/number", "/call"} {
		reply, _ := s.m.Router.Command(context.Background(), slack.SlashCommand{Command: cmd, Text: "help", UserID: console.UserID, ChannelID: console.ChannelID})
		found := helpExamples(reply.Text)
		if len(found) == 0 {
			t.Errorf("%s help gives no example:\n%s", cmd, reply.Text)
		}
		examples = append(examples, found...)
	}
	for _, l := range console.TryLines() {
		_, list, _ := strings.Cut(l, ": ")
		for _, ex := range strings.Split(strings.TrimSuffix(list, "."), " · ") {
			examples = append(examples, strings.TrimSpace(ex))
		}
	}
	seen := map[string]bool{}
	for _, ex := range examples {
		if !seen[ex] { // a change made twice would fail the second time
			seen[ex] = true
			runExample(s, ex)
		}
	}
	s.end()
	checkScreen(t, s.out.String(), allowed)
}

// helpExamples finds the commands on a help text's "Example:" lines.
func helpExamples(help string) []string {
	var out []string
	for _, l := range strings.Split(help, "\n") {
		if !strings.HasPrefix(l, "Example:") {
			continue
		}
		for _, m := range regexp.MustCompile("`(/[^`]+)`").FindAllStringSubmatch(l, -1) {
			out = append(out, m[1])
		}
	}
	return out
}

// runExample types cmd and, when its answer asks for a confirmation, clicks
// the confirm button. It returns what the console showed meanwhile.
func runExample(s *consoleSession, cmd string) string {
	s.t.Helper()
	start := len(s.out.String())
	s.do(cmd)
	confirm := 0
	for _, b := range s.m.console.Buttons() {
		if b.ActionID == "confirm" && (confirm == 0 || b.Number < confirm) {
			confirm = b.Number
		}
	}
	if confirm > 0 {
		s.do(strconv.Itoa(confirm))
	}
	return s.out.String()[start:]
}

// checkScreen fails when the console screen shows a log line, or a failure
// outside the answers allowed to show one.
func checkScreen(t *testing.T, out string, allowed []string) {
	t.Helper()
	if logLine.MatchString(out) {
		t.Errorf("a log line reached the console screen:\n%s", out)
	}
	rest := out
	for _, a := range allowed {
		rest = strings.Replace(rest, a, "", 1)
	}
	if m := badAnswer.FindString(rest); m != "" {
		t.Errorf("an answer says %q:\n%s", m, out)
	}
}

// screenLines are the console's lines without prompts and blank lines.
func screenLines(out string) []string {
	var lines []string
	for _, l := range strings.Split(out, "\n") {
		l = strings.TrimSpace(typedLine.ReplaceAllString(l, "$2"))
		for typedLine.MatchString(l) {
			l = strings.TrimSpace(typedLine.ReplaceAllString(l, "$2"))
		}
		if l != "" {
			lines = append(lines, l)
		}
	}
	return lines
}

// missingInOrder returns the first wanted line not found in got after the
// previous one ("…" in a wanted line matches any text), or "".
func missingInOrder(got, want []string) string {
	i := 0
	for _, w := range want {
		parts := strings.Split(strings.TrimSpace(w), "…")
		for j, p := range parts {
			parts[j] = regexp.QuoteMeta(p)
		}
		re := regexp.MustCompile("^" + strings.Join(parts, ".*") + "$")
		for i < len(got) && !re.MatchString(got[i]) {
			i++
		}
		if i == len(got) {
			return w
		}
		i++
	}
	return ""
}
