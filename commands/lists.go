package commands

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/switchboard-bot/switchboard"
	"github.com/switchboard-bot/switchboard/csvfile"
	"github.com/switchboard-bot/switchboard/render"
	"github.com/switchboard-bot/switchboard/slackpost"
)

// lister attaches the whole of a list cut short in an answer, as a file.
type lister struct {
	slack fileUploader
	ops   *operator // to tell the requester when the file cannot be sent
	// dms, when set, opens the requester's direct messages, where the full
	// list of a confirmation goes until it is confirmed.
	dms DirectMessages
	log *slog.Logger
}

// fileUploader attaches a file to a channel.
type fileUploader interface {
	UploadFile(ctx context.Context, channel, threadTS, filename, title string, content []byte) error
}

// fullList is a list too long to show whole in a message. Every answer
// that cuts a list says how many rows it left out and sends the whole list
// as a CSV file through slackpost.Slack's UploadFile: in Slack the file is
// attached to the command's channel (files.uploadV2), in the console it is
// written to disk and its path printed. This is the one way the bot shows
// what did not fit.
type fullList struct {
	// name starts the file name ("sim-status"); the time is appended.
	name string
	// title is the file's title in Slack ("SIM cards, 2026-11-27 12:40 UTC").
	title string
	// header names the columns; rows hold the data, every row included.
	header []string
	rows   [][]string
}

// csv is the list as a CSV file, its cells safe for spreadsheets.
func (l fullList) csv() []byte { return csvfile.Bytes(l.header, l.rows) }

// fileName is the list's file name, stamped with now so that two answers
// do not share one.
func (l fullList) fileName(now time.Time) string {
	return l.name + "-" + now.UTC().Format("20060102T150405Z") + ".csv"
}

// leftOut is the line under a list cut to shown of total rows, before the
// file is known to be sent.
func leftOut(shown, total int) string {
	return fmt.Sprintf("… %d more not shown (%d of %d listed).", total-shown, shown, total)
}

// attachList returns the sentence naming the file that will hold the full
// list of a cut answer, and the work that sends the file. Do that work after
// posting the answer, so that the answer comes first and the file under it;
// if the file cannot be sent, it tells the requester why and how to get it.
// The work is a Slack call, for after the acknowledgement.
func (ls *lister) attachList(c *command, l fullList) (note string, send func(context.Context)) {
	name := l.fileName(time.Now())
	return fmt.Sprintf("The full list is attached to this channel as `%s`.", name), ls.sendList(c, l, name)
}

// attachLater is attachList for an answer given in the acknowledgement,
// before the file's name is worth showing: the sentence only promises the
// file.
func (ls *lister) attachLater(c *command, l fullList) (string, func(context.Context)) {
	return "The full list follows as a CSV file in this channel.", ls.sendList(c, l, l.fileName(time.Now()))
}

// sendList returns the work that uploads l as name to the requester's
// channel, telling the requester only if that fails.
func (ls *lister) sendList(c *command, l fullList, name string) func(context.Context) {
	return func(ctx context.Context) {
		err := ls.slack.UploadFile(ctx, c.ChannelID, "", name, l.title, l.csv())
		var why string
		switch {
		case err == nil:
			return
		case slackpost.NotInChannel(err):
			why = "For the full list as a file, invite me to this channel with `/invite @Switchboard` and run the command again."
		default:
			why = "I could not attach the full list as a file: " + ls.ops.userError(err, "upload list")
		}
		ls.ops.respond(ctx, c.ResponseURL, textReply(":warning: "+why).Message(), false)
	}
}

// maxPromptLines is how many targets a confirmation or approval prompt
// names.
const maxPromptLines = 10

// promptLines cuts the lines naming op's targets in a prompt answered in
// the acknowledgement to maxPromptLines, adding the line that says how many
// were left out, and returns the work that sends them all (nil when nothing
// was cut). The prompt is the requester's alone until they confirm, and so
// is its list: it goes to them in a direct message, whole like the prompt's
// lines, and to the channel only with the confirmation (attachConfirmed),
// masked when mask says so, so that nothing of a cancelled change is left
// in the channel.
func (ls *lister) promptLines(c *command, lines []string, op switchboard.Operation, mask bool) ([]string, func(context.Context)) {
	if len(lines) <= maxPromptLines {
		return lines, nil
	}
	if ls.dms == nil {
		promise, after := ls.attachLater(c, targetList(op, mask))
		return append(lines[:maxPromptLines:maxPromptLines], leftOut(maxPromptLines, len(lines))+" "+promise), after
	}
	promise := "The full list follows as a CSV file in a direct message to you; it goes to this channel when you confirm."
	return append(lines[:maxPromptLines:maxPromptLines], leftOut(maxPromptLines, len(lines))+" "+promise), ls.sendPrivateList(c, targetList(op, false))
}

