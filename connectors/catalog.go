package connectors

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
)

//go:embed catalog/*.yaml
var embedded embed.FS

// Catalog is the set of connector definitions tenantry offers. It does
// not change once loaded and is safe for concurrent use.
type Catalog struct {
	byID map[string]*Definition
	list []*Definition
}

// LoadCatalog loads the definitions embedded in the binary, then those in
// customDir (skipped when ""): each <id>.yaml there adds a connector, or
// replaces the embedded one with the same id. Other files and
// directories are ignored, except .yml files, which are refused so that
// a misnamed file is not silently skipped.
//
// Every definition is validated; the error joins one *DefinitionError
// per problem in any file, each naming the file (the bare name for
// embedded files, the path for custom ones) and the key at fault. A
// customDir that cannot be read is an error too.
func LoadCatalog(customDir string) (*Catalog, error) {
	sub, err := fs.Sub(embedded, "catalog")
	if err != nil {
		return nil, fmt.Errorf("connectors: embedded catalog: %w", err)
	}
	byID := map[string]*Definition{}
	errs := load(sub, "", byID)
	if customDir != "" {
		errs = append(errs, load(os.DirFS(customDir), customDir, byID)...)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	c := &Catalog{byID: byID}
	for _, id := range slices.Sorted(maps.Keys(byID)) {
		c.list = append(c.list, byID[id])
	}
	return c, nil
}

// load reads every .yaml file at the top of fsys, the directory dir (""
// for the embedded catalog), into byID, replacing definitions with the
// same id.
func load(fsys fs.FS, dir string, byID map[string]*Definition) []error {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return []error{fmt.Errorf("connectors: read custom directory %s: %w", dir, err)}
	}
	display := func(name string) string {
		if dir == "" {
			return name
		}
		return filepath.Join(dir, name)
	}
	var errs []error
	for _, e := range entries {
		name := e.Name()
		switch {
		case e.IsDir(), strings.HasPrefix(name, "."):
			continue
		case path.Ext(name) == ".yml":
			errs = append(errs, &DefinitionError{File: display(name), Message: "name definition files <id>.yaml"})
			continue
		case path.Ext(name) != ".yaml":
			continue
		}
		file := display(name)
		d, err := read(fsys, name, file)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if dir != "" {
			d.Source = file
		}
		byID[d.ID] = d
	}
	return errs
}

func read(fsys fs.FS, name, file string) (*Definition, error) {
	data, err := fs.ReadFile(fsys, name)
	if err != nil {
		return nil, &DefinitionError{File: file, Message: err.Error()}
	}
	d, err := decode(file, data)
	if err != nil {
		return nil, err
	}
	if err := prepare(file, d); err != nil {
		return nil, err
	}
	d.Source = "embedded"
	return d, nil
}

// Get returns the definition with the given id.
func (c *Catalog) Get(id string) (*Definition, bool) {
	d, ok := c.byID[id]
	return d, ok
}

// List returns every definition, sorted by id. The slice is the
// caller's; the definitions are shared and must not be modified.
func (c *Catalog) List() []*Definition {
	return slices.Clone(c.list)
}
