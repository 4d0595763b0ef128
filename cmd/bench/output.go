package main

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// marker separates a results file's hand-written prose (kept) from the
// generated results (replaced on every run).
const marker = "<!-- bench:results -->"

const defaultHead = "# Benchmarks\n\nWhat is measured and how: see cmd/bench.\n\n"

// writeResults replaces what follows the marker in path with results,
// keeping everything above it. A file without the marker is kept whole,
// with the marker and results appended; a missing file gets a stub head.
// The file is replaced atomically.
func writeResults(path, results string) error {
	head := defaultHead
	old, err := os.ReadFile(path)
	switch {
	case err == nil:
		head, _, _ = strings.Cut(string(old), marker)
		if !strings.Contains(string(old), marker) {
			head = strings.TrimRight(head, "\n") + "\n\n"
		}
	case !errors.Is(err, fs.ErrNotExist):
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".bench-*.md")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.WriteString(head + marker + "\n\n" + results)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o644)
	}
	if err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