// sendPrivateList returns the work that uploads l to the requester's
// direct messages, telling them only if that fails.
func (ls *lister) sendPrivateList(c *command, l fullList) func(context.Context) {
	return func(ctx context.Context) {
		dm, err := ls.dms.OpenDM(ctx, c.UserID)
		if err == nil {
			err = ls.slack.UploadFile(ctx, dm, "", l.fileName(time.Now()), l.title, l.csv())
		}
		if err != nil {
			ls.ops.respond(ctx, c.ResponseURL, textReply(":warning: I could not send you the full list as a file: "+ls.ops.userError(err, "upload list")).Message(), false)
		}
	}
}

// attachConfirmed attaches the targets of a confirmed operation to its
// channel when its prompt named only some of them (the requester alone had
// the list until then).
func (ls *lister) attachConfirmed(ctx context.Context, op switchboard.Operation, mask bool) {
	if len(op.Targets) <= maxPromptLines || ls.dms == nil {
		return
	}
	l := targetList(op, mask)
	if err := ls.slack.UploadFile(ctx, op.ChannelID, "", l.fileName(time.Now()), l.title, l.csv()); err != nil {
		ls.log.Warn("attach the confirmed list", "err", err, "operation", op.ID)
	}
}

// targetList is an operation's targets as a file, numbers masked when mask
// says so. A file is plain text, where a mention would show as its markup:
// the person a target belongs to, when the command named one, is in a
// column of their own, by Slack user ID.
func targetList(op switchboard.Operation, mask bool) fullList {
	l := fullList{name: "targets", title: op.Params.Title, header: []string{"target"}}
	if len(op.Params.Who) > 0 {
		l.header = append(l.header, "slack user id")
	}
	plain := op
	plain.Params.Who = nil
	for _, t := range op.Targets {
		row := []string{render.TargetLabel(plain, t, mask)}
		if len(op.Params.Who) > 0 {
			row = append(row, op.Params.Who[t.ID])
		}
		l.rows = append(l.rows, row)
	}
	return l
}

// fleetHeader names the columns of a fleet change's report.
var fleetHeader = []string{"identifier", "type", "outcome", "enco_message", "time"}

// FleetReport is the CSV file of every card of a change sent in batches,
// attached to its thread at the end: one row per result, under the card
// EnCo named (its ICCID when the request gave numbers, which EnCo's
// results never name), then a row "no answer" for each card given by ICCID
// (or, with one card per request, each card) that has none. The file is
// written by the one CSV writer, so that no cell runs as a formula (EnCo's
// messages are free text).
func FleetReport(op switchboard.Operation, results []switchboard.Result) (filename, title string, content []byte) {
	l := fullList{name: "sim-" + strings.TrimPrefix(op.Kind, switchboard.CommandSIM+"."), title: op.Params.Title + " — every card", header: fleetHeader}
	answered := map[string]bool{}
	for _, res := range results {
		answered[res.Target] = true
		t, err := switchboard.ParseTarget(res.Target)
		if err != nil {
			t = switchboard.Target{ID: res.Target}
		}
		outcome := "done"
		if !res.OK {
			outcome = "failed"
		}
		l.rows = append(l.rows, []string{t.ID, string(cmp.Or(t.Type, switchboard.MSISDN)), outcome, res.Message, res.At.UTC().Format(time.RFC3339)})
	}
	for _, t := range op.Targets {
		if answered[t.String()] || render.Unnamed(op, t) {
			continue
		}
		l.rows = append(l.rows, []string{t.ID, string(cmp.Or(t.Type, switchboard.MSISDN)), "no answer", "", ""})
	}
	return l.fileName(time.Now()), l.title, l.csv()
}
