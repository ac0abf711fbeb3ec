package marketplace_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/roseybot/rosey/internal/markettest"
	"github.com/roseybot/rosey/marketplace"
)

var (
	fixtureOnce sync.Once
	fixture     *markettest.Fixture
	fixtureErr  error
)

// needFixture builds the on-disk Go proxy and npm registry once for the
// package's tests. The npm tests need node, npm and the example's
// node_modules (sh .ci/node.sh): in CI (CI set) they fail without them,
// elsewhere they skip saying why.
func needFixture(t *testing.T, npm bool) *markettest.Fixture {
	t.Helper()
	fixtureOnce.Do(func() {
		dir, err := os.MkdirTemp("", "rosey-market-")
		if err != nil {
			fixtureErr = err
			return
		}
		fixture, fixtureErr = markettest.NewFixture(dir)
	})
	if fixtureErr != nil {
		t.Fatal(fixtureErr)
	}
	if npm && fixture.Registry == nil {
		if os.Getenv("CI") != "" {
			t.Fatal("the npm tests need node, npm and the example's node_modules in CI: " + fixture.NoNPM)
		}
		t.Skip("skipping the npm install tests: " + fixture.NoNPM + " (in CI they fail instead)")
	}
	return fixture
}

func TestMain(m *testing.M) {
	code := m.Run()
	if fixture != nil {
		fixture.Close()
		_ = os.RemoveAll(filepath.Dir(fixture.Catalogue))
	}
	os.Exit(code)
}

func installer(t *testing.T, f *markettest.Fixture) *marketplace.Installer {
	t.Helper()
	cat, err := marketplace.LoadCatalogue(context.Background(), nil, f.Catalogue)
	if err != nil {
		t.Fatal(err)
	}
	return &marketplace.Installer{Dir: t.TempDir(), Catalogues: []*marketplace.Catalogue{cat}, Env: f.Env(),
		Reserved: []string{"dice-roller", "help"}}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	t.Cleanup(cancel)
	return c
}

// runPlugin runs the installed plugin with -h: its flags' help proves the
// program built and starts.
func runPlugin(t *testing.T, dir string, i marketplace.Installed) string {
	t.Helper()
	prog, args := i.Command(dir)
	out, err := exec.Command(prog, append(args, "-h")...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s -h: %v\n%s", prog, err, out)
	}
	return string(out)
}

func TestGoInstallUpgradeRemove(t *testing.T) {
	is := is.New(t)
	f := needFixture(t, false)
	in := installer(t, f)

	p, err := in.Install(ctx(t), "dice-duel@v1.0.0")
	is.NoErr(err)
	is.Equal(p.Manifest.Name, "dice-duel")
	is.Equal(p.Version, "v1.0.0")
	prompt := p.Prompt()
	is.True(strings.Contains(prompt, "dice-duel 1.0.0"))
	is.True(strings.Contains(prompt, "example.com/dice-duel@v1.0.0"))
	is.True(strings.Contains(prompt, "!duel"))
	is.True(strings.Contains(prompt, "it cannot read the chat"))
	got, err := p.Apply(ctx(t))
	is.NoErr(err)
	is.Equal(got.Version, "v1.0.0")
	is.Equal(got.Catalogue, "dice-duel")
	is.True(strings.HasPrefix(got.NKey, "U"))
	runPlugin(t, in.Dir, got)
	fi, err := os.Stat(got.SeedPath(in.Dir))
	is.NoErr(err)
	is.Equal(fi.Mode().Perm(), os.FileMode(0o600)) // the plugin's NATS seed is its owner's only

	list, err := in.List()
	is.NoErr(err)
	is.Equal(len(list), 1)
	is.Equal(list[0].Ref(), "example.com/dice-duel@v1.0.0")

	// Installing it again is a clash; upgrade is the way.
	_, err = in.Install(ctx(t), "dice-duel")
	is.True(errors.Is(err, marketplace.ErrClash))

	// The catalogue's latest.
	p, err = in.Upgrade(ctx(t), "dice-duel", "")
	is.NoErr(err)
	is.True(p.NewPermissions()) // v1.1.0 asks to speak on its own: the owner is asked again
	is.True(strings.Contains(p.Prompt(), "say things in the channel's chat on its own (cytube.send.chat)"))
	up, err := p.Apply(ctx(t))
	is.NoErr(err)
	is.Equal(up.Version, "v1.1.0")
	is.Equal(up.Manifest.Version, "1.1.0")
	is.Equal(up.NKey, got.NKey) // the same NATS user
	is.Equal(up.Previous, got.Dir)
	runPlugin(t, in.Dir, up)

	// Already there.
	p, err = in.Upgrade(ctx(t), "dice-duel", "")
	is.NoErr(err)
	is.True(p == nil)
	// Not in the catalogue.
	_, err = in.Upgrade(ctx(t), "dice-duel", "v1.2.0")
	is.True(errors.Is(err, marketplace.ErrNoVersion))

	gone, err := in.Remove("dice-duel")
	is.NoErr(err)
	is.Equal(gone.Version, "v1.1.0")
	_, err = os.Stat(filepath.Join(in.Dir, "dice-duel"))
	is.True(errors.Is(err, os.ErrNotExist))
	list, _ = in.List()
	is.Equal(len(list), 0)
	_, err = in.Remove("dice-duel")
	is.True(errors.Is(err, marketplace.ErrNotInstalled))
}

