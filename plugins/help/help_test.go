package help_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/matryer/is"
	"github.com/nats-io/nats.go/micro"

	"github.com/roseybot/rosey/plugin"
	"github.com/roseybot/rosey/plugin/supervisor"
	"github.com/roseybot/rosey/plugins/help"
	"github.com/roseybot/rosey/protocol"
	"github.com/roseybot/rosey/roseytest"
)

// fixture is a plugin with the commands a test needs.
type fixture struct {
	name string
	cmds []plugin.Command
}

func (f fixture) Info() plugin.Info {
	return plugin.Info{Name: f.name, Version: "2.1.0", Description: "a test plugin", Commands: f.cmds}
}

func (f fixture) Start(_ context.Context, h *plugin.Host) error {
	for _, c := range f.cmds {
		h.Handle(c.Name, func(context.Context, *plugin.Request) (string, error) { return c.Name + " ok", nil })
	}
	return nil
}

func (fixture) Stop(context.Context) error { return nil }

var games = fixture{name: "games", cmds: []plugin.Command{
	{Name: "play", Usage: "<game>", Description: "Starts a game", Aliases: []string{"p", "go"}, Cooldown: 30 * time.Second},
	{Name: "ban", Usage: "<user>", Description: "Bans a player", MinRank: protocol.RankModerator},
}}

// many has enough commands that the list no longer fits one chat line.
func many() fixture {
	f := fixture{name: "many"}
	for i := range 40 {
		f.cmds = append(f.cmds, plugin.Command{Name: fmt.Sprintf("command%02d", i)})
	}
	return f
}

func TestListDependsOnRank(t *testing.T) {
	is := is.New(t)
	h := roseytest.New(t, roseytest.WithPlugins(help.New(help.Config{}), games))
	h.Say("guest", "!help")
	r := h.Expect("📖 Commands")
	is.True(strings.Contains(r.Message, "games: !play"))
	is.True(strings.Contains(r.Message, "help: !help"))
	is.True(!strings.Contains(r.Message, "!ban"))
	is.True(strings.Index(r.Message, "games:") < strings.Index(r.Message, "help:")) // grouped, by plugin name

	h.SetRank("mod", protocol.RankModerator)
	h.Say("mod", "!commands")
	r = h.Expect("📖 Commands")
	is.True(strings.Contains(r.Message, "games: !play !ban"))
	h.ExpectNone()
}

func TestExplainCommand(t *testing.T) {
	h := roseytest.New(t, roseytest.WithPlugins(help.New(help.Config{}), games))
	for _, q := range []string{"!help play", "!help !play", "!help P", "!help go"} {
		h.Say("alice", q)
		h.Expect("📖 !play <game> — Starts a game · aliases: !p, !go · rank: anyone · cooldown: 30s · plugin: games")
	}
	h.Say("alice", "!help ban")
	h.Expect("rank: moderator or higher")
	h.Say("alice", "!help games")
	h.Expect("📖 games 2.1.0: a test plugin. Commands: !play, !ban")
	h.Say("alice", "!help nothing")
	h.Expect("❌ No command !nothing. Try !help")
	h.Say("alice", "!help too many words")
	h.Expect("❌ Usage: !help [command]")
	h.ExpectNone()
}

// collect reads replies until it has the chat note (when want is not
// empty) and PMs naming every one of words. The plugin's PMs and the
// router's chat note travel on different subjects, whose relative order is
// not guaranteed.
func collect(t *testing.T, h *roseytest.Harness, user, note string, words []string) {
	t.Helper()
	missing := map[string]bool{}
	for _, w := range words {
		missing[w] = true
	}
	noted := note == ""
	for !noted || len(missing) > 0 {
		r := h.Next()
		switch {
		case !r.PM && !noted && strings.Contains(r.Message, note):
			noted = true
		case r.PM && protocol.SameUser(r.To, user):
			if n := len([]rune(r.Message)); n > help.DefaultMaxChat {
				t.Fatalf("PM of %d characters: %q", n, r.Message)
			}
			if !strings.HasPrefix(r.Message, "📖") && !strings.Contains(strings.Fields(r.Message)[0], ":") {
				t.Fatalf("PM line does not name its plugin: %q", r.Message)
			}
			for _, f := range strings.Fields(r.Message) {
				delete(missing, f)
			}
		default:
			t.Fatalf("unexpected reply %v", r)
		}
	}
}

