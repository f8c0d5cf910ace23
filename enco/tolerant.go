package enco

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The helpers below read JSON values whose type EnCo does not pin down: an
// identifier may come as a string or a number, a flag as a boolean or a
// word, a message as a string or an object. They never fail; a value of an
// unexpected shape reads as the zero value.

// fields decodes a JSON object into its raw members; ok is false for
// anything that is not an object.
func fields(raw json.RawMessage) (map[string]json.RawMessage, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return nil, false
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, false
	}
	return m, true
}

// field returns the member called name, matching the key exactly first and
// then case-insensitively, and ignoring a JSON null.
func field(m map[string]json.RawMessage, names ...string) (json.RawMessage, bool) {
	for _, name := range names {
		if v, ok := m[name]; ok && !isNull(v) {
			return v, true
		}
	}
	for _, name := range names {
		for k, v := range m {
			if strings.EqualFold(k, name) && !isNull(v) {
				return v, true
			}
		}
	}
	return nil, false
}

func isNull(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) == 0 || string(raw) == "null"
}

// elements splits a JSON array into its members, or returns a lone value as
// a one-member list; ok is false for an empty input or invalid JSON.
func elements(raw json.RawMessage) ([]json.RawMessage, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return nil, false
	}
	if raw[0] != '[' {
		return []json.RawMessage{raw}, true
	}
	var list []json.RawMessage
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, false
	}
	return list, true
}

// flexString reads a string or a number as text.
func flexString(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return ""
	}
	switch raw[0] {
	case '"':
		if s, ok := plainString(raw); ok {
			return strings.TrimSpace(s)
		}
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return strings.TrimSpace(s)
		}
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		var n json.Number
		if json.Unmarshal(raw, &n) == nil {
			return n.String()
		}
	}
	return ""
}

// plainString returns the text of a JSON string literal that needs no
// unescaping: no backslash, quote or control character inside, valid UTF-8.
// Most of EnCo's strings are such, and reading one this way spares a decoder.
func plainString(raw []byte) (string, bool) {
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return "", false
	}
	inner := raw[1 : len(raw)-1]
	for _, c := range inner {
		if c == '\\' || c == '"' || c < 0x20 {
			return "", false
		}
	}
	if !utf8.Valid(inner) {
		return "", false
	}
	return string(inner), true
}

// flexInt reads an integer given as a number or a numeric string; a
// fractional number is truncated.
func flexInt(raw json.RawMessage) int64 {
	s := flexString(raw)
	if s == "" {
		return 0
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil && f > -1e18 && f < 1e18 {
		return int64(f)
	}
	return 0
}

// flexBool reads a boolean given as true/false, a word ("true", "yes",
// "success", "ok", "1" and their negatives, any case) or a number; ok is
// false when the value says neither.
func flexBool(raw json.RawMessage) (value, ok bool) {
	raw = bytes.TrimSpace(raw)
	switch string(raw) {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	switch strings.ToLower(flexString(raw)) {
	case "true", "yes", "y", "1", "ok", "success", "succeeded", "successful":
		return true, true
	case "false", "no", "n", "0", "failed", "failure", "error", "ko":
		return false, true
	}
	return false, false
}

// readableText turns a message into one line of text: a string as is, an
// object by its message-like member (or compact JSON when it has none), a
// list as its readable members joined with "; ".
func readableText(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	switch raw[0] {
	case '{':
		m, ok := fields(raw)
		if !ok {
			return ""
		}
		if v, ok := field(m, "message", "text", "description", "error_description", "error", "detail", "reason"); ok {
			if s := readableText(v); s != "" {
				return s
			}
		}
		var buf bytes.Buffer
		if json.Compact(&buf, raw) != nil {
			return ""
		}
		return buf.String()
	case '[':
		list, ok := elements(raw)
		if !ok {
			return ""
		}
		parts := make([]string, 0, len(list))
		for _, v := range list {
			if s := readableText(v); s != "" {
				parts = append(parts, s)
			}
		}
		return strings.Join(parts, "; ")
	case 't', 'f':
		return string(raw)
	}
	return flexString(raw)
}

// fieldOrNil is field without the found flag.
func fieldOrNil(m map[string]json.RawMessage, names ...string) json.RawMessage {
	v, _ := field(m, names...)
	return v
}
