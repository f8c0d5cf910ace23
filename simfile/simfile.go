// Package simfile reads a list of SIM cards from a file people export from
// a spreadsheet or type by hand: one identifier per line, or CSV whose
// header names an msisdn, iccid or imsi column, or the first column of a
// CSV without a header.
//
// Spreadsheets write such files in many ways, and the reader takes them as
// they come: a byte-order mark, UTF-16 ("Unicode Text"), ";" or tab instead of ",", quoted cells,
// numbers wrapped as formulas (="0471000001") or forced to text with a
// leading apostrophe, trailing empty cells, blank lines and comments. What
// it does not understand it keeps, with its line number and the reason, so
// that the person can fix the file; it never guesses a card.
package simfile

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/switchboard-bot/switchboard"
	"github.com/switchboard-bot/switchboard/phone"
)

// MaxBytes is the largest file read: 10 MB, hundreds of thousands of lines.
const MaxBytes = 10 << 20

// Errors that refuse a whole file. Each says what to do in its text.
var (
	ErrTooLarge = errors.New("the file is over 10 MB; split it into smaller files")
	ErrBinary   = errors.New("the file is not text; export the sheet as CSV (comma or semicolon separated) or save the list as plain text")
	ErrWorkbook = errors.New("the file is a spreadsheet workbook, not CSV; in the spreadsheet use Save as / Download as CSV, then send that file")
)

// Line is a line the reader did not understand.
type Line struct {
	N    int    // its line number, from 1
	Text string // what it holds, cut to 80 characters
	Why  string // why it was not read as a card
}

// List is what a file holds.
type List struct {
	// Cards are the distinct cards, in the order the file first names them.
	Cards []switchboard.Target
	// Duplicates counts the lines that named a card named before.
	Duplicates int
	// Bad are the first MaxBad lines not understood; BadCount counts them all.
	Bad      []Line
	BadCount int
	// Column says where the cards were read: `the "ICCID" column`, or
	// "the first column".
	Column string
	// Over is true when ReadAtMost stopped at the first card past its
	// limit: Cards holds one more than the limit, the rest was not read.
	Over bool
}

// MaxBad is how many lines not understood a List keeps.
const MaxBad = 10

// Read reads a file of SIM cards. It refuses (with ErrTooLarge, ErrBinary
// or ErrWorkbook) a file over MaxBytes or one that is not text, and returns
// the cards it found otherwise, which may be none.
func Read(r io.Reader) (List, error) { return ReadAtMost(r, 0) }

// ReadAtMost reads as Read does, but stops at the first card past limit
// (0: no limit) and sets Over: a file of a million cards costs no more
// than one of limit.
func ReadAtMost(r io.Reader, limit int) (List, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxBytes+1))
	if err != nil {
		return List{}, fmt.Errorf("read the file: %w", err)
	}
	if len(data) > MaxBytes {
		return List{}, ErrTooLarge
	}
	return parse(data, limit)
}

// Parse reads the bytes of a file as Read does.
func Parse(data []byte) (List, error) { return parse(data, 0) }

