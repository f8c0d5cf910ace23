package commands

import (
	"strings"

	"github.com/switchboard-bot/switchboard/phone"
)

// options splits key=value tokens (e.g. zone=02) from the positional ones.
// Keys are lower-cased; an unknown key or a repeated one is a usage error.
func options(usage string, toks []token, allowed ...string) (pos []token, opts map[string]string, err *UsageError) {
	opts = map[string]string{}
	for _, t := range toks {
		k, v, ok := strings.Cut(t.text, "=")
		if !ok || !t.literal {
			pos = append(pos, t)
			continue
		}
		k = strings.ToLower(k)
		known := false
		for _, a := range allowed {
			known = known || a == k
		}
		if !known {
			if len(allowed) == 0 {
				return nil, nil, usageErr(usage, "`%s`: this command takes no options.", t.text)
			}
			return nil, nil, usageErr(usage, "`%s`: unknown option `%s`. Options here: %s.", t.text, k, strings.Join(quoteAll(allowed, "=…"), ", "))
		}
		if _, dup := opts[k]; dup {
			return nil, nil, usageErr(usage, "`%s=` is given twice; give it once.", k)
		}
		if v == "" {
			return nil, nil, usageErr(usage, "`%s=` needs a value, e.g. `%s=…`.", k, k)
		}
		opts[k] = v
	}
	return pos, opts, nil
}

func quoteAll(ss []string, suffix string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = "`" + s + suffix + "`"
	}
	return out
}

// numberOption is a key=<number> option, like from=02 816 02 57.
type numberOption struct {
	num  phone.Number
	none bool   // the value was "none"
	text string // as typed, for messages
}

// numberOptions splits key=<number> options from the other tokens. A number
// may be written with spaces ("from=+32 2 816 02 57"): it takes the
// following tokens as far as they form a valid number.
func numberOptions(usage string, toks []token, keys ...string) ([]token, map[string]numberOption, *UsageError) {
	var pos []token
	opts := map[string]numberOption{}
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		k, v, isOpt := strings.Cut(t.text, "=")
		if !isOpt || !t.literal {
			pos = append(pos, t)
			continue
		}
		k = strings.ToLower(k)
		known := false
		for _, a := range keys {
			known = known || a == k
		}
		if !known {
			return nil, nil, usageErr(usage, "`%s`: unknown option `%s`. Options here: %s.", t.text, k, strings.Join(quoteAll(keys, "=…"), ", "))
		}
		if _, dup := opts[k]; dup {
			return nil, nil, usageErr(usage, "`%s=` is given twice; give it once.", k)
		}
		if strings.EqualFold(v, "none") {
			opts[k] = numberOption{none: true, text: t.text}
			continue
		}
		var run []token
		if v != "" {
			run = append(run, token{text: v, literal: true})
		}
		run = append(run, toks[i+1:]...)
		if len(run) == 0 {
			return nil, nil, usageErr(usage, "`%s=` needs a number, e.g. `%s=02 816 02 57`.", k, k)
		}
		n, used, err := longestNumber(run)
		if err != nil {
			return nil, nil, usageErr(usage, "`%s=`: %s.", k, capitalize(err.Error()))
		}
		words := make([]string, used)
		for j, w := range run[:used] {
			words[j] = w.text
		}
		opts[k] = numberOption{num: n, text: k + "=" + strings.Join(words, " ")}
		if v != "" {
			used--
		}
		i += used
	}
	return pos, opts, nil
}
