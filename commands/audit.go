package commands

import (
	"context"
	"fmt"
	"regexp"
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
	fmt.Fprintf(&b, "*Audit: %s, newest first* (times in UTC)", what)
	for _, e := range entries[:min(len(entries), maxAuditRows)] {
		b.WriteString("\n" + auditLine(e))
	}
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

// auditLine shows one entry: when, who, the command whole, the decision,
// the operation's short id, and the rule and detail. People are mentions,
// which Slack and the console show by name: the person who acted, those
// named in what they typed or in a detail the bot wrote ("<@U…> back to
// PRIVATE"), and the user ids a rule names. Entries hold what people typed
// and what EnCo answered, so the text is escaped but for those mentions.
func auditLine(e switchboard.AuditEntry) string {
	who := "the bot"
	if stepUserID.MatchString(e.UserID) {
		who = "<@" + e.UserID + ">"
	}
	parts := []string{"`" + e.At.UTC().Format(time.DateTime) + "`", who, typedText(e.Command), render.Escape(e.Decision)}
	if op := e.OperationID; op != "" {
		parts = append(parts, "op `"+op[:min(len(op), 8)]+"`")
	}
	rule := ruleUserID.ReplaceAllString(render.Escape(e.Rule), "<@$1>")
	detail := withMentions(truncate(e.Detail, 160))
	if e.Decision == decisionCallbackResult {
		detail = callbackResultText(e.Detail)
	}
	if more := strings.TrimSpace(rule + " " + detail); more != "" {
		parts = append(parts, more)
	}
	return "• " + strings.Join(parts, " — ")
}

// withMentions escapes s but keeps its user mentions, without their labels.
func withMentions(s string) string {
	return escapedMention.ReplaceAllString(render.Escape(s), "<@$1>")
}

// decisionCallbackResult is the decision of an entry recording one
// target's result, whose detail the receiver writes as "msisdn:32470000001
// ok=true".
const decisionCallbackResult = "callback result"

// callbackResultText shows a callback result's detail in words, its target
// as the bot names targets elsewhere ("+32 470 00 00 01 succeeded"); a
// detail of another shape is shown as it is, escaped.
func callbackResultText(detail string) string {
	target, ok, found := strings.Cut(detail, " ok=")
	t, err := switchboard.ParseTarget(target)
	if !found || err != nil || (ok != "true" && ok != "false") {
		return render.Escape(truncate(detail, 160))
	}
	outcome := "succeeded"
	if ok == "false" {
		outcome = "failed"
	}
	return render.TargetLabel(switchboard.Operation{}, t, false) + " " + outcome
}

// typedText shows a command's text as Slack sent it: its mentions as
// mentions, without their labels, and the rest as typed, escaped once (Slack
// sends the &, < and > people type as entities; a typed "<@U…>" is text, not
// a mention).
func typedText(s string) string {
	var b strings.Builder
	for {
		loc := rawMention.FindStringSubmatchIndex(s)
		if loc == nil {
			b.WriteString(render.Escape(unescapeSlack(s)))
			return b.String()
		}
		b.WriteString(render.Escape(unescapeSlack(s[:loc[0]])))
		b.WriteString("<@" + s[loc[2]:loc[3]] + ">")
		s = s[loc[1]:]
	}
}

var (
	// rawMention matches a user mention in the text Slack sent, with or without its label.
	rawMention = regexp.MustCompile(`<@([UW][A-Z0-9]{2,})(?:\|[^<>]*)?>`)
	// escapedMention matches a user mention, with or without its label, once escaped.
	escapedMention = regexp.MustCompile(`&lt;@([UW][A-Z0-9]{2,})(?:\|[^&<>]*)?&gt;`)
	// ruleUserID matches a user id a permission rule names ("member as U0123ABCD").
	ruleUserID = regexp.MustCompile(`\b([UW][A-Z0-9]{8,})\b`)
)
