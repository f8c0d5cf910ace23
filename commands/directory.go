package commands

import (
	"context"
	"fmt"

	"github.com/switchboard-bot/switchboard"
	"github.com/switchboard-bot/switchboard/permissions"
	"github.com/switchboard-bot/switchboard/phone"
	"github.com/switchboard-bot/switchboard/render"
)

// directoryCommand answers /fmu link and /fmu unlink: the directory's own
// entries, over the policy file's and the Slack profiles' numbers.
type directoryCommand struct {
	gate      *gate
	who       *whois
	directory Directory
	overrides DirectoryOverrides
}

// DirectoryOverrides keeps the entries /fmu link sets over the policy
// file's.
type DirectoryOverrides interface {
	SetDirectoryEntry(ctx context.Context, userID string, e switchboard.Entry) error
	DeleteDirectoryEntry(ctx context.Context, userID string) error
}

// The user directory says which mobile and fixed number belong to whom:
// /fmu uses the mobile, /call the fixed one. The policy file holds a
// directory; holders of directory.admin override a person's entry, as a
// whole, with /fmu link (stored in Redis) and remove the override with
// /fmu unlink. They live under /fmu because the Slack app has four
// commands.

const linkExample = "`/fmu link @alice mobile=0470 12 34 56 fixed=02 816 02 57`"

// link sets a person's numbers: /fmu link @person mobile=… fixed=….
// A number left out keeps its current value; "none" removes it.
func (dc *directoryCommand) link(ctx context.Context, c *command, args []token) Reply {
	pos, opts, uerr := numberOptions(fmuUsage, args, "mobile", "fixed")
	if uerr != nil {
		return usageReply(uerr)
	}
	user, uerr := onePerson(pos, "link")
	if uerr != nil {
		return usageReply(uerr)
	}
	if len(opts) == 0 {
		return usageReply(usageErr(fmuUsage, "`/fmu link` needs `mobile=` and/or `fixed=`, e.g. %s (`mobile=none` removes a number).", linkExample))
	}
	if o, ok := opts["mobile"]; ok && !o.none && o.num.Kind != phone.Mobile {
		return usageReply(usageErr(fmuUsage, "`%s`: %s is a %s number, not a mobile one.", o.text, o.num.International(), o.num.Kind))
	}
	if o, ok := opts["fixed"]; ok && !o.none && o.num.Kind != phone.Fixed {
		return usageReply(usageErr(fmuUsage, "`%s`: %s is a %s number, not a fixed line.", o.text, o.num.International(), o.num.Kind))
	}
	if reply, ok := dc.gate.allow(ctx, c, switchboard.PermDirectoryAdmin); !ok {
		return reply
	}
	store := dc.overrides
	var entry switchboard.Entry
	var had string // the source of the entry kept, "" when there is none
	if dc.directory != nil {
		cur, source, found, err := dc.directory.Lookup(ctx, user)
		if err != nil {
			return dc.who.directoryDown(err)
		}
		// A profile phone is the person's own claim, not an entry to keep.
		if found && source != permissions.SourceProfile {
			entry, had = cur, source
		}
	}
	for key, field := range map[string]*string{"mobile": &entry.Mobile, "fixed": &entry.Fixed} {
		if o, ok := opts[key]; ok {
			*field = ""
			if !o.none {
				*field = o.num.Digits
			}
		}
	}
	if err := store.SetDirectoryEntry(ctx, user, entry); err != nil {
		return dc.who.directoryDown(err)
	}
	dc.gate.audit(ctx, switchboard.AuditEntry{UserID: c.UserID, Command: switchboard.PermDirectoryAdmin, Decision: "directory entry set",
		Detail: fmt.Sprintf("<@%s>: mobile %s, fixed %s", user, directoryNumber(entry.Mobile, true), directoryNumber(entry.Fixed, true))})
	return textReply(fmt.Sprintf(":white_check_mark: <@%s> now has mobile %s and fixed %s in the directory. %s",
		user, directoryNumber(entry.Mobile, false), directoryNumber(entry.Fixed, false), linkEffect(had)))
}

// linkEffect says what /fmu link did to the entry that came from source
// ("" when the person had none) and what /fmu unlink will do.
func linkEffect(source string) string {
	switch source {
	case permissions.SourcePolicy:
		return "This replaces their entry in the policy file; `/fmu unlink` goes back to it."
	case permissions.SourceAdmin:
		return "This replaces the numbers linked before; `/fmu unlink` removes the link."
	}
	return "This adds an entry for them; `/fmu unlink` removes it."
}

// unlink removes the entry set with /fmu link, so that the policy
// file's entry, if any, applies again.
func (dc *directoryCommand) unlink(ctx context.Context, c *command, args []token) Reply {
	pos, _, err := options(fmuUsage, args)
	if err != nil {
		return usageReply(err)
	}
	user, uerr := onePerson(pos, "unlink")
	if uerr != nil {
		return usageReply(uerr)
	}
	if reply, ok := dc.gate.allow(ctx, c, switchboard.PermDirectoryAdmin); !ok {
		return reply
	}
	store := dc.overrides
	if err := store.DeleteDirectoryEntry(ctx, user); err != nil {
		return dc.who.directoryDown(err)
	}
	dc.gate.audit(ctx, switchboard.AuditEntry{UserID: c.UserID, Command: switchboard.PermDirectoryAdmin, Decision: "directory entry removed", Detail: "<@" + user + ">"})
	now := "They have no numbers in the directory now."
	if dc.directory != nil {
		if e, source, found, err := dc.directory.Lookup(ctx, user); err == nil && found {
			now = fmt.Sprintf("From the %s they now have mobile %s and fixed %s.", source, directoryNumber(e.Mobile, false), directoryNumber(e.Fixed, false))
		}
	}
	return textReply(fmt.Sprintf(":white_check_mark: Removed the numbers linked to <@%s>. %s", user, now))
}

// onePerson reads the single @person a directory command is about.
func onePerson(pos []token, sub string) (string, *UsageError) {
	switch {
	case len(pos) == 1 && pos[0].user != "":
		return pos[0].user, nil
	case len(pos) == 1:
		return "", usageErr(fmuUsage, "`%s` is not a person: type @ and pick them, e.g. %s.", pos[0].text, linkExample)
	case len(pos) == 0:
		return "", usageErr(fmuUsage, "`/fmu %s` needs the @person it is about, e.g. %s.", sub, linkExample)
	}
	return "", usageErr(fmuUsage, "`/fmu %s` takes one @person at a time; `%s` is one too many.", sub, pos[1].text)
}

func directoryNumber(digits string, mask bool) string {
	if digits == "" {
		return "none"
	}
	return render.NumberLabel(digits, mask)
}
