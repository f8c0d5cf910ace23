package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-bot/switchboard/internal/redistest"
)

// consoleSession is the real Main in console mode, typed at through a pipe.
type consoleSession struct {
	t     *testing.T
	ctx   context.Context
	m     *Main
	typed *io.PipeWriter
	out   *syncBuffer
	done  chan error
}

func startConsole(t *testing.T, adjust ...func(*Main)) *consoleSession {
	t.Helper()
	in, typed := io.Pipe()
	_, prefix := redistest.New(t)
	s := &consoleSession{t: t, typed: typed, out: &syncBuffer{}, done: make(chan error, 1)}
	s.m = &Main{
		Config:  Config{LogLevel: "info", LogFormat: "json", HTTPAddr: ":8080", RedisURL: "redis://" + redistest.Addr(t) + "/0"},
		Console: true, Stdin: in, Stdout: s.out, LogOutput: &syncBuffer{}, KeyPrefix: prefix,
		ConsoleFiles: t.TempDir(),
	}
	for _, f := range adjust {
		f(s.m)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	s.ctx = ctx
	if err := s.m.Open(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.m.Close)
	go func() { s.done <- s.m.Run(ctx) }()
	return s
}

// waitOutput waits until the console has shown want.
func (s *consoleSession) waitOutput(want string) {
	s.t.Helper()
	eventually(s.t, s.ctx, fmt.Sprintf("the console to show %q", want), func() bool { return strings.Contains(s.out.String(), want) },
		func() string { return "it showed:\n" + s.out.String() })
}

// typeLine types one line and Enter.
func (s *consoleSession) typeLine(line string) {
	s.t.Helper()
	if _, err := io.WriteString(s.typed, line+"\n"); err != nil {
		s.t.Fatal(err)
	}
}

// do types one line and waits until the console has handled it to the end
// (the command, the work after it, a click's outcome); results that come
// later through the delivery queue may still be on their way.
func (s *consoleSession) do(line string) {
	s.t.Helper()
	before := s.m.console.Handled()
	s.typeLine(line)
	eventually(s.t, s.ctx, fmt.Sprintf("the console to finish %q", line), func() bool { return s.m.console.Handled() != before },
		func() string { return "it showed:\n" + s.out.String() })
}

// end types Ctrl-D and waits for the console to end.
func (s *consoleSession) end() {
	s.t.Helper()
	s.typed.Close()
	select {
	case err := <-s.done:
		if err != nil {
			s.t.Errorf("Run: %v", err)
		}
	case <-s.ctx.Done():
		s.t.Fatal("console did not end at end of input")
	}
}

// TestConsoleRunsTheSimFlow drives the console as a person would: a command,
// a button typed as its number, and the results arriving in the "thread".
func TestConsoleRunsTheSimFlow(t *testing.T) {
	t.Parallel()
	s := startConsole(t)
	s.waitOutput("Demo SIM cards: +32 471 00 00 01 (Active)")
	s.typeLine("/sim frob 0471000001")
	s.waitOutput("frob is not a /sim subcommand")
	s.typeLine("/sim deactivate 0471 00 00 01")
	s.waitOutput("[1] Deactivate   [2] Cancel")
	s.typeLine("7")
	s.waitOutput("There is no button 7; the buttons shown are 1 or 2.")
	s.typeLine("1")
	s.waitOutput("#console [1] ⏳ Deactivate 1 SIM card — requested by @you")
	s.waitOutput("↳ in thread of [1]: ✅ +32 471 00 00 01 (ICCID 8932010000000000001) — deactivation done")
	s.waitOutput("#console [1] (edited) ✅ Deactivate 1 SIM card")
	s.typeLine("/sim reactivate 0471 00 00 03, 0471 00 00 06")
	s.waitOutput("[1] Reactivate   [2] Cancel")
	s.typeLine("1")
	s.waitOutput("Finished: Reactivate 2 SIM cards — all 2 succeeded.")
	if sim, _ := s.m.Sandbox.SIM("32471000001"); sim.State != "Deactivated" {
		t.Errorf("sandbox SIM state = %q, want Deactivated", sim.State)
	}
	s.end()
	if strings.Contains(s.out.String(), `"level"`) {
		t.Errorf("JSON log lines leaked into the console:\n%s", s.out.String())
	}
}

// TestConsoleRunsFMUCallAndNumber drives /fmu, /call and /number through the
// terminal console, as a person trying the bot would.
func TestConsoleRunsFMUCallAndNumber(t *testing.T) {
	t.Parallel()
	s := startConsole(t)
	s.typeLine("/fmu")
	s.waitOutput("Your FMU profile (+32 470 00 00 01) is Private.")
	s.typeLine("/fmu status 0470 00 00 02 0470 00 00 03")
	s.waitOutput("✅ +32 470 00 00 03 — On duty")
	s.waitOutput("Finished: Read the FMU profiles of 2 numbers — all 2 succeeded.")
	s.waitOutput("all 2 done")
	// What one person sees is in order: both replies, then "all 2 done".
	out := s.out.String()
	if done, second := strings.Index(out, "all 2 done"), max(strings.Index(out, "+32 470 00 00 02 — "), strings.Index(out, "+32 470 00 00 03 — ")); done < second {
		t.Errorf("the parent said all 2 done before the second reply:\n%s", out)
	}
	s.typeLine("/call 0468 37 39 01")
	s.waitOutput("📞 Call to +32 468 37 39 01 answered — 21 s")
	s.typeLine("/call cdr")
	s.waitOutput("Calls of the account since")
	s.typeLine("/number reserve 02 206 07 42")
	s.waitOutput("[1] Reserve   [2] Cancel")
	s.typeLine("1")
	s.waitOutput("Reserved +32 2 206 07 42")
	s.end()
}

// TestConsoleTwoOfThreeApproval runs the demo policy's 2-of-3 rule in the
// console: the requester's own approval is refused and the buttons stay, so
// the requester can still cancel; acting as @alice and then @bob, two SIM
// leads approve.
func TestConsoleTwoOfThreeApproval(t *testing.T) {
	s := startConsole(t)
	s.do("/sim terminate 0471 00 00 02")
	s.do("1")
	s.waitOutput("[4] Approve   [5] Deny")
	s.do("4")
	s.waitOutput("You asked for this, so you can't approve it: 2 more approvals are needed from @alice, @bob or @carol.")
	s.do("3")
	s.waitOutput("🚫 Cancelled by @you: Terminate 1 SIM card. Nothing was changed.")
	s.do("4")
	s.waitOutput("No button is shown now") // the cancelled request's buttons are gone

	s.do("/sim terminate 0471 00 00 05")
	s.do("1")
	s.waitOutput("[4] Approve   [5] Deny")
	s.do("/as @alice")
	s.waitOutput("You are now @alice (U0ALICE001).")
	s.waitOutput("@alice> ")
	s.do("4")
	s.waitOutput("⏳ Approved by @alice; 1 of 2 approvals in, 1 more needed.")
	s.do("/as @bob")
	s.waitOutput("@bob> ")
	s.do("1")
	s.waitOutput("✅ Approved by @alice and @bob: Terminate 1 SIM card, requested by @you.")
	s.waitOutput("termination done")
	s.end()
	if sim, _ := s.m.Sandbox.SIM("32471000002"); sim.State == "Terminated" {
		t.Error("the cancelled termination terminated +32 471 00 00 02")
	}
	if sim, _ := s.m.Sandbox.SIM("32471000005"); sim.State != "Terminated" {
		t.Errorf("approved termination: SIM state = %q, want Terminated", sim.State)
	}
}

// TestConsoleUserFlagActsAsSomeoneElse starts the console as @bob (-user),
// who holds only what everyone holds.
func TestConsoleUserFlagActsAsSomeoneElse(t *testing.T) {
	s := startConsole(t, func(m *Main) { m.ConsoleUser = "@bob" })
	s.waitOutput("you are @bob (U0BOB00001)")
	s.waitOutput("@bob> ")
	s.do("/sim status 0471 00 00 01")
	s.waitOutput("(only @bob) ⛔")
	s.do("/fmu")
	s.waitOutput("Your FMU profile (+32 470 00 00 03) is On duty.")
	s.end()
}

// TestConsoleRedrawsThePromptAfterLateResults checks that a result arriving
// while the prompt waits is followed by the prompt again, and that Ctrl-D
// ends the prompt's line.
func TestConsoleRedrawsThePromptAfterLateResults(t *testing.T) {
	s := startConsole(t)
	s.m.Sandbox.SetCallbackDelay(300 * time.Millisecond) // the result comes after the prompt
	s.do("/sim deactivate 0471 00 00 01")
	s.do("1")
	s.waitOutput("deactivation done\n> ")
	s.waitOutput("all 1 done · results in the thread\n> ")
	s.end()
	if out := s.out.String(); !strings.HasSuffix(out, "> \n") {
		t.Errorf("after Ctrl-D the screen ends with %q, want the prompt's line ended", out[max(0, len(out)-40):])
	}
}

// TestConsoleKeepsLogLinesOffTheScreen makes the bot log an error (EnCo
// refuses a reservation) and checks that the line goes to the log file the
// console named, not to the screen.
func TestConsoleKeepsLogLinesOffTheScreen(t *testing.T) {
	s := startConsole(t, func(m *Main) { m.LogOutput, m.ConsoleLogDir = nil, t.TempDir() })
	s.do("/number reserve 02 816 02 57") // the account holds it already
	s.do("1")
	s.waitOutput("was not reserved")
	s.end()
	out := s.out.String()
	if logLine.MatchString(out) {
		t.Errorf("a log line reached the screen:\n%s", out)
	}
	log, err := os.ReadFile(s.m.logFile.Name())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(log), "level=ERROR") {
		t.Errorf("the log file holds no error line:\n%s", log)
	}
	if !strings.Contains(out, s.m.logFile.Name()) {
		t.Errorf("the console did not name its log file:\n%s", out)
	}
}

