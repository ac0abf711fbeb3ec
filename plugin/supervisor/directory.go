package supervisor

import (
	"context"
	"encoding/json"
	"log/slog"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"

	"github.com/roseybot/rosey/eventbus"
	"github.com/roseybot/rosey/plugin"
	"github.com/roseybot/rosey/protocol"
)

// Entry is one plugin known to a Directory.
type Entry struct {
	Info plugin.Info `json:"info"`
	// Local is true for plugins run by this process's Manager.
	Local bool `json:"local"`
	// Instances are the ids of the plugin's running micro service copies.
	Instances []string `json:"instances"`
	// Requests and Errors sum the command endpoint statistics of the
	// plugin's instances as last gathered from $SRV.STATS, in the
	// background. Only a plugin manager's directory gathers them (see
	// Status); elsewhere they are zero.
	Requests int `json:"requests"`
	Errors   int `json:"errors"`
}

// Directory knows every plugin on the bus, in this process or any other, and
// which plugin answers which command. It learns from lifecycle events
// (platform.plugin.*.*) and from micro service discovery ($SRV.INFO), so
// external plugins are seen exactly like in-process ones.
//
// Plugins may lie, so it trusts what the NATS server checked: a lifecycle
// event names its plugin by its subject (a payload naming another plugin is
// ignored), a discovery answer counts only when its service name, Info name
// and command subject agree and never replaces announced Info, and an
// instance that said stopped is never brought back by a sweep. The
// directory of a Manager also publishes platform.plugin.<name>.failed for
// an instance that two sweeps in a row no longer find, and gathers the
// request statistics of plugins in other processes in the background.
type Directory struct {
	bus *eventbus.Bus
	log *slog.Logger

	mu      sync.RWMutex
	plugins map[string]*Entry
	updated map[string]time.Time // when each plugin was last added
	missed  map[string]int       // sweeps in a row a plugin did not answer
	// vouched names plugins whose Info came from their own announcement
	// (or this process's Manager), which discovery answers cannot replace.
	vouched map[string]bool
	// gone holds instances that said stopped (or failed, or were dropped),
	// and when: an instance id is never reused, so a sweep that collected
	// its answer before it stopped must not put it back. goneAll holds
	// when a plugin was stopped without naming an instance (all of them).
	gone    map[string]time.Time
	goneAll map[string]time.Time
	// missedID counts the sweeps in a row an instance did not answer.
	missedID map[string]int
	// capped names plugins whose instances reached MaxInstances (warned).
	capped map[string]bool
	// lastSweep is when the last sweep to finish began.
	lastSweep time.Time
	// reportFailed is set for a plugin manager's directory: it publishes
	// platform.plugin.<name>.failed for instances that vanish, and keeps
	// the statistics of plugins in other processes.
	reportFailed bool
	// stats holds each instance's counts from its last $SRV.STATS answer.
	stats map[string]endpointCounts
	// A stats refresh runs in the background, one at a time, at most
	// every statsMaxAge when asked for (and after every sweep).
	bgMu      sync.Mutex
	bgStopped bool
	bgCtx     context.Context
	bgCancel  context.CancelFunc
	bgWG      sync.WaitGroup
	statsBusy bool
	statsAt   time.Time
	byWord    map[string]string // command or alias -> plugin name
	// changes counts edits of which plugins and instances are known and
	// their Info (made under mu, counted after): part of a list's tag.
	changes atomic.Uint64
	sub     *eventbus.Subscription
	stop    chan struct{}
	done    chan struct{}
}

// NewDirectory returns a Directory on bus. Call Start to begin listening.
func NewDirectory(bus *eventbus.Bus) *Directory {
	return &Directory{
		bus:      bus,
		log:      bus.Logger().With("component", "plugin-directory"),
		plugins:  map[string]*Entry{},
		updated:  map[string]time.Time{},
		missed:   map[string]int{},
		vouched:  map[string]bool{},
		gone:     map[string]time.Time{},
		goneAll:  map[string]time.Time{},
		missedID: map[string]int{},
		stats:    map[string]endpointCounts{},
		capped:   map[string]bool{},
		byWord:   map[string]string{},
	}
}

