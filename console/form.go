package console

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/slack-go/slack"

	"github.com/switchboard-bot/switchboard/render"
	"github.com/switchboard-bot/switchboard/slackpost"
)

// A modal, in the console, is a form asked field by field: a choice by its
// number or name, a file by its path, a multiline text as lines ended by an
// empty one. Once the last field is answered the form is submitted as
// Slack would submit it; the view the bot answers with is shown, and its
// submit button becomes a numbered button like any other.

// staticSelect is the element type of a static select.
const staticSelect = slack.MessageElementType(slack.OptTypeStatic)

// Actions of the buttons the console gives a view.
const (
	viewSubmitAction = "console_view_submit"
	viewCloseAction  = "console_view_close"
)

// form is a modal being filled in.
type form struct {
	id     string
	view   slack.ModalViewRequest
	fields []formField
	at     int
	values map[string]map[string]slack.BlockAction
	lines  []string // a multiline answer so far
}

// formField is an input block of the modal.
type formField struct {
	block, action, label string
	kind                 slack.MessageElementType
	options              []*slack.OptionBlockObject
	initial              *slack.OptionBlockObject
	optional             bool
}

// openView is a view shown with a submit button, until it is submitted or closed.
type openView struct {
	id   string
	view slack.ModalViewRequest
}

func fieldsOf(v slack.ModalViewRequest) []formField {
	var out []formField
	for _, b := range v.Blocks.BlockSet {
		in, ok := b.(*slack.InputBlock)
		if !ok || in.Element == nil {
			continue
		}
		f := formField{block: in.BlockID, optional: in.Optional}
		if in.Label != nil {
			f.label = in.Label.Text
		}
		switch e := in.Element.(type) {
		case *slack.SelectBlockElement:
			f.kind, f.action, f.options, f.initial = staticSelect, e.ActionID, e.Options, e.InitialOption
		case *slack.FileInputBlockElement:
			f.kind, f.action = slack.METFileInput, e.ActionID
		case *slack.PlainTextInputBlockElement:
			f.kind, f.action = slack.METPlainTextInput, e.ActionID
		default:
			continue
		}
		out = append(out, f)
	}
	return out
}

// OpenView implements commands.Views: the modal becomes a form the next
// lines typed fill in.
func (c *Console) OpenView(ctx context.Context, triggerID string, view slack.ModalViewRequest) (string, error) {
	c.mu.Lock()
	c.keySeq++
	f := &form{id: fmt.Sprintf("VCONSOLE%d", c.keySeq), view: view, fields: fieldsOf(view), values: map[string]map[string]slack.BlockAction{}}
	c.form, c.view = f, nil
	c.mu.Unlock()
	var notes []string
	for _, b := range view.Blocks.BlockSet {
		if cb, ok := b.(*slack.ContextBlock); ok {
			for _, e := range cb.ContextElements.Elements {
				if t, ok := e.(*slack.TextBlockObject); ok {
					notes = append(notes, t.Text)
				}
			}
		}
	}
	c.printf("\n(form) %s — answer each question; an empty line skips an optional one, cancel closes the form.\n", view.Title.Text)
	for _, n := range notes {
		c.printf("  %s\n", renderMrkdwn(n))
	}
	c.ask()
	return f.id, nil
}

// ask prints the question of the form's current field.
func (c *Console) ask() {
	c.mu.Lock()
	f := c.form
	c.mu.Unlock()
	if f == nil || f.at >= len(f.fields) {
		return
	}
	q := f.fields[f.at]
	opt := ""
	if q.optional {
		opt = ", optional"
	}
	switch q.kind {
	case staticSelect:
		var choices []string
		for i, o := range q.options {
			choices = append(choices, fmt.Sprintf("%d %s", i+1, o.Text.Text))
		}
		def := ""
		if q.initial != nil {
			def = fmt.Sprintf(" [%s]", q.initial.Text.Text)
		}
		c.printf("  %s%s — %s%s:\n", q.label, opt, strings.Join(choices, " · "), def)
	case slack.METFileInput:
		c.printf("  %s%s — the path of the file:\n", q.label, opt)
	default:
		c.printf("  %s%s — one per line, an empty line ends:\n", q.label, opt)
	}
}

