package commands

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/switchboard-bot/switchboard/phone"
	"github.com/switchboard-bot/switchboard/render"
)

// UsageError is a mistake in what the user typed. Its message names the token
// and says what to type instead; it is shown to the user as it is.
type UsageError struct {
	Msg   string
	Usage string // the command's usage line(s), shown under the message
}

func (e *UsageError) Error() string { return e.Msg }

func usageErr(usage, format string, args ...any) *UsageError {
	return &UsageError{Msg: fmt.Sprintf(format, args...), Usage: usage}
}

// MaxTextLength bounds the command text the grammar reads; Slack allows about
// 4,000 characters in a slash command, far more than any real command needs.
const MaxTextLength = 4000

// slackEscape matches Slack's escaped references: <@U123|name>, <#C123|name>,
// <!subteam^S123|@group>, <tel:+32…|+32…>, <mailto:…|…>.
var slackEscape = regexp.MustCompile(`<([^<>|]*)(?:\|([^<>]*))?>`)

// token is one word of a command, with Slack's escapes decoded.
type token struct {
	text    string // as shown to the user in messages
	user    string // Slack user ID when the token is a mention
	group   string // Slack user-group ID when the token is a group mention
	literal bool   // false when the token came from an escape
}

// tokenize splits command text into words. Commas separate like spaces.
// Slack escapes become single tokens: mentions keep their IDs, links their label.
func tokenize(text string) ([]token, *UsageError) {
	if len(text) > MaxTextLength {
		return nil, &UsageError{Msg: fmt.Sprintf("That command is %d characters long; the most I read is %d. Split it into several commands.", len(text), MaxTextLength)}
	}
	var out []token
	rest := text
	for rest != "" {
		loc := slackEscape.FindStringSubmatchIndex(rest)
		before := rest
		if loc != nil {
			before = rest[:loc[0]]
		}
		// Slack sends the &, < and > people type as entities (&amp;), so
		// that a raw < or > only ever opens or closes Slack's own markup;
		// outside that markup, the words are what was typed.
		for _, w := range strings.FieldsFunc(unescapeSlack(before), func(r rune) bool { return r == ',' || r == ';' || isSpace(r) }) {
			out = append(out, token{text: w, literal: true})
		}
		if loc == nil {
			break
		}
		ref := rest[loc[2]:loc[3]]
		label := ""
		if loc[4] >= 0 {
			label = rest[loc[4]:loc[5]]
		}
		out = append(out, escapeToken(ref, label))
		rest = rest[loc[1]:]
	}
	return out, nil
}

// unescapeSlack turns the three entities Slack escapes typed text with
// (&amp; &lt; &gt;) back into the characters typed, in one pass, so that
// "&amp;lt;" stays the "&lt;" that was typed.
func unescapeSlack(text string) string { return slackEntities.Replace(text) }

var slackEntities = strings.NewReplacer("&amp;", "&", "&lt;", "<", "&gt;", ">")

func isSpace(r rune) bool {
	return r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '\u00a0'
}

// slackUserID and slackGroupID are the shapes of the IDs a mention may
// carry. Anything else (<@!channel>, <@U1 x>) is not a person and is never
// used as a key or echoed as a mention.
var (
	slackUserID  = regexp.MustCompile(`^[UW][A-Z0-9]{1,20}$`)
	slackGroupID = regexp.MustCompile(`^S[A-Z0-9]{1,20}$`)
)

func escapeToken(ref, label string) token {
	switch {
	case strings.HasPrefix(ref, "@"):
		id := strings.TrimPrefix(ref, "@")
		if !slackUserID.MatchString(id) {
			return token{text: render.Escape("<" + ref + ">")}
		}
		return token{text: "<@" + id + ">", user: id}
	case strings.HasPrefix(ref, "!subteam^"):
		id := strings.TrimPrefix(ref, "!subteam^")
		if !slackGroupID.MatchString(id) {
			return token{text: render.Escape("<" + ref + ">")}
		}
		return token{text: "<!subteam^" + id + ">", group: id}
	case strings.HasPrefix(ref, "tel:"):
		// A number Slack turned into a link is still a number the user typed.
		if label != "" {
			return token{text: label, literal: true}
		}
		return token{text: strings.TrimPrefix(ref, "tel:"), literal: true}
	}
	if label != "" {
		return token{text: render.Escape(label)}
	}
	return token{text: render.Escape(ref)}
}

