package simfile

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/switchboard-bot/switchboard"
)

func targets(ss ...string) []switchboard.Target {
	out := make([]switchboard.Target, len(ss))
	for i, s := range ss {
		t, err := switchboard.ParseTarget(s)
		if err != nil {
			panic(err)
		}
		out[i] = t
	}
	return out
}

func TestParse(t *testing.T) {
	tests := []struct {
		name   string
		file   string
		want   []switchboard.Target
		dups   int
		bad    []int // line numbers not understood
		column string
	}{
		{
			name: "one number per line, typed as people type them",
			file: "0471 00 00 01\n+32 471 00 00 02\n32471000003\n0471/00.00.04\n",
			want: targets("msisdn:32471000001", "msisdn:32471000002", "msisdn:32471000003", "msisdn:32471000004"),
		},
		{
			name: "blank lines and comments skipped, duplicates counted once",
			file: "# closed sites\n\n0471000001\n   \n+32471000001\n0471000002\n# end\n",
			want: targets("msisdn:32471000001", "msisdn:32471000002"),
			dups: 1,
		},
		{
			name:   "header names the column, in any case, other columns ignored",
			file:   "site,ICCID,notes\nGhent,89320100000000000001,closed\nLiège,89320100000000000002,\"closed, moved\"\n",
			want:   targets("iccid:89320100000000000001", "iccid:89320100000000000002"),
			column: `the "ICCID" column`,
		},
		{
			name:   "imsi header",
			file:   "imsi\n206011234567890\n",
			want:   targets("imsi:206011234567890"),
			column: `the "imsi" column`,
		},
		{
			name: "spreadsheet export: BOM, semicolons, formula-wrapped numbers, trailing empty cells",
			file: "\ufeffMSISDN;Site;;\n=\"0471000001\";Ghent;;\n\"=\"\"0471000002\"\"\";Antwerp;;\n'0471000003;Brussels;;\n;;;\n",
			want: targets("msisdn:32471000001", "msisdn:32471000002", "msisdn:32471000003"),
		},
		{
			name: "tab separated, Windows line ends",
			file: "msisdn\tsite\r\n0471000001\tGhent\r\n0471000002\tAntwerp\r\n",
			want: targets("msisdn:32471000001", "msisdn:32471000002"),
		},
		{
			name: "first column without a header, prefixes and ICCIDs by their shape",
			file: "0471000001,Ghent\niccid:89320100000000000007,Antwerp\n89320100000000000008,Leuven\nimsi:206011234567890,Mons\n",
			want: targets("msisdn:32471000001", "iccid:89320100000000000007", "iccid:89320100000000000008", "imsi:206011234567890"),
		},
		{
			name:   "a header that names no known column: the first column",
			file:   "Number,Site\n0471000001,Ghent\n",
			want:   targets("msisdn:32471000001"),
			column: `the first column (the header names no msisdn, iccid or imsi column; "Number" was taken as its title)`,
		},
		{
			name: "lines not understood keep their numbers",
			file: "0471000001\nhello\n112\n8.93201E+18\n0471000002\nTotal: 2\n",
			want: targets("msisdn:32471000001", "msisdn:32471000002"),
			bad:  []int{2, 3, 4, 6},
		},
		{
			name: "an ICCID column with a short value",
			file: "iccid\n8932\n89320100000000000001\n",
			want: targets("iccid:89320100000000000001"),
			bad:  []int{2},
		},
		{
			name: "a row without the header's column",
			file: "site;msisdn\nGhent\nAntwerp;0471000001\n",
			want: targets("msisdn:32471000001"),
			bad:  []int{2},
		},
		{
			name:   "a title line above the header",
			file:   "Closed sites, export of 2026-11-30;;\nSite;MSISDN;Closed on\nGhent;0471000001;2026-11-03\n",
			want:   targets("msisdn:32471000001"),
			bad:    []int{1},
			column: `the "MSISDN" column`,
		},
		{
			name:   "a title with a comma above a semicolon export",
			file:   "Closed sites, November\nSite;MSISDN\nGhent;0471000001\nAntwerp;0471000002\n",
			want:   targets("msisdn:32471000001", "msisdn:32471000002"),
			column: `the "MSISDN" column`,
		},
		{
			name: "nothing but comments",
			file: "# nothing\n\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse([]byte(tt.file))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if !slices.Equal(got.Cards, tt.want) {
				t.Errorf("cards: got %v, want %v", got.Cards, tt.want)
			}
			if got.Duplicates != tt.dups {
				t.Errorf("duplicates: got %d, want %d", got.Duplicates, tt.dups)
			}
			var lines []int
			for _, l := range got.Bad {
				lines = append(lines, l.N)
				if l.Why == "" {
					t.Errorf("line %d: no reason given", l.N)
				}
			}
			if !slices.Equal(lines, tt.bad) || got.BadCount != len(tt.bad) {
				t.Errorf("lines not understood: got %v (count %d), want %v; %+v", lines, got.BadCount, tt.bad, got.Bad)
			}
			if tt.column != "" && got.Column != tt.column {
				t.Errorf("column: got %q, want %q", got.Column, tt.column)
			}
		})
	}
}

