package commands

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/switchboard-bot/switchboard"
	"github.com/switchboard-bot/switchboard/permissions"
	"github.com/switchboard-bot/switchboard/schedule"
	"github.com/switchboard-bot/switchboard/state"
)

// whois finds a person's own numbers and time zone.
type whois struct {
	directory Directory // nil: nobody's numbers are known
	zones     People    // nil: Europe/Brussels for all
	policy    *permissions.Policy
	log       *slog.Logger
}

// myMobile finds the requester's own mobile number in the directory; when
// it cannot, the reply says why.
func (w *whois) myMobile(ctx context.Context, c *command) (fmuTarget, Reply, bool) {
	mine, reply, ok := w.ownNumbers(ctx, c.UserID)
	if !ok {
		return fmuTarget{}, reply, false
	}
	if mine.Mobile == "" {
		return fmuTarget{}, textReply(w.noNumberHint(c.UserID, "mobile", "mobile=0470 12 34 56")), false
	}
	return fmuTarget{digits: mine.Mobile}, Reply{}, true
}

// ownNumbers finds the requester's numbers in the directory (none when it
// has no entry). When the directory cannot be read, the reply says so.
func (w *whois) ownNumbers(ctx context.Context, userID string) (switchboard.Entry, Reply, bool) {
	if w.directory == nil {
		return switchboard.Entry{}, Reply{}, true
	}
	e, _, _, err := w.directory.Lookup(ctx, userID)
	if err != nil {
		ref := state.NewHex(4)
		w.log.Error("directory lookup", "err", err, "ref", ref, "user", userID)
		return switchboard.Entry{}, textReply(fmt.Sprintf(":hourglass: I could not look up your numbers in the directory just now, so I did nothing. Please try again in a minute. (ref `%s`)", ref)), false
	}
	return e, Reply{}, true
}

// noNumberHint tells user how to get their number into the directory, with
// the command an admin types for them.
func (w *whois) noNumberHint(user, kind, example string) string {
	s := fmt.Sprintf(":warning: I don't know your %s number. Ask someone who holds `directory.admin` to link it: `/fmu link <@%s> %s`.", kind, user, example)
	if w.policy != nil && w.policy.TrustProfilePhone() {
		s += " Or put it in the phone field of your Slack profile."
	}
	return s
}

// zone returns a person's time zone, Europe/Brussels when Slack gives none;
// fallback says so. When Slack cannot be asked, err says so and loc is the
// default: good enough to show times, not to store a schedule by.
func (w *whois) zone(ctx context.Context, user string) (loc *time.Location, fallback bool, err error) {
	var name string
	if w.zones != nil {
		if name, err = w.zones.TimeZone(ctx, user); err != nil {
			w.log.Warn("read time zone", "err", err, "user", user)
		}
	}
	loc, fallback = schedule.Location(name)
	return loc, fallback, err
}

// lookup reads a person's numbers from the directory, if there is one.
func (w *whois) lookup(ctx context.Context, user string) (e switchboard.Entry, source string, ok bool, err error) {
	if w.directory == nil {
		return switchboard.Entry{}, "", false, nil
	}
	return w.directory.Lookup(ctx, user)
}

func (w *whois) directoryDown(err error) Reply {
	ref := state.NewHex(4)
	w.log.Error("directory", "err", err, "ref", ref)
	return storeDown(ref)
}
