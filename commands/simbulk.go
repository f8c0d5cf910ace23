package commands

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/switchboard-bot/switchboard"
	"github.com/switchboard-bot/switchboard/render"
	"github.com/switchboard-bot/switchboard/simfile"
	"github.com/switchboard-bot/switchboard/slackpost"
	"github.com/switchboard-bot/switchboard/state"
)

// A fleet change from a file: /sim bulk (or /sim <action> without cards)
// opens a modal where the person picks the action and gives a file or
// pasted cards; submitting it reads the cards and answers, within Slack's
// 3 s, with a preview of what will be sent; submitting the preview is the
// confirmation.

// Callback and block ids of the two modals (design.md, "Fleet changes from
// a file").
const (
	ViewSIMBulk        = "sim_bulk"
	ViewSIMBulkPreview = "sim_bulk_preview"
	blockAction        = "action"
	blockFile          = "file"
	blockPasted        = "pasted"
)

// Views opens and updates modals (slackpost.SlackAPI implements it).
type Views interface {
	OpenView(ctx context.Context, triggerID string, view slack.ModalViewRequest) (string, error)
	UpdateView(ctx context.Context, viewID, hash string, view slack.ModalViewRequest) error
}

// SharedFiles reads the files people give the bot (slackpost.SlackAPI).
type SharedFiles interface {
	DownloadFile(ctx context.Context, fileID string, max int64) (slackpost.SharedFile, error)
}

// confirmedChanges runs a change its requester confirmed: at once, or
// once the approvals the policy asks for are in (the clicks of
// confirmations implement it; approvals plug in there).
type confirmedChanges interface {
	approvalChannel(op switchboard.Operation) (channel string, ok bool)
	runConfirmed(ctx context.Context, cb slack.InteractionCallback, op switchboard.Operation)
}

// simBulk is the fleet change from a file. It holds what the flow uses and
// nothing else.
type simBulk struct {
	gate          *gate // the permission check and the audit trail
	confirmations Confirmations
	views         Views
	files         SharedFiles
	changes       confirmedChanges
	responses     Responder // answers through a command's response URL
	// maxTargets caps the cards of one change (limits.max_bulk_targets; nil or 0 means 10,000).
	maxCards func() int
	// batch is how many cards go in one request, for the preview's note (0: not said).
	batch int
	// ttl is how long a preview may be confirmed (0 means 15 minutes).
	ttl time.Duration
	// readBudget is how long a submission may read the file before the bot
	// answers with a "reading" view and sends the preview by views.update
	// (0 means 2 s, within Slack's 3 s).
	readBudget time.Duration
	log        *slog.Logger
}

func (b *simBulk) maxTargets() int {
	if b.maxCards != nil {
		if n := b.maxCards(); n > 0 {
			return n
		}
	}
	return 10000
}

// bulkMeta is what the first modal keeps in its private_metadata.
type bulkMeta struct {
	Channel string `json:"channel"`
}

// Open answers /sim bulk or /sim <action> without cards: the ack, and the
// work that opens the modal with the command's trigger_id.
func (b *simBulk) open(c *command, action string) (Reply, func(context.Context)) {
	view := bulkModal(action, c.ChannelID)
	return textReply(":page_facing_up: Opening the form for a change from a file…"), func(ctx context.Context) {
		if _, err := b.views.OpenView(ctx, c.TriggerID, view); err != nil {
			ref := state.NewHex(4)
			b.log.Error("open the fleet change form", "err", err, "ref", ref, "user", c.UserID)
			b.respond(ctx, c, fmt.Sprintf(":x: I could not open the form (ref `%s`). Run `/sim bulk` again; the form must open within 3 seconds of the command.", ref))
		}
	}
}

// Responder answers through a response URL (slackpost.Slack implements it).
type Responder interface {
	Respond(ctx context.Context, responseURL string, m render.Message, replace bool) error
}

func (b *simBulk) respond(ctx context.Context, c *command, text string) {
	if b.responses == nil || c.ResponseURL == "" {
		return
	}
	if err := b.responses.Respond(ctx, c.ResponseURL, textReply(text).Message(), false); err != nil {
		b.log.Error("respond", "err", err)
	}
}

