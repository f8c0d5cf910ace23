package render

import (
	"fmt"
	"slices"

	"github.com/switchboard-bot/switchboard"
)

// Kinds of queued Slack messages (slackpost.Deliverer delivers them).
const (
	// KindPost posts Text (in ThreadTS's thread when set) in Channel.
	KindPost = "post"
	// KindProgress re-renders the parent message (Channel, TS) of OperationID
	// from the results stored at the time it is delivered, so a burst of
	// progress entries for one operation costs few chat.update calls.
	KindProgress = "progress"
	// KindSummary posts the closing summary of OperationID, rendered from the
	// results stored when it is delivered: in the operation's thread, or at
	// the top of Channel when that is another channel (a notification
	// channel).
	KindSummary = "summary"
	// KindFile attaches Text as a CSV file (in ThreadTS's thread when set)
	// in Channel: the whole of a list a post of OperationID had to cut.
	KindFile = "file"
	// KindReport attaches the CSV file of every card of OperationID, a
	// change sent in batches, made from the results stored when it is
	// delivered, in its thread (in Channel, ThreadTS).
	KindReport = "report"
)

// hasReport reports whether op ends with the report file of every card: a
// change sent in batches with more cards than DefaultBulkThreshold.
func hasReport(op switchboard.Operation) bool {
	return op.Params.Batch > 0 && max(op.Expected, len(op.Targets)) > DefaultBulkThreshold
}

// MaxFailureReplies is how many failures of a change sent in batches are
// named in its thread; the summary counts the others, and the report file
// names them all.
const MaxFailureReplies = 20

// KindStep completes the Workflow Builder step execution named by DedupeKey:
// functions.completeError with Text when Text is set, else
// functions.completeSuccess with the outputs of OperationID, read when it is
// delivered.
const KindStep = "step"

// StepFailure is the queued entry that ends a step execution with an error.
// opID may be "" (the step was refused before any operation existed). The
// message may be mrkdwn: Workflow Builder gets it as plain text (see
// StepErrorText).
func StepFailure(executionID, opID, message string) switchboard.Outgoing {
	return switchboard.Outgoing{Kind: KindStep, DedupeKey: executionID, OperationID: opID, Text: StepErrorText(message)}
}

// stepCompletion is the queued entry that ends op's step execution with its
// outputs, or nil when no workflow step started op.
func stepCompletion(op switchboard.Operation) *switchboard.Outgoing {
	exec := op.Params.Step
	if exec == "" {
		return nil
	}
	return &switchboard.Outgoing{Kind: KindStep, DedupeKey: exec, OperationID: op.ID}
}

// DefaultBulkThreshold is the number of targets above which an operation is
// bulk (see PostRules.BulkThreshold).
const DefaultBulkThreshold = 20

// PostRules decide which Slack messages a new result causes.
type PostRules struct {
	// NotifyChannel, when set, also receives the results (NOTIFY_CHANNEL).
	NotifyChannel string
	// BulkThreshold: a change with more targets than this is bulk. Its
	// successful results get no thread reply (nor a copy in NotifyChannel) of
	// their own: the parent message shows the progress, failures are replied
	// to one by one, and the closing summary gives the counts (also in
	// NotifyChannel). Reads (operation kinds ending in ".read", such as an
	// FMU status read of many numbers) are never bulk: each of their results
	// is what was asked for. 0 means DefaultBulkThreshold; a negative value
	// turns bulk handling off.
	BulkThreshold int
}

func (pr PostRules) bulk(op switchboard.Operation) bool {
	threshold := pr.BulkThreshold
	switch {
	case threshold < 0, switchboard.IsRead(op.Kind):
		return false
	case threshold == 0:
		threshold = DefaultBulkThreshold
	}
	return max(op.Expected, len(op.Targets)) > threshold
}

