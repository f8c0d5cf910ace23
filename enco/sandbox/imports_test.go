package sandbox_test

import (
	"go/parser"
	gotoken "go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestSandboxDoesNotImportTheClient keeps the sandbox independent of the
// client it tests: it states EnCo's documented rules itself, so that a
// mistake in the client's types or checks cannot hide in the fake too. Only
// the tests may use the client.
func TestSandboxDoesNotImportTheClient(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(gotoken.NewFileSet(), name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		checked++
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if strings.HasPrefix(path, "github.com/switchboard-bot/switchboard/") {
				t.Errorf("%s imports %s; the sandbox must not use the bot's own packages", name, path)
			}
		}
	}
	if checked == 0 {
		t.Fatal("no sandbox source files found")
	}
}