func bulkActionOption(action string) *slack.OptionBlockObject {
	return slack.NewOptionBlockObject(action, plain(simChanges[action].verb), nil)
}

// bulkModal is the sim_bulk modal, its action preset to action when it is one.
func bulkModal(action, channel string) slack.ModalViewRequest {
	var options []*slack.OptionBlockObject
	for _, a := range []string{"activate", "deactivate", "reactivate", "terminate"} {
		options = append(options, bulkActionOption(a))
	}
	sel := slack.NewOptionsSelectBlockElement(slack.OptTypeStatic, plain("Choose"), blockAction, options...)
	if _, ok := simChanges[action]; ok {
		sel.InitialOption = bulkActionOption(action)
	}
	file := slack.NewFileInputBlockElement(blockFile).WithFileTypes("csv", "txt").WithMaxFiles(1)
	fileBlock := slack.NewInputBlock(blockFile, plain("File (CSV or text)"), plain("One card per line, or CSV with an msisdn, iccid or imsi column"), file)
	fileBlock.Optional = true
	pasted := slack.NewPlainTextInputBlockElement(plain("0471 00 00 01\niccid:8932…"), blockPasted)
	pasted.Multiline = true
	pastedBlock := slack.NewInputBlock(blockPasted, plain("Or paste the cards"), nil, pasted)
	pastedBlock.Optional = true
	meta, _ := json.Marshal(bulkMeta{Channel: channel})
	return slack.ModalViewRequest{
		Type:       slack.VTModal,
		CallbackID: ViewSIMBulk,
		Title:      plain("SIM cards from a file"),
		Submit:     plain("Preview"),
		Close:      plain("Cancel"),
		Blocks: slack.Blocks{BlockSet: []slack.Block{
			slack.NewInputBlock(blockAction, plain("Action"), nil, sel),
			fileBlock,
			pastedBlock,
			contextLine("Numbers as people type them (`0471 00 00 01`, `+32 471…`), or `iccid:…` / `imsi:…`. Blank lines and lines starting with `#` are skipped; a card named twice counts once. At most 10 MB. Nothing is sent before you confirm the preview."),
		}},
		PrivateMetadata: string(meta),
	}
}

// ViewSubmission answers a submission of one of the flow's modals: the
// ack's payload, and the work to do after it (nil when none).
func (b *simBulk) viewSubmission(ctx context.Context, cb slack.InteractionCallback) (*slack.ViewSubmissionResponse, func(context.Context)) {
	switch cb.View.CallbackID {
	case ViewSIMBulk:
		return b.preview(ctx, cb)
	case ViewSIMBulkPreview:
		return b.confirm(ctx, cb)
	}
	b.log.Warn("submission of an unknown view", "callback_id", cb.View.CallbackID, "user", cb.User.ID)
	return nil, nil
}

// bulkRefusal is a submission refused: the block and why, and, when the
// refusal is no fault of the file, what to do instead of correcting it.
type bulkRefusal struct{ block, why, again string }

func (r *bulkRefusal) answer() *slack.ViewSubmissionResponse {
	return slack.NewErrorsViewSubmissionResponse(map[string]string{r.block: truncate(r.why, 1900)})
}

// preview reads the submitted cards and answers with the preview, or with
// the errors that name the block to fix. Reading a large file can take
// longer than Slack waits: past ReadBudget the answer is a "reading" view,
// replaced by the preview (or the reason) once the file is read.
func (b *simBulk) preview(ctx context.Context, cb slack.InteractionCallback) (*slack.ViewSubmissionResponse, func(context.Context)) {
	type outcome struct {
		view    *slack.ModalViewRequest
		refused *bulkRefusal
	}
	done := make(chan outcome, 1)
	work, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	go func() {
		view, refused := b.read(work, cb)
		done <- outcome{view, refused}
	}()
	budget := time.NewTimer(cmp.Or(b.readBudget, 2*time.Second))
	defer budget.Stop()
	select {
	case o := <-done:
		cancel()
		if o.refused != nil {
			return o.refused.answer(), nil
		}
		return slack.NewUpdateViewSubmissionResponse(o.view), nil
	case <-budget.C:
	}
	reading := notice("Reading the file", ":hourglass_flowing_sand: Reading your file… this view shows the preview in a moment.")
	return slack.NewUpdateViewSubmissionResponse(&reading), func(ctx context.Context) {
		defer cancel()
		o := <-done
		view := o.view
		if o.refused != nil {
			v := notice("Nothing was sent", ":warning: "+o.refused.why+"\n"+cmp.Or(o.refused.again, "Run `/sim bulk` again with a corrected file."))
			view = &v
		}
		if err := b.views.UpdateView(ctx, cb.View.ID, "", *view); err != nil {
			b.log.Error("show the fleet change preview", "err", err, "user", cb.User.ID)
		}
	}
}

