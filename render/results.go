package render

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/switchboard-bot/switchboard"
	"github.com/switchboard-bot/switchboard/enco"
)

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

// FMUResult turns EnCo's answer for one number of an FMU operation into
// the result kept for it under target.
func FMUResult(op switchboard.Operation, res enco.FMUResult, target switchboard.Target, mask bool) switchboard.Result {
	label := TargetLabel(op, target, mask)
	why := Escape(res.Message)
	result := switchboard.Result{Target: target.String(), At: time.Now()}
	if op.Kind == switchboard.KindFMUSet || op.Kind == switchboard.KindFMUSelf {
		want := enco.Profile(op.Params.Profile)
		switch {
		case res.IsError:
		case res.Kind == enco.FMUKindChange:
			result.OK = res.Success
		default: // a reply that reports the profile instead of success
			result.OK = res.Status == want
		}
		if result.OK {
			result.Detail = fmt.Sprintf(":white_check_mark: %s — set to *%s*", label, ProfileLabel(want))
		} else {
			result.Detail = fmt.Sprintf(":x: %s — not changed: %s", label, cmp.Or(strings.TrimSpace(why), "EnCo gave no reason"))
		}
		return result
	}
	result.OK = !res.Failed()
	if result.OK {
		result.Detail = fmt.Sprintf(":white_check_mark: %s — *%s*", label, ProfileLabel(res.Status))
	} else {
		result.Detail = fmt.Sprintf(":x: %s — could not read the profile: %s", label, cmp.Or(strings.TrimSpace(why), "no known profile in EnCo's answer"))
	}
	return result
}

// M2MResult turns the outcome EnCo reports for one card of an M2M
// operation into the result kept for it.
func M2MResult(op switchboard.Operation, res enco.M2MResult, mask bool) switchboard.Result {
	target, label := m2mTarget(op, res.Device, mask)
	action := Escape(op.Params.Action)
	var text string
	if res.Succeeded() {
		text = fmt.Sprintf(":white_check_mark: %s — %s done", label, action)
	} else {
		why := strings.Join(res.Messages, "; ")
		if why == "" {
			why = "no reason given"
		}
		text = fmt.Sprintf(":x: %s — %s %s: %s", label, action, failedWords(Escape(res.ResultStatus)), Escape(why))
	}
	return switchboard.Result{Target: target, OK: res.Succeeded(), Detail: text, At: time.Now(), Message: strings.Join(res.Messages, "; ")}
}

// m2mTarget returns the name a result of an M2M callback is kept under and
// how to show it. EnCo names the card as it chooses (often by ICCID when the
// request gave its phone number), and the result is kept under that name, so
// that a repeated callback is a duplicate and another card counts as one
// more. When that name says nothing of which target it was, the label adds
// the target if there is only one: "+32 470 … (ICCID …)".
func m2mTarget(op switchboard.Operation, d enco.Device, mask bool) (target, label string) {
	named := d.Target()
	switch {
	case slices.Contains(op.Targets, named):
		return named.String(), TargetLabel(op, named, mask)
	case len(op.Targets) == 1 && op.Targets[0].Type != named.Type:
		return named.String(), fmt.Sprintf("%s (%s)", TargetLabel(op, op.Targets[0], mask), DeviceLabel(d, mask))
	}
	return named.String(), DeviceLabel(d, mask)
}

// failedWords says that a change failed, with EnCo's status word when it
// adds something: "failed (Rejected)", but "failed", not "failed (Failed)".
func failedWords(status string) string {
	switch strings.ToLower(strings.TrimSpace(status)) {
	case "", "failed", "failure", "fail", "error":
		return "failed"
	}
	return "failed (" + status + ")"
}
