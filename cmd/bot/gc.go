package main

import "runtime/debug"

// defaultGCPercent is the garbage collector's target when GOGC is not set:
// the heap may grow to five times what is live before a collection, rather
// than twice. The bot's live heap is a few MiB, so under a burst of
// callbacks Go's default collects dozens of times a second; at 400 the
// receiver spends 15–25% less CPU per callback (BenchmarkReceiveM2M in
// notify), and the heap stays within a few tens of MiB. GOGC and GOMEMLIMIT
// override it, as for any Go program.
const defaultGCPercent = 400

// tuneGC applies defaultGCPercent unless the environment sets GOGC.
func tuneGC(lookupEnv func(string) (string, bool)) {
	if _, set := lookupEnv("GOGC"); !set {
		debug.SetGCPercent(defaultGCPercent)
	}
}