// read does the work of a preview: the action and its permission, the
// cards, the limit, and the confirmation the preview's submission consumes.
func (b *simBulk) read(ctx context.Context, cb slack.InteractionCallback) (*slack.ModalViewRequest, *bulkRefusal) {
	var meta bulkMeta
	if err := json.Unmarshal([]byte(cb.View.PrivateMetadata), &meta); err != nil || meta.Channel == "" {
		return nil, &bulkRefusal{block: blockAction, why: "This form lost track of its channel; run `/sim bulk` again in the channel where the results should go."}
	}
	values := map[string]map[string]slack.BlockAction{}
	if cb.View.State != nil {
		values = cb.View.State.Values
	}
	action := values[blockAction][blockAction].SelectedOption.Value
	change, ok := simChanges[action]
	if !ok {
		return nil, &bulkRefusal{block: blockAction, why: "Choose what to do with the cards: activate, deactivate, reactivate or terminate."}
	}
	user := cb.User.ID
	perm := switchboard.CommandSIM + "." + action
	d := b.gate.checker.CheckCommand(ctx, user, meta.Channel, "/sim", perm)
	if !d.Allowed {
		// As for a typed command: past the allowance of refused commands,
		// a refusal is not written to the audit trail each time.
		var limited *bulkRefusal
		if _, ok := b.gate.allowance(ctx, "denied:", user, func(limit int, wait time.Duration) Reply {
			limited = &bulkRefusal{block: blockAction, why: fmt.Sprintf("%d of your commands were refused in the last minute, the most the policy allows; I am not reading more from you for %s.", limit, humanDuration(max(wait, time.Second))), again: "Nothing was sent."}
			return Reply{}
		}); !ok && limited != nil {
			return nil, limited
		}
	}
	b.audit(ctx, switchboard.AuditEntry{UserID: user, Command: "/sim bulk " + action, Decision: map[bool]string{true: "allowed", false: "denied"}[d.Allowed], Rule: d.Rule})
	if !d.Allowed {
		return nil, &bulkRefusal{block: blockAction, why: cmp.Or(d.Message, fmt.Sprintf("You don't have the permission `%s`, so you cannot %s cards.", perm, action))}
	}

	files := values[blockFile][blockFile].Files
	pasted := strings.TrimSpace(values[blockPasted][blockPasted].Value)
	var (
		data   []byte
		source string
		block  = blockFile
	)
	switch {
	case len(files) == 0 && pasted == "":
		return nil, &bulkRefusal{block: blockFile, why: "Attach a CSV or text file of the cards, or paste them in the box below."}
	case len(files) > 0 && pasted != "":
		return nil, &bulkRefusal{block: blockPasted, why: "Give the cards either as a file or pasted here, not both: empty this box, or remove the file."}
	case pasted != "":
		data, source, block = []byte(pasted), "the pasted cards", blockPasted
	default:
		f, err := b.files.DownloadFile(ctx, files[0].ID, simfile.MaxBytes)
		switch {
		case errors.Is(err, slackpost.ErrFileGone):
			return nil, &bulkRefusal{block: blockFile, why: "The file is gone: it was deleted, or is no longer shared. Attach it again."}
		case errors.Is(err, slackpost.ErrFileTooLarge):
			return nil, &bulkRefusal{block: blockFile, why: "The file is over 10 MB. Split it into smaller files, one change each."}
		case err != nil:
			ref := state.NewHex(4)
			b.log.Error("download a shared file", "err", err, "ref", ref, "user", user)
			return nil, &bulkRefusal{block: blockFile, why: fmt.Sprintf("I could not read the file from Slack (ref `%s`). Try again; if it keeps failing, paste the cards instead.", ref)}
		}
		data, source = f.Content, "`"+render.Escape(strings.ReplaceAll(f.Name, "`", "'"))+"`"
	}
	list, err := simfile.ReadAtMost(bytes.NewReader(data), b.maxTargets())
	if err != nil {
		return nil, &bulkRefusal{block: block, why: "The file cannot be read: " + err.Error() + "."}
	}
	switch {
	case len(list.Cards) == 0 && list.BadCount == 0:
		return nil, &bulkRefusal{block: block, why: "There is no card in it: it is empty, or holds only blank lines and comments."}
	case len(list.Cards) == 0:
		l := list.Bad[0]
		return nil, &bulkRefusal{block: block, why: fmt.Sprintf("No line names a SIM card. Line %d (%q): %s. Give one mobile number, `iccid:…` or `imsi:…` per line, or CSV with an msisdn, iccid or imsi column.", l.N, l.Text, l.Why)}
	case list.Over || len(list.Cards) > b.maxTargets():
		return nil, &bulkRefusal{block: block, why: fmt.Sprintf("That is more than %s cards, the most one change takes (limits.max_bulk_targets). Split the file.", thousands(b.maxTargets()))}
	}

	// A change from a file is one change of the person's allowance per
	// minute, as a typed change is however many cards it names: EnCo is
	// kept from floods by the shared request pace and the batch size, and
	// what the allowance bounds is how many changes (each a preview kept in
	// the store, entries in the audit trail, then a job) one person starts.
	if refused := b.allowance(ctx, user, action, block); refused != nil {
		return nil, refused
	}

	title := fmt.Sprintf("%s %s SIM cards", change.verb, thousands(len(list.Cards)))
	if len(list.Cards) == 1 {
		title = change.verb + " 1 SIM card"
	}
	op := switchboard.Operation{
		ID:        state.NewHex(16),
		Kind:      perm,
		UserID:    user,
		ChannelID: meta.Channel,
		Targets:   list.Cards,
		Expected:  len(list.Cards),
		Status:    switchboard.StatusPending,
		Params:    switchboard.Params{Action: string(change.action), Title: title},
	}
	id, ttl := state.NewHex(16), cmp.Or(b.ttl, 15*time.Minute)
	if err := b.confirmations.SaveConfirmation(ctx, newConfirmation(id, op.Kind, op, time.Now(), ttl), ttl); err != nil {
		ref := state.NewHex(4)
		b.log.Error("save fleet change preview", "err", err, "ref", ref, "user", user)
		return nil, &bulkRefusal{block: block, why: fmt.Sprintf("My state store did not answer, so nothing was prepared; try again in a minute. (ref `%s`)", ref)}
	}
	b.audit(ctx, switchboard.AuditEntry{UserID: user, Command: op.Kind, Decision: "confirmation requested", OperationID: op.ID, Detail: title + " from " + source})
	view := b.previewView(id, op, change, list, source)
	return &view, nil
}

