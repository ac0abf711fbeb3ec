package marketplace

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nkeys"
)

// Installer installs, upgrades and removes plugins in a plugins folder.
//
// A Go plugin is built with the Go toolchain (go install, so modules come
// through GOPROXY and are verified against go.sum and GOSUMDB exactly as
// the go command verifies them; GOFLAGS and the rest of the environment
// are honoured); a Node plugin is installed with npm (its install scripts
// are not run). Each version goes into a folder of its own, and the record
// in StateFile switches to it only once it is complete, so a failed
// install or upgrade leaves the version before it in place.
type Installer struct {
	// Dir is the plugins folder; it is created when missing.
	Dir string
	// Catalogues are searched, in order, for plugins installed by name.
	Catalogues []*Catalogue
	// Reserved are the names of plugins the bot has already (its built-in
	// ones): an installed plugin may not take them.
	Reserved []string
	// Env is added to the environment of go and npm.
	Env []string
	// Go and NPM are the commands; empty means "go" and "npm".
	Go, NPM string
}

// Plan is an install or upgrade that has been resolved (the source found,
// its manifest read and checked) but not applied: show Prompt to the
// owner, then Apply or Discard.
type Plan struct {
	Manifest Manifest
	Kind     string
	Source   string
	Version  string
	// Catalogue is the catalogue entry's name, when installed by name.
	Catalogue string
	// Upgrade is the installed plugin this plan replaces, if any.
	Upgrade *Installed

	in      *Installer
	staging string // npm and directories: the installed files, before Apply
	gobuild []string
	gopkg   string
}

// Ref is the plan's source and version, as Installed.Ref.
func (p *Plan) Ref() string {
	return Installed{Kind: p.Kind, Source: p.Source, Version: p.Version}.Ref()
}

// Prompt is the permissions prompt for the plan (see Prompt).
func (p *Plan) Prompt() string { return Prompt(p.Manifest, p.Ref()) }

// NewPermissions reports whether an upgrade asks for subjects the
// installed version was not granted.
func (p *Plan) NewPermissions() bool {
	if p.Upgrade == nil {
		return true
	}
	old := p.Upgrade.Manifest.Subjects
	for _, s := range p.Manifest.Subjects.Publish {
		if !slices.Contains(old.Publish, s) {
			return true
		}
	}
	for _, s := range p.Manifest.Subjects.Subscribe {
		if !slices.Contains(old.Subscribe, s) {
			return true
		}
	}
	return false
}

// Discard drops the plan's downloaded files.
func (p *Plan) Discard() {
	if p.staging != "" {
		_ = os.RemoveAll(p.staging)
		p.staging = ""
	}
}

// Install resolves spec: a catalogue name (name or name@version), a Go
// import path (path@version, or the latest), npm:<package>[@version], or a
// directory holding a plugin (a path with a slash in it, such as
// ./myplugin).
func (in *Installer) Install(ctx context.Context, spec string) (*Plan, error) {
	installed, err := in.List()
	if err != nil {
		return nil, err
	}
	name, _, _ := cutVersion(strings.TrimSpace(spec))
	if slices.Contains(in.Reserved, name) {
		return nil, fmt.Errorf("%w: %s is the name of a plugin built into Rosey", ErrClash, name)
	}
	for _, i := range installed {
		if i.Name == name || i.Catalogue == name {
			return nil, fmt.Errorf("%w: %s is already installed (%s); use upgrade, or remove it first", ErrClash, i.Name, i.Ref())
		}
	}
	p, err := in.resolve(ctx, spec)
	if err != nil {
		return nil, err
	}
	for _, i := range installed {
		if i.Name == p.Manifest.Name {
			p.Discard()
			return nil, fmt.Errorf("%w: %s is already installed (%s); use upgrade, or remove it first", ErrClash, i.Name, i.Ref())
		}
	}
	return p, nil
}