// A failed upgrade (the build fails, the plugin needs a newer protocol)
// leaves the version before it installed, its files in place.
func TestFailedUpgradeKeepsThePreviousVersion(t *testing.T) {
	is := is.New(t)
	f := needFixture(t, false)
	in := installer(t, f)
	// No version: the highest release, here v1.3.0, which is refused.
	_, err := in.Install(ctx(t), markettest.DiceModule)
	is.True(errors.Is(err, marketplace.ErrProtocol))
	is.True(strings.Contains(err.Error(), "needs Rosey protocol 99"))

	p, err := in.Install(ctx(t), markettest.DiceModule+"@v1.1.0")
	is.NoErr(err)
	got, err := p.Apply(ctx(t))
	is.NoErr(err)
	is.Equal(got.Catalogue, "")
	is.Equal(got.Source, markettest.DiceModule)

	p, err = in.Upgrade(ctx(t), "dice-duel", "v1.2.0")
	is.NoErr(err)
	_, err = p.Apply(ctx(t))
	is.True(errors.Is(err, marketplace.ErrBuild))
	is.True(strings.Contains(err.Error(), "undefinedThing")) // the build's own output
	cur, err := in.Get("dice-duel")
	is.NoErr(err)
	is.True(cur.Dir == got.Dir && cur.Version == got.Version)
	runPlugin(t, in.Dir, cur)
	entries, _ := os.ReadDir(in.Dir)
	for _, e := range entries {
		is.True(!strings.HasPrefix(e.Name(), ".staging")) // nothing half-built left
	}

	// The latest the proxy has is v1.3.0, which needs protocol 99.
	_, err = in.Upgrade(ctx(t), "dice-duel", "")
	is.True(errors.Is(err, marketplace.ErrProtocol))
	cur, _ = in.Get("dice-duel")
	is.True(cur.Dir == got.Dir && cur.Version == got.Version)
}

func TestRefusals(t *testing.T) {
	f := needFixture(t, false)
	in := installer(t, f)
	for _, tc := range []struct {
		spec string
		err  error
		says string
	}{
		{"no-such-plugin", marketplace.ErrNotFound, `"no-such-plugin" is in no catalogue`},
		{"dice-duel@v9.9.9", marketplace.ErrNoVersion, "dice-duel has no version v9.9.9 (the catalogue lists v1.0.0, v1.1.0)"},
		{markettest.DiceModule + "@v9.9.9", marketplace.ErrNoVersion, "has no version v9.9.9 (it has v1.0.0, v1.1.0, v1.2.0, v1.3.0)"},
		{"example.com/nothing-here@v1.0.0", marketplace.ErrNotFound, "no Go module holds example.com/nothing-here"},
		{"future-dice", marketplace.ErrProtocol, "future-dice needs Rosey protocol 99; this Rosey speaks 1"},
		{markettest.DiceModule + "@v1.3.0", marketplace.ErrProtocol, "needs Rosey protocol 99"},
		{markettest.RoseyModule + "/examples/minimal@" + markettest.RoseyVersion, marketplace.ErrManifest, "not a Rosey plugin: no rosey-plugin.json"},
		{"./does/not/exist", marketplace.ErrSource, "is not a directory"},
	} {
		t.Run(tc.spec, func(t *testing.T) {
			is := is.New(t)
			_, err := in.Install(ctx(t), tc.spec)
			is.True(errors.Is(err, tc.err))
			if !strings.Contains(err.Error(), tc.says) {
				t.Errorf("error %q does not say %q", err, tc.says)
			}
		})
	}
	t.Run("built-in name", func(t *testing.T) {
		is := is.New(t)
		in := installer(t, f)
		in.Reserved = []string{"dice-duel"}
		_, err := in.Install(ctx(t), "dice-duel@v1.0.0")
		is.True(errors.Is(err, marketplace.ErrClash))
		is.True(strings.Contains(err.Error(), "dice-duel is the name of a plugin built into Rosey"))
	})
	t.Run("same name from another source", func(t *testing.T) {
		is := is.New(t)
		in := installer(t, f)
		p, err := in.Install(ctx(t), "dice-duel@v1.0.0")
		is.NoErr(err)
		_, err = p.Apply(ctx(t))
		is.NoErr(err)
		root, err := markettest.RepoRoot()
		is.NoErr(err)
		// A directory holding a plugin that calls itself dice-duel too.
		_, err = in.Install(ctx(t), filepath.Join(root, "examples", "dice-duel"))
		is.True(errors.Is(err, marketplace.ErrClash))
		is.True(strings.Contains(err.Error(), "dice-duel is already installed (example.com/dice-duel@v1.0.0)"))
	})
}