// TestConsoleFailedResultSaysFailedOnce deactivates a card that is
// deactivated already: EnCo's status word "Failed" is not repeated.
func TestConsoleFailedResultSaysFailedOnce(t *testing.T) {
	s := startConsole(t)
	s.do("/sim deactivate 0471 00 00 03")
	s.do("1")
	s.waitOutput("— deactivation failed: ")
	s.end()
	if out := s.out.String(); strings.Contains(out, "(Failed)") {
		t.Errorf("a result says failed twice:\n%s", out)
	}
}

// TestConsoleCallNoteComesBeforeTheCallRecord has EnCo send the call's
// record before it answers the request: the person never reads "EnCo is
// placing the call" after the call's result.
func TestConsoleCallNoteComesBeforeTheCallRecord(t *testing.T) {
	s := startConsole(t)
	s.m.Sandbox.SetCallbackBeforeResponse(true)
	s.do("/call 0468 37 39 01")
	s.waitOutput("all 1 done · results in the thread")
	s.end()
	out := s.out.String()
	result := strings.Index(out, "📞 Call to +32 468 37 39 01 answered")
	note := strings.LastIndex(out, "EnCo is placing the call")
	if result < 0 || note > result {
		t.Errorf("the note that the call is being placed comes after its record:\n%s", out)
	}
}

