package commands

import (
	"errors"
	"fmt"
	"time"

	"github.com/switchboard-bot/switchboard/enco"
)

// voiceOff is what /call answers when an operator switched it off
// (ENCO_VOICE=off).
const voiceOff = ":no_entry: `/call` is switched off here: this installation does not use EnCo's Voice Call-out API (EnCo labels it retired), so call-outs cannot be placed or listed. An operator turns it back on by removing `ENCO_VOICE=off`."

// encoAPIName names an EnCo API for people, as EnCo's documentation does.
func encoAPIName(api string) string {
	switch api {
	case enco.APIFMU:
		return "Fixed Mobile Unification (FMU) API"
	case enco.APIM2M:
		return "M2M SIM API"
	case enco.APIVoice:
		return "Voice Call-out API"
	case enco.APINumbers:
		return "FlexIO Number Management API"
	}
	return "API"
}

// encoRefusal words the refusals that need their own words: a retired
// voice API, a refused subscription or key, and throttling. It names no
// HTTP detail (the log has it under ref). ok is false for any other error.
func encoRefusal(err error, ref string) (text string, ok bool) {
	var ee *enco.Error
	if !errors.As(err, &ee) {
		return "", false
	}
	switch {
	case errors.Is(err, enco.ErrAPIRetired):
		return fmt.Sprintf("EnCo's %s is not available for this account: EnCo has retired it, so call-outs cannot be placed or listed. An operator can switch `/call` off with `ENCO_VOICE=off`. (ref `%s`)", encoAPIName(ee.API), ref), true
	case errors.Is(err, enco.ErrAccessDenied):
		return fmt.Sprintf("EnCo refused the bot access to its %s, so nothing was done. An operator must check the bot's EnCo credentials and the account's subscription to that API; trying again will not help until then. (ref `%s`)", encoAPIName(ee.API), ref), true
	case errors.Is(err, enco.ErrThrottled):
		return fmt.Sprintf("EnCo is busy and asked the bot to slow down, so nothing was done. %s (ref `%s`)", tryAgainIn(ee.RetryAfter), ref), true
	}
	return "", false
}

// tryAgainIn says when to try again after EnCo's Retry-After (0: it gave
// none).
func tryAgainIn(d time.Duration) string {
	switch {
	case d <= 0:
		return "Try again in a minute."
	case d < time.Minute:
		return fmt.Sprintf("Try again in %d seconds.", int((d+time.Second-1)/time.Second))
	case d < 2*time.Minute:
		return "Try again in a minute."
	case d < time.Hour:
		return fmt.Sprintf("Try again in %d minutes.", int((d+time.Minute-1)/time.Minute))
	}
	return fmt.Sprintf("Try again after %s UTC.", time.Now().Add(d).UTC().Format("15:04"))
}

// lastingRefusal returns the class of err when it is one that every
// further call of a command would meet too (refused credentials or access,
// throttling), so that the command stops at the first; nil otherwise.
func lastingRefusal(err error) error {
	for _, class := range []error{enco.ErrCredentialsRefused, enco.ErrAccessDenied, enco.ErrThrottled} {
		if errors.Is(err, class) {
			return class
		}
	}
	return nil
}
