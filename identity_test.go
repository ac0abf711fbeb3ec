package rosey_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/matryer/is"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"

	"github.com/roseybot/rosey"
	"github.com/roseybot/rosey/eventbus"
	"github.com/roseybot/rosey/plugin"
	"github.com/roseybot/rosey/plugin/supervisor"
	"github.com/roseybot/rosey/plugins/dice"
	"github.com/roseybot/rosey/plugins/help"
	"github.com/roseybot/rosey/roseytest"
)

// listening makes a harness bot's embedded server listen on a free local
// port, so other connections (plugins, attackers) can reach it by URL.
func listening(c *rosey.Config) {
	c.NATS.Embedded.NoListen = false
	c.NATS.Embedded.Listen = "127.0.0.1:0"
}

// dial opens a bus of its own to the harness bot's server, closed when the
// test ends.
func dial(t *testing.T, h *roseytest.Harness, name string) *eventbus.Bus {
	t.Helper()
	bc := h.ClientConfig() // the URL and the credentials the bot made
	bc.Name = name
	bus, err := eventbus.Connect(context.Background(), bc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = bus.Close(context.Background()) })
	return bus
}

// announce publishes a raw lifecycle payload on subject.
func announce(t *testing.T, bus *eventbus.Bus, subject string, payload any) {
	t.Helper()
	body, err := json.Marshal(payload)
	if err != nil {
		t.Fatal(err)
	}
	if err := bus.Conn().Publish(bus.Subject(subject), body); err != nil {
		t.Fatal(err)
	}
}

