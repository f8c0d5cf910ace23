package commands

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/switchboard-bot/switchboard/enco"
)

func TestTokenize(t *testing.T) {
	tests := []struct {
		name string
		text string
		want []token
	}{
		{"spaces and commas", "a, b;c  d", []token{{text: "a", literal: true}, {text: "b", literal: true}, {text: "c", literal: true}, {text: "d", literal: true}}},
		{"user mention", "status <@U0AAAAAAA|alice>", []token{{text: "status", literal: true}, {text: "<@U0AAAAAAA>", user: "U0AAAAAAA"}}},
		{"group mention", "<!subteam^S0BBBBBBB|@ops>", []token{{text: "<!subteam^S0BBBBBBB>", group: "S0BBBBBBB"}}},
		{"phone link keeps its label", "<tel:+32470123456|+32 470 12 34 56>", []token{{text: "+32 470 12 34 56", literal: true}}},
		{"non-breaking space", "a\u00a0b", []token{{text: "a", literal: true}, {text: "b", literal: true}}},
		{"empty", "  ", nil},
		{"mention of no user", "<@!channel>", []token{{text: "&lt;@!channel&gt;"}}},
		{"mention with a malformed ID", "<@U0AAAA AAA|x> <@u0aaaaaaa>", []token{{text: "&lt;@U0AAAA AAA&gt;"}, {text: "&lt;@u0aaaaaaa&gt;"}}},
		{"group mention with a malformed ID", "<!subteam^!here>", []token{{text: "&lt;!subteam^!here&gt;"}}},
		{"special mention", "<!channel>", []token{{text: "!channel"}}},
		// Slack sends what people type with &, < and > as entities; a
		// semicolon inside one separates nothing.
		{"typed angle brackets", "status &lt;0471000001&gt;", []token{{text: "status", literal: true}, {text: "<0471000001>", literal: true}}},
		{"typed ampersand and entity", "a&amp;b &amp;gt", []token{{text: "a&b", literal: true}, {text: "&gt", literal: true}}},
		{"typed mention is no mention", "&lt;@U0AAAAAAA&gt;", []token{{text: "<@U0AAAAAAA>", literal: true}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tokenize(tt.text)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("tokenize(%q) = %+v, want %+v", tt.text, got, tt.want)
			}
		})
	}
	if _, err := tokenize(strings.Repeat("1 ", MaxTextLength)); err == nil {
		t.Errorf("tokenize accepted %d characters, want a refusal", 2*MaxTextLength)
	}
}

func TestSimDevices(t *testing.T) {
	r := &simCommand{}
	tests := []struct {
		text string
		want []enco.Device
	}{
		{"+32 471 00 00 01", []enco.Device{{Identifier: "32471000001", IdentifierType: enco.MSISDN}}},
		{"0471 00 00 01 0471 00 00 02", []enco.Device{{Identifier: "32471000001", IdentifierType: enco.MSISDN}, {Identifier: "32471000002", IdentifierType: enco.MSISDN}}},
		{"32471000001,iccid:8932010000000000001 imsi:206010000000001", []enco.Device{
			{Identifier: "32471000001", IdentifierType: enco.MSISDN},
			{Identifier: "8932010000000000001", IdentifierType: enco.ICCID},
			{Identifier: "206010000000001", IdentifierType: enco.IMSI},
		}},
		{"msisdn:0471000001 0471000001", []enco.Device{{Identifier: "32471000001", IdentifierType: enco.MSISDN}}},
		{"ICCID:8932010000000000001", []enco.Device{{Identifier: "8932010000000000001", IdentifierType: enco.ICCID}}},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			toks, _ := tokenize(tt.text)
			got, err := r.simDevices("status", toks)
			if err != nil {
				t.Fatalf("simDevices(%q): %v", tt.text, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("simDevices(%q) = %v, want %v", tt.text, got, tt.want)
			}
		})
	}
}

func TestSimDevicesRefusals(t *testing.T) {
	r := &simCommand{limits: limits{max: 3}}
	tests := []struct {
		text, want string
	}{
		{"", "at least one SIM"},
		{"0471 00", `"0471 00"`},
		{"0471000001 abc", `"abc"`},
		{"iccid:123", "18 to 22 digits"},
		{"imsi:20601x", "15 digits"},
		{"sn:1", "unknown id type `sn:`"},
		{"<@U0AAAAAAA>", "not people"},
		{"112", "short service number"},
		{"0471000001 0471000002 0471000003 0471000004", "at most 3"},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			toks, _ := tokenize(tt.text)
			_, err := r.simDevices("deactivate", toks)
			if err == nil {
				t.Fatalf("simDevices(%q) accepted it", tt.text)
			}
			if !strings.Contains(err.Msg, tt.want) {
				t.Errorf("simDevices(%q) = %q, want it to mention %s", tt.text, err.Msg, tt.want)
			}
		})
	}
}