// ResultPosts returns the messages to queue, in the same step as the result
// is stored (state.Store.RecordResult), for one new result of op: the reply
// in the thread, the parent's progress, the copy for the notification
// channel and, queued only with the last result of an operation with more
// than one target, the summary.
func ResultPosts(op switchboard.Operation, result switchboard.Result, rules PostRules) switchboard.Effects {
	reply := !rules.bulk(op) || !result.OK
	// One result needs no summary: its reply and the parent say it all.
	posts := ThreadPosts(op, result, reply, max(op.Expected, len(op.Targets)) > 1)
	if op.Params.Batch > 0 && rules.bulk(op) {
		posts.EachUpTo = MaxFailureReplies
	}
	if rules.NotifyChannel == "" {
		return posts
	}
	if reply {
		posts.Each = append(posts.Each, switchboard.Outgoing{Kind: KindPost, Channel: rules.NotifyChannel, OperationID: op.ID,
			Text: fmt.Sprintf("%s — %s, requested by <@%s>", result.Detail, op.Params.Title, op.UserID)})
	}
	if rules.bulk(op) {
		posts.Last = append(posts.Last, switchboard.Outgoing{Kind: KindSummary, Channel: rules.NotifyChannel, OperationID: op.ID})
	}
	return posts
}

// ThreadPosts are the messages one new result of op causes in its own
// thread: the reply (when reply is set), the parent's progress, and, queued
// only with the last result, the summary (when summary is set) and the
// completion of the workflow step that started op, if one did.
func ThreadPosts(op switchboard.Operation, result switchboard.Result, reply, summary bool) switchboard.Effects {
	var posts switchboard.Effects
	if reply {
		posts.Each = append(posts.Each, switchboard.Outgoing{Kind: KindPost, Channel: op.ChannelID, ThreadTS: op.ThreadTS, Text: result.Detail, OperationID: op.ID})
	}
	posts.Progress = &switchboard.Outgoing{Kind: KindProgress, Channel: op.ChannelID, TS: op.ThreadTS, OperationID: op.ID}
	if summary {
		posts.Last = []switchboard.Outgoing{{Kind: KindSummary, Channel: op.ChannelID, ThreadTS: op.ThreadTS, OperationID: op.ID}}
		if hasReport(op) {
			posts.Last = append(posts.Last, switchboard.Outgoing{Kind: KindReport, Channel: op.ChannelID, ThreadTS: op.ThreadTS, OperationID: op.ID})
		}
	}
	// A workflow step ends once every result is in.
	if step := stepCompletion(op); step != nil {
		posts.Last = append(posts.Last, *step)
	}
	return posts
}

// SummaryText closes an operation's thread: how many of its targets
// succeeded and failed.
func SummaryText(op switchboard.Operation, p switchboard.Progress) string {
	title := op.Params.Title
	var text string
	switch {
	case p.Failed == 0:
		text = fmt.Sprintf(":tada: Finished: %s — all %d succeeded.", title, p.Done)
	case op.Params.Batch > 0 && p.Failed > MaxFailureReplies:
		text = fmt.Sprintf(":warning: Finished: %s — %d succeeded, %d failed: the first %d are named above, …and %d more, see the file.", title, p.Done, p.Failed, MaxFailureReplies, p.Failed-MaxFailureReplies)
	default:
		text = fmt.Sprintf(":warning: Finished: %s — %d succeeded, %d failed (see the replies above).", title, p.Done, p.Failed)
	}
	if why := UnnamedNumbers(op); why != "" {
		text += " " + why
	}
	return text
}

// UnnamedNumbers says, for a change whose results cannot name the cards
// it was given, why: EnCo names cards by ICCID in its callbacks, and its
// documentation offers no way to map a number or an IMSI to its ICCID, so
// when one request carries several such cards, a result names an ICCID
// only. It is "" for a change whose results name what was given (one card
// per request, or cards given by ICCID).
func UnnamedNumbers(op switchboard.Operation) string {
	if op.Params.Batch <= 1 {
		return ""
	}
	numbers := slices.ContainsFunc(op.Targets, switchboard.Target.IsNumber)
	imsis := slices.ContainsFunc(op.Targets, func(t switchboard.Target) bool { return t.Type == switchboard.IMSI })
	var of, not string
	switch {
	case numbers && imsis:
		of, not = "a number or an IMSI", "number or IMSI"
	case numbers:
		of, not = "a number", "number"
	case imsis:
		of, not = "an IMSI", "IMSI"
	default:
		return ""
	}
	return fmt.Sprintf("EnCo names each card by its ICCID in its results, and offers no way to look up the ICCID of %s, so results are listed under the ICCID EnCo gave, not the %s.", of, not)
}

// Unnamed reports whether t is a card a result of op cannot name (see
// UnnamedNumbers).
func Unnamed(op switchboard.Operation, t switchboard.Target) bool {
	return op.Params.Batch > 1 && t.Type != switchboard.ICCID
}