// DefaultSweepInterval is how often a Directory asks NATS for plugins it
// may have missed (started before it, or gone without a word).
const DefaultSweepInterval = 30 * time.Second

// Start subscribes to lifecycle events (heard from its return on, from any
// connection) and begins periodic discovery. The
// first discovery sweep runs in the background; call Refresh to wait for one.
func (d *Directory) Start(ctx context.Context, sweepEvery time.Duration) error {
	sub, err := d.bus.Subscribe("platform.plugin.*.*", d.onLifecycle)
	if err != nil {
		return err
	}
	// Listening once Start returns: an announcement made just after, from
	// another connection, must not reach the server before the
	// subscription does.
	if err := d.bus.Flush(ctx); err != nil {
		_ = sub.Unsubscribe()
		return err
	}
	d.sub = sub
	if sweepEvery <= 0 {
		sweepEvery = DefaultSweepInterval
	}
	d.bgMu.Lock()
	d.bgCtx, d.bgCancel = context.WithCancel(context.Background())
	d.bgStopped = false
	d.bgMu.Unlock()
	d.stop, d.done = make(chan struct{}), make(chan struct{})
	go d.loop(sweepEvery, d.stop, d.done)
	return nil
}

func (d *Directory) loop(every time.Duration, stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	t := time.NewTicker(every)
	defer t.Stop()
	for first := true; ; first = false {
		if !first {
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
		ctx, cancel := context.WithCancel(context.Background())
		go func() {
			select {
			case <-stop:
				cancel()
			case <-ctx.Done():
			}
		}()
		if err := d.Refresh(ctx, 500*time.Millisecond); err != nil && ctx.Err() == nil {
			d.log.Debug("plugin discovery failed", "err", err)
		}
		cancel()
		d.refreshStatsSoon(0)
	}
}

// Stop ends listening and discovery.
func (d *Directory) Stop() {
	if d.sub != nil {
		_ = d.sub.Unsubscribe()
	}
	d.bgMu.Lock()
	d.bgStopped = true
	if d.bgCancel != nil {
		d.bgCancel()
	}
	d.bgMu.Unlock()
	d.bgWG.Wait()
	if d.stop != nil {
		close(d.stop)
		<-d.done
		d.stop = nil
	}
}

func (d *Directory) onLifecycle(_ context.Context, ev *eventbus.Event) {
	// The subject is what the NATS server checked (a plugin user may publish
	// only under its own name): it names the plugin, and a payload naming
	// another is a lie.
	name, state, ok := lifecycleSubject(strings.TrimPrefix(ev.Subject, d.bus.Prefix()))
	if !ok {
		d.log.Warn("plugin announcement on a malformed subject ignored", "subject", ev.Subject)
		return
	}
	switch state {
	case plugin.StateStarted, plugin.StateReloaded, plugin.StateStopped, plugin.StateFailed:
	default:
		return // one of the plugin's own events (platform.plugin.<name>.<event>)
	}
	var a plugin.Announcement
	if err := ev.Decode(&a); err != nil {
		d.log.Warn("bad plugin announcement", "subject", ev.Subject, "err", err)
		return
	}
	if a.Info.Name != name {
		d.log.Warn("plugin announcement ignored: its name is not its subject's", "subject", ev.Subject, "name", a.Info.Name)
		return
	}
	switch state {
	case plugin.StateStarted, plugin.StateReloaded:
		if err := a.Info.Validate(); err != nil {
			d.log.Warn("plugin announcement ignored: invalid info", "subject", ev.Subject, "err", err)
			return
		}
		d.add(a.Info, a.Instance, false, true)
	case plugin.StateStopped:
		d.remove(name, a.Instance, true)
	case plugin.StateFailed:
		if e, ok := d.Get(name); ok && e.Local {
			break // this process's Manager keeps a failed plugin's commands known
		}
		// Not remembered as gone: a plugin reported failed because sweeps
		// missed it may only have been slow, and may answer the next.
		d.remove(name, a.Instance, false)
	}
}

// lifecycleSubject splits platform.plugin.<name>.<state> (prefix removed).
func lifecycleSubject(subject string) (name, state string, ok bool) {
	rest, ok := strings.CutPrefix(subject, "platform.plugin.")
	if !ok {
		return "", "", false
	}
	name, state, ok = strings.Cut(rest, ".")
	return name, state, ok && name != "" && state != "" && !strings.Contains(state, ".")
}

// Add records a plugin instance. The Manager adds its own plugins this way
// before announcing them, so a router in the same process never misses one.
func (d *Directory) Add(info plugin.Info, instance string, local bool) {
	d.add(info, instance, local, true)
}

// add records an instance of info. vouched is true when the Info comes
// from a source the NATS server authenticates (an announcement on the
// plugin's own subject, or this process's Manager); a discovery answer is
// not, and never replaces vouched Info.
func (d *Directory) add(info plugin.Info, instance string, local, vouched bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.addLocked(info, instance, local, vouched)
}

func (d *Directory) addLocked(info plugin.Info, instance string, local, vouched bool) {
	e := d.plugins[info.Name]
	if e == nil {
		e = &Entry{}
		d.plugins[info.Name] = e
		defer d.changes.Add(1)
	}
	if vouched || !d.vouched[info.Name] {
		if !reflect.DeepEqual(e.Info, info) {
			defer d.changes.Add(1)
		}
		d.unindex(e.Info)
		e.Info = info
	}
	if vouched {
		d.vouched[info.Name] = true
	}
	e.Local = e.Local || local
	d.updated[info.Name] = time.Now()
	if instance != "" && !slices.Contains(e.Instances, instance) {
		if len(e.Instances) >= MaxInstances {
			// A flood of made-up instance ids must not grow without bound;
			// real ones are confirmed by sweeps, made-up ones dropped.
			if !d.capped[info.Name] { // once, or the warnings would be the flood
				d.capped[info.Name] = true
				d.log.Warn("plugin instances ignored: too many", "plugin", info.Name, "max", MaxInstances)
			}
		} else {
			e.Instances = append(e.Instances, instance)
			defer d.changes.Add(1)
		}
	}
	for _, c := range e.Info.Commands {
		for _, w := range append([]string{c.Name}, c.Aliases...) {
			if owner, taken := d.byWord[w]; taken && owner != info.Name {
				d.log.Warn("command claimed by two plugins; the first keeps it", "command", w, "owner", owner, "other", info.Name)
				continue
			}
			d.byWord[w] = e.Info.Name
		}
	}
}

func (d *Directory) unindex(info plugin.Info) {
	for w, owner := range d.byWord {
		if owner == info.Name {
			delete(d.byWord, w)
		}
	}
}

// Remove forgets one instance of a plugin (or all, with instance ""). The
// plugin is dropped once no instance is left.
func (d *Directory) Remove(name, instance string) { d.remove(name, instance, true) }

// remove forgets an instance (or all); with tomb, sweeps will not bring
// it back.
func (d *Directory) remove(name, instance string, tomb bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	now := time.Now()
	e := d.plugins[name]
	delete(d.missedID, instance)
	if tomb {
		if instance != "" {
			d.bury(instance, now)
		} else {
			d.goneAll[name] = now
		}
		if e != nil && instance == "" {
			for _, id := range e.Instances {
				d.bury(id, now)
			}
		}
	}
	if e == nil {
		return
	}
	defer d.changes.Add(1)
	if instance != "" {
		e.Instances = slices.DeleteFunc(e.Instances, func(s string) bool { return s == instance })
		delete(d.stats, instance)
		if len(e.Instances) > 0 {
			return
		}
	}
	d.unindex(e.Info)
	d.forget(name)
}

// forget drops every trace of a plugin; d.mu is held.
func (d *Directory) forget(name string) {
	if e := d.plugins[name]; e != nil {
		for _, id := range e.Instances {
			delete(d.missedID, id)
			delete(d.stats, id)
		}
	}
	if _, ok := d.plugins[name]; ok {
		defer d.changes.Add(1)
	}
	delete(d.plugins, name)
	delete(d.updated, name)
	delete(d.missed, name)
	delete(d.vouched, name)
	delete(d.capped, name)
}

// Lookup finds the plugin answering word (a command name or alias, any case).
func (d *Directory) Lookup(word string) (name string, cmd plugin.Command, ok bool) {
	word = strings.ToLower(word)
	d.mu.RLock()
	defer d.mu.RUnlock()
	name, ok = d.byWord[word]
	if !ok {
		return "", plugin.Command{}, false
	}
	cmd, ok = d.plugins[name].Info.Find(word)
	return name, cmd, ok
}

// Plugins lists the known plugins by name.
func (d *Directory) Plugins() []Entry {
	d.mu.RLock()
	defer d.mu.RUnlock()
	out := make([]Entry, 0, len(d.plugins))
	for _, e := range d.plugins {
		out = append(out, d.copyEntry(e))
	}
	slices.SortFunc(out, func(a, b Entry) int { return strings.Compare(a.Info.Name, b.Info.Name) })
	return out
}

// Get returns the entry of one plugin.
func (d *Directory) Get(name string) (Entry, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	e, ok := d.plugins[name]
	if !ok {
		return Entry{}, false
	}
	return d.copyEntry(e), true
}

// copyEntry returns a copy of e with its instances' counts; d.mu is held.
func (d *Directory) copyEntry(e *Entry) Entry {
	c := *e
	c.Instances = slices.Clone(e.Instances)
	for _, id := range e.Instances {
		c.Requests += d.stats[id].requests
		c.Errors += d.stats[id].errors
	}
	return c
}

// Refresh asks every micro service on the bus for its info and records the
// Rosey plugins among them (those with the same subject prefix). It
// collects answers until wait passes or ctx ends. An instance that missed
// two sweeps in a row is forgotten (and, by a Manager's directory, reported
// failed), unless it is local. A sweep that began before the last finished
// one is dropped: its news is older.
func (d *Directory) Refresh(ctx context.Context, wait time.Duration) error {
	began := time.Now()
	seen := map[string][]string{}
	infos := map[string]plugin.Info{}
	if err := d.gather(ctx, "$SRV.INFO", wait, func(data []byte) {
		if info, id, ok := d.discovered(data); ok {
			infos[info.Name] = info
			seen[info.Name] = append(seen[info.Name], id)
		}
	}); err != nil {
		return err
	}
	var vanished []plugin.Announcement
	d.mu.Lock()
	// Sweeps may overlap (the periodic one, a router's rediscovery, a
	// caller's). One that began before the last finished sweep began holds
	// older news: drop it, or it would bring back what that one dropped and
	// reset its count of missed sweeps.
	if !began.After(d.lastSweep) {
		d.mu.Unlock()
		return nil
	}
	d.lastSweep = began
	d.pruneGone(began)
	for name, ids := range seen {
		// An instance that stopped since (or while) its answer came must
		// not come back; nor any of a plugin stopped whole during the sweep
		// (a copy started since has announced itself).
		seen[name] = slices.DeleteFunc(ids, func(id string) bool { _, dead := d.gone[id]; return dead })
		if d.goneAll[name].After(began) {
			seen[name] = nil
		}
		if len(seen[name]) == 0 {
			delete(seen, name)
		}
	}
	for name, ids := range seen {
		for _, id := range ids {
			d.addLocked(infos[name], id, false, false)
		}
		d.updated[name] = began // found by this sweep, not announced during it
	}
	for name, e := range d.plugins {
		if e.Local || d.updated[name].After(began) {
			continue // ours, or announced while the sweep ran
		}
		// A loaded plugin may answer a sweep late: an instance (or a
		// plugin announced without one) is dropped only after it missed
		// two sweeps in a row.
		ids := seen[name]
		if len(e.Instances) == 0 {
			if len(ids) > 0 {
				delete(d.missed, name)
			} else if d.missed[name]++; d.missed[name] >= 2 {
				vanished = append(vanished, plugin.Announcement{Info: e.Info, State: plugin.StateFailed, Error: errVanished})
				d.unindex(e.Info)
				d.forget(name)
			}
			continue
		}
		e.Instances = slices.DeleteFunc(e.Instances, func(id string) bool {
			if slices.Contains(ids, id) {
				delete(d.missedID, id)
				return false
			}
			if d.missedID[id]++; d.missedID[id] < 2 {
				return false
			}
			delete(d.missedID, id)
			delete(d.stats, id)
			vanished = append(vanished, plugin.Announcement{Info: e.Info, Instance: id, State: plugin.StateFailed, Error: errVanished})
			return true
		})
		if len(e.Instances) == 0 {
			d.unindex(e.Info)
			d.forget(name)
		}
	}
	if len(vanished) > 0 {
		d.changes.Add(1)
	}
	d.mu.Unlock()
	if d.reportFailed {
		for _, a := range vanished {
			d.log.Warn("plugin vanished without saying stopped", "plugin", a.Name, "instance", a.Instance)
			if err := d.bus.Publish(ctx, protocol.PluginState(a.Name, plugin.StateFailed), a); err != nil {
				d.log.Warn("announce failed", "plugin", a.Name, "err", err)
			}
		}
	}
	return nil
}

// errVanished is the error of the failed event published for a plugin
// instance that sweeps no longer find.
const errVanished = "vanished: no answer to two discovery sweeps in a row, and no stopped announced"

// goneFor is how long a stopped instance is remembered: far longer than
// any sweep, short enough that churn does not pile up.
const goneFor = 10 * time.Minute

// MaxInstances is how many instances of one plugin a Directory keeps;
// more are ignored (and logged).
const MaxInstances = 128

// maxGone bounds the stopped instances remembered; past it the oldest
// is forgotten first.
const maxGone = 4096

// bury remembers a stopped instance; d.mu is held.
func (d *Directory) bury(id string, now time.Time) {
	if _, ok := d.gone[id]; !ok && len(d.gone) >= maxGone {
		oldest, at := "", now
		for g, t := range d.gone {
			if !t.After(at) {
				oldest, at = g, t
			}
		}
		delete(d.gone, oldest)
	}
	d.gone[id] = now
}

// pruneGone forgets stopped instances older than goneFor; d.mu is held.
func (d *Directory) pruneGone(now time.Time) {
	for id, at := range d.gone {
		if now.Sub(at) > goneFor {
			delete(d.gone, id)
		}
	}
	for name, at := range d.goneAll {
		if now.Sub(at) > goneFor {
			delete(d.goneAll, name)
		}
	}
}

// discovered reads one $SRV.INFO answer. Anyone allowed to subscribe to
// $SRV.INFO can answer with anything, so only what hangs together is
// taken: a Rosey plugin (rosey.info metadata, our prefix) whose service
// name is its Info's name and which has an endpoint on that name's command
// subject, the only subject the router will send its commands to.
func (d *Directory) discovered(data []byte) (info plugin.Info, id string, ok bool) {
	var si micro.Info
	if json.Unmarshal(data, &si) != nil || si.Metadata[plugin.MetaInfo] == "" || si.Metadata[plugin.MetaPrefix] != d.bus.Prefix() || si.ID == "" {
		return plugin.Info{}, "", false
	}
	if json.Unmarshal([]byte(si.Metadata[plugin.MetaInfo]), &info) != nil || info.Validate() != nil {
		return plugin.Info{}, "", false
	}
	if info.Name != si.Name {
		d.log.Warn("discovery answer ignored: service name is not its plugin name", "service", si.Name, "name", info.Name, "id", si.ID)
		return plugin.Info{}, "", false
	}
	want := d.bus.Subject(protocol.PluginCommand(info.Name))
	if !slices.ContainsFunc(si.Endpoints, func(e micro.EndpointInfo) bool { return e.Subject == want }) {
		d.log.Warn("discovery answer ignored: no endpoint on the plugin's command subject", "name", info.Name, "id", si.ID, "want", want)
		return plugin.Info{}, "", false
	}
	return info, si.ID, true
}

type endpointCounts struct{ requests, errors int }

// statsMaxAge is how old the statistics of plugins in other processes may
// be before asking for them starts a refresh.
const statsMaxAge = time.Second

// statsWait is how long a stats refresh collects $SRV.STATS answers.
const statsWait = 250 * time.Millisecond

// refreshStatsSoon starts a background refresh of the statistics of
// plugins in other processes, unless one runs or one started less than
// maxAge ago. It never waits: lists are served from what is known. Only a
// plugin manager's started directory keeps statistics.
func (d *Directory) refreshStatsSoon(maxAge time.Duration) {
	if !d.reportFailed || !d.hasRemote() {
		return
	}
	d.bgMu.Lock()
	defer d.bgMu.Unlock()
	if d.bgStopped || d.bgCtx == nil || d.statsBusy || time.Since(d.statsAt) < maxAge {
		return
	}
	d.statsBusy, d.statsAt = true, time.Now()
	ctx := d.bgCtx
	d.bgWG.Add(1)
	go func() {
		defer d.bgWG.Done()
		if err := d.refreshStats(ctx, statsWait); err != nil && ctx.Err() == nil {
			d.log.Debug("plugin statistics refresh failed", "err", err)
		}
		d.bgMu.Lock()
		d.statsBusy = false
		d.bgMu.Unlock()
	}()
}

// hasRemote reports whether any known plugin runs in another process.
func (d *Directory) hasRemote() bool {
	d.mu.RLock()
	defer d.mu.RUnlock()
	for _, e := range d.plugins {
		if !e.Local && len(e.Instances) > 0 {
			return true
		}
	}
	return false
}

// gather asks every micro service on the bus (subject is $SRV.INFO or
// $SRV.STATS) and hands each answer to take, until wait passes; it returns
// ctx's error if ctx ends first.
func (d *Directory) gather(ctx context.Context, subject string, wait time.Duration, take func([]byte)) error {
	nc := d.bus.Conn()
	inbox := nc.NewRespInbox()
	ch := make(chan *nats.Msg, 256)
	sub, err := nc.ChanSubscribe(inbox, ch)
	if err != nil {
		return err
	}
	defer func() { _ = sub.Unsubscribe() }()
	if err := nc.PublishRequest(subject, inbox, nil); err != nil {
		return err
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-timer.C:
			return nil
		case m := <-ch:
			take(m.Data)
		}
	}
}

// refreshStats asks every micro service for its statistics and keeps those
// of the known instances of Rosey plugins.
func (d *Directory) refreshStats(ctx context.Context, wait time.Duration) error {
	got := map[string]endpointCounts{}
	names := map[string]string{}
	if err := d.gather(ctx, "$SRV.STATS", wait, func(data []byte) {
		var st micro.Stats
		if json.Unmarshal(data, &st) != nil || st.Metadata[plugin.MetaInfo] == "" || st.Metadata[plugin.MetaPrefix] != d.bus.Prefix() || st.ID == "" {
			return
		}
		var c endpointCounts
		for _, e := range st.Endpoints {
			if e != nil {
				c.requests += e.NumRequests
				c.errors += e.NumErrors
			}
		}
		got[st.ID], names[st.ID] = c, st.Name
	}); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	for id, c := range got {
		// Only for an instance the directory knows under that name: any
		// user that may answer $SRV.STATS could claim another's counts.
		if e := d.plugins[names[id]]; e != nil && slices.Contains(e.Instances, id) {
			d.stats[id] = c
		}
	}
	return nil
}