// TestNumbersNameTheTokenThatFails: a refused number names the token that
// made it fail (the first one that is not digits, or the group from which
// on no number fits), and says how numbers are written.
func TestNumbersNameTheTokenThatFails(t *testing.T) {
	tests := []struct{ text, want string }{
		{"0471 00 00 9x", "`9x` is not part of a phone number (it contains 'x'), and \"0471 00 00\" before it is not a whole one (no such number exists); write numbers like +32 470 12 34 56 or 0470123456."},
		{"0471 abc", "`abc` is not part of a phone number (it contains 'a'), and \"0471\" before it is not a whole one (too short); write numbers like +32 470 12 34 56 or 0470123456."},
		{"0470 00 00 01 0472 1x", "`1x` is not part of a phone number (it contains 'x'), and \"0472\" before it is not a whole one (too short)"},
		{"0471 00 00 999", "\"0471 00 00 999\" is not a valid phone number (too long from `999` on); write it like +32 470 12 34 56 or 0470123456."},
		{"0471 00 00", "\"0471 00 00\" is not a valid phone number (no such number exists)"},
		{"0470 00 00 01 9", "\"9\" is not a valid phone number (too short)"},
		{"zz", "\"zz\" is not a valid phone number (it contains 'z')"},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			toks, _ := tokenize(tt.text)
			_, err := numbers(simUsage, toks)
			if err == nil {
				t.Fatalf("numbers(%q) accepted it", tt.text)
			}
			if !strings.HasPrefix(err.Msg, tt.want) {
				t.Errorf("numbers(%q) = %q, want it to start %q", tt.text, err.Msg, tt.want)
			}
		})
	}
}

// FuzzCommandGrammar feeds arbitrary text to the /sim grammar: it must never
// panic, and what it accepts must be well-formed ids.
func FuzzCommandGrammar(f *testing.F) {
	for _, s := range []string{
		"+32 471 00 00 01, iccid:8932010000000000001", "<@U1|a> <!subteam^S1|@g> <tel:+32|x>", "imsi:206010000000001",
		"0471 00", "a=b zone=02", "<<>>|", "msisdn:", ":::", "\u00a0\t\n", "<@>",
	} {
		f.Add(s)
	}
	r := &simCommand{}
	f.Fuzz(func(t *testing.T, text string) {
		toks, err := tokenize(text)
		if err != nil {
			var ue *UsageError
			if !errors.As(err, &ue) {
				t.Fatalf("tokenize error %T, want *UsageError", err)
			}
			return
		}
		devices, uerr := r.simDevices("status", toks)
		if uerr != nil {
			if uerr.Msg == "" || !utf8.ValidString(uerr.Msg) && utf8.ValidString(text) {
				t.Fatalf("empty or invalid usage message for %q", text)
			}
			return
		}
		if len(devices) == 0 || len(devices) > r.maxTargets() {
			t.Fatalf("accepted %d devices from %q", len(devices), text)
		}
		for _, d := range devices {
			if d.Identifier == "" || strings.Trim(d.Identifier, "0123456789") != "" {
				t.Fatalf("device %+v from %q is not all digits", d, text)
			}
		}
		_, _, _ = options(simUsage, toks, "zone", "type")
	})
}

// /fmu link and unlink store the mentioned ID as a directory key: a mention
// that names no user is refused before that.
func TestDirectoryCommandsRefuseMentionsOfNoUser(t *testing.T) {
	for _, text := range []string{"<@!channel>", "<@!here|here>", "<@U1 2>", "<!subteam^S0BBBBBBB>"} {
		t.Run(text, func(t *testing.T) {
			toks, err := tokenize(text)
			if err != nil {
				t.Fatal(err)
			}
			user, uerr := onePerson(toks, "link")
			if uerr == nil {
				t.Fatalf("onePerson(%q) = %q, want a refusal", text, user)
			}
			if !strings.Contains(uerr.Msg, "is not a person") {
				t.Errorf("refusal = %q, want it to say the token is not a person", uerr.Msg)
			}
			if strings.Contains(uerr.Msg, "<@!") {
				t.Errorf("refusal = %q echoes the mention unescaped", uerr.Msg)
			}
		})
	}
}

func TestSegmentsKeepRunsOfPlainTokensTogether(t *testing.T) {
	toks, uerr := tokenize("0470 12 34 56 <@U0BOB> 0471 11 22 33 <@U0ANN> <@U0EVE> 02 123")
	if uerr != nil {
		t.Fatal(uerr)
	}
	var got []string
	for _, seg := range segments(toks, func(t token) bool { return t.user == "" }) {
		var words []string
		for _, t := range seg {
			words = append(words, t.text)
		}
		got = append(got, strings.Join(words, " "))
	}
	want := []string{"0470 12 34 56", "<@U0BOB>", "0471 11 22 33", "<@U0ANN>", "<@U0EVE>", "02 123"}
	if !slices.Equal(got, want) {
		t.Errorf("segments:\n got %q\nwant %q", got, want)
	}
}