// TestConsoleWritesCutListsToAFile: a list too long for one answer says how
// many it left out, and the console writes the whole list to a file whose
// path it shows, where Slack would attach it.
func TestConsoleWritesCutListsToAFile(t *testing.T) {
	s := startConsole(t)
	var nums []string
	for i := 1; i <= maxSIMRowsForTest; i++ {
		nums = append(nums, fmt.Sprintf("0471 00 00 %02d", i))
	}
	s.typeLine("/sim status " + strings.Join(nums, ", "))
	s.waitOutput("1 more not shown (15 of 16 listed). The full list is attached to this channel as")
	s.waitOutput("— written to " + s.m.ConsoleFiles)
	out := s.out.String()
	i := strings.Index(out, "— written to ")
	path := strings.TrimSpace(strings.SplitN(out[i+len("— written to "):], "\n", 2)[0])
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("the file the console named: %v", err)
	}
	rows, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
	if err != nil || len(rows) != 17 || rows[0][0] != "number" || rows[16][0] != "'+32471000016" {
		t.Errorf("file %s: %d rows, %v; want a header and the 16 cards", path, len(rows), err)
	}
	s.end()
}

// maxSIMRowsForTest is one more than /sim status lays out in its table.
const maxSIMRowsForTest = 16

// TestConsoleHomeTabButtonsGoWhenACommandIsTyped: /home shows the profile
// buttons; typing a command leaves the Home tab, so the next prompt's buttons
// start at [1] again and "1" confirms it rather than set a profile.
func TestConsoleHomeTabButtonsGoWhenACommandIsTyped(t *testing.T) {
	s := startConsole(t)
	s.do("/home")
	s.waitOutput("(Home tab)")
	s.waitOutput("(type the number)")
	s.do("/sim deactivate 0471 00 00 10")
	s.waitOutput("[1] Deactivate   [2] Cancel")
	s.do("1")
	s.waitOutput("deactivation done")
	s.end()
	if out := s.out.String(); strings.Contains(out, "FMU profile (+32 470 00 00 01) is now") {
		t.Errorf("typing 1 for the confirmation set the FMU profile:\n%s", out)
	}
}

