package rosey_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/matryer/is"
	"github.com/nats-io/nats.go"

	"github.com/roseybot/rosey"
	"github.com/roseybot/rosey/eventbus"
	"github.com/roseybot/rosey/plugin"
	"github.com/roseybot/rosey/protocol"
	"github.com/roseybot/rosey/roseytest"
)

// echo answers !echo with its text, and !boom by panicking.
type echo struct {
	name    string
	started atomic.Int32
}

func (e *echo) Info() plugin.Info {
	n := e.name
	if n == "" {
		n = "echo"
	}
	return plugin.Info{Name: n, Version: "1.0.0", Description: "echoes", Commands: []plugin.Command{
		{Name: n, Usage: "<text>", Aliases: []string{n + "-alias"}},
		{Name: n + "-boom"},
		{Name: n + "-admin", MinRank: protocol.RankAdmin},
		{Name: n + "-slow", Cooldown: time.Hour},
	}}
}

func (e *echo) Start(_ context.Context, h *plugin.Host) error {
	e.started.Add(1)
	n := e.Info().Name
	h.Handle(n, func(_ context.Context, r *plugin.Request) (string, error) {
		if r.Text == "" {
			return "", plugin.Usage(e.Info().Commands[0])
		}
		return r.User + " said " + r.Text + " via " + r.Source, nil
	})
	h.Handle(n+"-boom", func(context.Context, *plugin.Request) (string, error) { panic("kaboom") })
	h.Handle(n+"-admin", func(context.Context, *plugin.Request) (string, error) { return "admin ok", nil })
	h.Handle(n+"-slow", func(context.Context, *plugin.Request) (string, error) { return "slow ok", nil })
	return nil
}

func (e *echo) Stop(context.Context) error { return nil }

// broken fails to start.
type broken struct{}

func (broken) Info() plugin.Info {
	return plugin.Info{Name: "broken", Version: "1.0.0", Commands: []plugin.Command{{Name: "broken"}}}
}
func (broken) Start(context.Context, *plugin.Host) error { return errors.New("no luck") }
func (broken) Stop(context.Context) error                { return nil }

// panicky panics in Start.
type panicky struct{}

func (panicky) Info() plugin.Info {
	return plugin.Info{Name: "panicky", Version: "1.0.0", Commands: []plugin.Command{{Name: "panicky"}}}
}
func (panicky) Start(context.Context, *plugin.Host) error { panic("start panic") }
func (panicky) Stop(context.Context) error                { return nil }

func TestChatCommandGetsOneChatReply(t *testing.T) {
	is := is.New(t)
	h := roseytest.New(t, roseytest.WithPlugins(&echo{}))
	h.Say("alice", "!ECHO hello  world")
	r := h.Expect("alice said hello  world via chat")
	is.Equal(r.Channel, roseytest.Channel)
	h.ExpectNone()
}

func TestPMCommandGetsOnePM(t *testing.T) {
	h := roseytest.New(t, roseytest.WithPlugins(&echo{}))
	h.PM("bob", "!echo-alias psst")
	h.ExpectPM("bob", "bob said psst via pm")
	h.ExpectNone()
}

func TestUsageErrorShownToUser(t *testing.T) {
	h := roseytest.New(t, roseytest.WithPlugins(&echo{}))
	h.Say("alice", "!echo")
	h.Expect("❌ Usage: !echo <text>")
}

func TestUnknownCommandHintOncePerUser(t *testing.T) {
	h := roseytest.New(t, roseytest.WithPlugins(&echo{}))
	h.Say("alice", "!nope")
	h.Expect("Unknown command !nope")
	h.Say("alice", "!nope2")
	h.ExpectNone()
	h.Say("carol", "!nope")
	h.Expect("Try !help")
}

func TestUnknownCommandIgnored(t *testing.T) {
	h := roseytest.New(t, roseytest.WithPlugins(&echo{}), roseytest.WithConfig(func(c *rosey.Config) {
		c.Router.UnknownCommand = "ignore"
	}))
	h.Say("alice", "!nope")
	h.ExpectNone()
}

