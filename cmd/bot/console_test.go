package main

import (
	"context"
	"io"
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

func startConsole(t *testing.T) *consoleSession {
	t.Helper()
	in, typed := io.Pipe()
	_, prefix := redistest.New(t)
	s := &consoleSession{t: t, typed: typed, out: &syncBuffer{}, done: make(chan error, 1)}
	s.m = &Main{
		Config:  Config{LogLevel: "info", LogFormat: "json", HTTPAddr: ":8080", RedisURL: "redis://" + redistest.Addr(t) + "/0"},
		Console: true, Stdin: in, Stdout: s.out, LogOutput: &syncBuffer{}, KeyPrefix: prefix,
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
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !strings.Contains(s.out.String(), want) {
		select {
		case <-s.ctx.Done():
			s.t.Fatalf("console never showed %q; it showed:\n%s", want, s.out.String())
		case <-tick.C:
		}
	}
}

// typeLine types one line and Enter.
func (s *consoleSession) typeLine(line string) {
	s.t.Helper()
	if _, err := io.WriteString(s.typed, line+"\n"); err != nil {
		s.t.Fatal(err)
	}
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
	s.waitOutput("`frob` is not a /sim subcommand")
	s.typeLine("/sim deactivate 0471 00 00 01")
	s.waitOutput("[1] Deactivate   [2] Cancel")
	s.typeLine("7")
	s.waitOutput("Type a button number from 1 to 2")
	s.typeLine("1")
	s.waitOutput("#console [1] ⏳ Deactivate 1 SIM card — requested by @you")
	s.waitOutput("↳ in thread of [1]: ✅ ICCID 8932010000000000001 — deactivation done")
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
