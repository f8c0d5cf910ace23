package main

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-bot/switchboard/internal/redistest"
)

// TestConsoleRunsTheSimFlow drives the console as a person would: a command,
// a button typed as its number, and the results arriving in the "thread".
func TestConsoleRunsTheSimFlow(t *testing.T) {
	in, typed := io.Pipe()
	out := &syncBuffer{}
	logs := &syncBuffer{}
	_, prefix := redistest.New(t)
	m := &Main{
		Config:  Config{LogLevel: "info", LogFormat: "json", HTTPAddr: ":8080", RedisURL: "redis://" + redistest.Addr(t) + "/0"},
		Console: true, Stdin: in, Stdout: out, LogOutput: logs, KeyPrefix: prefix,
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := m.Open(ctx); err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()

	waitOutput := func(want string) {
		t.Helper()
		for !strings.Contains(out.String(), want) {
			select {
			case <-ctx.Done():
				t.Fatalf("console never showed %q; it showed:\n%s", want, out.String())
			case <-time.After(10 * time.Millisecond):
			}
		}
	}
	type_ := func(line string) {
		t.Helper()
		if _, err := io.WriteString(typed, line+"\n"); err != nil {
			t.Fatal(err)
		}
	}

	waitOutput("Demo SIM cards: +32 471 00 00 01 (Active)")
	type_("/sim frob 0471000001")
	waitOutput("`frob` is not a /sim subcommand")
	type_("/sim deactivate 0471 00 00 01")
	waitOutput("[1] Deactivate   [2] Cancel")
	type_("7")
	waitOutput("Type a button number from 1 to 2")
	type_("1")
	waitOutput("#console [1] ⏳ Deactivate 1 SIM card — requested by @you")
	waitOutput("↳ in thread of [1]: ✅ ICCID 8932010000000000001 — deactivation done")
	waitOutput("#console [1] (edited) ✅ Deactivate 1 SIM card")
	type_("/sim reactivate 0471 00 00 03, 0471 00 00 06")
	waitOutput("[1] Reactivate   [2] Cancel")
	type_("1")
	waitOutput("Finished: Reactivate 2 SIM cards — all 2 succeeded.")
	if sim, _ := m.Sandbox.SIM("32471000001"); sim.State != "Deactivated" {
		t.Errorf("sandbox SIM state = %q, want Deactivated", sim.State)
	}
	typed.Close() // Ctrl-D
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-ctx.Done():
		t.Fatal("console did not end at end of input")
	}
	if strings.Contains(out.String(), `"level"`) {
		t.Errorf("JSON log lines leaked into the console:\n%s", out.String())
	}
}