func TestInstallFromDirectory(t *testing.T) {
	is := is.New(t)
	needFixture(t, false)
	in := &marketplace.Installer{Dir: t.TempDir()}
	root, err := markettest.RepoRoot()
	is.NoErr(err)
	p, err := in.Install(ctx(t), filepath.Join(root, "examples", "external-plugin"))
	is.NoErr(err)
	is.Equal(p.Manifest.Name, "greeter")
	got, err := p.Apply(ctx(t))
	is.NoErr(err)
	is.Equal(got.Kind, marketplace.KindDir)
	is.Equal(got.Version, "1.0.0")
	runPlugin(t, in.Dir, got)
	// A directory is built again on every upgrade, into a new folder.
	p, err = in.Upgrade(ctx(t), "greeter", "")
	is.NoErr(err)
	up, err := p.Apply(ctx(t))
	is.NoErr(err)
	is.True(up.Dir != got.Dir)
	is.Equal(up.Previous, got.Dir)
	runPlugin(t, in.Dir, up)
}

func TestNPMInstallUpgrade(t *testing.T) {
	is := is.New(t)
	f := needFixture(t, true)
	in := installer(t, f)
	p, err := in.Install(ctx(t), "fortune@1.0.0")
	is.NoErr(err)
	is.Equal(p.Manifest.Name, "fortune")
	is.True(strings.Contains(p.Prompt(), "npm:rosey-plugin-fortune@1.0.0"))
	got, err := p.Apply(ctx(t))
	is.NoErr(err)
	prog, args := got.Command(in.Dir)
	is.Equal(prog, "node")
	_, err = os.Stat(args[0])
	is.NoErr(err)
	_, err = os.Stat(filepath.Join(filepath.Dir(args[0]), "..", "nats", "package.json")) // its dependency came along
	is.NoErr(err)

	_, err = in.Install(ctx(t), "npm:"+markettest.FortunePackage+"@7.0.0")
	is.True(errors.Is(err, marketplace.ErrNoVersion))
	_, err = in.Install(ctx(t), "npm:no-such-package-here")
	is.True(errors.Is(err, marketplace.ErrNotFound))

	p, err = in.Upgrade(ctx(t), "fortune", "")
	is.NoErr(err)
	up, err := p.Apply(ctx(t))
	is.NoErr(err)
	is.Equal(up.Version, "1.1.0")
	is.Equal(up.Manifest.Version, "1.1.0")
}

func TestSearch(t *testing.T) {
	is := is.New(t)
	cats := []*marketplace.Catalogue{marketplace.Shipped()}
	hits := marketplace.Search(cats, "dice")
	is.Equal(len(hits), 1)
	is.Equal(hits[0].Name, "dice-duel")
	is.Equal(hits[0].Catalogue, "rosey")
	is.Equal(len(marketplace.Search(cats)), 3)
	is.Equal(len(marketplace.Search(cats, "JAVASCRIPT")), 1)     // any case
	is.Equal(len(marketplace.Search(cats, "cookie", "dice")), 0) // every word
	is.Equal(len(marketplace.Search(cats, "duel")), 1)           // a command
}

// The shipped catalogue's plugins are the repository's examples, and each
// example's manifest agrees with its catalogue entry.
func TestShippedCatalogueMatchesExamples(t *testing.T) {
	is := is.New(t)
	root, err := markettest.RepoRoot()
	is.NoErr(err)
	for _, e := range marketplace.Shipped().Plugins {
		dir := filepath.Join(root, "examples", "external-plugin-node")
		if e.Go != "" {
			dir = filepath.Join(root, strings.TrimPrefix(e.Go, markettest.RoseyModule+"/"))
		}
		b, err := os.ReadFile(filepath.Join(dir, marketplace.ManifestFile))
		is.NoErr(err)
		m, err := marketplace.ParseManifest(b)
		is.NoErr(err)
		is.Equal(m.Name, e.Name)
		is.Equal(m.Description != "", true)
		var words []string
		for _, c := range m.Commands {
			words = append(words, c.Name)
			words = append(words, c.Aliases...)
		}
		is.Equal(fmt.Sprint(words), fmt.Sprint(e.Commands))
	}
}

