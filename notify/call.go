package notify

import (
	"net/http"
	"time"

	"github.com/switchboard-bot/switchboard"
	"github.com/switchboard-bot/switchboard/enco"
	"github.com/switchboard-bot/switchboard/render"
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
	result := switchboard.Result{Target: target, OK: cdr.Answered(), Detail: render.CallResultText(op, cdr, rc.MaskNumbers), At: time.Now()}
	if err := rc.record(r.Context(), op, result); err != nil {
		return 0, op.ID, err
	}
	return http.StatusOK, op.ID, nil
}