// previewView is the sim_bulk_preview modal: what will be sent, what was
// dropped, and the submit button that names it.
func (b *simBulk) previewView(id string, op switchboard.Operation, change simChange, list simfile.List, source string) slack.ModalViewRequest {
	n := len(list.Cards)
	var s strings.Builder
	fmt.Fprintf(&s, "*%s* — read from %s (%s).", op.Params.Title, source, render.Escape(list.Column))
	if list.Duplicates > 0 {
		fmt.Fprintf(&s, "\n• %s dropped: a card named more than once counts once.", plural(list.Duplicates, "duplicate line"))
	}
	if list.BadCount > 0 {
		fmt.Fprintf(&s, "\n• %s not understood, left out:", plural(list.BadCount, "line"))
		for _, l := range list.Bad {
			fmt.Fprintf(&s, "\n    line %d: `%s` — %s", l.N, render.Escape(strings.ReplaceAll(l.Text, "`", "'")), render.Escape(l.Why))
		}
		if list.BadCount > len(list.Bad) {
			fmt.Fprintf(&s, "\n    …and %s more.", plural(list.BadCount-len(list.Bad), "line"))
		}
	}
	note := change.note + fmt.Sprintf(" Results go to a thread in <#%s>.", op.ChannelID)
	if n > render.DefaultBulkThreshold {
		note = change.note + fmt.Sprintf(" Results go to a thread in <#%s>: the first %d failures are named there, and a CSV file of every card follows at the end.", op.ChannelID, render.MaxFailureReplies)
	}
	if b.batch > 0 && n > b.batch {
		note += fmt.Sprintf(" EnCo gets the cards in requests of %d.", b.batch)
	}
	if _, ok := b.approvalChannel(op); ok {
		note += " The policy asks for an approval before it runs: confirming sends the request for it."
	}
	submit := fmt.Sprintf("%s %s cards", change.verb, thousands(n))
	if n == 1 {
		submit = change.verb + " 1 card"
	}
	return slack.ModalViewRequest{
		Type:            slack.VTModal,
		CallbackID:      ViewSIMBulkPreview,
		Title:           plain("Check and confirm"),
		Submit:          plain(submit),
		Close:           plain("Cancel"),
		PrivateMetadata: id,
		Blocks:          slack.Blocks{BlockSet: []slack.Block{section(s.String()), contextLine(note)}},
	}
}

