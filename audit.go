package switchboard

import "time"

// AuditEntry is one line of the audit trail: a permission decision or an
// operation's outcome.
type AuditEntry struct {
	ID          string    // stream id, set when read
	At          time.Time // when it happened; set to now by Audit when zero
	UserID      string
	Command     string // the command as typed, e.g. "/sim deactivate 32470123456"
	Decision    string // e.g. "allow", "deny", "done", "failed"
	Rule        string // the role or rule that decided
	OperationID string
	Detail      string
}
