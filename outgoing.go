package switchboard

import "encoding/json"

// Outgoing is a Slack message waiting to be delivered. The queue is a Redis
// stream with one consumer group: each message goes to one replica's sender,
// which acknowledges it only after Slack accepted it; a message whose sender
// died is reclaimed by another after a while. Delivery is therefore at least
// once; DedupeKey lets the sender make it at most once as well.
type Outgoing struct {
	ID          string          // stream id, set by Enqueue and Claim
	Kind        string          // what the sender does with it, e.g. "post", "update", "ephemeral", "response"
	Channel     string          // channel id
	User        string          // the user an ephemeral message is for
	ThreadTS    string          // post into this thread
	TS          string          // the message an update replaces
	Text        string          // text, or fallback text when Blocks are set
	Blocks      json.RawMessage // Block Kit blocks, a JSON array
	ResponseURL string          // where a response goes
	OperationID string          // the operation this message reports on, if any
	DedupeKey   string          // names the message for the sender's own once-only check, e.g. with FirstSeen
	Attempts    int64           // deliveries so far, counting this one; set by Claim
}