// TestLifecycleHijackIgnored: a plugin that may publish only on
// platform.plugin.greeter.> announces itself as dice-roller with no
// commands, then as greeter owning !roll, then "stops" dice-roller from its
// own subject. None of it moves !roll: the name in a lifecycle payload must
// be the name in its subject.
func TestLifecycleHijackIgnored(t *testing.T) {
	h := roseytest.New(t, roseytest.WithPlugins(dice.New(dice.Config{})), roseytest.WithConfig(listening))
	h.Say("alice", "!roll 1d6")
	h.Expect("🎲 Rolled")

	evil := dial(t, h, "greeter")
	// The attacker serves its own subject, answering whatever it is sent.
	sub, err := evil.Conn().Subscribe("plugin.greeter.command", func(m *nats.Msg) {
		_ = m.Respond([]byte(`{"result": "hijacked"}`))
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	announce(t, evil, "platform.plugin.greeter.started", map[string]any{
		"name": "dice-roller", "version": "6.6.6", "state": "started", "instance": "evil-1", "commands": []any{},
	})
	announce(t, evil, "platform.plugin.greeter.stopped", map[string]any{
		"name": "dice-roller", "version": "6.6.6", "state": "stopped",
	})
	// Its own name, claiming roll (taken: the first owner keeps it) and a
	// word of its own, which shows when the directory has read all of this.
	announce(t, evil, "platform.plugin.greeter.started", map[string]any{
		"name": "greeter", "version": "1.0.0", "state": "started", "instance": "evil-2",
		"commands": []map[string]any{{"name": "roll"}, {"name": "greet"}},
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, _, ok := h.Bot().Plugins().Directory().Lookup("greet"); ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("greeter's own announcement not seen")
		}
		time.Sleep(5 * time.Millisecond)
	}
	h.Say("alice", "!greet")
	h.Expect("hijacked")
	h.Say("bob", "!roll 1d6")
	h.Expect("🎲 Rolled")
	e, ok := h.Bot().Plugins().Directory().Get("dice-roller")
	is := is.New(t)
	is.True(ok)
	is.Equal(e.Info.Version, "1.0.0") // dice-roller's own Info, not the forged one
	h.ExpectNone()
}

// TestDiscoveryAnswerCannotRewriteAnnouncedPlugin: any user that may
// subscribe to $SRV.INFO may answer a discovery sweep with anything. The
// directory checks that a Rosey micro service's name, its rosey.info name
// and its command endpoint's subject agree, and a sweep answer never
// replaces the Info of a plugin that announced itself on its own subject.
func TestDiscoveryAnswerCannotRewriteAnnouncedPlugin(t *testing.T) {
	is := is.New(t)
	h := roseytest.New(t, roseytest.WithPlugins(dice.New(dice.Config{})), roseytest.WithConfig(listening))
	evil := dial(t, h, "greeter")
	forged := func(service, claimed, endpoint string) []byte {
		info, _ := json.Marshal(plugin.Info{Name: claimed, Version: "6.6.6", Commands: []plugin.Command{{Name: "evil"}}})
		body, _ := json.Marshal(micro.Info{
			ServiceIdentity: micro.ServiceIdentity{Name: service, ID: "forged-" + service + "-" + claimed, Version: "6.6.6",
				Metadata: map[string]string{plugin.MetaInfo: string(info), plugin.MetaPrefix: ""}},
			Type:      micro.InfoResponseType,
			Endpoints: []micro.EndpointInfo{{Name: "command", Subject: endpoint, QueueGroup: "rosey." + claimed}},
		})
		return body
	}
	sub, err := evil.Conn().Subscribe("$SRV.INFO", func(m *nats.Msg) {
		_ = m.Respond(forged("greeter", "dice-roller", "plugin.greeter.command"))         // names disagree
		_ = m.Respond(forged("greeter2", "greeter2", "plugin.dice-roller.command"))       // endpoint is not its own
		_ = m.Respond(forged("dice-roller", "dice-roller", "plugin.dice-roller.command")) // consistent, but dice-roller announced itself
	})
	is.NoErr(err)
	defer sub.Unsubscribe()
	is.NoErr(evil.Conn().Flush())

	dir := h.Bot().Plugins().Directory()
	for range 2 {
		is.NoErr(dir.Refresh(context.Background(), 300*time.Millisecond))
	}
	_, _, ok := dir.Lookup("evil")
	is.True(!ok) // no forged command is routed anywhere
	_, ok = dir.Get("greeter2")
	is.True(!ok)
	e, ok := dir.Get("dice-roller")
	is.True(ok)
	is.Equal(e.Info.Version, "1.0.0")
	h.Say("bob", "!roll 1d6")
	h.Expect("🎲 Rolled")
	h.ExpectNone()
}

// remoteDice answers !roll from a process of its own (ServeContext).
type remoteDice struct{}

func (remoteDice) Info() plugin.Info {
	return plugin.Info{Name: "remote-dice", Version: "1.0.0", Description: "dice from afar", Commands: []plugin.Command{
		{Name: "roll", Usage: "<dice>", Description: "Rolls dice far away"},
	}}
}

func (remoteDice) Start(_ context.Context, h *plugin.Host) error {
	h.Handle("roll", func(context.Context, *plugin.Request) (string, error) { return "🎲 far 4", nil })
	return nil
}

func (remoteDice) Stop(context.Context) error { return nil }

// serveRemote runs p as an external plugin on the harness bot's server
// until the test ends, and waits until the bot's directory knows it.
func serveRemote(t *testing.T, h *roseytest.Harness, p plugin.Plugin) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- plugin.ServeContext(ctx, p, plugin.ServeConfig{Bus: h.ClientConfig()})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("external plugin: %v", err)
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, ok := h.Bot().Plugins().Directory().Get(p.Info().Name); ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("external plugin not seen by the bot")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestHelpBurstWithExternalPlugin: with a plugin in a process of its own,
// !help used to wait 150 ms for $SRV.STATS on every request, one at a
// time, so a burst of 100 timed out. Every one is answered now, with the
// router in the bot's process or in one of its own, and the plugin list
// still shows the external plugin's request counts.
func TestHelpBurstWithExternalPlugin(t *testing.T) {
	for _, layout := range []string{"one process", "router of its own"} {
		t.Run(layout, func(t *testing.T) {
			is := is.New(t)
			h := roseytest.New(t, roseytest.WithPlugins(help.New(help.Config{})), roseytest.WithConfig(func(c *rosey.Config) {
				listening(c)
				if layout == "router of its own" {
					c.Components = []string{rosey.ComponentDatabase, rosey.ComponentPlugins}
				}
			}))
			if layout == "router of its own" {
				cfg := rosey.Config{Components: []string{rosey.ComponentRouter}}
				cfg.Router.HintEvery = rosey.Duration(time.Millisecond) // until it knows !roll, each try is answered
				cfg.NATS.Config = h.ClientConfig()
				router := rosey.New(cfg)
				is.NoErr(router.Start(context.Background()))
				t.Cleanup(func() { _ = router.Stop(context.Background()) })
			}
			serveRemote(t, h, remoteDice{})

			// The router of its own learns of remote-dice from its
			// announcement, on a subscription of its own: try !roll until
			// it is routed (an unknown command gets a hint).
			deadline := time.Now().Add(10 * time.Second)
			for {
				h.Say("alice", "!roll 1d6")
				if r := h.Next(); strings.Contains(r.Message, "🎲 far 4") {
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("!roll not routed to remote-dice")
				}
			}

			const burst = 100
			for i := range burst {
				h.Say(fmt.Sprintf("user%d", i), "!help roll")
			}
			answered := 0
			for range burst {
				r := h.Next()
				if !r.PM && strings.Contains(r.Message, "📖 !roll <dice> — Rolls dice far away") {
					answered++
				} else {
					t.Logf("not an answer to !help roll: %v", r)
				}
			}
			is.Equal(answered, burst)

			for range 3 {
				h.Say("bob", "!roll 1d6")
				h.Expect("🎲 far 4")
			}
			ctl := supervisor.NewControl(h.Bus())
			var requests int
			deadline = time.Now().Add(10 * time.Second)
			for {
				list, err := ctl.List(context.Background())
				is.NoErr(err)
				for _, st := range list {
					if st.Info.Name == "remote-dice" {
						is.True(st.External)
						requests = st.Requests
					}
				}
				if requests == 4 { // the first roll and three more
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("remote-dice's requests: %d, want 4", requests)
				}
				time.Sleep(20 * time.Millisecond)
			}
			h.ExpectNone()
		})
	}
}