func parse(data []byte, limit int) (List, error) {
	if len(data) > MaxBytes {
		return List{}, ErrTooLarge
	}
	data = fromUTF16(data)
	if err := checkText(data); err != nil {
		return List{}, err
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	cr := csv.NewReader(bytes.NewReader(data))
	cr.Comma = separator(data)
	cr.Comment = '#'
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = true
	cr.TrimLeadingSpace = true
	cr.ReuseRecord = true

	var (
		list   List
		seen   = map[switchboard.Target]bool{}
		column = 0
		typ    switchboard.TargetType // "" until a header names one
		first  = true
	)
	list.Column = "the first column"
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		line, _ := cr.FieldPos(0)
		if err != nil {
			var pe *csv.ParseError
			if !errors.As(err, &pe) {
				return List{}, fmt.Errorf("read the file: %w", err)
			}
			list.bad(pe.StartLine, "", "a quote is not closed")
			continue
		}
		if isBlank(rec) {
			continue
		}
		// Exports often open with a title or a date above the header: a
		// header is looked for until the first card.
		if typ == "" && len(list.Cards) == 0 && list.Duplicates == 0 {
			if i, t, name, ok := header(rec); ok {
				column, typ, first = i, t, false
				list.Column = fmt.Sprintf("the %q column", name)
				continue
			}
		}
		if first {
			first = false
			if !hasDigit(rec[0]) {
				// A header naming none of the three: the first column, as
				// without a header.
				list.Column = fmt.Sprintf("the first column (the header names no msisdn, iccid or imsi column; %q was taken as its title)", cut(clean(rec[0]), 40))
				continue
			}
		}
		if column >= len(rec) {
			list.bad(line, strings.Join(rec, string(cr.Comma)), fmt.Sprintf("it has no column %d", column+1))
			continue
		}
		cell := clean(rec[column])
		if cell == "" {
			list.bad(line, strings.Join(rec, string(cr.Comma)), "the card's cell is empty")
			continue
		}
		t, why := card(cell, typ)
		if why != "" {
			list.bad(line, cell, why)
			continue
		}
		if seen[t] {
			list.Duplicates++
			continue
		}
		seen[t] = true
		list.Cards = append(list.Cards, t)
		if limit > 0 && len(list.Cards) > limit {
			list.Over = true
			break
		}
	}
	return list, nil
}

func (l *List) bad(n int, text, why string) {
	l.BadCount++
	if len(l.Bad) < MaxBad {
		l.Bad = append(l.Bad, Line{N: n, Text: cut(text, 80), Why: why})
	}
}

// fromUTF16 turns a file that starts with a UTF-16 byte-order mark (what
// Excel writes as "Unicode Text") into UTF-8; other files are returned as
// they are.
func fromUTF16(data []byte) []byte {
	var order binary.ByteOrder
	switch {
	case len(data) < 2 || len(data)%2 != 0:
		return data
	case data[0] == 0xff && data[1] == 0xfe:
		order = binary.LittleEndian
	case data[0] == 0xfe && data[1] == 0xff:
		order = binary.BigEndian
	default:
		return data
	}
	units := make([]uint16, 0, len(data)/2-1)
	for i := 2; i < len(data); i += 2 {
		units = append(units, order.Uint16(data[i:]))
	}
	return []byte(string(utf16.Decode(units)))
}

// checkText refuses what is not a text file: a zip (an .xlsx or .ods
// workbook), an old Excel file, or bytes a text file does not hold (NUL,
// control characters).
func checkText(data []byte) error {
	switch {
	case bytes.HasPrefix(data, []byte("PK\x03\x04")), bytes.HasPrefix(data, []byte("\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")):
		return ErrWorkbook
	case bytes.IndexByte(data, 0) >= 0:
		return ErrBinary
	}
	control := 0
	for _, b := range data[:min(len(data), 64<<10)] {
		if (b < 0x20 && b != '\t' && b != '\n' && b != '\r' && b != '\f') || b == 0x7f {
			control++
		}
	}
	if control > 0 {
		return ErrBinary
	}
	return nil
}

// separator guesses the file's separator from its first lines that are
// neither blank nor comments: of ",", ";" and tab (outside quotes), the
// one that most of them hold, so that a title line above the header does
// not decide; "," when none appears.
func separator(data []byte) rune {
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), MaxBytes+1)
	lines := map[rune]int{} // how many lines hold each separator
	for n := 0; n < 20 && sc.Scan(); {
		line := strings.TrimSpace(strings.TrimPrefix(sc.Text(), "\ufeff"))
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		n++
		held := map[rune]bool{}
		quoted := false
		for _, r := range line {
			switch {
			case r == '"':
				quoted = !quoted
			case !quoted && (r == ',' || r == ';' || r == '\t'):
				held[r] = true
			}
		}
		for r := range held {
			lines[r]++
		}
	}
	// A tie goes to ";": where it separates, "," is the decimal mark.
	best := ','
	if lines[';'] > 0 && lines[';'] >= lines[','] {
		best = ';'
	}
	if lines['\t'] > lines[best] {
		best = '\t'
	}
	return best
}

