package commands

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/switchboard-bot/switchboard"
	"github.com/switchboard-bot/switchboard/render"
	"github.com/switchboard-bot/switchboard/state"
)

// AuditTrail keeps every permission decision and change, newest last.
type AuditTrail interface {
	Audit(ctx context.Context, e switchboard.AuditEntry) error
	RecentAudit(ctx context.Context, n int, filter func(switchboard.AuditEntry) bool) ([]switchboard.AuditEntry, error)
}

// auditUsage explains the audit subcommand.
const auditUsage = "*Usage*\n`/sim audit` — the 20 most recent audit entries\n" +
	"`/sim audit &lt;operation-id&gt;` — the entries of one operation\n`/sim audit @person` — the entries of one person"

// maxAuditRows is how many entries one answer shows; up to maxAuditFile
// are attached as a file when there are more.
const (
	maxAuditRows = 20
	maxAuditFile = 1000
)

// auditCmd shows recent audit entries to holders of audit.read. It reads
// Redis only, so it answers in the acknowledgement; when there are more
// entries than it shows, it says how many and attaches up to maxAuditFile
// of them after the acknowledgement.
func (sm *simCommand) auditCmd(ctx context.Context, c *command, args []token) (Reply, func(context.Context)) {
	var filter func(switchboard.AuditEntry) bool
	what := "recent entries"
	switch {
	case len(args) > 1:
		return usageReply(usageErr(auditUsage, "`/sim audit` takes at most one operation id or person.")), nil
	case len(args) == 1 && args[0].user != "":
		u := args[0].user
		filter = func(e switchboard.AuditEntry) bool { return e.UserID == u }
		what = "entries of <@" + u + ">"
	case len(args) == 1:
		id := strings.ToLower(args[0].text)
		if len(id) < 8 || strings.Trim(id, "0123456789abcdef") != "" {
			return usageReply(usageErr(auditUsage, "`%s` is not an operation id: ids are hexadecimal, like `b13b7284322d5f47041a769d865c82ba` (the first 8 characters are enough).", args[0].text)), nil
		}
		filter = func(e switchboard.AuditEntry) bool { return strings.HasPrefix(e.OperationID, id) }
		what = "entries of operation " + id
	}
	if reply, ok := sm.gate.allow(ctx, c, switchboard.PermAuditRead); !ok {
		return reply, nil
	}
	entries, err := sm.trail.RecentAudit(ctx, maxAuditFile+1, filter)
	if err != nil {
		ref := state.NewHex(4)
		sm.log.Error("read audit", "err", err, "ref", ref)
		return storeDown(ref), nil
	}
	if len(entries) == 0 {
		return textReply("No audit " + what + "."), nil
	}
	var b strings.Builder
	fmt.Fprintf(&b, "*Audit: %s, newest first*\n```", what)
	for _, e := range entries[:min(len(entries), maxAuditRows)] {
		op := e.OperationID
		if len(op) > 8 {
			op = op[:8]
		}
		line := fmt.Sprintf("%s  %-11s  %-16s  %-22s  %-8s  %s", e.At.UTC().Format(time.DateTime), e.UserID, truncate(e.Command, 16), truncate(e.Decision, 22), op, truncate(e.Rule+" "+e.Detail, 60))
		// Entries hold what people typed and what EnCo answered.
		b.WriteString("\n" + render.Escape(strings.TrimRight(line, " ")))
	}
	b.WriteString("\n```")
	if len(entries) <= maxAuditRows {
		return textReply(b.String()), nil
	}
	l := fullList{name: "audit", title: "Audit: " + what, header: []string{"time", "user", "command", "decision", "operation", "rule", "detail"}}
	for _, e := range entries[:min(len(entries), maxAuditFile)] {
		l.rows = append(l.rows, []string{e.At.UTC().Format(time.RFC3339), e.UserID, e.Command, e.Decision, e.OperationID, e.Rule, e.Detail})
	}
	left := leftOut(maxAuditRows, len(entries))
	if len(entries) > maxAuditFile {
		left = fmt.Sprintf("… more than %d not shown; the file holds the %d most recent.", maxAuditFile-maxAuditRows, maxAuditFile)
	}
	promise, after := sm.lists.attachLater(c, l)
	b.WriteString("\n" + left + " " + promise)
	return textReply(b.String()), after
}
