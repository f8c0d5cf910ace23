package commands

import (
	"fmt"
	"go/ast"
	"go/parser"
	gotoken "go/token"
	"path/filepath"
	"strings"
	"testing"

	"github.com/switchboard-bot/switchboard/enco"
)

// A one-value type assertion on an error (err.(*UsageError)) panics the
// first time the error is of another type. The parsers return *UsageError
// itself, and errors of unknown type are read with errors.As; this test
// finds any such assertion left in the package's code.
func TestNoUncheckedErrorAssertions(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := gotoken.NewFileSet()
	checked := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		checked++
		// Assertions whose ok result is taken, or that switch on the type,
		// cannot panic.
		safe := map[*ast.TypeAssertExpr]bool{}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.AssignStmt:
				if len(n.Lhs) == 2 && len(n.Rhs) == 1 {
					if ta, ok := n.Rhs[0].(*ast.TypeAssertExpr); ok {
						safe[ta] = true
					}
				}
			case *ast.ValueSpec:
				if len(n.Names) == 2 && len(n.Values) == 1 {
					if ta, ok := n.Values[0].(*ast.TypeAssertExpr); ok {
						safe[ta] = true
					}
				}
			case *ast.TypeAssertExpr:
				if n.Type == nil { // x.(type) in a type switch
					return true
				}
				if !safe[n] {
					if star, ok := n.Type.(*ast.StarExpr); ok {
						if id, ok := star.X.(*ast.Ident); ok && strings.HasSuffix(id.Name, "Error") {
							t.Errorf("%s: unchecked assertion to *%s; return the concrete type or use errors.As", fset.Position(n.Pos()), id.Name)
						}
					}
				}
			}
			return true
		})
	}
	if checked == 0 {
		t.Fatal("no source files checked")
	}
}

// EnCo's words reach Slack only escaped: an error message cannot ping a
// channel or form a link.
func TestEnCoErrorTextIsEscaped(t *testing.T) {
	ops := New(Config{}).clicks.ops
	const evil = "<!channel> <http://evil.example|click here>"
	for name, got := range map[string]string{
		"userError": ops.userError(fmt.Errorf("m2m deactivate: %w", &enco.Error{Op: "m2m deactivate", StatusCode: 400, Message: evil}), "m2m request"),
		"fmuError":  ops.fmuError(&enco.Error{Op: "fmu set", StatusCode: 200, Message: evil}, "fmu set"),
	} {
		if strings.Contains(got, "<!channel>") || strings.Contains(got, "<http") || !strings.Contains(got, "&lt;!channel&gt;") {
			t.Errorf("%s = %q, want EnCo's text escaped", name, got)
		}
	}
}

// /sim status shows what EnCo says of a card escaped, the identifier's
// type included.
func TestSIMDetailIsEscaped(t *testing.T) {
	const evil = "<!channel> <http://evil.example|click>"
	card := enco.SIMCard{State: evil, CostCenter: evil, Device: enco.Device{IdentifierType: evil, Identifier: evil}}
	got := New(Config{}).simCmd().simDetail(simLookup{msisdn: "32471000001", cards: []enco.SIMCard{card}})
	if strings.Contains(got, "<!channel>") || strings.Contains(got, "<http") || !strings.Contains(got, "&lt;!channel&gt;") {
		t.Errorf("simDetail = %q, want EnCo's words escaped", got)
	}
}
