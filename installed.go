package rosey

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/roseybot/rosey/eventbus/embedded"
	"github.com/roseybot/rosey/marketplace"
	"github.com/roseybot/rosey/plugin"
	"github.com/roseybot/rosey/plugin/supervisor"
)

// installedPollInterval is how often the bot looks at the record of
// installed plugins for installs, upgrades and removals.
const installedPollInterval = time.Second

// installed supervises the plugins installed in the plugins folder
// (package marketplace): each runs as a process of the plugin manager,
// logged in as a NATS user of its own that may use only its own subjects
// and those its manifest declares. It watches the folder's record, so
// installing, upgrading or removing a plugin takes effect while the bot
// runs.
type installed struct {
	b   *Bot
	m   *supervisor.Manager
	dir string

	mu      sync.Mutex
	last    []byte                           // the record as last read
	running map[string]marketplace.Installed // what runs, by name
	warned  bool                             // about users the server cannot add
	noURL   bool                             // warned that plugins cannot connect

	cancel context.CancelFunc
	done   chan struct{}
}

// startInstalled starts the installed plugins and the watch on their
// record. A plugin that fails to start is logged and shown failed; it
// does not stop the bot.
func (b *Bot) startInstalled(ctx context.Context, m *supervisor.Manager) (*installed, error) {
	if b.cfg.Marketplace.Disabled {
		return nil, nil
	}
	dir, err := filepath.Abs(b.cfg.PluginsDir())
	if err != nil {
		return nil, err
	}
	in := &installed{b: b, m: m, dir: dir, running: map[string]marketplace.Installed{}, done: make(chan struct{})}
	in.sync(ctx)
	wctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	in.cancel = cancel
	go in.watch(wctx)
	return in, nil
}

// stop ends the watch; the manager stops the processes.
func (in *installed) stop() {
	if in == nil {
		return
	}
	in.cancel()
	<-in.done
}

func (in *installed) watch(ctx context.Context) {
	defer close(in.done)
	t := time.NewTicker(installedPollInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			in.sync(ctx)
		}
	}
}

// sync makes what runs match the record: plugins no longer listed, or
// listed at another version, stop and are dropped; the NATS users are
// set to those listed; new ones start.
func (in *installed) sync(ctx context.Context) {
	in.mu.Lock()
	defer in.mu.Unlock()
	log := in.b.log
	raw, err := os.ReadFile(filepath.Join(in.dir, marketplace.StateFile))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		log.Warn("cannot read the installed plugins; what runs stays as it is", "dir", in.dir, "err", err)
		return
	}
	if in.last != nil && bytes.Equal(raw, in.last) {
		return
	}
	list, err := marketplace.ReadState(in.dir)
	if err != nil {
		log.Warn("cannot read the installed plugins; what runs stays as it is", "dir", in.dir, "err", err)
		return
	}
	in.last = raw
	want := map[string]marketplace.Installed{}
	for _, i := range list {
		want[i.Name] = i
	}
	for name, cur := range in.running {
		if w, ok := want[name]; ok && w.Dir == cur.Dir && w.NKey == cur.NKey {
			continue
		}
		if err := in.m.Remove(ctx, name); err != nil {
			log.Warn("installed plugin stopped with errors", "plugin", name, "err", err)
		}
		delete(in.running, name)
		log.Info("installed plugin stopped", "plugin", name, "version", cur.Version)
	}
	in.setUsers(list)
	if len(list) > 0 && len(in.b.ClientConfig().URLs) == 0 {
		// Without a listener (nats.embedded.no_listen, -nats-listen none)
		// a plugin process has nowhere to connect, and left to its
		// default it could find another bot's server.
		if !in.noURL {
			in.noURL = true
			log.Warn("installed plugins are not started: they need the bot's NATS server to listen (not -nats-listen none)")
		}
		return
	}
	for _, i := range list {
		if _, ok := in.running[i.Name]; ok {
			continue
		}
		if err := in.m.Register(in.process(i)); err != nil {
			log.Error("installed plugin not started", "plugin", i.Name, "err", err)
			continue
		}
		in.running[i.Name] = i
		if err := in.m.StartPlugin(ctx, i.Name); err != nil {
			args := []any{"plugin", i.Name, "version", i.Version, "err", err}
			if i.Previous != "" {
				// The version before is still on disk: say how to go back.
				args = append(args, "previous", filepath.Join(in.dir, filepath.FromSlash(i.Previous)),
					"hint", "rosey plugin upgrade "+i.Name+"@<the previous version> goes back")
			}
			log.Error("installed plugin failed to start", args...)
			continue
		}
		log.Info("installed plugin started", "plugin", i.Name, "version", i.Version, "source", i.Ref())
	}
}