// TestParseUnicodeText: Excel's "Unicode Text" export is UTF-16 with a
// byte-order mark, tab separated.
func TestParseUnicodeText(t *testing.T) {
	for _, order := range []binary.AppendByteOrder{binary.LittleEndian, binary.BigEndian} {
		file := "\ufeffMSISDN\tSite\r\n0471000001\tLiège\r\n0471000002\tGhent\r\n"
		var data []byte
		for _, u := range utf16.Encode([]rune(file)) {
			data = order.AppendUint16(data, u)
		}
		got, err := Parse(data)
		if err != nil {
			t.Fatalf("%v: %v", order, err)
		}
		if want := targets("msisdn:32471000001", "msisdn:32471000002"); !slices.Equal(got.Cards, want) || got.BadCount != 0 {
			t.Errorf("%v: got %v (%+v), want %v", order, got.Cards, got.Bad, want)
		}
	}
}

func TestParseScientificNotationSaysWhy(t *testing.T) {
	got, err := Parse([]byte("8,93201E+18;Ghent\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got.BadCount != 1 || !strings.Contains(got.Bad[0].Why, "scientific notation") {
		t.Fatalf("got %+v, want one line not understood naming scientific notation", got.Bad)
	}
}

func TestParseKeepsTheFirstTenLinesNotUnderstood(t *testing.T) {
	var b strings.Builder
	for i := range 25 {
		fmt.Fprintf(&b, "junk %d\n", i)
	}
	got, err := Parse([]byte(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	if got.BadCount != 25 || len(got.Bad) != MaxBad || got.Bad[9].N != 10 {
		t.Fatalf("got count %d and %d kept (last line %d), want 25, %d, 10", got.BadCount, len(got.Bad), got.Bad[len(got.Bad)-1].N, MaxBad)
	}
}

func TestRefusals(t *testing.T) {
	big := bytes.Repeat([]byte("0471000001\n"), MaxBytes/11+1)
	tests := []struct {
		name string
		data []byte
		want error
	}{
		{"over 10 MB", big, ErrTooLarge},
		{"an xlsx workbook", []byte("PK\x03\x04\x14\x00\x06\x00"), ErrWorkbook},
		{"an old Excel file", []byte("\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1\x00\x00"), ErrWorkbook},
		{"UTF-16 text of control bytes", []byte("\xff\xfe\x01\x00\x02\x00"), ErrBinary},
		{"control bytes", []byte("0471000001\x01\x02\n"), ErrBinary},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Read(bytes.NewReader(tt.data))
			if !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		"0471000001\n",
		"\ufeffMSISDN;Site\n=\"0471000001\";Ghent\n",
		"iccid,x\n89320100000000000001,\"a,b\"\n",
		"# c\n\n'0471000003\n\"unclosed\n",
		"imsi\t\n206011234567890\t\n",
		"8.93201E+18\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		list, err := Parse(data)
		if err != nil {
			return
		}
		seen := map[switchboard.Target]bool{}
		for _, c := range list.Cards {
			if seen[c] {
				t.Fatalf("card %v listed twice", c)
			}
			seen[c] = true
			if _, err := switchboard.ParseTarget(c.String()); err != nil {
				t.Fatalf("card %v does not read back: %v", c, err)
			}
		}
		if len(list.Bad) > MaxBad || list.BadCount < len(list.Bad) {
			t.Fatalf("%d lines kept of %d counted", len(list.Bad), list.BadCount)
		}
		for _, l := range list.Bad {
			if l.N < 1 || l.Why == "" {
				t.Fatalf("line not understood without a number or reason: %+v", l)
			}
		}
	})
}

// TestReadAtMostStopsPastTheLimit: a file of far more cards than a change
// takes is read only up to the first card past the limit.
func TestReadAtMostStopsPastTheLimit(t *testing.T) {
	var file strings.Builder
	for i := range 1000 {
		fmt.Fprintf(&file, "0472%06d\n", i)
	}
	list, err := ReadAtMost(strings.NewReader(file.String()), 10)
	if err != nil || len(list.Cards) != 11 || !list.Over {
		t.Errorf("ReadAtMost(1000 cards, 10) = %d cards, over %t, err %v; want 11 cards and over", len(list.Cards), list.Over, err)
	}
	list, err = ReadAtMost(strings.NewReader(file.String()), 1000)
	if err != nil || len(list.Cards) != 1000 || list.Over {
		t.Errorf("ReadAtMost(1000 cards, 1000) = %d cards, over %t, err %v; want all 1000, not over", len(list.Cards), list.Over, err)
	}
}