func TestRankRefusedAndAdminList(t *testing.T) {
	h := roseytest.New(t, roseytest.WithPlugins(&echo{}), roseytest.WithConfig(func(c *rosey.Config) {
		c.Router.Admins = []string{"Boss"}
	}))
	h.SetRank("mod", protocol.RankModerator)
	h.Say("mod", "!echo-admin")
	h.Expect("⛔ !echo-admin needs rank admin")
	h.Say("boss", "!echo-admin")
	h.Expect("admin ok")
	h.SetRank("owner", protocol.RankOwner)
	h.Say("owner", "!echo-admin")
	h.Expect("admin ok")
}

func TestCooldownPerUser(t *testing.T) {
	h := roseytest.New(t, roseytest.WithPlugins(&echo{}))
	h.Say("alice", "!echo-slow")
	h.Expect("slow ok")
	h.Say("alice", "!echo-slow")
	h.Expect("⏳ alice, wait")
	h.Say("alice", "!echo-slow")
	h.ExpectNone() // told once is enough
	h.Say("bob", "!echo-slow")
	h.Expect("slow ok")
}

func TestPanickingAndFailingPluginsLeaveOthersWorking(t *testing.T) {
	is := is.New(t)
	h := roseytest.New(t, roseytest.WithPlugins(broken{}, panicky{}, &echo{}))
	h.Say("alice", "!echo-boom")
	h.Expect("Something went wrong in !echo-boom")
	h.Say("alice", "!echo still here")
	h.Expect("alice said still here")
	states := map[string]string{}
	for _, s := range h.Bot().Plugins().Status() {
		states[s.Info.Name] = s.State
	}
	is.Equal(states["broken"], plugin.StateFailed)
	is.Equal(states["panicky"], plugin.StateFailed)
	is.Equal(states["echo"], plugin.StateStarted)
	// A failed plugin's commands stay known: users hear it is not running.
	h.Say("alice", "!broken")
	h.Expect("⚠️ broken is not available right now.")
}

func TestBotOwnLinesAndIgnoredUsersSkipped(t *testing.T) {
	h := roseytest.New(t, roseytest.WithPlugins(&echo{}), roseytest.WithConfig(func(c *rosey.Config) {
		c.Router.BotName = "Rosey"
		c.Router.Ignore = []string{"spammer"}
	}))
	h.Say("rosey", "!echo loop")
	h.Say("Spammer", "!echo spam")
	h.ExpectNone()
}

func TestCorrelationIDFlowsChatToCommandToReply(t *testing.T) {
	is := is.New(t)
	h := roseytest.New(t, roseytest.WithPlugins(&echo{}))
	seen := make(chan string, 4)
	_, err := h.Bus().Subscribe(protocol.PluginCommand("echo"), func(_ context.Context, ev *eventbus.Event) {
		seen <- ev.CorrelationID
	})
	is.NoErr(err)
	is.NoErr(h.Bus().Flush(context.Background()))
	id := h.Say("alice", "!echo trace me")
	r := h.Expect("trace me")
	is.Equal(r.CorrelationID, id)
	select {
	case got := <-seen:
		is.Equal(got, id)
	case <-time.After(10 * time.Second):
		t.Fatal("command request not seen")
	}
}