func TestLongListGoesByPM(t *testing.T) {
	h := roseytest.New(t, roseytest.WithPlugins(help.New(help.Config{}), games, many()))
	var words []string
	for i := range 40 {
		words = append(words, fmt.Sprintf("!command%02d", i))
	}
	words = append(words, "!play", "!help")
	h.Say("alice", "!help")
	collect(t, h, "alice", "📬 alice, I sent you the command list by PM", words)
	h.ExpectNone()

	// Asked by PM, only the PMs come back.
	h.PM("bob", "!help")
	collect(t, h, "bob", "", words)
	h.ExpectNone()
}

func TestIncludesExternalPlugins(t *testing.T) {
	is := is.New(t)
	h := roseytest.New(t, roseytest.WithPlugins(help.New(help.Config{})))
	// An external plugin is a NATS micro service carrying its Info, as
	// another process would run it.
	info := plugin.Info{Name: "weather", Version: "0.3.0", Commands: []plugin.Command{{Name: "weather", Usage: "<city>", Description: "Tells the weather"}}}
	raw, err := json.Marshal(info)
	is.NoErr(err)
	svc, err := micro.AddService(h.Bus().Conn(), micro.Config{
		Name: info.Name, Version: info.Version,
		Metadata: map[string]string{plugin.MetaInfo: string(raw), plugin.MetaPrefix: h.Bus().Prefix()},
		Endpoint: &micro.EndpointConfig{Subject: h.Bus().Subject(protocol.PluginCommand(info.Name)),
			Handler: micro.HandlerFunc(func(r micro.Request) { _ = r.RespondJSON(plugin.Response{Result: "sunny"}) })},
	})
	is.NoErr(err)
	t.Cleanup(func() { _ = svc.Stop() })
	a := plugin.Announcement{Info: info, Instance: svc.Info().ID, State: plugin.StateStarted}
	is.NoErr(h.Bus().Publish(context.Background(), protocol.PluginState(info.Name, plugin.StateStarted), a))
	waitForPlugin(t, h, info.Name)

	h.Say("alice", "!help")
	h.Expect("weather: !weather")
	h.Say("alice", "!help weather")
	h.Expect("📖 !weather <city> — Tells the weather · rank: anyone · plugin: weather")
}

// waitForPlugin waits until the plugin manager lists name.
func waitForPlugin(t *testing.T, h *roseytest.Harness, name string) {
	t.Helper()
	ctl := supervisor.NewControl(h.Bus())
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		list, err := ctl.List(context.Background())
		if err == nil && slices.ContainsFunc(list, func(s supervisor.Status) bool { return s.Info.Name == name && s.External }) {
			return
		}
		// The directory learns from the announcement; a refresh also finds it.
		_ = h.Bot().Plugins().Directory().Refresh(context.Background(), 50*time.Millisecond)
	}
	t.Fatalf("plugin %s never listed", name)
}

func TestDisabledPluginsAreNotListed(t *testing.T) {
	is := is.New(t)
	h := roseytest.New(t, roseytest.WithPlugins(help.New(help.Config{}), games))
	is.NoErr(supervisor.NewControl(h.Bus()).Disable(context.Background(), "games"))
	h.Say("alice", "!help")
	r := h.Expect("📖 Commands")
	is.True(!strings.Contains(r.Message, "games"))
	h.Say("alice", "!help play")
	h.Expect("❌ No command !play")
}
