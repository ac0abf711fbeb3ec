package markettest

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha1"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// Registry is an npm registry on the loopback: the two requests npm
// install and npm view make (a package's metadata document and its
// tarballs), for packages packed from folders.
type Registry struct {
	srv *httptest.Server

	mu       sync.Mutex
	packages map[string]map[string]version // name → version → …
	latest   map[string]string             // name → the version added last
}

type version struct {
	meta    map[string]any // package.json
	tarball []byte
}

// NewRegistry starts a registry; Close stops it.
func NewRegistry() *Registry {
	r := &Registry{packages: map[string]map[string]version{}, latest: map[string]string{}}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	return r
}

// URL is the registry's address, for npm_config_registry.
func (r *Registry) URL() string { return r.srv.URL + "/" }

// Close stops the registry.
func (r *Registry) Close() { r.srv.Close() }

// AddDir packs the package in dir (its package.json names it) and
// publishes it, as the latest version. Only the files named (relative to dir) are packed, or
// every file but node_modules when none are named.
func (r *Registry) AddDir(dir string, files ...string) error {
	raw, err := os.ReadFile(filepath.Join(dir, "package.json"))
	if err != nil {
		return err
	}
	var meta map[string]any
	if err := json.Unmarshal(raw, &meta); err != nil {
		return fmt.Errorf("%s: %w", dir, err)
	}
	name, _ := meta["name"].(string)
	ver, _ := meta["version"].(string)
	if name == "" || ver == "" {
		return fmt.Errorf("%s: package.json needs a name and a version", dir)
	}
	if len(files) == 0 {
		err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && d.Name() == "node_modules" {
				return filepath.SkipDir
			}
			if d.Type().IsRegular() {
				rel, _ := filepath.Rel(dir, p)
				files = append(files, rel)
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			return err
		}
		if err := tw.WriteHeader(&tar.Header{Name: "package/" + filepath.ToSlash(f), Mode: 0o644, Size: int64(len(b)), Typeflag: tar.TypeReg}); err != nil {
			return err
		}
		if _, err := tw.Write(b); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	if err := gz.Close(); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.packages[name] == nil {
		r.packages[name] = map[string]version{}
	}
	r.packages[name][ver] = version{meta: meta, tarball: buf.Bytes()}
	r.latest[name] = ver
	return nil
}

// AddNodeModules publishes every package installed in a node_modules
// folder (the dependencies a plugin needs), so npm installs them from here.
func (r *Registry) AddNodeModules(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		switch {
		case !e.IsDir() || strings.HasPrefix(e.Name(), "."):
		case strings.HasPrefix(e.Name(), "@"):
			if err := r.AddNodeModules(filepath.Join(dir, e.Name())); err != nil {
				return err
			}
		default:
			if err := r.AddDir(filepath.Join(dir, e.Name())); err != nil {
				return err
			}
		}
	}
	return nil
}

func (r *Registry) serve(w http.ResponseWriter, req *http.Request) {
	p, _ := url.PathUnescape(strings.TrimPrefix(req.URL.EscapedPath(), "/"))
	r.mu.Lock()
	defer r.mu.Unlock()
	if name, file, ok := strings.Cut(p, "/-/"); ok {
		for v, ver := range r.packages[name] {
			if file == tarballName(name, v) {
				w.Header().Set("Content-Type", "application/octet-stream")
				_, _ = w.Write(ver.tarball)
				return
			}
		}
		http.NotFound(w, req)
		return
	}
	versions, ok := r.packages[p]
	if !ok {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte(`{"error":"Not found"}`))
		return
	}
	doc := map[string]any{"name": p, "versions": map[string]any{}}
	for v, ver := range versions {
		meta := map[string]any{}
		for k, val := range ver.meta {
			meta[k] = val
		}
		s1 := sha1.Sum(ver.tarball)
		s512 := sha512.Sum512(ver.tarball)
		meta["dist"] = map[string]any{
			"tarball":   r.srv.URL + "/" + p + "/-/" + tarballName(p, v),
			"shasum":    hex.EncodeToString(s1[:]),
			"integrity": "sha512-" + base64.StdEncoding.EncodeToString(s512[:]),
		}
		doc["versions"].(map[string]any)[v] = meta
	}
	doc["dist-tags"] = map[string]string{"latest": r.latest[p]}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(doc)
}

func tarballName(name, v string) string {
	if i := strings.LastIndex(name, "/"); i >= 0 {
		name = name[i+1:]
	}
	return name + "-" + v + ".tgz"
}