// setUsers gives every installed plugin its NATS user on the embedded
// server. Without one (an external NATS server, or an embedded one that
// made no credentials) the operator adds the users: rosey plugin info
// shows each one's key and subjects.
func (in *installed) setUsers(list []marketplace.Installed) {
	srv := in.b.parts.server
	var err error
	if srv == nil {
		err = errors.New("the bot uses an external NATS server")
	} else {
		var users []embedded.User
		for _, i := range list {
			p := marketplace.PermissionsFor(i.Name, in.b.cfg.NATS.Prefix, i.Manifest.Subjects)
			users = append(users, embedded.User{NKey: i.NKey, Publish: p.Publish, Subscribe: p.Subscribe, AllowResponses: p.AllowResponses})
		}
		err = srv.SetUsers(users)
	}
	if err != nil && len(list) > 0 && !in.warned {
		in.warned = true
		in.b.log.Warn("installed plugins log in with NATS users of their own, which this bot cannot create here: add each plugin's user (rosey plugin info <name>) to the NATS server", "err", err)
	}
}

// pluginBaseEnv keeps of env what a program needs to run (where programs
// and home are, the locale, the time zone, the temporary folder, Go's and
// Node's own settings) and drops the rest, which holds the bot's secrets.
func pluginBaseEnv(env []string) []string {
	keep := []string{"PATH", "HOME", "USER", "LOGNAME", "LANG", "TZ", "TMPDIR", "SYSTEMROOT", "NODE_OPTIONS", "NODE_PATH", "GODEBUG", "GOMAXPROCS", "GOMEMLIMIT"}
	out := []string{}
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		if slices.Contains(keep, k) || strings.HasPrefix(k, "LC_") {
			out = append(out, kv)
		}
	}
	return out
}

// process is the supervised process of an installed plugin. It gets the
// bot's NATS address and prefix, its own user's seed, and none of the
// bot's credentials or the rest of its environment.
func (in *installed) process(i marketplace.Installed) installedProcess {
	prog, args := i.Command(in.dir)
	seed := i.SeedPath(in.dir)
	manifest := i.ManifestPath(in.dir)
	return installedProcess{ref: i.Ref(), Process: supervisor.NewProcess(supervisor.ProcessConfig{Info: i.Manifest.Info, Path: prog, Args: args,
		BaseEnv: pluginBaseEnv(os.Environ()),
		EnvFunc: func() []string {
			cc := in.b.ClientConfig()
			nkey := seed
			if in.b.parts.server != nil && in.b.cfg.NATS.Embedded.NoAuth {
				nkey = "" // a server without credentials (development only)
			}
			// Set every variable, so none of the bot's own leaks through.
			return []string{
				plugin.EnvNATSURL + "=" + strings.Join(cc.URLs, ","),
				plugin.EnvNATSUser + "=", plugin.EnvNATSPassword + "=", plugin.EnvNATSToken + "=",
				plugin.EnvNATSCreds + "=", plugin.EnvNATSInboxPrefix + "=",
				plugin.EnvNATSNKey + "=" + nkey,
				plugin.EnvNATSPrefix + "=" + cc.Prefix,
				plugin.EnvPluginManifest + "=" + manifest,
			}
		}})}
}

// installedProcess is an installed plugin's process; the plugin manager's
// status (and !admin plugins) says where it came from.
type installedProcess struct {
	*supervisor.Process
	ref string
}

// Installed implements supervisor.Installed.
func (p installedProcess) Installed() string { return p.ref }
