package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// logRecord is the part of a JSON log line these tests read.
type logRecord struct {
	Msg, User, Channel, Command, Permission, Decision, Outcome, Operation string
	Callback                                                              string
	Status                                                                int
}

// records returns the log lines whose msg is msg, decoded.
func (h *harness) records(msg string) []logRecord {
	h.t.Helper()
	var out []logRecord
	for _, line := range strings.Split(strings.TrimSpace(h.logs.String()), "\n") {
		var rec logRecord
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			h.t.Fatalf("log line %q is not JSON: %v", line, err)
		}
		if rec.Msg == msg {
			out = append(out, rec)
		}
	}
	return out
}

func TestEachCommandAndCallbackLogsOneLineWithItsOperation(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	_, reply := h.command(opsUser, opsChan, "/sim deactivate 0471000001")
	h.command(opsUser, opsChan, "/sim deactivate 04710000x1")
	h.command(guestUser, opsChan, "/sim status 0471000001")

	cmds := h.records("command")
	if len(cmds) != 3 {
		t.Fatalf("three commands logged %d command lines: %+v", len(cmds), cmds)
	}
	change, bad, denied := cmds[0], cmds[1], cmds[2]
	if change.User != opsUser || change.Channel != opsChan || change.Command != "/sim" || change.Permission != "sim.deactivate" ||
		change.Decision != "allowed" || change.Outcome != "confirm" || change.Operation == "" {
		t.Errorf("the change's line = %+v, want user, channel, permission allowed, outcome confirm and its operation", change)
	}
	if bad.Outcome != "usage" || bad.Operation != "" {
		t.Errorf("a malformed number's line = %+v, want outcome usage and no operation", bad)
	}
	if denied.User != guestUser || denied.Decision != "denied" || denied.Outcome != "denied" {
		t.Errorf("a refused command's line = %+v, want decision and outcome denied", denied)
	}

	h.click(opsUser, opsChan, "confirm", reply.button(t, "confirm"))
	h.waitFor("the callback's line", func() bool { return len(h.records("callback")) == 1 })
	cb := h.records("callback")[0]
	// 202 when it beat the EnCo response that names its tracking number.
	if cb.Operation != change.Operation || cb.Callback != "m2m" || (cb.Status != 200 && cb.Status != 202) {
		t.Errorf("the callback's line = %+v, want operation %s, m2m, status 200 or 202", cb, change.Operation)
	}
}