// TestConsoleRunsAChangeFromAFile: /sim bulk asks the form's fields in
// turn, reads the demo file the README shows, previews it, and sends it
// once the preview's button is typed.
func TestConsoleRunsAChangeFromAFile(t *testing.T) {
	t.Parallel()
	s := startConsole(t)
	s.waitOutput("Demo SIM cards")
	s.typeLine("/sim bulk")
	s.waitOutput("Action — 1 Activate · 2 Deactivate · 3 Reactivate · 4 Terminate:")
	s.typeLine("2")
	s.waitOutput("File (CSV or text), optional — the path of the file:")
	// A mistyped path is asked again at once, and a path dragged into
	// the terminal comes quoted.
	s.typeLine("../../examples/gone.csv")
	s.waitOutput("There is no file at ../../examples/gone.csv (a relative path starts from ")
	s.typeLine("../../examples")
	s.waitOutput("../../examples is a folder; give the path of the file in it.")
	s.typeLine("'../../examples/closed-sites.csv'")
	s.waitOutput("Or paste the cards, optional — one per line, an empty line ends:")
	s.typeLine("")
	s.waitOutput("Deactivate 5 SIM cards — read from closed-sites.csv")
	s.waitOutput("1 duplicate line dropped")
	s.waitOutput("line 9: 6 sites")
	s.waitOutput("[1] Deactivate 5 cards   [2] Cancel")
	s.typeLine("1")
	s.waitOutput("Confirmed: Deactivate 5 SIM cards")
	s.waitOutput("Finished: Deactivate 5 SIM cards — all 5 succeeded.")
	// A command typed while a form is open closes it.
	s.typeLine("/sim bulk")
	s.waitOutput("Action — 1 Activate")
	s.typeLine("/sim status 0471 00 00 10")
	s.waitOutput("(the form was closed; nothing was sent)")
	s.waitOutput("Deactivated")
	s.end()
	if sim, _ := s.m.Sandbox.SIM("32471000010"); sim.State != "Deactivated" {
		t.Errorf("sandbox SIM 0471 00 00 10 state = %q, want Deactivated", sim.State)
	}
}

// TestConsoleHomeTabReadsAsText: the Home tab shows no mrkdwn and no
// profile's enum name, and its buttons say what they do.
func TestConsoleHomeTabReadsAsText(t *testing.T) {
	s := startConsole(t)
	s.do("/fmu on-duty for 1h")
	s.waitOutput("I will set it back")
	s.do("/home")
	s.waitOutput("(type the number)")
	s.do("1") // Set Private, from the Home tab
	s.waitOutput("Set to Private")
	s.end()
	out := s.out.String()
	_, home, _ := strings.Cut(out, "(Home tab)")
	home, _, _ = strings.Cut(home, "(type the number)")
	for _, bad := range []string{"_done_", "PRIVATE", "PROFESSIONAL", "ON_DUTY", "on duty"} {
		if strings.Contains(home, bad) {
			t.Errorf("the Home tab shows %q:\n%s", bad, home)
		}
	}
	for _, want := range []string{"[1] Set Private", "[2] Set Professional", "[3] On duty (current)", "Set your FMU profile to On duty: done"} {
		if !strings.Contains(home, want) {
			t.Errorf("the Home tab lacks %q:\n%s", want, home)
		}
	}
}