// header reports whether rec is a header naming an msisdn, iccid or imsi
// column (the first such column wins), and which.
func header(rec []string) (int, switchboard.TargetType, string, bool) {
	for i, cell := range rec {
		name := clean(cell)
		switch t := switchboard.TargetType(strings.ToLower(name)); t {
		case switchboard.MSISDN, switchboard.ICCID, switchboard.IMSI:
			return i, t, name, true
		}
	}
	return 0, "", "", false
}

// clean takes off what spreadsheets wrap around a value: spaces (also
// non-breaking ones), a formula that only quotes a text (="0471…"), a
// leading apostrophe that forces text, quotes left by a lazy export.
func clean(s string) string {
	s = strings.TrimFunc(s, func(r rune) bool { return unicode.IsSpace(r) || r == '\ufeff' })
	if inner, ok := strings.CutPrefix(s, "=\""); ok && strings.HasSuffix(inner, "\"") {
		s = strings.TrimSuffix(inner, "\"")
	}
	s = strings.TrimPrefix(s, "'")
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		s = s[1 : len(s)-1]
	}
	return strings.TrimFunc(s, unicode.IsSpace)
}

func isBlank(rec []string) bool {
	for _, c := range rec {
		if clean(c) != "" {
			return false
		}
	}
	return true
}

func hasDigit(s string) bool { return strings.ContainsAny(s, "0123456789") }

// card reads one cell as a card of type typ ("" when no header named it:
// an "iccid:" or "imsi:" prefix, or an ICCID's shape, or else a phone
// number). It returns why when the cell is not a card.
func card(cell string, typ switchboard.TargetType) (switchboard.Target, string) {
	if typ == "" {
		if kind, value, ok := strings.Cut(cell, ":"); ok {
			switch t := switchboard.TargetType(strings.ToLower(strings.TrimSpace(kind))); t {
			case switchboard.MSISDN, switchboard.ICCID, switchboard.IMSI:
				typ, cell = t, strings.TrimSpace(value)
			default:
				return switchboard.Target{}, fmt.Sprintf("unknown id type %q; use iccid:, imsi: or just the number", cut(kind, 20))
			}
		}
	}
	if strings.ContainsAny(cell, "Ee") && strings.Contains(cell, "+") && strings.ContainsAny(cell, ".,") {
		return switchboard.Target{}, "the spreadsheet wrote it in scientific notation and lost digits; format the column as text before exporting"
	}
	digits := strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' || r == '.' || r == '\u00a0' {
			return -1
		}
		return r
	}, cell)
	allDigits := digits != "" && strings.Trim(digits, "0123456789") == ""
	if typ == "" && allDigits && strings.HasPrefix(digits, "89") && len(digits) >= 18 && len(digits) <= 22 {
		typ = switchboard.ICCID
	}
	switch typ {
	case switchboard.ICCID:
		if !allDigits || len(digits) < 18 || len(digits) > 22 {
			return switchboard.Target{}, "not an ICCID: an ICCID is 18 to 22 digits"
		}
		return switchboard.Target{Type: switchboard.ICCID, ID: digits}, ""
	case switchboard.IMSI:
		if !allDigits || len(digits) < 14 || len(digits) > 15 {
			return switchboard.Target{}, "not an IMSI: an IMSI is 14 or 15 digits"
		}
		return switchboard.Target{Type: switchboard.IMSI, ID: digits}, ""
	}
	if !utf8.ValidString(cell) {
		return switchboard.Target{}, "not a phone number (it holds characters that are not text)"
	}
	n, err := phone.Parse(cell)
	if err != nil {
		var pe *phone.Error
		if errors.As(err, &pe) {
			return switchboard.Target{}, "not a phone number: " + pe.Reason
		}
		return switchboard.Target{}, "not a phone number"
	}
	if n.Kind == phone.Special {
		return switchboard.Target{}, "a short service number, not a SIM card's"
	}
	return switchboard.Number(n.Digits), ""
}

// cut shortens s to n characters, marking the cut.
func cut(s string, n int) string {
	s = strings.ToValidUTF8(s, "?")
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}