// isCommand reports whether a line typed while a form is open is a slash
// command, which leaves the form as going elsewhere in Slack does, rather
// than an answer (a path such as /tmp/cards.csv is an answer).
func isCommand(line string) bool {
	name, _, _ := strings.Cut(line, " ")
	return len(name) > 1 && name[0] == '/' && strings.IndexFunc(name[1:], func(r rune) bool { return r < 'a' || r > 'z' }) < 0
}

// closeForm closes the form or view open, reporting whether there was one.
func (c *Console) closeForm() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	open := c.form != nil || c.view != nil
	if c.view != nil {
		c.dropButtons("view:" + c.view.id)
	}
	c.form, c.view = nil, nil
	return open
}

// formOpen reports whether typed lines go to a form.
func (c *Console) formOpen() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.form != nil
}

// formLine takes a typed line as the answer to the form's current field.
func (c *Console) formLine(ctx context.Context, bot Bot, line string) {
	c.mu.Lock()
	f := c.form
	c.mu.Unlock()
	if strings.EqualFold(line, "cancel") {
		c.mu.Lock()
		c.form = nil
		c.mu.Unlock()
		c.printf("Form closed; nothing was sent.\n")
		return
	}
	q := f.fields[f.at]
	answer := slack.BlockAction{ActionID: q.action, BlockID: q.block, Type: slack.ActionType(q.kind)}
	switch q.kind {
	case staticSelect:
		o := q.initial
		if line != "" {
			o = nil
			n, err := strconv.Atoi(line)
			for i, cand := range q.options {
				if (err == nil && n == i+1) || strings.EqualFold(line, cand.Value) || strings.EqualFold(line, cand.Text.Text) {
					o = cand
				}
			}
		}
		if o == nil {
			c.printf("  Type one of the numbers or names shown.\n")
			c.ask()
			return
		}
		answer.SelectedOption = *o
	case slack.METFileInput:
		if line != "" {
			path, why := filePath(line)
			if why != "" {
				// Slack's file picker offers only files that exist; the
				// console asks again rather than read a mistyped path.
				c.printf("  %s Type the path again, or an empty line to skip.\n", why)
				c.ask()
				return
			}
			answer.Files = []slack.File{{ID: path, Name: filepath.Base(path)}}
		}
	default:
		if line != "" {
			f.lines = append(f.lines, line)
			return // more lines follow until an empty one
		}
		answer.Value = strings.Join(f.lines, "\n")
		f.lines = nil
	}
	if f.values[q.block] == nil {
		f.values[q.block] = map[string]slack.BlockAction{}
	}
	f.values[q.block][q.action] = answer
	f.at++
	if f.at < len(f.fields) {
		c.ask()
		return
	}
	c.submit(ctx, bot, f.id, f.view, f.values)
}

// submit submits a view as Slack does, and shows what the bot answers.
func (c *Console) submit(ctx context.Context, bot Bot, id string, view slack.ModalViewRequest, values map[string]map[string]slack.BlockAction) {
	c.mu.Lock()
	me := c.user
	c.mu.Unlock()
	cb := slack.InteractionCallback{
		Type: slack.InteractionTypeViewSubmission,
		User: slack.User{ID: me.ID, Name: me.Name},
		View: slack.View{ID: id, Type: slack.VTModal, CallbackID: view.CallbackID, PrivateMetadata: view.PrivateMetadata,
			State: &slack.ViewState{Values: values}},
	}
	resp, after := bot.ViewSubmission(ctx, cb)
	c.mu.Lock()
	f := c.form
	c.mu.Unlock()
	switch {
	case resp != nil && resp.ResponseAction == slack.RAErrors && f != nil:
		// Ask again from the first field with an error.
		first := len(f.fields)
		for i, q := range f.fields {
			if why, ok := resp.Errors[q.block]; ok {
				c.printf("  :warning: %s: %s\n", q.label, renderMrkdwn(why))
				first = min(first, i)
			}
		}
		f.at = min(first, len(f.fields)-1)
		c.ask()
	case resp != nil && (resp.ResponseAction == slack.RAUpdate || resp.ResponseAction == slack.RAPush) && resp.View != nil:
		c.mu.Lock()
		c.form = nil
		c.mu.Unlock()
		c.showView(id, *resp.View)
	default:
		c.mu.Lock()
		c.form, c.view = nil, nil
		c.mu.Unlock()
	}
	c.await(ctx, bot, after)
}

