package script

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"

	"go.starlark.net/resolve"
	"go.starlark.net/starlark"
	"go.starlark.net/syntax"
)

// MaxSource is the largest script accepted, in bytes.
const MaxSource = 256 << 10

// fileOptions is the dialect: Python-like top-level code (if, for,
// while at top level, names reassigned) and sets. Recursion stays
// forbidden, as Starlark specifies: a recursive call is a clean runtime
// error, where unbounded recursion would overflow the runner's stack.
var fileOptions = &syntax.FileOptions{Set: true, While: true, TopLevelControl: true, GlobalReassign: true}

// Entry points a run can call after the top level has run.
const (
	EntryMain    = "main"    // scheduled and manual runs: main() if the script defines it
	EntryHandler = "handler" // published endpoints: handler(request), required
)

// Program is a compiled script. It is immutable and safe for concurrent
// use.
type Program struct {
	Hash       string // hex SHA-256 of the source: the cache key
	HasMain    bool   // defines main()
	HasHandler bool   // defines handler(request)
	compiled   []byte // starlark's compiled form, what runners execute
}

// CompileError is a script that does not compile, at Line and Column
// (1-based). Its message is safe to show to the script's author.
type CompileError struct {
	Line, Column int
	Msg          string
}

func (e *CompileError) Error() string {
	return fmt.Sprintf("line %d, column %d: %s", e.Line, e.Column, e.Msg)
}

// Compile parses and resolves src. It returns a *CompileError for a
// script with a syntax error, an undefined name or a load() of anything
// but the allowed modules, naming the first problem's position.
func Compile(src string) (*Program, error) {
	if len(src) > MaxSource {
		return nil, &CompileError{Line: 1, Column: 1, Msg: fmt.Sprintf("the script is larger than %d KiB", MaxSource>>10)}
	}
	f, prog, err := starlark.SourceProgramOptions(fileOptions, "script", src, isPredeclared)
	if err != nil {
		return nil, compileError(err)
	}
	for _, ld := range f.Stmts {
		if l, ok := ld.(*syntax.LoadStmt); ok {
			if _, allowed := loadable[l.ModuleName()]; !allowed {
				pos := l.Module.TokenPos
				return nil, &CompileError{Line: int(pos.Line), Column: int(pos.Col), Msg: loadRefusal(l.ModuleName())}
			}
		}
	}
	var buf bytes.Buffer
	if err := prog.Write(&buf); err != nil {
		return nil, fmt.Errorf("encode compiled script: %w", err)
	}
	sum := sha256.Sum256([]byte(src))
	p := &Program{Hash: hex.EncodeToString(sum[:]), compiled: buf.Bytes()}
	for _, st := range f.Stmts {
		if d, ok := st.(*syntax.DefStmt); ok {
			p.HasMain = p.HasMain || d.Name.Name == EntryMain
			p.HasHandler = p.HasHandler || d.Name.Name == EntryHandler
		}
	}
	return p, nil
}

func compileError(err error) error {
	var syn syntax.Error
	var res resolve.ErrorList
	switch {
	case errors.As(err, &syn):
		return &CompileError{Line: int(syn.Pos.Line), Column: int(syn.Pos.Col), Msg: syn.Msg}
	case errors.As(err, &res):
		return &CompileError{Line: int(res[0].Pos.Line), Column: int(res[0].Pos.Col), Msg: res[0].Msg}
	}
	return &CompileError{Line: 1, Column: 1, Msg: err.Error()}
}

// Compiler compiles scripts through a bounded cache keyed by the
// source's SHA-256, so a script run every minute is compiled once. Safe
// for concurrent use.
type Compiler struct {
	cache *lru[string, *Program]
}

// NewCompiler returns a compiler keeping up to size programs.
func NewCompiler(size int) *Compiler { return &Compiler{cache: newLRU[string, *Program](size)} }

// Compile returns src compiled, from the cache when it was compiled
// before. Errors are Compile's (failures are not cached).
func (c *Compiler) Compile(src string) (*Program, error) {
	sum := sha256.Sum256([]byte(src))
	key := hex.EncodeToString(sum[:])
	if p, ok := c.cache.get(key); ok {
		return p, nil
	}
	p, err := Compile(src)
	if err != nil {
		return nil, err
	}
	c.cache.put(key, p)
	return p, nil
}
