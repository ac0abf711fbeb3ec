package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/roseybot/rosey"
	"github.com/roseybot/rosey/marketplace"
	"github.com/roseybot/rosey/plugins/builtin"
)

// marketVerbs are the rosey plugin subcommands of the marketplace; any
// other word after "rosey plugin" names a built-in plugin to serve.
var marketVerbs = []string{"search", "install", "list", "info", "upgrade", "remove"}

const marketUsage = `usage:
  rosey plugin search [words…]                                     search the catalogues
  rosey plugin install NAME[@VERSION] | MODULE@VERSION | npm:PACKAGE[@VERSION] | DIR [-yes]
  rosey plugin list                                                the installed plugins
  rosey plugin info NAME                                           an installed or catalogued plugin, with its permissions
  rosey plugin upgrade [NAME[@VERSION]] [-yes]                     every installed plugin, or one
  rosey plugin remove NAME
flags (anywhere): -config FILE (the bot's), -data DIR, -dir DIR (the plugins folder), -catalogue URL|FILE (repeatable), -yes
`

// market runs a marketplace subcommand.
func market(ctx context.Context, args []string, stdin *bufio.Reader, stdout, stderr io.Writer) error {
	verb := args[0]
	fs := flag.NewFlagSet("plugin "+verb, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, marketUsage) }
	mf := addMarketFlags(fs)
	yes := fs.Bool("yes", false, "install without asking (for scripts)")
	rest, err := parseInterspersed(fs, args[1:])
	if err != nil {
		return err
	}
	in, cats, err := mf.installer(ctx, stderr)
	if err != nil {
		return err
	}
	switch verb {
	case "search":
		return search(stdout, cats, rest)
	case "list":
		return list(stdout, in)
	case "info":
		if len(rest) != 1 {
			return errors.New("plugin info: name one plugin")
		}
		return info(stdout, in, cats, rest[0])
	case "install":
		if len(rest) != 1 {
			return errors.New("plugin install: name one plugin: NAME, MODULE@VERSION, npm:PACKAGE@VERSION or a directory (rosey plugin search finds names)")
		}
		_, err := install(ctx, in, rest[0], *yes, stdin, stdout)
		return err
	case "upgrade":
		return upgrade(ctx, in, rest, *yes, stdin, stdout)
	case "remove":
		if len(rest) != 1 {
			return errors.New("plugin remove: name one installed plugin")
		}
		gone, err := in.Remove(rest[0])
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "🗑️  Removed %s %s (%s), its files and its NATS user. A running bot stops it within seconds.\n", gone.Name, gone.Version, gone.Ref())
		return nil
	}
	return fmt.Errorf("plugin: unknown subcommand %q", verb)
}

// marketFlags are the flags that say where the plugins folder and the
// catalogues are.
type marketFlags struct {
	config, data, dir *string
	catalogues        *[]string
}

func addMarketFlags(fs *flag.FlagSet) marketFlags {
	var cats []string
	fs.Func("catalogue", "a catalogue URL or file, searched after the shipped one and the config's (repeatable)", func(s string) error {
		cats = append(cats, s)
		return nil
	})
	return marketFlags{
		config:     fs.String("config", "", `the bot's config file ("marketplace": {"dir", "catalogues"})`),
		data:       fs.String("data", "", "the bot's data directory (default "+rosey.DefaultDataDir+"; the plugins folder is DIR/plugins)"),
		dir:        fs.String("dir", "", "the plugins folder, overriding the config's"),
		catalogues: &cats,
	}
}

// botConfig is the config the flags point at.
func (f marketFlags) botConfig() (rosey.Config, error) {
	var cfg rosey.Config
	if *f.config != "" {
		c, err := rosey.LoadConfig(*f.config)
		if err != nil {
			return cfg, err
		}
		cfg = c
	}
	if *f.data != "" && cfg.Database.Dir == "" {
		cfg.Database.Dir = *f.data
	}
	if *f.dir != "" {
		cfg.Marketplace.Dir = *f.dir
	}
	cfg.Marketplace.Catalogues = append(cfg.Marketplace.Catalogues, *f.catalogues...)
	return cfg, nil
}

func (f marketFlags) installer(ctx context.Context, stderr io.Writer) (*marketplace.Installer, []*marketplace.Catalogue, error) {
	cfg, err := f.botConfig()
	if err != nil {
		return nil, nil, err
	}
	return installerFor(ctx, cfg, stderr)
}