// showView prints a view the bot answered with or updated to; a view with a
// submit button stays open, its button numbered.
func (c *Console) showView(id string, view slack.ModalViewRequest) {
	blocks := append([]slack.Block(nil), view.Blocks.BlockSet...)
	c.mu.Lock()
	c.view = nil
	if view.Submit != nil {
		c.view = &openView{id: id, view: view}
		blocks = append(blocks, slack.NewActionBlock("",
			slack.NewButtonBlockElement(viewSubmitAction, id, &slack.TextBlockObject{Type: slack.PlainTextType, Text: view.Submit.Text}),
			slack.NewButtonBlockElement(viewCloseAction, id, &slack.TextBlockObject{Type: slack.PlainTextType, Text: "Cancel"})))
	}
	c.mu.Unlock()
	c.show("(form) ", render.Message{Text: view.Title.Text, Blocks: blocks}, "view:"+id)
}

// viewClick handles the buttons of a shown view.
func (c *Console) viewClick(ctx context.Context, bot Bot, b button) {
	c.mu.Lock()
	v := c.view
	if v == nil || v.id != b.value {
		c.mu.Unlock()
		c.printf("That form is closed.\n")
		return
	}
	c.dropButtons("view:" + v.id)
	c.view = nil
	c.mu.Unlock()
	if b.actionID == viewCloseAction {
		c.printf("Form closed; nothing was sent.\n")
		return
	}
	c.submit(ctx, bot, v.id, v.view, nil)
}

// UpdateView implements commands.Views.
func (c *Console) UpdateView(ctx context.Context, viewID, hash string, view slack.ModalViewRequest) error {
	c.showView(viewID, view)
	return nil
}

// filePath reads a typed path as a terminal gives it: quoted or with
// escaped spaces when the file was dragged in, ~ for the home folder. It
// says why when there is no file there.
func filePath(line string) (string, string) {
	path := strings.TrimSpace(line)
	if len(path) >= 2 && (path[0] == '\'' || path[0] == '"') && path[len(path)-1] == path[0] {
		path = path[1 : len(path)-1]
	} else {
		path = strings.ReplaceAll(path, `\ `, " ")
	}
	if rest, ok := strings.CutPrefix(path, "~/"); ok {
		if home, err := os.UserHomeDir(); err == nil {
			path = filepath.Join(home, rest)
		}
	}
	st, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		where := "this folder"
		if wd, err := os.Getwd(); err == nil {
			where = wd
		}
		return path, fmt.Sprintf("There is no file at %s (a relative path starts from %s).", path, where)
	case err != nil:
		return path, fmt.Sprintf("%s cannot be read: %v.", path, err)
	case st.IsDir():
		return path, fmt.Sprintf("%s is a folder; give the path of the file in it.", path)
	}
	return path, ""
}

// DownloadFile implements commands.SharedFiles: in the console, a file
// given to a form is a path on this machine.
func (c *Console) DownloadFile(ctx context.Context, path string, max int64) (slackpost.SharedFile, error) {
	st, err := os.Stat(path)
	switch {
	case os.IsNotExist(err):
		return slackpost.SharedFile{}, slackpost.ErrFileGone
	case err != nil:
		return slackpost.SharedFile{}, err
	case st.Size() > max:
		return slackpost.SharedFile{}, slackpost.ErrFileTooLarge
	}
	content, err := os.ReadFile(path)
	if err != nil {
		return slackpost.SharedFile{}, err
	}
	return slackpost.SharedFile{Name: filepath.Base(path), Content: content}, nil
}
