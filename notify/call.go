package notify

import (
	"cmp"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/switchboard-bot/switchboard"
	"github.com/switchboard-bot/switchboard/enco"
	"github.com/switchboard-bot/switchboard/state"
)

// handleCall takes the CDR EnCo posts when a call ends. The URL ends with
// the call's callback token; the CDR must name the call's session once that
// is known.
func (rc *Receiver) handleCall(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	status, opID, err := rc.call(w, r)
	rc.finish(w, "call", start, status, err, "operation", opID)
}

func (rc *Receiver) call(w http.ResponseWriter, r *http.Request) (int, string, error) {
	op, err := rc.authenticate(r.Context(), r.PathValue("token"), switchboard.CommandCall)
	if err != nil {
		return 0, op.ID, err
	}
	body, err := readBody(w, r)
	if err != nil {
		return 0, op.ID, err
	}
	cdr, err := enco.DecodeCDR(body)
	if err != nil {
		return 0, op.ID, refuse(http.StatusBadRequest, "malformed CDR: %v", err)
	}
	// The token is the call's own, so a CDR that arrives before PlaceCall
	// returned (no session stored yet) is this call's too.
	if s := op.Params.Session; s != "" && !constantTimeEqual(s, cdr.SessionID) {
		return 0, op.ID, refuse(http.StatusNotFound, "session id is not this call's")
	}
	target := "call"
	if len(op.Targets) > 0 {
		target = op.Targets[0].String()
	}
	result := state.Result{Target: target, OK: cdr.Answered(), Detail: CallResultText(op, cdr, rc.MaskNumbers), At: time.Now()}
	if err := rc.record(r.Context(), op, result); err != nil {
		return 0, op.ID, err
	}
	return http.StatusOK, op.ID, nil
}

// CallResultText tells how a call went: answered or not, for how long, and
// why it ended, in words.
func CallResultText(op switchboard.Operation, cdr enco.CDR, mask bool) string {
	dest := NumberLabel(cdr.Destination, mask)
	if len(op.Targets) > 0 {
		dest = TargetLabel(op, op.Targets[0], mask)
	}
	reason, session := Escape(cdr.ReleaseReason()), Escape(cdr.SessionID)
	if cdr.Answered() {
		return fmt.Sprintf(":telephone_receiver: Call to %s answered — %s, ended with %s. (session %s)", dest, CallDuration(cdr.CallDuration), reason, session)
	}
	if strings.HasPrefix(strings.ToLower(cdr.CallReleaseInfo), "leg1") {
		origin := NumberLabel(cmp.Or(op.Params.Origin, cdr.Origin), mask)
		return fmt.Sprintf(":x: Call to %s not made: the first phone, %s, was not reached (%s). (session %s)", dest, origin, reason, session)
	}
	return fmt.Sprintf(":x: Call to %s not answered: %s. (session %s)", dest, reason, session)
}

// CallDuration says a call's length in seconds in words: "42 s", "1 min 35 s", "1 h 2 min".
func CallDuration(seconds int) string {
	d := time.Duration(max(seconds, 0)) * time.Second
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%d s", seconds)
	case d < time.Hour:
		return fmt.Sprintf("%d min %d s", int(d/time.Minute), int(d%time.Minute/time.Second))
	}
	return fmt.Sprintf("%d h %d min", int(d/time.Hour), int(d%time.Hour/time.Minute))
}
