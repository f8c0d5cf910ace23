package notify

import (
	"context"
	"net/http"
	"time"

	"github.com/switchboard-bot/switchboard"
	"github.com/switchboard-bot/switchboard/enco"
	"github.com/switchboard-bot/switchboard/phone"
	"github.com/switchboard-bot/switchboard/render"
)

// handleFMU takes the results of an asynchronous FMU request. The URL ends
// with the operation's callback token, which is the only credential EnCo
// sends back; each result names its number, which must be one the operation
// asked about.
func (rc *Receiver) handleFMU(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	status, opID, err := rc.fmu(w, r)
	rc.finish(w, "fmu", start, status, err, "operation", opID)
}

func (rc *Receiver) fmu(w http.ResponseWriter, r *http.Request) (int, string, error) {
	ctx := r.Context()
	op, err := rc.authenticate(ctx, r.PathValue("token"), switchboard.CommandFMU)
	if err != nil {
		return 0, op.ID, err
	}
	body, err := readBody(w, r)
	if err != nil {
		return 0, op.ID, err
	}
	results, err := enco.DecodeFMUResults(body)
	if err != nil {
		return 0, op.ID, refuse(http.StatusBadRequest, "malformed FMU results: %v", err)
	}
	recorded, err := rc.recordFMU(ctx, op, results)
	if err != nil {
		return 0, op.ID, err
	}
	if recorded == 0 {
		return 0, op.ID, refuse(http.StatusBadRequest, "none of the %d results is about a number of this operation", len(results))
	}
	return http.StatusOK, op.ID, nil
}

// RecordFMUResults records results of an FMU operation that EnCo gave in
// its reply to the request, where a callback was expected, exactly as if
// they had come through the callback (a later callback with the same
// results then changes nothing). It returns how many were about numbers of
// the operation.
func (rc *Receiver) RecordFMUResults(ctx context.Context, op switchboard.Operation, results []enco.FMUResult) (int, error) {
	return rc.recordFMU(ctx, op, results)
}

func (rc *Receiver) recordFMU(ctx context.Context, op switchboard.Operation, results []enco.FMUResult) (int, error) {
	targets := make(map[switchboard.Target]bool, len(op.Targets))
	for _, t := range op.Targets {
		targets[t] = true
	}
	recorded := 0
	for _, res := range results {
		target := switchboard.Number(phone.Digits(res.MSISDN))
		if !targets[target] {
			rc.log().Warn("FMU result for a number the operation did not ask about; ignored", "operation", op.ID)
			continue
		}
		if err := rc.record(ctx, op, render.FMUResult(op, res, target, rc.MaskNumbers)); err != nil {
			return recorded, err
		}
		recorded++
	}
	return recorded, nil
}
