package supervisor_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/matryer/is"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"

	"github.com/roseybot/rosey/eventbus"
	"github.com/roseybot/rosey/eventbus/embedded"
	"github.com/roseybot/rosey/internal/logtest"
	"github.com/roseybot/rosey/plugin"
	"github.com/roseybot/rosey/plugin/supervisor"
)

// TestDirectoryNamesPluginsByPrefixedSubject: with a subject prefix the
// name still comes from the subject (bot1.platform.plugin.<name>.<state>),
// so a plugin announcing another's name under its own subject is ignored.
func TestDirectoryNamesPluginsByPrefixedSubject(t *testing.T) {
	is := is.New(t)
	srv := startServer(t)
	prefixed := func(c *eventbus.Config) { c.Prefix = "bot1" }
	bus := connect(t, srv, "router", prefixed)
	m := startManager(t, bus, supervisor.ManagerConfig{SweepInterval: time.Hour}, &probe{name: "victim"})
	dir := m.Directory()
	evil := connect(t, srv, "evil", prefixed)
	watcher := lifecycle(t, bus)

	ctx := context.Background()
	forged := plugin.Announcement{Info: plugin.Info{Name: "victim", Version: "6.6.6"}, Instance: "x", State: plugin.StateStarted}
	is.NoErr(evil.Publish(ctx, "platform.plugin.evil.started", forged))
	forged.State = plugin.StateStopped
	is.NoErr(evil.Publish(ctx, "platform.plugin.evil.stopped", forged))
	own := plugin.Announcement{Info: plugin.Info{Name: "evil", Version: "1.0.0", Commands: []plugin.Command{{Name: "victim-cmd"}, {Name: "evil-cmd"}}}, State: plugin.StateStarted}
	is.NoErr(evil.Publish(ctx, "platform.plugin.evil.started", own))
	for range 3 {
		receive(t, watcher)
	}
	eventually(t, "evil's own announcement", func() bool { _, _, ok := dir.Lookup("evil-cmd"); return ok })
	owner, _, ok := dir.Lookup("victim-cmd")
	is.True(ok)
	is.Equal(owner, "victim")
	e, ok := dir.Get("victim")
	is.True(ok)
	is.Equal(e.Info.Version, "1.0.0")
	is.Equal(len(e.Instances), 1)
	got, err := command(t, bus, "victim")
	is.NoErr(err)
	is.Equal(got, "victim ok")
}