func TestManifestRefusesBadSubjects(t *testing.T) {
	for _, s := range []string{">", "*.>", "_INBOX.>", "$SYS.>", "a..b", "a.>.b", "a b", "cy*tube"} {
		t.Run(s, func(t *testing.T) {
			is := is.New(t)
			_, err := marketplace.ParseManifest([]byte(`{"name": "x", "subjects": {"subscribe": ["` + s + `"]}}`))
			is.True(errors.Is(err, marketplace.ErrManifest))
		})
	}
	is := is.New(t)
	_, err := marketplace.ParseManifest([]byte(`{"name": "Bad Name"}`))
	is.True(errors.Is(err, marketplace.ErrManifest))
	m, err := marketplace.ParseManifest([]byte(`{"name": "x", "subjects": {"publish": ["cytube.send.chat"], "subscribe": ["cytube.chat"]}}`))
	is.NoErr(err)
	prompt := marketplace.Prompt(m, "example.com/x@v1.0.0")
	is.True(strings.Contains(prompt, "say things in the channel's chat on its own (cytube.send.chat)"))
	is.True(strings.Contains(prompt, "read the channel's chat as it happens (cytube.chat)"))
}

func TestPermissionsFor(t *testing.T) {
	is := is.New(t)
	p := marketplace.PermissionsFor("x", "bot1", marketplace.Subjects{Publish: []string{"cytube.send.chat"}})
	is.Equal(p.Publish, []string{"bot1.database.x.>", "bot1.platform.plugin.x.>", "bot1.cytube.send.chat"})
	is.Equal(p.Subscribe[0], "bot1.plugin.x.>")
	is.Equal(p.Subscribe[len(p.Subscribe)-1], "_INBOX.plugin.x.>") // never prefixed
	is.True(p.AllowResponses)
}

// A catalogue comes from a URL as well as from a file; a bad one is a
// clear error.
func TestCatalogueByURL(t *testing.T) {
	is := is.New(t)
	root, err := markettest.RepoRoot()
	is.NoErr(err)
	body, err := os.ReadFile(filepath.Join(root, "marketplace", "catalogue.json"))
	is.NoErr(err)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/catalogue.json":
			_, _ = w.Write(body)
		case "/broken.json":
			_, _ = w.Write([]byte(`{"plugins": [{"name": "x", "versions": ["v1.0.0"]}]}`)) // no source
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	c, err := marketplace.LoadCatalogue(ctx(t), srv.Client(), srv.URL+"/catalogue.json")
	is.NoErr(err)
	is.Equal(c.From, srv.URL+"/catalogue.json")
	is.Equal(len(marketplace.Search([]*marketplace.Catalogue{c}, "dice")), 1)
	_, err = marketplace.LoadCatalogue(ctx(t), srv.Client(), srv.URL+"/missing.json")
	is.True(errors.Is(err, marketplace.ErrCatalogue))
	is.True(strings.Contains(err.Error(), "404"))
	_, err = marketplace.LoadCatalogue(ctx(t), srv.Client(), srv.URL+"/broken.json")
	is.True(errors.Is(err, marketplace.ErrCatalogue))
	is.True(strings.Contains(err.Error(), "give exactly one of go and npm"))
	_, err = marketplace.LoadCatalogue(ctx(t), nil, filepath.Join(t.TempDir(), "none.json"))
	is.True(errors.Is(err, marketplace.ErrCatalogue))
}

// A Node plugin in a directory installs with its dependencies (from the
// registry) as a copy, not a link to the directory.
func TestNPMInstallFromDirectory(t *testing.T) {
	is := is.New(t)
	f := needFixture(t, true)
	in := installer(t, f)
	root, err := markettest.RepoRoot()
	is.NoErr(err)
	p, err := in.Install(ctx(t), filepath.Join(root, "examples", "external-plugin-node"))
	is.NoErr(err)
	is.Equal(p.Manifest.Name, "fortune")
	got, err := p.Apply(ctx(t))
	is.NoErr(err)
	is.Equal(got.Kind, marketplace.KindDir)
	prog, args := got.Command(in.Dir)
	is.Equal(prog, "node")
	fi, err := os.Lstat(filepath.Dir(args[0]))
	is.NoErr(err)
	is.True(fi.Mode()&os.ModeSymlink == 0) // a copy
	_, err = os.Stat(filepath.Join(filepath.Dir(args[0]), "..", "nats", "package.json"))
	is.NoErr(err)
}
