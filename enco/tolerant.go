package enco

import (
	"bytes"
	"encoding/json"
	"io"
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
//
// The value is read once into a tree (readTree) and the tree is walked, so
// the time taken grows with the size of the value, not with its size times
// its depth: a body nested a thousand levels deep costs what a flat one of
// the same size does.
func readableText(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	n, ok := readTree(raw)
	if !ok {
		return ""
	}
	return n.text(raw)
}

// messageNames are the members an object's text is read from, in order.
var messageNames = []string{"message", "text", "description", "error_description", "error", "detail", "reason"}

// jsonNode is one JSON value read by readTree: its kind ('{', '[', '"',
// '0' for a number, 't', 'f', 'n'), its text for a string or a number, its
// members for an object or a list (keys only for an object), and its span
// in the input, for compact JSON.
type jsonNode struct {
	kind       byte
	str        string
	keys       []string
	vals       []*jsonNode
	start, end int64
}

// readTree reads one JSON value and nothing after it; ok is false for
// anything that is not valid JSON.
func readTree(raw []byte) (*jsonNode, bool) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	n, err := readNode(dec, raw)
	if err != nil {
		return nil, false
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, false
	}
	return n, true
}

func readNode(dec *json.Decoder, raw []byte) (*jsonNode, error) {
	start := dec.InputOffset()
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	// The offset before a value may sit before the ':' or ',' that leads to
	// it: skip those to the value's first byte.
	for start < int64(len(raw)) && bytes.IndexByte([]byte(" \t\r\n:,"), raw[start]) >= 0 {
		start++
	}
	n := &jsonNode{start: start}
	switch t := tok.(type) {
	case json.Delim:
		n.kind = byte(t)
		for dec.More() {
			if n.kind == '{' {
				key, err := dec.Token()
				if err != nil {
					return nil, err
				}
				k, _ := key.(string)
				n.keys = append(n.keys, k)
			}
			v, err := readNode(dec, raw)
			if err != nil {
				return nil, err
			}
			n.vals = append(n.vals, v)
		}
		if _, err := dec.Token(); err != nil { // the closing delimiter
			return nil, err
		}
	case string:
		n.kind, n.str = '"', t
	case json.Number:
		n.kind, n.str = '0', t.String()
	case bool:
		n.kind = 'f'
		if t {
			n.kind = 't'
		}
	case nil:
		n.kind = 'n'
	}
	n.end = dec.InputOffset()
	return n, nil
}

// text is readableText for a value already read.
func (n *jsonNode) text(raw []byte) string {
	switch n.kind {
	case '{':
		if v := n.member(messageNames); v != nil {
			if s := v.text(raw); s != "" {
				return s
			}
		}
		var buf bytes.Buffer
		if json.Compact(&buf, raw[n.start:n.end]) != nil {
			return ""
		}
		return buf.String()
	case '[':
		parts := make([]string, 0, len(n.vals))
		for _, v := range n.vals {
			if s := v.text(raw); s != "" {
				parts = append(parts, s)
			}
		}
		return strings.Join(parts, "; ")
	case 't':
		return "true"
	case 'f':
		return "false"
	case '"':
		return strings.TrimSpace(n.str)
	case '0':
		return n.str
	}
	return ""
}

// member is field for a value already read: the first of names present,
// matching the key exactly (the last such member, as a decoder keeps it)
// and then case-insensitively, and ignoring nulls.
func (n *jsonNode) member(names []string) *jsonNode {
	for _, name := range names {
		for i := len(n.keys) - 1; i >= 0; i-- {
			if n.keys[i] == name {
				if n.vals[i].kind != 'n' {
					return n.vals[i]
				}
				break
			}
		}
	}
	for _, name := range names {
		for i, k := range n.keys {
			if strings.EqualFold(k, name) && n.vals[i].kind != 'n' {
				return n.vals[i]
			}
		}
	}
	return nil
}

// fieldOrNil is field without the found flag.
func fieldOrNil(m map[string]json.RawMessage, names ...string) json.RawMessage {
	v, _ := field(m, names...)
	return v
}
