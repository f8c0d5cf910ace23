package switchboard

// Sending is what a callback needs to know of a change sent in batches
// (one M2M request per batch, each with its own tracking number): the
// batch of the callback's tracking number, and whether every batch is sent.
type Sending struct {
	Batch   int  // the batch of the tracking number asked about
	Known   bool // whether that tracking number is one of the change's
	AllSent bool // whether every batch is sent (no tracking number will be added)
}
