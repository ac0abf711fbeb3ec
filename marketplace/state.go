package marketplace

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// StateFile is the file in the plugins folder that lists the installed
// plugins. The bot reads it at start and watches it, so an install or a
// removal takes effect while it runs.
const StateFile = "installed.json"

// SeedFile is the file in a plugin's folder holding the nkey seed of its
// own NATS user (0600).
const SeedFile = "nats.nkey"

// Source kinds.
const (
	KindGo  = "go"
	KindNPM = "npm"
	KindDir = "dir"
)

// Installed is one installed plugin, as recorded in StateFile.
type Installed struct {
	Name string `json:"name"`
	// Kind is KindGo, KindNPM or KindDir; Source is the Go import path,
	// the npm package or the directory it was built from.
	Kind   string `json:"kind"`
	Source string `json:"source"`
	// Version is the source's version (the module's or package's), or the
	// manifest's for a directory.
	Version string `json:"version"`
	// Catalogue is the catalogue entry's name when it was installed by
	// name, so upgrade looks there for newer versions.
	Catalogue string `json:"catalogue,omitempty"`
	// Dir is the version folder, relative to the plugins folder; Previous
	// the one before it, kept for going back by hand.
	Dir      string `json:"dir"`
	Previous string `json:"previous,omitempty"`
	// Program is the executable relative to Dir (a Go plugin), or "node";
	// Args follow it (a Node plugin's script, relative to Dir).
	Program  string   `json:"program"`
	Args     []string `json:"args,omitempty"`
	Manifest Manifest `json:"manifest"`
	// NKey is the public key of the plugin's NATS user; its seed is in
	// <name>/nats.nkey.
	NKey        string    `json:"nkey"`
	InstalledAt time.Time `json:"installed_at"`
}

// Command returns the program and arguments that run the plugin, for a
// plugins folder at dir.
func (i Installed) Command(dir string) (string, []string) {
	base := filepath.Join(dir, filepath.FromSlash(i.Dir))
	var args []string
	for _, a := range i.Args {
		if i.Program == "node" {
			a = filepath.Join(base, filepath.FromSlash(a))
		}
		args = append(args, a)
	}
	if i.Program == "node" {
		return "node", args
	}
	return filepath.Join(base, filepath.FromSlash(i.Program)), args
}

// SeedPath is the file holding the seed of the plugin's NATS user.
func (i Installed) SeedPath(dir string) string { return filepath.Join(dir, i.Name, SeedFile) }

// ManifestPath is the installed version's manifest.
func (i Installed) ManifestPath(dir string) string {
	return filepath.Join(dir, filepath.FromSlash(i.Dir), ManifestFile)
}

// Ref is the source and version together: example.com/x@v1.0.0,
// npm:pkg@1.0.0, or a directory.
func (i Installed) Ref() string {
	switch i.Kind {
	case KindNPM:
		return "npm:" + i.Source + "@" + i.Version
	case KindDir:
		return i.Source
	}
	return i.Source + "@" + i.Version
}

type state struct {
	Plugins []Installed `json:"plugins"`
}

// ReadState returns the plugins installed in the plugins folder dir,
// sorted by name; none when the folder or its StateFile does not exist.
func ReadState(dir string) ([]Installed, error) {
	b, err := os.ReadFile(filepath.Join(dir, StateFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var s state
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("marketplace: %s: %w", filepath.Join(dir, StateFile), err)
	}
	slices.SortFunc(s.Plugins, func(a, b Installed) int { return strings.Compare(a.Name, b.Name) })
	return s.Plugins, nil
}

// writeState replaces StateFile at once (a temporary file renamed over
// it), so a bot reading it never sees half of it.
func writeState(dir string, list []Installed) error {
	slices.SortFunc(list, func(a, b Installed) int { return strings.Compare(a.Name, b.Name) })
	b, err := json.MarshalIndent(state{Plugins: list}, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, ".installed-*.json")
	if err != nil {
		return err
	}
	_, werr := tmp.Write(append(b, '\n'))
	if err := errors.Join(werr, tmp.Sync(), tmp.Close()); err != nil {
		_ = os.Remove(tmp.Name())
		return err
	}
	if err := os.Rename(tmp.Name(), filepath.Join(dir, StateFile)); err != nil {
		_ = os.Remove(tmp.Name())
		return err
	}
	return nil
}