// infoAnswer is a $SRV.INFO answer as a Rosey plugin's micro service gives it.
func infoAnswer(t *testing.T, prefix string, info plugin.Info, id string) []byte {
	t.Helper()
	meta, err := json.Marshal(info)
	if err != nil {
		t.Fatal(err)
	}
	body, err := json.Marshal(micro.Info{
		ServiceIdentity: micro.ServiceIdentity{Name: info.Name, ID: id, Version: info.Version,
			Metadata: map[string]string{plugin.MetaInfo: string(meta), plugin.MetaPrefix: prefix}},
		Type:      micro.InfoResponseType,
		Endpoints: []micro.EndpointInfo{{Name: "command", Subject: prefix + "plugin." + info.Name + ".command", QueueGroup: "rosey." + info.Name}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return body
}

// TestStoppedDuringSweepStaysGone: a plugin that says stopped while a
// discovery sweep is collecting answers, after it answered that sweep, is
// not put back when the sweep ends (it used to stay listed, its commands
// answering "not running", until two more sweeps missed it). Both ways of
// stopping: naming the instance, and naming none (all instances).
func TestStoppedDuringSweepStaysGone(t *testing.T) {
	is := is.New(t)
	srv := startServer(t)
	bus := connect(t, srv, "router")
	ghosts := connect(t, srv, "ghosts")
	ghost := plugin.Info{Name: "ghost", Version: "1.0.0", Commands: []plugin.Command{{Name: "boo"}}}
	shade := plugin.Info{Name: "shade", Version: "1.0.0", Commands: []plugin.Command{{Name: "hush"}}}
	// The plugins' side of discovery: each $SRV.INFO request is answered
	// for both, then reported (the first comes from the directory's own
	// sweep at Start, the second from the sweep under test).
	asked := make(chan struct{}, 16)
	sub, err := ghosts.Conn().Subscribe("$SRV.INFO", func(m *nats.Msg) {
		_ = m.Respond(infoAnswer(t, "", ghost, "ghost-1"))
		_ = m.Respond(infoAnswer(t, "", shade, "shade-1"))
		asked <- struct{}{}
	})
	is.NoErr(err)
	defer sub.Unsubscribe()
	is.NoErr(ghosts.Conn().Flush())

	dir := supervisor.NewDirectory(bus)
	is.NoErr(dir.Start(context.Background(), time.Hour))
	defer dir.Stop()
	receive(t, asked) // the sweep at Start
	ctx := context.Background()
	for _, a := range []plugin.Announcement{{Info: ghost, Instance: "ghost-1", State: plugin.StateStarted}, {Info: shade, Instance: "shade-1", State: plugin.StateStarted}} {
		is.NoErr(ghosts.Publish(ctx, "platform.plugin."+a.Name+".started", a))
	}
	eventually(t, "both known", func() bool {
		_, g := dir.Get("ghost")
		_, s := dir.Get("shade")
		return g && s
	})

	swept := make(chan error, 1)
	go func() { swept <- dir.Refresh(ctx, 2*time.Second) }()
	receive(t, asked) // answered: the sweep holds both answers, and waits
	is.NoErr(ghosts.Publish(ctx, "platform.plugin.ghost.stopped", plugin.Announcement{Info: ghost, Instance: "ghost-1", State: plugin.StateStopped}))
	is.NoErr(ghosts.Publish(ctx, "platform.plugin.shade.stopped", plugin.Announcement{Info: shade, State: plugin.StateStopped}))
	eventually(t, "both stopped", func() bool {
		_, g := dir.Get("ghost")
		_, s := dir.Get("shade")
		return !g && !s
	})
	is.NoErr(receive(t, swept))
	_, ok := dir.Get("ghost")
	is.True(!ok) // the sweep that began before the stop did not bring it back
	_, ok = dir.Get("shade")
	is.True(!ok)
	_, _, ok = dir.Lookup("boo")
	is.True(!ok)
}

// TestVanishedPluginIsReportedFailedOnce: a plugin whose process dies
// without saying stopped (here: a micro service on a connection of its
// own, closed) is forgotten after two sweeps miss it, and the plugin
// manager's directory publishes platform.plugin.<name>.failed for it, once.
func TestVanishedPluginIsReportedFailedOnce(t *testing.T) {
	is := is.New(t)
	srv := startServer(t)
	bus := connect(t, srv, "bot")
	m := startManager(t, bus, supervisor.ManagerConfig{SweepInterval: time.Hour})
	dir := m.Directory()
	watcher := connect(t, srv, "watcher")
	events := make(chan *eventbus.Event, 16)
	_, err := watcher.Subscribe("platform.plugin.*.*", func(_ context.Context, ev *eventbus.Event) { events <- ev })
	is.NoErr(err)
	is.NoErr(watcher.Flush(context.Background()))

	// A plugin written against the bare protocol: a micro service and a
	// started announcement.
	doomed := connect(t, srv, "doomed")
	info := plugin.Info{Name: "doomed", Version: "1.0.0", Commands: []plugin.Command{{Name: "doom"}}}
	meta, _ := json.Marshal(info)
	svc, err := micro.AddService(doomed.Conn(), micro.Config{
		Name: "doomed", Version: "1.0.0",
		Metadata: map[string]string{plugin.MetaInfo: string(meta), plugin.MetaPrefix: ""},
		Endpoint: &micro.EndpointConfig{Subject: "plugin.doomed.command", QueueGroup: "rosey.doomed",
			Handler: micro.HandlerFunc(func(r micro.Request) { _ = r.Respond([]byte(`{"result":"doom"}`)) })},
	})
	is.NoErr(err)
	id := svc.Info().ID
	is.NoErr(doomed.Publish(context.Background(), "platform.plugin.doomed.started", plugin.Announcement{Info: info, Instance: id, State: plugin.StateStarted}))
	is.Equal(receive(t, events).Subject, "platform.plugin.doomed.started")
	eventually(t, "doomed known", func() bool { _, ok := dir.Get("doomed"); return ok })

	is.NoErr(doomed.Close(context.Background())) // killed: no stopped
	ctx := context.Background()
	is.NoErr(dir.Refresh(ctx, 300*time.Millisecond))
	_, ok := dir.Get("doomed")
	is.True(ok) // one missed sweep may be a slow plugin
	is.NoErr(dir.Refresh(ctx, 300*time.Millisecond))
	_, ok = dir.Get("doomed")
	is.True(!ok)
	ev := receive(t, events)
	is.Equal(ev.Subject, "platform.plugin.doomed.failed")
	var a plugin.Announcement
	is.NoErr(ev.Decode(&a))
	is.Equal(a.Name, "doomed")
	is.Equal(a.Instance, id)
	is.Equal(a.State, plugin.StateFailed)
	is.True(a.Error != "")
	is.Equal(ev.Source, bus.Source()) // the bot said it, not the plugin

	// Once: more sweeps say nothing more. A marker published after them
	// by the same connection comes next.
	is.NoErr(dir.Refresh(ctx, 300*time.Millisecond))
	is.NoErr(dir.Refresh(ctx, 300*time.Millisecond))
	marker := plugin.Announcement{Info: plugin.Info{Name: "marker", Version: "1.0.0"}, State: "marker"}
	is.NoErr(bus.Publish(ctx, "platform.plugin.marker.marker", marker))
	is.Equal(receive(t, events).Subject, "platform.plugin.marker.marker")
}

// TestServeAnnouncesAgainAfterReconnect: when a plugin's connection
// comes back (the NATS server or the bot with an embedded server
// restarted, or the server dropped the client), a plugin served by
// ServeContext says started again, so a bot that forgot it knows it at
// once instead of at its next sweep. Here the server drops the plugin's
// connection, which reconnects to the same server.
func TestServeAnnouncesAgainAfterReconnect(t *testing.T) {
	is := is.New(t)
	srv, err := embedded.Start(context.Background(), embedded.Config{Listen: "127.0.0.1:0"})
	is.NoErr(err)
	defer srv.Shutdown(context.Background())
	events := lifecycle(t, connect(t, srv, "bot"))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		// Over the socket, with the credentials the server generated.
		bc := eventbus.Config{URLs: []string{srv.ClientURL()}, NKeySeed: srv.BusConfig("").NKeySeed}
		done <- plugin.ServeContext(ctx, &probe{name: "phoenix"}, plugin.ServeConfig{Bus: bc})
	}()
	defer func() { cancel(); <-done }()
	is.Equal(receive(t, events), "platform.plugin.phoenix.started")

	conns, err := srv.NATS().Connz(&server.ConnzOptions{})
	is.NoErr(err)
	var cid uint64
	for _, c := range conns.Conns {
		if c.Name == "rosey-plugin-phoenix" {
			cid = c.Cid
		}
	}
	is.True(cid != 0)
	is.NoErr(srv.NATS().DisconnectClientByID(cid))
	is.Equal(receive(t, events), "platform.plugin.phoenix.started")
}

// TestControlOfExternalPluginSaysNotManaged: reload, enable and disable
// act on the plugins a manager runs. For a plugin in a process of its own
// that the list shows, they answer code not_managed with a reason, not
// unknown_plugin (which stays for names nobody knows).
func TestControlOfExternalPluginSaysNotManaged(t *testing.T) {
	is := is.New(t)
	srv := startServer(t)
	bus := connect(t, srv, "bot")
	m := startManager(t, bus, supervisor.ManagerConfig{SweepInterval: time.Hour})
	serve(t, srv, &probe{name: "outside"})
	eventually(t, "outside listed", func() bool { _, ok := m.Directory().Get("outside"); return ok })

	admin := connect(t, srv, "admin")
	ctl := supervisor.NewControl(admin)
	ctx := context.Background()
	for _, call := range []func(context.Context, string) error{ctl.Reload, ctl.Enable, ctl.Disable} {
		err := call(ctx, "outside")
		is.True(errors.Is(err, supervisor.ErrNotManaged))
		is.True(strings.Contains(err.Error(), "process of its own"))
		err = call(ctx, "nobody")
		is.True(errors.Is(err, supervisor.ErrUnknownPlugin))
		is.True(!errors.Is(err, supervisor.ErrNotManaged))
	}
	for _, subject := range []string{supervisor.ControlReload, supervisor.ControlEnable, supervisor.ControlDisable} {
		ev, err := admin.Request(ctx, subject, map[string]string{"name": "outside"})
		is.NoErr(err)
		var rep struct{ Error, Code string }
		is.NoErr(ev.Decode(&rep))
		is.Equal(rep.Code, "not_managed")
	}
	got, err := command(t, bus, "outside") // and it still answers
	is.NoErr(err)
	is.Equal(got, "outside ok")
}

// TestAnnouncementFloodIsBounded: a plugin announcing itself over and over
// with made-up instance ids, and saying stopped for made-up ones, keeps a
// bounded number of instances; its real instance still answers.
func TestAnnouncementFloodIsBounded(t *testing.T) {
	is := is.New(t)
	srv := startServer(t)
	bus := connect(t, srv, "bot")
	m := startManager(t, bus, supervisor.ManagerConfig{SweepInterval: time.Hour}, &probe{name: "real"})
	evil := connect(t, srv, "evil")
	ctx := context.Background()
	info := plugin.Info{Name: "evil", Version: "1.0.0", Commands: []plugin.Command{{Name: "evil-cmd"}}}
	const flood = 2000
	for i := range flood {
		id := "made-up-" + strconv.Itoa(i)
		is.NoErr(evil.Publish(ctx, "platform.plugin.evil.started", plugin.Announcement{Info: info, Instance: id, State: plugin.StateStarted}))
		is.NoErr(evil.Publish(ctx, "platform.plugin.evil.stopped", plugin.Announcement{Info: info, Instance: "gone-" + id, State: plugin.StateStopped}))
	}
	// A last announcement shows when the directory has read the flood.
	marker := plugin.Info{Name: "evil", Version: "2.0.0", Commands: info.Commands}
	is.NoErr(evil.Publish(ctx, "platform.plugin.evil.started", plugin.Announcement{Info: marker, Instance: "made-up-0", State: plugin.StateStarted}))
	eventually(t, "flood read", func() bool { e, _ := m.Directory().Get("evil"); return e.Info.Version == "2.0.0" })
	e, _ := m.Directory().Get("evil")
	is.Equal(len(e.Instances), supervisor.MaxInstances)
	got, err := command(t, bus, "real")
	is.NoErr(err)
	is.Equal(got, "real ok")
}

// TestPluginEventsAreNotAnnouncements: a plugin's own events under
// platform.plugin.<name> (the playlist's "queued") are no lifecycle
// announcements: the directory neither acts on them nor warns about them.
func TestPluginEventsAreNotAnnouncements(t *testing.T) {
	is := is.New(t)
	srv := startServer(t)
	var logs logtest.Buffer
	bus := connect(t, srv, "bot", func(c *eventbus.Config) {
		c.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	dir := supervisor.NewDirectory(bus)
	is.NoErr(dir.Start(context.Background(), time.Hour))
	defer dir.Stop()
	other := connect(t, srv, "playlist")
	ctx := context.Background()
	is.NoErr(other.Publish(ctx, "platform.plugin.playlist.queued", map[string]string{"channel": "c", "user": "bob", "key": "yt:x"}))
	// An announcement after it: once it is in, the event was handled too.
	own := plugin.Announcement{Info: plugin.Info{Name: "playlist", Version: "1.0.0", Commands: []plugin.Command{{Name: "add"}}}, State: plugin.StateStarted}
	is.NoErr(other.Publish(ctx, "platform.plugin.playlist.started", own))
	eventually(t, "the announcement", func() bool { _, _, ok := dir.Lookup("add"); return ok })
	is.True(!strings.Contains(logs.String(), "level=WARN")) // no warning about the event
}