// maxNumberTokens is how many space-separated groups one written number may
// span ("+32 470 12 34 56" is five).
const maxNumberTokens = 6

// segments splits toks, in order, into runs of consecutive plain tokens and
// single other tokens. A run is read as a whole, because a number may be
// typed in groups of digits; plain says which tokens can be part of one.
func segments(toks []token, plain func(token) bool) [][]token {
	var out [][]token
	for i := 0; i < len(toks); {
		j := i + 1
		if plain(toks[i]) {
			for j < len(toks) && plain(toks[j]) {
				j++
			}
		}
		out = append(out, toks[i:j])
		i = j
	}
	return out
}

// numbers reads phone numbers from tokens. A number may be written with spaces
// ("+32 470 12 34 56 0470 11 22 33" is two numbers): the longest run of tokens
// that forms a valid number wins. A token that starts no valid number is named
// in the error.
func numbers(usage string, toks []token) ([]phone.Number, *UsageError) {
	var out []phone.Number
	for i := 0; i < len(toks); {
		if !toks[i].literal {
			return nil, usageErr(usage, "`%s` is not a phone number. Type the number, e.g. `+32 470 12 34 56`.", toks[i].text)
		}
		n, used, err := longestNumber(toks[i:])
		if err != nil {
			return nil, usageErr(usage, "%s.", capitalize(err.Error()))
		}
		out = append(out, n)
		i += used
	}
	return out, nil
}

func longestNumber(toks []token) (phone.Number, int, error) {
	limit := min(len(toks), maxNumberTokens)
	for k := limit; k > 1; k-- {
		parts := make([]string, 0, k)
		ok := true
		for _, t := range toks[:k] {
			if !t.literal || strings.Contains(t.text, ":") || strings.Contains(t.text, "=") {
				ok = false
				break
			}
			parts = append(parts, t.text)
		}
		if !ok {
			continue
		}
		if n, err := phone.Parse(strings.Join(parts, " ")); err == nil && n.Kind != phone.Special {
			return n, k, nil
		}
	}
	n, err := phone.Parse(toks[0].text)
	if err == nil {
		return n, 1, nil
	}
	// Name everything that looks like part of the number, not just its first group.
	run := 0
	for run < limit && toks[run].literal && numberish(toks[run].text) {
		run++
	}
	if run > 1 {
		if _, runErr := phone.Parse(joinTokens(toks[:run])); runErr != nil {
			err = runErr
		}
	}
	var pe *phone.Error
	if run == 0 || !errors.As(err, &pe) {
		return phone.Number{}, 0, err
	}
	// A run cut short by a token that is not digits: that token is the
	// mistake ("0471 00 00 9x"), not the digits before it.
	if run < limit && toks[run].literal && !strings.ContainsAny(toks[run].text, ":=") {
		stop := toks[run]
		why := "it is not digits"
		var se *phone.Error
		if _, serr := phone.Parse(stop.text); errors.As(serr, &se) {
			why = se.Reason
		}
		return phone.Number{}, 0, fmt.Errorf("`%s` is not part of a phone number (%s), and %q before it is not a whole one (%s); write numbers like +32 470 12 34 56 or 0470123456",
			stop.text, why, pe.Input, pe.Reason)
	}
	// A run of digits that grows too long: name the group from which on no
	// number can be formed ("0471 00 00 999").
	if pe.Reason == "too long" && run > 1 {
		for k := 1; k <= run; k++ {
			var ke *phone.Error
			if _, kerr := phone.Parse(joinTokens(toks[:k])); errors.As(kerr, &ke) && ke.Reason == "too long" {
				if k > 1 {
					return phone.Number{}, 0, fmt.Errorf("%q is not a valid phone number (too long from `%s` on); write it like +32 470 12 34 56 or 0470123456", pe.Input, toks[k-1].text)
				}
				break
			}
		}
	}
	return phone.Number{}, 0, err
}

// numberish reports whether a token holds only what phone numbers are
// written with: digits, +, brackets, dashes, dots and slashes.
func numberish(text string) bool { return strings.Trim(text, "+0123456789()-./") == "" }

// joinTokens writes tokens back as they were typed, one space between.
func joinTokens(toks []token) string {
	parts := make([]string, len(toks))
	for i, t := range toks {
		parts[i] = t.text
	}
	return strings.Join(parts, " ")
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	if s[0] == '"' {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
