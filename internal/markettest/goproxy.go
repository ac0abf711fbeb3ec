// Package markettest builds what the marketplace's tests install from,
// on disk and offline: a Go module proxy (GOPROXY=file://…) holding this
// repository's module and plugin modules made from it, and an npm registry
// serving packed packages over HTTP on the loopback.
package markettest

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// RoseyModule is this repository's module path.
const RoseyModule = "github.com/roseybot/rosey"

// GoProxy is a Go module proxy in a directory, in the layout GOPROXY=file://
// reads: <module>/@v/list, <version>.info, .mod and .zip.
type GoProxy struct {
	Dir string
}

// NewGoProxy makes an empty proxy in dir.
func NewGoProxy(dir string) (*GoProxy, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	return &GoProxy{Dir: dir}, nil
}

// URL is the proxy's GOPROXY entry.
func (p *GoProxy) URL() string { return "file://" + filepath.ToSlash(p.Dir) }

// Env returns the environment a go command needs to use the proxy
// offline: modules missing from it come from the machine's own module
// cache (itself laid out as a proxy), never from the network; the
// checksum database is not asked about modules that exist only here; a
// module cache of its own (modcache) keeps test versions apart from the
// machine's.
func (p *GoProxy) Env(modcache string) ([]string, error) {
	out, err := exec.Command("go", "env", "GOMODCACHE").Output()
	if err != nil {
		return nil, fmt.Errorf("go env GOMODCACHE: %w", err)
	}
	cache := strings.TrimSpace(string(out))
	// go mod tidy in a plugin module reads every module its imports need
	// on any platform (nats-server's Windows-only go-tpm, say), while a
	// fresh machine's cache holds only what Linux builds downloaded.
	// Download the repository's whole module list into it first, through
	// the machine's own GOPROXY (a no-op once everything is there).
	root, err := RepoRoot()
	if err != nil {
		return nil, err
	}
	download := exec.Command("go", "mod", "download")
	download.Dir = root
	if out, err := download.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("go mod download (the module cache the proxy falls back to): %w\n%s", err, out)
	}
	return []string{
		"GOPROXY=" + p.URL() + ",file://" + filepath.ToSlash(filepath.Join(cache, "cache", "download")),
		"GOSUMDB=off",
		"GOFLAGS=-modcacherw", "GOMODCACHE=" + modcache,
		"GOTOOLCHAIN=local", "GOWORK=off", "GO111MODULE=on",
	}, nil
}

// Add stores the module in dir (which holds its go.mod) at version. Files
// under a directory with a go.mod of its own, version control folders and
// node_modules are left out, as the go command leaves them out, and so are
// test binaries and files over 16 MiB (programs built in the tree).
func (p *GoProxy) Add(dir, version string) error {
	gomod, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil {
		return err
	}
	mod := modulePath(gomod)
	if mod == "" {
		return fmt.Errorf("%s: go.mod names no module", dir)
	}
	at := filepath.Join(p.Dir, filepath.FromSlash(mod), "@v")
	if err := os.MkdirAll(at, 0o755); err != nil {
		return err
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	err = filepath.WalkDir(dir, func(file string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, file)
		if d.IsDir() {
			if file == dir {
				return nil
			}
			switch d.Name() {
			case ".git", ".hg", "node_modules", "vendor", "data", "rosey-data":
				return filepath.SkipDir
			}
			if _, err := os.Stat(filepath.Join(file, "go.mod")); err == nil {
				return filepath.SkipDir // another module
			}
			return nil
		}
		if !d.Type().IsRegular() || strings.HasSuffix(d.Name(), ".test") {
			return nil
		}
		if fi, err := d.Info(); err != nil || fi.Size() > 16<<20 {
			return err // a built binary left in the tree, not source
		}
		w, err := zw.Create(mod + "@" + version + "/" + filepath.ToSlash(rel))
		if err != nil {
			return err
		}
		f, err := os.Open(file)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = io.Copy(w, f)
		return err
	})
	if err == nil {
		err = zw.Close()
	}
	if err != nil {
		return fmt.Errorf("zip %s: %w", dir, err)
	}
	info, _ := json.Marshal(map[string]any{"Version": version, "Time": time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)})
	for name, data := range map[string][]byte{version + ".zip": buf.Bytes(), version + ".mod": gomod, version + ".info": info} {
		if err := os.WriteFile(filepath.Join(at, name), data, 0o644); err != nil {
			return err
		}
	}
	var versions []string
	if b, err := os.ReadFile(filepath.Join(at, "list")); err == nil {
		versions = strings.Fields(string(b))
	}
	if !slices.Contains(versions, version) {
		versions = append(versions, version)
	}
	return os.WriteFile(filepath.Join(at, "list"), []byte(strings.Join(versions, "\n")+"\n"), 0o644)
}

func modulePath(gomod []byte) string {
	for line := range strings.SplitSeq(string(gomod), "\n") {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "module "); ok {
			return strings.Trim(strings.TrimSpace(rest), `"`)
		}
	}
	return ""
}

// RepoRoot is the directory holding this repository's go.mod, found from
// the working directory up.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && modulePath(b) == RoseyModule {
			return dir, nil
		}
		up := filepath.Dir(dir)
		if up == dir {
			return "", fmt.Errorf("no go.mod of %s above the working directory", RoseyModule)
		}
		dir = up
	}
}

// PluginModule writes a module named mod at dir that holds the Go plugin
// in the repository's directory example (main.go and rosey-plugin.json),
// requiring this repository's module at roseyVersion, with every version
// "1.0.0" in its Info and manifest replaced by version. It then runs go mod
// tidy with env (the proxy's), so its go.sum lists what it builds with.
func PluginModule(dir, mod, example, roseyVersion, version string, env []string) error {
	root, err := RepoRoot()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, name := range []string{"main.go", "rosey-plugin.json"} {
		b, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(example), name))
		if err != nil {
			return err
		}
		b = bytes.ReplaceAll(b, []byte(`"1.0.0"`), []byte(`"`+version+`"`))
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			return err
		}
	}
	gomod := fmt.Sprintf("module %s\n\ngo 1.26\n\nrequire %s %s\n", mod, RoseyModule, roseyVersion)
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte(gomod), 0o644); err != nil {
		return err
	}
	tidy := exec.Command("go", "mod", "tidy")
	tidy.Dir = dir
	tidy.Env = append(os.Environ(), env...)
	if out, err := tidy.CombinedOutput(); err != nil {
		return fmt.Errorf("go mod tidy in %s: %w\n%s", path.Base(dir), err, out)
	}
	return nil
}
