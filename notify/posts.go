package notify

import (
	"fmt"

	"github.com/switchboard-bot/switchboard"
	"github.com/switchboard-bot/switchboard/state"
)

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
func ResultPosts(op switchboard.Operation, result state.Result, rules PostRules) state.Effects {
	reply := !rules.bulk(op) || !result.OK
	// One result needs no summary: its reply and the parent say it all.
	posts := ThreadPosts(op, result, reply, max(op.Expected, len(op.Targets)) > 1)
	if rules.NotifyChannel == "" {
		return posts
	}
	if reply {
		posts.Each = append(posts.Each, state.Outgoing{Kind: KindPost, Channel: rules.NotifyChannel, OperationID: op.ID,
			Text: fmt.Sprintf("%s — %s, requested by <@%s>", result.Detail, op.Params.Title, op.UserID)})
	}
	if rules.bulk(op) {
		posts.Last = append(posts.Last, state.Outgoing{Kind: KindSummary, Channel: rules.NotifyChannel, OperationID: op.ID})
	}
	return posts
}

// ThreadPosts are the messages one new result of op causes in its own
// thread: the reply (when reply is set), the parent's progress, and, queued
// only with the last result, the summary (when summary is set) and the
// completion of the workflow step that started op, if one did.
func ThreadPosts(op switchboard.Operation, result state.Result, reply, summary bool) state.Effects {
	var posts state.Effects
	if reply {
		posts.Each = append(posts.Each, state.Outgoing{Kind: KindPost, Channel: op.ChannelID, ThreadTS: op.ThreadTS, Text: result.Detail, OperationID: op.ID})
	}
	posts.Progress = &state.Outgoing{Kind: KindProgress, Channel: op.ChannelID, TS: op.ThreadTS, OperationID: op.ID}
	if summary {
		posts.Last = []state.Outgoing{{Kind: KindSummary, Channel: op.ChannelID, ThreadTS: op.ThreadTS, OperationID: op.ID}}
	}
	// A workflow step ends once every result is in.
	if step := stepCompletion(op); step != nil {
		posts.Last = append(posts.Last, *step)
	}
	return posts
}
