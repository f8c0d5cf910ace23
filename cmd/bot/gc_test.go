package main

import (
	"runtime/debug"
	"testing"
)

func TestTuneGCSetsItsTargetUnlessGOGCIsSet(t *testing.T) {
	orig := debug.SetGCPercent(100)
	t.Cleanup(func() { debug.SetGCPercent(orig) })

	tuneGC(func(string) (string, bool) { return "", false })
	if got := debug.SetGCPercent(100); got != defaultGCPercent {
		t.Errorf("GOGC unset: GC percent %d, want %d", got, defaultGCPercent)
	}

	var asked string
	tuneGC(func(name string) (string, bool) { asked = name; return "150", true })
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("GOGC set: GC percent changed to %d, want it left to the runtime (100 here)", got)
	}
	if asked != "GOGC" {
		t.Errorf("looked up %q, want GOGC", asked)
	}
}