// Upgrade resolves the newest version of the installed plugin name (or
// version, when not empty) from where it came from. It returns nil and no
// error when the plugin is already at that version (a directory is always
// built again).
func (in *Installer) Upgrade(ctx context.Context, name, version string) (*Plan, error) {
	cur, err := in.Get(name)
	if err != nil {
		return nil, err
	}
	var spec string
	switch {
	case cur.Kind == KindDir:
		spec = cur.Source
	case cur.Catalogue != "":
		spec = cur.Catalogue
	case cur.Kind == KindNPM:
		spec = "npm:" + cur.Source
	default:
		spec = cur.Source
	}
	if version != "" && cur.Kind != KindDir {
		spec += "@" + version
	}
	v, err := in.latestOf(ctx, spec, cur)
	if err != nil {
		return nil, err
	}
	if v != "" && v == cur.Version {
		return nil, nil
	}
	p, err := in.resolve(ctx, spec)
	if err != nil {
		return nil, err
	}
	if p.Manifest.Name != cur.Name {
		p.Discard()
		return nil, fmt.Errorf("%w: %s's new version calls itself %q", ErrManifest, cur.Name, p.Manifest.Name)
	}
	if p.Kind != KindDir && p.Version == cur.Version {
		p.Discard()
		return nil, nil
	}
	p.Upgrade = &cur
	return p, nil
}

// latestOf returns the version spec would install, without downloading,
// or "" when that is not known in advance.
func (in *Installer) latestOf(ctx context.Context, spec string, cur Installed) (string, error) {
	if cur.Kind == KindDir {
		return "", nil
	}
	if _, v, ok := cutVersion(strings.TrimPrefix(spec, "npm:")); ok {
		return v, nil
	}
	if cur.Catalogue != "" {
		e, ok := Lookup(in.Catalogues, cur.Catalogue)
		if !ok {
			return "", fmt.Errorf("%w: %s is in no catalogue now", ErrNotFound, cur.Catalogue)
		}
		return e.Latest(), nil
	}
	return "", nil
}

// Get returns the installed plugin name.
func (in *Installer) Get(name string) (Installed, error) {
	list, err := in.List()
	if err != nil {
		return Installed{}, err
	}
	for _, i := range list {
		if i.Name == name {
			return i, nil
		}
	}
	return Installed{}, fmt.Errorf("%w: no installed plugin %q", ErrNotInstalled, name)
}

// List returns the installed plugins.
func (in *Installer) List() ([]Installed, error) { return ReadState(in.Dir) }

// Remove uninstalls name: its record goes first (a running bot stops it),
// then its files and its NATS user's seed.
func (in *Installer) Remove(name string) (Installed, error) {
	if err := os.MkdirAll(in.Dir, 0o755); err != nil {
		return Installed{}, err
	}
	unlock, err := lock(in.Dir)
	if err != nil {
		return Installed{}, err
	}
	defer unlock()
	list, err := ReadState(in.Dir)
	if err != nil {
		return Installed{}, err
	}
	i := slices.IndexFunc(list, func(i Installed) bool { return i.Name == name })
	if i < 0 {
		return Installed{}, fmt.Errorf("%w: no installed plugin %q", ErrNotInstalled, name)
	}
	gone := list[i]
	if err := writeState(in.Dir, slices.Delete(list, i, i+1)); err != nil {
		return Installed{}, err
	}
	return gone, os.RemoveAll(filepath.Join(in.Dir, name))
}

