package commands

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"time"

	"github.com/switchboard-bot/switchboard"
	"github.com/switchboard-bot/switchboard/render"
	"github.com/switchboard-bot/switchboard/slackpost"
)

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

// csv is the list as a CSV file.
func (l fullList) csv() []byte {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	_ = w.Write(l.header)
	for _, row := range l.rows {
		_ = w.Write(row)
	}
	w.Flush() // writes to a bytes.Buffer cannot fail
	return buf.Bytes()
}

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

// attachList sends the full list of a cut answer and returns the sentence
// that tells the requester where it is, or, when it could not be sent (ok
// false), how to get it. It is called after the acknowledgement: it is a
// Slack call.
func (r *Router) attachList(ctx context.Context, channel string, l fullList) (note string, ok bool) {
	name := l.fileName(time.Now())
	err := r.Slack.UploadFile(ctx, channel, "", name, l.title, l.csv())
	switch {
	case err == nil:
		return fmt.Sprintf("The full list is attached to this channel as `%s`.", name), true
	case slackpost.NotInChannel(err):
		return "For the full list as a file, invite me to this channel with `/invite @Switchboard` and run the command again.", false
	}
	return "I could not attach the full list as a file: " + r.userError(err, "upload list"), false
}

// attachLater is attachList for an answer given in the acknowledgement,
// before any Slack call may be made: it returns the sentence promising the
// file and the work that sends it after the acknowledgement, which tells the
// requester only if that fails.
func (r *Router) attachLater(c *command, l fullList) (string, func(context.Context)) {
	promise := "The full list follows as a CSV file in this channel."
	return promise, func(ctx context.Context) {
		if note, ok := r.attachList(ctx, c.ChannelID, l); !ok {
			r.respond(ctx, c.ResponseURL, textReply(":warning: "+note).Message(), false)
		}
	}
}

// maxPromptLines is how many targets a confirmation or approval prompt
// names.
const maxPromptLines = 10

// promptLines cuts the targets named by a prompt answered in the
// acknowledgement to maxPromptLines, adding the line that says how many
// were left out, and returns the work that attaches them all (nil when
// nothing was cut).
func (r *Router) promptLines(c *command, lines []string, l fullList) ([]string, func(context.Context)) {
	if len(lines) <= maxPromptLines {
		return lines, nil
	}
	promise, after := r.attachLater(c, l)
	return append(lines[:maxPromptLines:maxPromptLines], leftOut(maxPromptLines, len(lines))+" "+promise), after
}

// targetList is an operation's targets as a file, numbers masked when the
// policy says so (it goes to a channel).
func targetList(op switchboard.Operation, mask bool) fullList {
	l := fullList{name: "targets", title: op.Params.Title, header: []string{"target"}}
	for _, t := range op.Targets {
		l.rows = append(l.rows, []string{render.TargetLabel(op, t, mask)})
	}
	return l
}
