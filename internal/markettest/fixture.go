package markettest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// Fixture is everything the marketplace tests install from, offline.
type Fixture struct {
	// Proxy holds this repository's module at RoseyVersion and
	// example.com/dice-duel (examples/dice-duel) at v1.0.0, v1.1.0 (which
	// also asks to publish cytube.send.chat), v1.2.0 that does not build,
	// and v1.3.0 that needs protocol 99.
	Proxy *GoProxy
	// GoEnv makes go use only Proxy, with a module cache of its own.
	GoEnv []string
	// Registry, when npm is there, serves rosey-plugin-fortune
	// (examples/external-plugin-node) at 1.0.0 and 1.1.0 and the
	// packages it needs; NPMEnv points npm at it, with a cache of its own.
	Registry *Registry
	NPMEnv   []string
	// NoNPM says why Registry is nil.
	NoNPM string
	// Catalogue is a catalogue file listing dice-duel (Go; v1.0.0 and
	// v1.1.0, the versions that work), fortune (npm), and future-dice,
	// which needs protocol 99.
	Catalogue string
}

// RoseyVersion is the version of this repository's module in the proxy.
const RoseyVersion = "v0.1.0"

// DiceModule is the sample Go plugin's module path.
const DiceModule = "example.com/dice-duel"

// FortunePackage is the sample Node plugin's npm package.
const FortunePackage = "rosey-plugin-fortune"

// NewFixture builds the fixture in dir. When node and npm are installed
// and so is examples/external-plugin-node/node_modules (sh .ci/node.sh
// installs it) it also starts the npm registry; otherwise NoNPM says what
// is missing. Close stops the registry.
func NewFixture(dir string) (*Fixture, error) {
	root, err := RepoRoot()
	if err != nil {
		return nil, err
	}
	proxy, err := NewGoProxy(filepath.Join(dir, "goproxy"))
	if err != nil {
		return nil, err
	}
	env, err := proxy.Env(filepath.Join(dir, "gomodcache"))
	if err != nil {
		return nil, err
	}
	f := &Fixture{Proxy: proxy, GoEnv: env}
	if err := proxy.Add(root, RoseyVersion); err != nil {
		return nil, err
	}
	for _, v := range []string{"v1.0.0", "v1.1.0", "v1.2.0", "v1.3.0"} {
		src := filepath.Join(dir, "src", "dice-duel", v)
		if err := PluginModule(src, DiceModule, "examples/dice-duel", RoseyVersion, v[1:], env); err != nil {
			return nil, err
		}
		switch v {
		case "v1.2.0": // a compile error, after tidy
			if err := appendFile(filepath.Join(src, "main.go"), "\nfunc broken() { undefinedThing() }\n"); err != nil {
				return nil, err
			}
		case "v1.1.0": // asks to speak in chat on its own
			if err := replaceIn(filepath.Join(src, "rosey-plugin.json"), `"publish": []`, `"publish": ["cytube.send.chat"]`); err != nil {
				return nil, err
			}
		case "v1.3.0":
			if err := replaceIn(filepath.Join(src, "rosey-plugin.json"), `"min_protocol": 1`, `"min_protocol": 99`); err != nil {
				return nil, err
			}
		}
		if err := proxy.Add(src, v); err != nil {
			return nil, err
		}
	}
	node := filepath.Join(root, "examples", "external-plugin-node")
	if !HaveNPM() {
		f.NoNPM = "node or npm is not installed"
	} else if _, err := os.Stat(filepath.Join(node, "node_modules", "nats")); err != nil {
		f.NoNPM = node + " has no node_modules (sh .ci/node.sh installs them)"
	} else {
		f.Registry = NewRegistry()
		if err := f.Registry.AddNodeModules(filepath.Join(node, "node_modules")); err != nil {
			f.Close()
			return nil, err
		}
		for _, v := range []string{"1.0.0", "1.1.0"} {
			src := filepath.Join(dir, "src", "fortune", v)
			if err := os.MkdirAll(src, 0o755); err != nil {
				f.Close()
				return nil, err
			}
			for _, name := range []string{"package.json", "index.js", "rosey-plugin.json"} {
				b, err := os.ReadFile(filepath.Join(node, name))
				if err == nil {
					b = bytes.ReplaceAll(b, []byte(`"1.0.0"`), []byte(`"`+v+`"`))
					err = os.WriteFile(filepath.Join(src, name), b, 0o644)
				}
				if err != nil {
					f.Close()
					return nil, err
				}
			}
			if err := f.Registry.AddDir(src, "package.json", "index.js", "rosey-plugin.json"); err != nil {
				f.Close()
				return nil, err
			}
		}
		f.NPMEnv = []string{"npm_config_registry=" + f.Registry.URL(), "npm_config_cache=" + filepath.Join(dir, "npmcache"),
			"npm_config_update_notifier=false", "npm_config_audit=false", "npm_config_fund=false"}
	}
	cat := map[string]any{
		"name": "test",
		"plugins": []map[string]any{
			{"name": "dice-duel", "description": "Dice duels: two dice each", "go": DiceModule,
				"versions": []string{"v1.0.0", "v1.1.0"}, "commands": []string{"duel"}, "min_protocol": 1, "license": "MIT"},
			{"name": "fortune", "description": "Fortune cookies and shouting (JavaScript)", "npm": FortunePackage,
				"versions": []string{"1.0.0", "1.1.0"}, "commands": []string{"fortune", "cookie", "shout"}, "min_protocol": 1, "license": "MIT"},
			{"name": "future-dice", "description": "Dice from a later Rosey", "go": "example.com/future-dice",
				"versions": []string{"v1.0.0"}, "min_protocol": 99},
		},
	}
	b, _ := json.MarshalIndent(cat, "", "  ")
	f.Catalogue = filepath.Join(dir, "catalogue.json")
	if err := os.WriteFile(f.Catalogue, b, 0o644); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// Env is GoEnv and NPMEnv together.
func (f *Fixture) Env() []string { return append(append([]string{}, f.GoEnv...), f.NPMEnv...) }

// Close stops the registry.
func (f *Fixture) Close() {
	if f.Registry != nil {
		f.Registry.Close()
	}
}

// HaveNPM reports whether node and npm are installed.
func HaveNPM() bool {
	_, e1 := exec.LookPath("node")
	_, e2 := exec.LookPath("npm")
	return e1 == nil && e2 == nil
}

func appendFile(file, text string) error {
	f, err := os.OpenFile(file, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	_, err = f.WriteString(text)
	return errors.Join(err, f.Close())
}

func replaceIn(file, old, new string) error {
	b, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	if !bytes.Contains(b, []byte(old)) {
		return fmt.Errorf("%s: no %q", file, old)
	}
	return os.WriteFile(file, bytes.ReplaceAll(b, []byte(old), []byte(new)), 0o644)
}