func (in *Installer) resolve(ctx context.Context, spec string) (*Plan, error) {
	spec = strings.TrimSpace(spec)
	var p *Plan
	var err error
	switch {
	case spec == "":
		return nil, fmt.Errorf("%w: say which plugin", ErrSource)
	case strings.HasPrefix(spec, "npm:"):
		pkg, v, _ := cutVersion(strings.TrimPrefix(spec, "npm:"))
		p, err = in.resolveNPM(ctx, pkg, v, nil)
	case strings.HasPrefix(spec, ".") || strings.HasPrefix(spec, "/") || strings.HasPrefix(spec, "~"):
		p, err = in.resolveDir(ctx, spec)
	case strings.Contains(strings.SplitN(spec, "/", 2)[0], ".") && strings.Contains(spec, "/"):
		pkg, v, _ := cutVersion(spec)
		p, err = in.resolveGo(ctx, pkg, v, nil)
	default:
		name, v, _ := cutVersion(spec)
		e, ok := Lookup(in.Catalogues, name)
		if !ok {
			return nil, fmt.Errorf("%w: %q is in no catalogue (try rosey plugin search)", ErrNotFound, name)
		}
		if v == "" {
			v = e.Latest()
		} else if !slices.Contains(e.Versions, v) {
			return nil, fmt.Errorf("%w: %s has no version %s (the catalogue lists %s)", ErrNoVersion, name, v, strings.Join(e.Versions, ", "))
		}
		if e.MinProtocol > ProtocolVersion {
			return nil, fmt.Errorf("%w: %s needs Rosey protocol %d; this Rosey speaks %d (upgrade Rosey first)", ErrProtocol, name, e.MinProtocol, ProtocolVersion)
		}
		if e.NPM != "" {
			p, err = in.resolveNPM(ctx, e.NPM, v, &e)
		} else {
			p, err = in.resolveGo(ctx, e.Go, v, &e)
		}
		if err == nil {
			p.Catalogue = e.Name
			if p.Manifest.Name != e.Name {
				p.Discard()
				return nil, fmt.Errorf("%w: the catalogue lists %s but its manifest names %q", ErrManifest, e.Name, p.Manifest.Name)
			}
		}
	}
	if err != nil {
		return nil, err
	}
	if err := in.check(p.Manifest); err != nil {
		p.Discard()
		return nil, err
	}
	return p, nil
}

// check refuses an incompatible plugin and a built-in plugin's name.
func (in *Installer) check(m Manifest) error {
	if err := m.Compatible(); err != nil {
		return err
	}
	if slices.Contains(in.Reserved, m.Name) {
		return fmt.Errorf("%w: %s is the name of a plugin built into Rosey", ErrClash, m.Name)
	}
	return nil
}

// cutVersion splits "name@version" (a scoped npm name keeps its leading @).
func cutVersion(s string) (name, version string, ok bool) {
	i := strings.LastIndex(s, "@")
	if i <= 0 {
		return s, "", false
	}
	return s[:i], s[i+1:], true
}

