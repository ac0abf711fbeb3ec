package doccheck

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
)

// TestDocCommentsStartWithTheirName fails on a doc comment of an exported
// function, method, type, or lone variable or constant that does not
// start with its name.
func TestDocCommentsStartWithTheirName(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	checked := 0
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); path != root && (strings.HasPrefix(name, ".") || name == "testdata" || name == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ParseComments)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		for _, decl := range f.Decls {
			for _, n := range documented(decl) {
				checked++
				if !startsWithName(n.doc, n.name) {
					t.Errorf("%s:%d: the doc comment of %s starts %q", rel, fset.Position(n.pos).Line, n.name, firstWords(n.doc))
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 100 {
		t.Fatalf("only %d doc comments checked: the walk missed the module", checked)
	}
}

type named struct {
	name string
	doc  string
	pos  token.Pos
}

// documented returns the exported identifiers a declaration documents.
func documented(decl ast.Decl) []named {
	switch d := decl.(type) {
	case *ast.FuncDecl:
		if d.Doc == nil || !d.Name.IsExported() || (d.Recv != nil && !exportedRecv(d.Recv)) {
			return nil
		}
		return []named{{d.Name.Name, d.Doc.Text(), d.Pos()}}
	case *ast.GenDecl:
		var out []named
		for _, spec := range d.Specs {
			doc := d.Doc
			if d.Lparen.IsValid() {
				doc = nil // a group's comment speaks for the group
			}
			switch s := spec.(type) {
			case *ast.TypeSpec:
				if s.Doc != nil {
					doc = s.Doc
				}
				if doc != nil && s.Name.IsExported() {
					out = append(out, named{s.Name.Name, doc.Text(), s.Pos()})
				}
			case *ast.ValueSpec:
				if s.Doc != nil {
					doc = s.Doc
				}
				if doc != nil && len(s.Names) == 1 && s.Names[0].IsExported() {
					out = append(out, named{s.Names[0].Name, doc.Text(), s.Pos()})
				}
			}
		}
		return out
	}
	return nil
}

func exportedRecv(recv *ast.FieldList) bool {
	t := recv.List[0].Type
	if s, ok := t.(*ast.StarExpr); ok {
		t = s.X
	}
	if g, ok := t.(*ast.IndexExpr); ok {
		t = g.X
	}
	id, ok := t.(*ast.Ident)
	return ok && id.IsExported()
}

func startsWithName(doc, name string) bool {
	words := strings.Fields(doc)
	if len(words) > 1 && (words[0] == "A" || words[0] == "An" || words[0] == "The") {
		words = words[1:]
	}
	if len(words) == 0 {
		return false
	}
	w := strings.TrimRight(words[0], ".,:;")
	return w == name || strings.HasPrefix(w, name+"'") // "Name's"
}

func firstWords(doc string) string {
	words := strings.Fields(doc)
	if len(words) > 4 {
		words = words[:4]
	}
	return strings.Join(words, " ")
}
