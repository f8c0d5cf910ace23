package commands

import (
	"slices"
	"strings"

	"github.com/switchboard-bot/switchboard/phone"
)

// options splits key=value tokens (e.g. zone=02) from the positional ones.
// Keys are lower-cased; an unknown key or a repeated one is a usage error.
func options(usage string, toks []token, allowed ...string) (pos []token, opts map[string]string, err *UsageError) {
	opts = map[string]string{}
	pos, err = splitOptions(usage, toks, allowed, func(k, v string, _ token, _ []token) (int, *UsageError) {
		if _, dup := opts[k]; dup {
			return 0, usageErr(usage, "`%s=` is given twice; give it once.", k)
		}
		if v == "" {
			return 0, usageErr(usage, "`%s=` needs a value, e.g. `%s=…`.", k, k)
		}
		opts[k] = v
		return 0, nil
	})
	if err != nil {
		return nil, nil, err
	}
	return pos, opts, nil
}

// splitOptions walks toks: it returns the positional ones and hands each
// key=value option to take, with the key lower-cased and one of allowed
// (any other is a usage error), the token itself and the tokens after it.
// take says how many of those it used as well.
func splitOptions(usage string, toks []token, allowed []string, take func(key, value string, t token, after []token) (used int, err *UsageError)) ([]token, *UsageError) {
	var pos []token
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		k, v, ok := strings.Cut(t.text, "=")
		if !ok || !t.literal {
			pos = append(pos, t)
			continue
		}
		k = strings.ToLower(k)
		switch {
		case !slices.Contains(allowed, k) && len(allowed) == 0:
			return nil, usageErr(usage, "`%s`: this command takes no options.", t.text)
		case !slices.Contains(allowed, k):
			return nil, usageErr(usage, "`%s`: unknown option `%s`. Options here: %s.", t.text, k, strings.Join(quoteAll(allowed, "=…"), ", "))
		}
		used, err := take(k, v, t, toks[i+1:])
		if err != nil {
			return nil, err
		}
		i += used
	}
	return pos, nil
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
	opts := map[string]numberOption{}
	pos, err := splitOptions(usage, toks, keys, func(k, v string, t token, after []token) (int, *UsageError) {
		if _, dup := opts[k]; dup {
			return 0, usageErr(usage, "`%s=` is given twice; give it once.", k)
		}
		if strings.EqualFold(v, "none") {
			opts[k] = numberOption{none: true, text: t.text}
			return 0, nil
		}
		var run []token
		if v != "" {
			run = append(run, token{text: v, literal: true})
		}
		run = append(run, after...)
		if len(run) == 0 {
			example := "02 816 02 57"
			if k == "mobile" {
				example = "0470 12 34 56"
			}
			return 0, usageErr(usage, "`%s=` needs a number, e.g. `%s=%s`.", k, k, example)
		}
		n, used, err := longestNumber(run)
		if err != nil {
			return 0, usageErr(usage, "`%s=`: %s.", k, capitalize(err.Error()))
		}
		words := make([]string, used)
		for j, w := range run[:used] {
			words[j] = w.text
		}
		opts[k] = numberOption{num: n, text: k + "=" + strings.Join(words, " ")}
		if v != "" {
			used--
		}
		return used, nil
	})
	if err != nil {
		return nil, nil, err
	}
	return pos, opts, nil
}