// confirm takes the preview's submission: the confirmation, consumed once,
// checked again against the policy, then the change, through approvals.
func (b *simBulk) confirm(ctx context.Context, cb slack.InteractionCallback) (*slack.ViewSubmissionResponse, func(context.Context)) {
	user, id := cb.User.ID, cb.View.PrivateMetadata
	conf, ok, err := b.confirmations.PeekConfirmation(ctx, id)
	switch {
	case err != nil:
		ref := state.NewHex(4)
		b.log.Error("peek fleet change", "err", err, "ref", ref)
		return closing("Nothing was sent", fmt.Sprintf(":hourglass: I can't reach my state store, so nothing was sent. Try again in a minute. (ref `%s`)", ref)), nil
	case !ok:
		return closing("Nothing was sent", ":hourglass: This preview has expired or was already confirmed. Run `/sim bulk` again if you still want the change."), nil
	case conf.UserID != user:
		b.audit(ctx, switchboard.AuditEntry{UserID: user, Command: conf.Action, Decision: "click refused", Rule: "only the requester may confirm", OperationID: conf.OperationID})
		return closing("Nothing was sent", fmt.Sprintf(":no_entry: Only <@%s>, who asked for it, can confirm this.", conf.UserID)), nil
	}
	conf, ok, err = b.confirmations.ConsumeConfirmation(ctx, id)
	if err != nil || !ok {
		return closing("Nothing was sent", ":hourglass: This preview has expired or was already confirmed. Nothing more was sent."), nil
	}
	op, err := confirmedOperation(conf)
	if err != nil {
		b.log.Error("fleet change holds no operation", "err", err, "confirmation", id)
		return closing("Nothing was sent", ":x: This preview could not be read back; nothing was sent. Run `/sim bulk` again."), nil
	}
	if d := b.gate.checker.CheckCommand(ctx, user, op.ChannelID, "/sim", op.Kind); !d.Allowed {
		b.audit(ctx, switchboard.AuditEntry{UserID: user, Command: op.Kind, Decision: "denied at confirmation", Rule: d.Rule, OperationID: op.ID})
		return closing("Nothing was sent", ":no_entry: "+cmp.Or(d.Message, "You no longer have the permission `"+op.Kind+"`.")+" Nothing was sent."), nil
	}
	b.audit(ctx, switchboard.AuditEntry{UserID: user, Command: op.Kind, Decision: "confirmed", OperationID: op.ID, Detail: op.Params.Title})
	text := fmt.Sprintf(":white_check_mark: Confirmed: %s. Follow the progress in the thread in <#%s>.", op.Params.Title, op.ChannelID)
	if len(op.Targets) > render.DefaultBulkThreshold {
		text = fmt.Sprintf(":white_check_mark: Confirmed: %s. Follow the progress in the thread in <#%s>; a CSV file of every card follows at the end.", op.Params.Title, op.ChannelID)
	}
	if channel, ok := b.approvalChannel(op); ok {
		text = fmt.Sprintf(":lock: Confirmed: %s. The policy asks for an approval first; I am posting the request in <#%s>.", op.Params.Title, channel)
	}
	cb.Channel.ID = op.ChannelID
	return closing("Confirmed", text), func(ctx context.Context) { b.changes.runConfirmed(ctx, cb, op) }
}

