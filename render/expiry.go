package render

import (
	"fmt"
	"strings"

	"github.com/switchboard-bot/switchboard"
	"github.com/switchboard-bot/switchboard/csvfile"
)

// maxNamed is how many unanswered targets an expiry notice lists by name.
const maxNamed = 50

// ExpiryPosts are the messages that close an expired operation: the names
// of the targets that never answered, in its thread (and in notifyChannel
// when set), and its parent's final state; for a workflow step, the step's
// failure too. An operation that waited for a step's confirmation has no
// thread yet: its step fails, saying nobody confirmed.
func ExpiryPosts(op switchboard.Operation, results []switchboard.Result, notifyChannel string, mask bool) []switchboard.Outgoing {
	exec := op.Params.Step
	if op.Status == switchboard.StatusPending {
		return []switchboard.Outgoing{StepFailure(exec, op.ID, fmt.Sprintf("%s did not confirm or cancel %s in time, so nothing was changed.", StepPerson, lowerFirst(op.Params.Title)))}
	}
	text := ExpiryText(op, results, mask)
	msgs := []switchboard.Outgoing{
		{Kind: KindPost, Channel: op.ChannelID, ThreadTS: op.ThreadTS, Text: text, OperationID: op.ID},
		{Kind: KindProgress, Channel: op.ChannelID, TS: op.ThreadTS, OperationID: op.ID},
	}
	if hasReport(op) {
		// The report lists every card, those without an answer included.
		msgs = append(msgs, switchboard.Outgoing{Kind: KindReport, Channel: op.ChannelID, ThreadTS: op.ThreadTS, OperationID: op.ID})
	} else if missing, others := unanswered(op, results); len(missing) > maxNamed && others == 0 && switchboard.CommandOf(op.Kind) != switchboard.CommandCall {
		msgs = append(msgs, switchboard.Outgoing{Kind: KindFile, Channel: op.ChannelID, ThreadTS: op.ThreadTS, OperationID: op.ID,
			Text: unansweredFile(op, missing, mask)})
	}
	if notifyChannel != "" {
		msgs = append(msgs, switchboard.Outgoing{Kind: KindPost, Channel: notifyChannel, OperationID: op.ID,
			Text: fmt.Sprintf("%s — %s, requested by <@%s>", text, op.Params.Title, op.UserID)})
	}
	if exec != "" {
		msgs = append(msgs, StepFailure(exec, op.ID, strings.TrimPrefix(text, ":hourglass: ")))
	}
	return msgs
}

// lowerFirst turns a title ("Deactivate 2 SIM cards") into words for the
// middle of a sentence.
func lowerFirst(s string) string {
	if s == "" {
		return "the request"
	}
	return strings.ToLower(s[:1]) + s[1:]
}

// ExpiryText says which of an operation's targets never answered. Past
// maxNamed it says how many it left out; ExpiryPosts attaches them all.
func ExpiryText(op switchboard.Operation, results []switchboard.Result, mask bool) string {
	if switchboard.CommandOf(op.Kind) == switchboard.CommandCall {
		return ":hourglass: EnCo sent no call record for this call, so its outcome is unknown. `/call cdr` lists the calls EnCo has recorded."
	}
	missing, othersNamed := unanswered(op, results)
	count := len(op.Targets) - len(results)
	if len(missing) == 0 || count <= 0 {
		return fmt.Sprintf(":hourglass: The request expired before EnCo confirmed it was complete (%d of %d answered).", len(results), len(op.Targets))
	}
	if why := UnnamedNumbers(op); othersNamed > 0 && why != "" {
		// A change of numbers sent in batches: the answers name ICCIDs,
		// and its thread names failures only.
		text := fmt.Sprintf(":hourglass: No answer from EnCo for %d of %d cards before the request expired. %s The %d without an answer therefore cannot be named", count, len(op.Targets), why, count)
		if hasReport(op) {
			return text + fmt.Sprintf("; the report file attached below lists the %d that answered.", len(results))
		}
		return text + "."
	}
	if othersNamed > 0 {
		// Some answers named the card otherwise than the request did, so the
		// targets without an answer under their own name include some that
		// did answer: naming them would be wrong.
		return fmt.Sprintf(":hourglass: No answer from EnCo for %d of %d before the request expired. EnCo named the cards that answered by another identifier than the one you gave, so the replies above show which answered.", count, len(op.Targets))
	}
	names := make([]string, 0, min(len(missing), maxNamed))
	for _, t := range missing[:min(len(missing), maxNamed)] {
		names = append(names, TargetLabel(op, t, mask))
	}
	text := fmt.Sprintf(":hourglass: No answer from EnCo for %d of %d before the request expired: %s", len(missing), len(op.Targets), strings.Join(names, ", "))
	if len(missing) > maxNamed {
		return text + fmt.Sprintf(" … %d more not shown (%d of %d named); all %d are in the file attached to the request's thread.", len(missing)-maxNamed, maxNamed, len(missing), len(missing))
	}
	return text + "."
}

// unanswered lists the targets of op that have no result under their own
// name, in op's order, and counts the results kept under a name that is none
// of the targets (an ICCID where the request gave a number): when there are
// such results, missing also holds targets that did answer.
func unanswered(op switchboard.Operation, results []switchboard.Result) (missing []switchboard.Target, othersNamed int) {
	isTarget := make(map[string]bool, len(op.Targets))
	for _, t := range op.Targets {
		isTarget[t.String()] = true
	}
	answered := make(map[string]bool, len(results))
	for _, r := range results {
		answered[r.Target] = true
		if !isTarget[r.Target] {
			othersNamed++
		}
	}
	for _, t := range op.Targets {
		if !answered[t.String()] {
			missing = append(missing, t)
		}
	}
	return missing, othersNamed
}

// unansweredFile is the CSV file of the targets that never answered, one a
// line, masked as the thread's posts are.
func unansweredFile(op switchboard.Operation, missing []switchboard.Target, mask bool) string {
	rows := make([][]string, 0, len(missing))
	for _, t := range missing {
		rows = append(rows, []string{TargetLabel(op, t, mask)})
	}
	return string(csvfile.Bytes([]string{"target"}, rows))
}
