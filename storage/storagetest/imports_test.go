package storagetest

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestImportsNoImplementation: the suite knows the storage interface and nothing of the
// module besides it, so every backend runs the same cases and none is privileged; how a
// backend's database is opened belongs to that backend's tests (Run takes an opener).
func TestImportsNoImplementation(t *testing.T) {
	const module = "github.com/facetid/facet/"
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		f, err := parser.ParseFile(token.NewFileSet(), name, src, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			path, err := strconv.Unquote(imp.Path.Value)
			if err != nil {
				t.Fatal(err)
			}
			if strings.HasPrefix(path, module) && path != module+"storage" {
				t.Errorf("%s imports %s: the suite may import only %sstorage of this module", name, path, module)
			}
		}
	}
}