// approvalChannel says where op's approval is requested, if a rule asks for one.
func (b *simBulk) approvalChannel(op switchboard.Operation) (string, bool) {
	if b.changes == nil {
		return "", false
	}
	return b.changes.approvalChannel(op)
}

func (b *simBulk) audit(ctx context.Context, e switchboard.AuditEntry) { b.gate.audit(ctx, e) }

// allowance counts a change from a file against the person's changes per
// minute, once, before its preview is kept. Past the allowance the
// refusal is audited as a typed change's is, and nothing is prepared.
func (b *simBulk) allowance(ctx context.Context, user, action, block string) *bulkRefusal {
	var refused *bulkRefusal
	reply, ok := b.gate.allowance(ctx, "changes:", user, func(limit int, wait time.Duration) Reply {
		b.gate.auditRefusal(ctx, "rate_limited", switchboard.AuditEntry{UserID: user, Command: "/sim bulk " + action, Decision: "rate limited", Rule: fmt.Sprintf("%d changes per minute", limit)})
		refused = &bulkRefusal{block: block, why: fmt.Sprintf("You have asked for %d changes in the last minute, the most the policy allows, so nothing was prepared. Try again in %s.", limit, humanDuration(max(wait, time.Second))), again: "Run `/sim bulk` again then."}
		return Reply{}
	})
	switch {
	case refused != nil:
		return refused
	case !ok: // the store did not answer; the reply says so, with a reference
		return &bulkRefusal{block: block, why: strings.TrimPrefix(reply.Text, ":hourglass: "), again: "Run `/sim bulk` again in a minute."}
	}
	return nil
}

// notice is a modal that only says text.
func notice(title, text string) slack.ModalViewRequest {
	return slack.ModalViewRequest{
		Type:   slack.VTModal,
		Title:  plain(title),
		Close:  plain("Close"),
		Blocks: slack.Blocks{BlockSet: []slack.Block{section(text)}},
	}
}

// closing answers a submission with a notice in place of the modal.
func closing(title, text string) *slack.ViewSubmissionResponse {
	v := notice(title, text)
	return slack.NewUpdateViewSubmissionResponse(&v)
}

// thousands writes n with commas between thousands: 2,400.
func thousands(n int) string {
	s := strconv.Itoa(n)
	var out []byte
	for i := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	return string(out)
}

// ViewSubmission answers a modal's submission (the fleet change from a
// file): the ack's payload, and the work to do after it.
func (r *Router) ViewSubmission(ctx context.Context, cb slack.InteractionCallback) (*slack.ViewSubmissionResponse, func(context.Context)) {
	if r.bulk == nil {
		return nil, nil
	}
	return r.bulk.viewSubmission(ctx, cb)
}

// approvalChannel says where the approval a rule asks for op (its
// permission and its number of cards) is requested; ok is false when no
// rule covers it and the change runs once confirmed.
func (ck *clicks) approvalChannel(op switchboard.Operation) (channel string, ok bool) {
	if ck.approvals == nil {
		return "", false
	}
	rule, ok := ck.approvals.Rules.Approval(permissionOf(op), len(op.Targets))
	return cmp.Or(rule.Channel, op.ChannelID), ok
}

// runConfirmed runs a confirmed change through the approvals, as a
// confirmation click does: at once, or once the approvals are in.
func (ck *clicks) runConfirmed(ctx context.Context, cb slack.InteractionCallback, op switchboard.Operation) {
	switch ck.approvalGate(ctx, op, cb.ResponseURL) {
	case WaitsForApproval:
		// The request message says the list is attached with the request.
		ck.lists.attachConfirmed(ctx, op, ck.mask)
		return
	case NotRequested:
		return
	}
	op.CreatedAt = time.Now()
	ck.exec.execute(ctx, op, cb.ResponseURL)
}