// run runs a command with the installer's environment and returns its
// combined output.
func (in *Installer) run(ctx context.Context, dir string, env []string, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(append(os.Environ(), in.Env...), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.Bytes(), err
}

func (in *Installer) goCmd() string  { return cmpOr(in.Go, "go") }
func (in *Installer) npmCmd() string { return cmpOr(in.NPM, "npm") }

// resolveGo finds the module holding pkg, downloads version (the latest
// when empty) and reads the manifest in pkg's directory.
func (in *Installer) resolveGo(ctx context.Context, pkg, version string, e *Entry) (*Plan, error) {
	tmp, err := os.MkdirTemp("", "rosey-plugin-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp) // run outside any module
	// The module is the longest prefix of pkg that the proxy knows.
	var mod string
	var versions []string
	var firstErr string
	for p := pkg; p != "." && p != ""; p = path.Dir(p) {
		out, err := in.run(ctx, tmp, nil, in.goCmd(), "list", "-m", "-versions", "-json", p)
		var m struct {
			Path     string
			Versions []string
			Error    *struct{ Err string }
		}
		if jerr := json.Unmarshal(out, &m); err == nil && jerr == nil && m.Error == nil {
			mod, versions = m.Path, m.Versions
			break
		}
		if firstErr == "" {
			firstErr = strings.TrimSpace(string(out))
		}
		if !strings.Contains(p, "/") {
			break
		}
	}
	if mod == "" {
		return nil, fmt.Errorf("%w: no Go module holds %s: %s", ErrNotFound, pkg, firstErr)
	}
	switch {
	case version == "" && len(versions) > 0:
		version = latest(versions)
	case version == "":
		version = "latest"
	case len(versions) > 0 && !slices.Contains(versions, version) && e == nil:
		return nil, fmt.Errorf("%w: %s has no version %s (it has %s)", ErrNoVersion, mod, version, strings.Join(versions, ", "))
	}
	out, err := in.run(ctx, tmp, nil, in.goCmd(), "mod", "download", "-json", mod+"@"+version)
	var d struct {
		Path, Version, Dir, Error string
	}
	if jerr := json.Unmarshal(out, &d); jerr != nil || d.Error != "" || err != nil {
		msg := cmpOr(d.Error, strings.TrimSpace(string(out)))
		return nil, fmt.Errorf("%w: %s@%s: %s", ErrNoVersion, mod, version, msg)
	}
	rel := strings.TrimPrefix(strings.TrimPrefix(pkg, mod), "/")
	m, err := readManifest(filepath.Join(d.Dir, filepath.FromSlash(rel)))
	if err != nil {
		return nil, fmt.Errorf("%s@%s: %w", pkg, d.Version, err)
	}
	return &Plan{Manifest: m, Kind: KindGo, Source: pkg, Version: d.Version, in: in, gopkg: pkg + "@" + d.Version}, nil
}

// readManifest reads ManifestFile in dir.
func readManifest(dir string) (Manifest, error) {
	b, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if errors.Is(err, fs.ErrNotExist) {
		return Manifest{}, fmt.Errorf("%w: not a Rosey plugin: no %s in it (docs/PLUGINS.md)", ErrManifest, ManifestFile)
	}
	if err != nil {
		return Manifest{}, err
	}
	return ParseManifest(b)
}

// resolveNPM installs pkg@version (the latest when empty) into a staging
// folder, without running its scripts, and reads its manifest.
func (in *Installer) resolveNPM(ctx context.Context, pkg, version string, e *Entry) (*Plan, error) {
	out, err := in.run(ctx, "", nil, in.npmCmd(), "view", "--json", pkg)
	var view struct {
		Versions []string          `json:"versions"`
		Tags     map[string]string `json:"dist-tags"`
	}
	if err != nil || json.Unmarshal(out, &view) != nil {
		return nil, fmt.Errorf("%w: npm has no package %s: %s", ErrNotFound, pkg, npmError(out))
	}
	if version == "" {
		version = cmpOr(view.Tags["latest"], latest(view.Versions))
	}
	if !slices.Contains(view.Versions, version) {
		return nil, fmt.Errorf("%w: %s has no version %s (npm has %s)", ErrNoVersion, pkg, version, strings.Join(view.Versions, ", "))
	}
	p := &Plan{Kind: KindNPM, Source: pkg, Version: version, in: in}
	if err := in.npmStage(ctx, p, pkg+"@"+version, pkg); err != nil {
		return nil, err
	}
	return p, nil
}

// npmStage installs what into a new staging folder and reads the
// manifest of the package pkg there.
func (in *Installer) npmStage(ctx context.Context, p *Plan, what, pkg string, extra ...string) error {
	staging, err := in.stagingDir()
	if err != nil {
		return err
	}
	args := append([]string{"install", "--prefix", staging, "--ignore-scripts", "--no-audit", "--no-fund", "--omit=dev", "--loglevel=error"}, extra...)
	if out, err := in.run(ctx, "", nil, in.npmCmd(), append(args, what)...); err != nil {
		_ = os.RemoveAll(staging)
		return fmt.Errorf("%w: npm install %s: %v\n%s", ErrBuild, what, err, out)
	}
	m, err := readManifest(filepath.Join(staging, "node_modules", filepath.FromSlash(pkg)))
	if err != nil {
		_ = os.RemoveAll(staging)
		return fmt.Errorf("%s: %w", what, err)
	}
	p.Manifest, p.staging = m, staging
	return nil
}

func npmError(out []byte) string {
	var e struct {
		Error struct{ Code, Summary string } `json:"error"`
	}
	if json.Unmarshal(out, &e) == nil && e.Error.Summary != "" {
		return e.Error.Code + " " + e.Error.Summary
	}
	return strings.TrimSpace(string(out))
}

// resolveDir reads the manifest of a plugin in a directory: a Go main
// package, or a Node package (package.json).
func (in *Installer) resolveDir(ctx context.Context, dir string) (*Plan, error) {
	if rest, ok := strings.CutPrefix(dir, "~/"); ok {
		home, err := os.UserHomeDir()
		if err != nil {
			return nil, err
		}
		dir = filepath.Join(home, rest)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if fi, err := os.Stat(abs); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("%w: %s is not a directory", ErrSource, dir)
	}
	m, err := readManifest(abs)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	p := &Plan{Manifest: m, Kind: KindDir, Source: abs, Version: m.Version, in: in}
	if b, err := os.ReadFile(filepath.Join(abs, "package.json")); err == nil {
		var pj struct{ Name string }
		if err := json.Unmarshal(b, &pj); err != nil || pj.Name == "" {
			return nil, fmt.Errorf("%w: %s: package.json names no package", ErrSource, dir)
		}
		if err := in.npmStage(ctx, p, abs, pj.Name, "--install-links"); err != nil {
			return nil, err
		}
		return p, nil
	}
	p.gobuild = []string{abs}
	return p, nil
}

// stagingDir makes a new folder for files not yet installed.
func (in *Installer) stagingDir() (string, error) {
	if err := os.MkdirAll(in.Dir, 0o755); err != nil {
		return "", err
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	dir := filepath.Join(in.Dir, ".staging-"+hex.EncodeToString(b[:]))
	return dir, os.Mkdir(dir, 0o755)
}

// Apply builds (Go) or moves into place (npm) the plan's version, in a
// folder of its own, then switches the plugin's record to it. On any
// error nothing is switched: an installed version keeps running.
func (p *Plan) Apply(ctx context.Context) (Installed, error) {
	in := p.in
	defer p.Discard()
	name := p.Manifest.Name
	inst := Installed{Name: name, Kind: p.Kind, Source: p.Source, Version: p.Version, Catalogue: p.Catalogue, Manifest: p.Manifest}
	switch {
	case p.gopkg != "" || p.gobuild != nil:
		staging, err := in.stagingDir()
		if err != nil {
			return Installed{}, err
		}
		p.staging = staging
		bin := filepath.Join(staging, "bin")
		var out []byte
		if p.gopkg != "" {
			tmp, terr := os.MkdirTemp("", "rosey-plugin-")
			if terr != nil {
				return Installed{}, terr
			}
			out, err = in.run(ctx, tmp, []string{"GOBIN=" + bin}, in.goCmd(), "install", p.gopkg)
			_ = os.RemoveAll(tmp)
		} else {
			out, err = in.run(ctx, p.gobuild[0], nil, in.goCmd(), "build", "-o", filepath.Join(bin, name), ".")
		}
		if err != nil {
			return Installed{}, fmt.Errorf("%w: %s: %v\n%s", ErrBuild, p.Ref(), err, bytes.TrimSpace(out))
		}
		files, err := os.ReadDir(bin)
		if err != nil || len(files) != 1 {
			return Installed{}, fmt.Errorf("%w: %s: the build made no single program (is it a main package?)", ErrBuild, p.Ref())
		}
		inst.Program = "bin/" + files[0].Name()
	default:
		main := p.Manifest.Main
		pkgDir := filepath.Join(p.staging, "node_modules", filepath.FromSlash(p.nodePackage()))
		if main == "" {
			var pj struct{ Main string }
			if b, err := os.ReadFile(filepath.Join(pkgDir, "package.json")); err == nil {
				_ = json.Unmarshal(b, &pj)
			}
			main = cmpOr(pj.Main, "index.js")
		}
		if _, err := os.Stat(filepath.Join(pkgDir, filepath.FromSlash(main))); err != nil {
			return Installed{}, fmt.Errorf("%w: %s: no script %s in the package", ErrBuild, p.Ref(), main)
		}
		inst.Program = "node"
		inst.Args = []string{path.Join("node_modules", p.nodePackage(), main)}
	}
	b, _ := json.MarshalIndent(p.Manifest, "", "  ")
	if err := os.WriteFile(filepath.Join(p.staging, ManifestFile), b, 0o644); err != nil {
		return Installed{}, err
	}

	unlock, err := lock(in.Dir)
	if err != nil {
		return Installed{}, err
	}
	defer unlock()
	list, err := ReadState(in.Dir)
	if err != nil {
		return Installed{}, err
	}
	var cur *Installed
	if i := slices.IndexFunc(list, func(i Installed) bool { return i.Name == name }); i >= 0 {
		cur = &list[i]
	}
	if p.Upgrade == nil && cur != nil {
		return Installed{}, fmt.Errorf("%w: %s is already installed (%s)", ErrClash, name, cur.Ref())
	}
	if err := os.MkdirAll(filepath.Join(in.Dir, name), 0o755); err != nil {
		return Installed{}, err
	}
	folder := versionFolder(p.Version)
	if cur != nil && cur.Dir == name+"/"+folder {
		folder += "-" + time.Now().UTC().Format("20060102T150405")
	}
	final := filepath.Join(in.Dir, name, folder)
	_ = os.RemoveAll(final) // left by an install that failed half-way
	if err := os.Rename(p.staging, final); err != nil {
		return Installed{}, err
	}
	p.staging = ""
	inst.Dir = name + "/" + folder
	if inst.NKey, err = userKey(inst.SeedPath(in.Dir)); err != nil {
		return Installed{}, err
	}
	inst.InstalledAt = time.Now().UTC()
	if cur != nil {
		inst.Previous = cur.Dir
		*cur = inst
	} else {
		list = append(list, inst)
	}
	if err := writeState(in.Dir, list); err != nil {
		_ = os.RemoveAll(final)
		return Installed{}, err
	}
	// Keep the current and the previous version; drop older ones.
	if entries, err := os.ReadDir(filepath.Join(in.Dir, name)); err == nil {
		for _, e := range entries {
			rel := name + "/" + e.Name()
			if e.IsDir() && rel != inst.Dir && rel != inst.Previous {
				_ = os.RemoveAll(filepath.Join(in.Dir, name, e.Name()))
			}
		}
	}
	return inst, nil
}

func (p *Plan) nodePackage() string {
	if p.Kind == KindNPM {
		return p.Source
	}
	var pj struct{ Name string }
	b, _ := os.ReadFile(filepath.Join(p.Source, "package.json"))
	_ = json.Unmarshal(b, &pj)
	return pj.Name
}

// versionFolder makes a version safe as a folder name.
func versionFolder(v string) string {
	return strings.Map(func(r rune) rune {
		if r == '/' || r == '\\' || r == ':' {
			return '_'
		}
		return r
	}, cmpOr(v, "unversioned"))
}

// userKey returns the public key of the nkey in file, creating it (0600)
// on first use.
func userKey(file string) (string, error) {
	if b, err := os.ReadFile(file); err == nil {
		kp, err := nkeys.FromSeed(bytes.TrimSpace(b))
		if err != nil {
			return "", fmt.Errorf("marketplace: %s: %w", file, err)
		}
		return kp.PublicKey()
	}
	kp, err := nkeys.CreateUser()
	if err != nil {
		return "", err
	}
	seed, _ := kp.Seed()
	if err := os.WriteFile(file, append(seed, '\n'), 0o600); err != nil {
		return "", err
	}
	return kp.PublicKey()
}