func TestPluginThatNeverRepliesAnswered(t *testing.T) {
	h := roseytest.New(t, roseytest.WithConfig(func(c *rosey.Config) {
		c.Router.Routes = map[string]string{"hello": "my-plugin"}
		c.Router.Timeout = rosey.Duration(time.Second)
	}))
	// Plain NATS: it publishes {"result": ...} to cytube.send.chat and never
	// replies to the command.
	nc := h.Bus().Conn()
	sub, err := nc.Subscribe("plugin.my-plugin.command", func(m *nats.Msg) {
		_ = nc.Publish("cytube.send.chat", []byte(`{"result": "Done!"}`))
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	_ = nc.Flush()
	h.Say("alice", "!hello")
	h.Expect("Done!")
	h.ExpectNone() // and no complaint about a missing reply
}

func TestMalformedJSONIsLoggedNotFatal(t *testing.T) {
	is := is.New(t)
	h := roseytest.New(t, roseytest.WithPlugins(&echo{}))
	nc := h.Bus().Conn()
	is.NoErr(nc.Publish(protocol.Chat, []byte(`{"user": 12, "message": [`)))
	is.NoErr(nc.Publish(protocol.Chat, []byte(`not json`)))
	is.NoErr(nc.Publish(protocol.PM, []byte(``)))
	reply, err := nc.Request(protocol.PluginCommand("echo"), []byte(`{"command": "echo", "args": "nope"`), 5*time.Second)
	is.NoErr(err)
	is.True(strings.Contains(string(reply.Data), "malformed request"))
	reply, err = nc.Request(protocol.PluginCommand("echo"), []byte(`{"command": 42}`), 5*time.Second)
	is.NoErr(err)
	is.True(strings.Contains(string(reply.Data), "error"))
	h.Say("alice", "!echo alive")
	h.Expect("alice said alive")
}

func TestOddlyShapedChatJSONStillRouted(t *testing.T) {
	is := is.New(t)
	h := roseytest.New(t, roseytest.WithPlugins(&echo{}))
	nc := h.Bus().Conn()
	for _, body := range []string{
		`{ "message" : "!echo spaced", "user": "alice", "channel": "test" }`,
		`{"user":"alice","message":"\u0021echo escaped","channel":"test"}`,
		`{"meta":{"message":"hi"},"message":"!echo nested","user":"alice","channel":"test"}`,
	} {
		is.NoErr(nc.Publish(protocol.Chat, []byte(body)))
	}
	h.Expect("alice said spaced")
	h.Expect("alice said escaped")
	h.Expect("alice said nested")
}

// cool has a cooldown and a usage error.
type cool struct{}

func (cool) Info() plugin.Info {
	return plugin.Info{Name: "cool", Version: "1.0.0", Commands: []plugin.Command{{Name: "cool", Usage: "<text>", Cooldown: time.Hour}}}
}
func (c cool) Start(_ context.Context, h *plugin.Host) error {
	h.Handle("cool", func(_ context.Context, r *plugin.Request) (string, error) {
		if r.Text == "" {
			return "", plugin.Usage(c.Info().Commands[0])
		}
		return "cool " + r.Text, nil
	})
	return nil
}
func (cool) Stop(context.Context) error { return nil }

func TestFailedCommandDoesNotStartCooldown(t *testing.T) {
	h := roseytest.New(t, roseytest.WithPlugins(cool{}))
	// A usage error must not use up the one-hour cooldown.
	h.Say("alice", "!cool")
	h.Expect("❌ Usage: !cool <text>")
	h.Say("alice", "!cool now")
	h.Expect("cool now")
	h.Say("alice", "!cool again")
	h.Expect("⏳ alice, wait")
}

// Config.Middleware wraps the commands of every in-process plugin, all the
// way from a chat line to the answer.
func TestBotMiddlewareWrapsEveryPlugin(t *testing.T) {
	sign := func(next plugin.CommandHandler) plugin.CommandHandler {
		return func(ctx context.Context, req *plugin.Request) (string, error) {
			if req.User == "mallory" {
				return "", plugin.UserError("⛔ %s is benched", req.User)
			}
			text, err := next(ctx, req)
			return text + " ✍️", err
		}
	}
	h := roseytest.New(t, roseytest.WithPlugins(&echo{}, &echo{name: "other"}), roseytest.WithConfig(func(c *rosey.Config) {
		c.Middleware = []plugin.Middleware{sign}
	}))
	h.Say("alice", "!echo hi")
	h.Expect("alice said hi via chat ✍️")
	h.PM("bob", "!other psst")
	h.ExpectPM("bob", "bob said psst via pm ✍️")
	h.Say("mallory", "!echo hi")
	h.Expect("⛔ mallory is benched")
	h.ExpectNone()
}
