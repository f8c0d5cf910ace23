package console

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// shortcode matches a Slack emoji shortcode standing as a word in a string.
var shortcode = regexp.MustCompile(`(?:^|[\s("'])(:[a-z][a-z0-9_+-]*:)(?:$|[\s.,;)])`)

// TestConsoleEmojiCoversEveryShortcode reads every string literal of the
// bot's non-test Go files and checks that the console renders each emoji
// shortcode in them, so that none prints raw (as :lock: and :hand: did).
func TestConsoleEmojiCoversEveryShortcode(t *testing.T) {
	root := ".."
	found := map[string]string{} // shortcode -> where
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".")) && path != root {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			lit, ok := n.(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return true
			}
			s, err := strconv.Unquote(lit.Value)
			if err != nil {
				return true
			}
			for _, m := range shortcode.FindAllStringSubmatch(s, -1) {
				found[m[1]] = fset.Position(lit.Pos()).String()
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(found) < 5 {
		t.Fatalf("found only %d shortcodes (%v); is the scan looking in the right place?", len(found), found)
	}
	for code, where := range found {
		if _, ok := consoleEmoji[code]; !ok {
			t.Errorf("%s (used at %s) has no emoji in consoleEmoji: the console would print it raw", code, where)
		}
		if got := renderMrkdwn(code + " text"); strings.Contains(got, code) {
			t.Errorf("renderMrkdwn(%q) = %q, want the emoji", code+" text", got)
		}
	}
}

func TestRenderMrkdwn(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"shortcodes", ":lock: held · :hand: slow down", "🔒 held · ✋ slow down"},
		{"inline code", "`frob` is not a /sim subcommand", "frob is not a /sim subcommand"},
		{"code keeps its text", "run `/sim status <ids>` with *stars*", "run /sim status <ids> with stars"},
		{"code block", "Calls:\n```\nWhen  From\n12:00 +32 2\n```\nmore", "Calls:\n    When  From\n    12:00 +32 2\nmore"},
		{"bold", "*Usage*", "Usage"},
		{"mentions", "<@U0CONSOLE1> and <@U0ALICE001> in <#C0CONSOLE1>", "@you and @alice in #console"},
		{"unknown mention with label", "<@U0ZZZZZZZ1|zed>", "@zed"},
		{"direct message", "Follow the results in the thread in <#D0CONSOLE1>.", "Follow the results in the thread in your direct messages with the bot."},
		{"italics", "• 10:00 — Set your FMU profile — _done_", "• 10:00 — Set your FMU profile — done"},
		{"underscores inside words", "fmu_self and `a_b_c`", "fmu_self and a_b_c"},
		{"special mention", "<!here>", "@here"},
		{"link", "see <https://example.com/doc|the doc>", "see the doc (https://example.com/doc)"},
		{"escaped text", "EnCo said &lt;b&gt; &amp; more", "EnCo said <b> & more"},
		{"escaped text in code", "`a &amp; b`", "a & b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := renderMrkdwn(tt.in); got != tt.want {
				t.Errorf("renderMrkdwn(%q)\n got %q\nwant %q", tt.in, got, tt.want)
			}
		})
	}
}