// installerFor loads the shipped catalogue and cfg's; one that cannot be
// read is reported and skipped.
func installerFor(ctx context.Context, cfg rosey.Config, stderr io.Writer) (*marketplace.Installer, []*marketplace.Catalogue, error) {
	cats := []*marketplace.Catalogue{marketplace.Shipped()}
	for _, src := range cfg.Marketplace.Catalogues {
		c, err := marketplace.LoadCatalogue(ctx, nil, src)
		if err != nil {
			fmt.Fprintf(stderr, "⚠️  skipping a catalogue: %v\n", err)
			continue
		}
		cats = append(cats, c)
	}
	return &marketplace.Installer{Dir: cfg.PluginsDir(), Catalogues: cats, Reserved: builtin.Names()}, cats, nil
}

// parseInterspersed parses flags given before, between or after the
// positional arguments, which it returns.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var rest []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return rest, nil
		}
		rest = append(rest, args[0])
		args = args[1:]
	}
}

func search(w io.Writer, cats []*marketplace.Catalogue, words []string) error {
	hits := marketplace.Search(cats, words...)
	if len(hits) == 0 {
		fmt.Fprintf(w, "No plugin matches %q in %d catalogue(s).\n", strings.Join(words, " "), len(cats))
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tVERSION\tDESCRIPTION\tCOMMANDS\tSOURCE\tCATALOGUE")
	for _, h := range hits {
		var cmds []string
		for _, c := range h.Commands {
			cmds = append(cmds, "!"+c)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", h.Name, h.Latest(), h.Description, strings.Join(cmds, " "), h.Source(), h.Catalogue)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "Install one with: rosey plugin install %s\n", hits[0].Name)
	return nil
}

func list(w io.Writer, in *marketplace.Installer) error {
	installed, err := in.List()
	if err != nil {
		return err
	}
	if len(installed) == 0 {
		fmt.Fprintf(w, "No plugins installed (in %s). Find some: rosey plugin search\n", in.Dir)
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tVERSION\tSOURCE\tINSTALLED")
	for _, i := range installed {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", i.Name, i.Manifest.Version, i.Ref(), i.InstalledAt.Format("2006-01-02 15:04"))
	}
	return tw.Flush()
}

func info(w io.Writer, in *marketplace.Installer, cats []*marketplace.Catalogue, name string) error {
	i, err := in.Get(name)
	if errors.Is(err, marketplace.ErrNotInstalled) {
		e, ok := marketplace.Lookup(cats, name)
		if !ok {
			return fmt.Errorf("%w: %q is neither installed nor in a catalogue", marketplace.ErrNotFound, name)
		}
		fmt.Fprintf(w, "%s (not installed)\n  %s\n  source: %s\n  versions: %s\n  licence: %s\n  commands: %s\n  needs Rosey protocol %d\n",
			e.Name, e.Description, e.Source(), strings.Join(e.Versions, ", "), e.License, strings.Join(e.Commands, ", "), max(e.MinProtocol, 1))
		if len(e.Subjects.Publish)+len(e.Subjects.Subscribe) > 0 {
			fmt.Fprintf(w, "  asks to publish on: %s; to subscribe to: %s\n", strings.Join(e.Subjects.Publish, " "), strings.Join(e.Subjects.Subscribe, " "))
		} else {
			fmt.Fprintln(w, "  asks for no subjects beyond its own")
		}
		if e.Homepage != "" {
			fmt.Fprintf(w, "  homepage: %s\n", e.Homepage)
		}
		fmt.Fprintf(w, "  Install it with: rosey plugin install %s\n", e.Name)
		return nil
	}
	if err != nil {
		return err
	}
	m := i.Manifest
	fmt.Fprintf(w, "%s %s: %s\n  source: %s", m.Name, m.Version, m.Description, i.Ref())
	if i.Catalogue != "" {
		fmt.Fprintf(w, " (catalogue entry %s)", i.Catalogue)
	}
	fmt.Fprintf(w, "\n  installed: %s in %s\n", i.InstalledAt.Format("2006-01-02 15:04:05 MST"), in.Dir+"/"+i.Dir)
	if i.Previous != "" {
		fmt.Fprintf(w, "  previous version kept in: %s\n", in.Dir+"/"+i.Previous)
	}
	for _, c := range m.Commands {
		fmt.Fprintf(w, "  !%s %s  %s\n", c.Name, c.Usage, c.Description)
	}
	p := marketplace.PermissionsFor(m.Name, "", m.Subjects)
	fmt.Fprintf(w, "  NATS user: nkey %s (seed in %s)\n    publish:   %s\n    subscribe: %s\n    answers the requests it receives\n",
		i.NKey, i.SeedPath(in.Dir), strings.Join(p.Publish, " "), strings.Join(p.Subscribe, " "))
	return nil
}

// install resolves spec, shows the permissions prompt, asks (unless yes),
// and installs.
func install(ctx context.Context, in *marketplace.Installer, spec string, yes bool, stdin *bufio.Reader, stdout io.Writer) (marketplace.Installed, error) {
	fmt.Fprintf(stdout, "🔎 Looking for %s…\n", spec)
	p, err := in.Install(ctx, spec)
	if err != nil {
		return marketplace.Installed{}, err
	}
	defer p.Discard()
	fmt.Fprint(stdout, p.Prompt())
	if !yes && !ask(stdin, stdout, "Install "+p.Manifest.Name+"?") {
		return marketplace.Installed{}, fmt.Errorf("%w: %s was not installed", marketplace.ErrDeclined, p.Manifest.Name)
	}
	fmt.Fprintf(stdout, "🔨 Installing %s…\n", p.Ref())
	i, err := p.Apply(ctx)
	if err != nil {
		return marketplace.Installed{}, err
	}
	fmt.Fprintf(stdout, "✅ Installed %s %s in %s. A running bot starts it within seconds; otherwise it starts with the bot.\n", i.Name, i.Manifest.Version, in.Dir)
	return i, nil
}

func upgrade(ctx context.Context, in *marketplace.Installer, names []string, yes bool, stdin *bufio.Reader, stdout io.Writer) error {
	if len(names) == 0 {
		installed, err := in.List()
		if err != nil {
			return err
		}
		for _, i := range installed {
			names = append(names, i.Name)
		}
		if len(names) == 0 {
			fmt.Fprintln(stdout, "No plugins installed.")
			return nil
		}
	}
	var errs []error
	for _, spec := range names {
		name, version, _ := strings.Cut(spec, "@")
		cur, err := in.Get(name)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		p, err := in.Upgrade(ctx, name, version)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s stays at %s: %w", name, cur.Version, err))
			continue
		}
		if p == nil {
			fmt.Fprintf(stdout, "%s is up to date (%s).\n", name, cur.Version)
			continue
		}
		if p.NewPermissions() {
			fmt.Fprint(stdout, p.Prompt())
			if !yes && !ask(stdin, stdout, "Upgrade "+name+" with these permissions?") {
				p.Discard()
				errs = append(errs, fmt.Errorf("%w: %s stays at %s", marketplace.ErrDeclined, name, cur.Version))
				continue
			}
		}
		fmt.Fprintf(stdout, "🔨 Upgrading %s %s → %s…\n", name, cur.Version, p.Version)
		up, err := p.Apply(ctx)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s stays at %s: %w", name, cur.Version, err))
			continue
		}
		fmt.Fprintf(stdout, "✅ Upgraded %s to %s. A running bot switches to it within seconds.\n", name, up.Version)
	}
	return errors.Join(errs...)
}

// ask asks a yes/no question on stdin; anything but y or yes is no.
func ask(stdin *bufio.Reader, stdout io.Writer, q string) bool {
	fmt.Fprintf(stdout, "%s [y/N] ", q)
	line, _ := stdin.ReadString('\n')
	return slices.Contains([]string{"y", "yes"}, strings.ToLower(strings.TrimSpace(line)))
}

// installFlag collects --install-plugin values for rosey run and console.
type installFlag []string

func (f *installFlag) String() string     { return strings.Join(*f, ",") }
func (f *installFlag) Set(s string) error { *f = append(*f, s); return nil }

// installBeforeRun installs the plugins named by --install-plugin that are
// not installed yet (a name already installed is left as it is, so the
// same command line starts the bot again).
func installBeforeRun(ctx context.Context, cfg rosey.Config, specs []string, yes bool, stdin *bufio.Reader, stdout, stderr io.Writer) error {
	if len(specs) == 0 {
		return nil
	}
	in, _, err := installerFor(ctx, cfg, stderr)
	if err != nil {
		return err
	}
	installed, err := in.List()
	if err != nil {
		return err
	}
	for _, spec := range specs {
		name, _, _ := strings.Cut(spec, "@")
		if slices.ContainsFunc(installed, func(i marketplace.Installed) bool { return i.Name == name || i.Catalogue == name }) {
			fmt.Fprintf(stderr, "%s is installed already (rosey plugin upgrade %s for a newer version).\n", name, name)
			continue
		}
		if _, err := install(ctx, in, spec, yes, stdin, stdout); err != nil {
			return fmt.Errorf("--install-plugin %s: %w", spec, err)
		}
	}
	return nil
}
