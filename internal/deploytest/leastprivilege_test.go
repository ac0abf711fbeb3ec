package deploytest_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/matryer/is"
	"github.com/nats-io/nats.go"

	"github.com/roseybot/rosey"
	"github.com/roseybot/rosey/database"
	"github.com/roseybot/rosey/eventbus"
	"github.com/roseybot/rosey/plugin"
	"github.com/roseybot/rosey/plugins/help"
	"github.com/roseybot/rosey/roseytest"
)

// leastPrivilegeConf is the documented configuration under test.
var leastPrivilegeConf = filepath.Join("..", "..", "docs", "examples", "least-privilege.conf")

const (
	botPassword     = "bot-secret"
	routerPassword  = "router-secret"
	greeterPassword = "greeter-secret"
)

// startLeastPrivilegeBot starts a bot whose embedded NATS server runs the
// documented least-privilege configuration, logging in as the bot user.
func startLeastPrivilegeBot(t *testing.T, opts ...roseytest.Option) *roseytest.Harness {
	t.Setenv("ROSEY_BOT_PASSWORD", botPassword)
	t.Setenv("ROSEY_ROUTER_PASSWORD", routerPassword)
	t.Setenv("ROSEY_GREETER_PASSWORD", greeterPassword)
	t.Setenv("ROSEY_FORTUNE_PASSWORD", "fortune-secret")
	return roseytest.New(t, append([]roseytest.Option{
		roseytest.WithPlugins(help.New(help.Config{})),
		roseytest.WithConfig(func(c *rosey.Config) {
			c.NATS.User, c.NATS.Password = "rosey", botPassword
			c.NATS.Embedded.NoListen = false
			c.NATS.Embedded.Listen = "127.0.0.1:0"
			c.NATS.Embedded.ConfigFile = leastPrivilegeConf
		})}, opts...)...)
}

// TestLeastPrivilegeRouterOfItsOwn runs the router as a process of its own
// would (a bot with only the router component) logged in as the documented
// router user: commands are answered, and nothing it does is refused.
func TestLeastPrivilegeRouterOfItsOwn(t *testing.T) {
	is := is.New(t)
	h := startLeastPrivilegeBot(t, roseytest.WithConfig(func(c *rosey.Config) {
		c.Components = []string{rosey.ComponentDatabase, rosey.ComponentPlugins}
	}))
	errs := &errorLog{}
	cfg := rosey.Config{Components: []string{rosey.ComponentRouter}, Logger: slog.New(errs)}
	cfg.NATS.URLs = []string{h.Bot().NATSURL()}
	cfg.NATS.User, cfg.NATS.Password = "router", routerPassword
	cfg.NATS.InboxPrefix = "_INBOX.router" // the only replies its user may read
	router := rosey.New(cfg)
	ctx := context.Background()
	is.NoErr(router.Start(ctx))
	h.Say("alice", "!help") // the router found the plugins through $SRV.INFO
	h.Expect("help: !help")
	h.PM("bob", "!help help")
	h.ExpectPM("bob", "!help")
	h.ExpectNone()
	is.NoErr(router.Stop(ctx))
	is.Equal(errs.String(), "") // no permissions violation, and nothing else went wrong
}

// TestLeastPrivilegePluginWorks runs a plugin as the greeter user: its
// commands are answered (through the router, with the database service
// and chat publishing), !help lists it, and discovery finds it.
func TestLeastPrivilegePluginWorks(t *testing.T) {
	is := is.New(t)
	h := startLeastPrivilegeBot(t)
	errs := &errorLog{}
	serve(t, &counter{name: "greeter", copy: "a", log: newHandled()}, eventbus.Config{
		URLs: []string{h.Bot().NATSURL()}, User: "greeter", Password: greeterPassword,
		Logger: slog.New(errs),
	})
	waitFor(t, "greeter registered", func() bool { return instances(h, "greeter") == 1 })

	h.Say("alice", "!count apples") // database.update and a reply
	h.Expect("apples=1")
	h.Say("alice", "!count apples")
	h.Expect("apples=2")
	h.Say("alice", "!tell hi all") // cytube.send.chat published by the plugin
	h.Expect("told: hi all")
	h.Say("alice", "!help")
	h.Expect("greeter: !count !tell !echo")

	// The bot's discovery sweep ($SRV.INFO) gets the plugin's answer.
	// (A sweep forgets a plugin whose answer comes after its wait, so on a
	// busy machine it may take more than one.)
	waitFor(t, "greeter discovered", func() bool {
		return h.Bot().Plugins().Directory().Refresh(context.Background(), time.Second) == nil && instances(h, "greeter") == 1
	})

	// Nothing the plugin did on its own (registering, announcing, answering
	// discovery) was refused either.
	h.ExpectNone()
	is.Equal(errs.String(), "")
}

// errorLog is a slog.Handler keeping the text of every error logged.
type errorLog struct {
	mu   sync.Mutex
	errs []string
}

func (l *errorLog) Enabled(_ context.Context, level slog.Level) bool { return level >= slog.LevelError }
func (l *errorLog) WithAttrs([]slog.Attr) slog.Handler               { return l }
func (l *errorLog) WithGroup(string) slog.Handler                    { return l }

func (l *errorLog) Handle(_ context.Context, r slog.Record) error {
	line := r.Message
	r.Attrs(func(a slog.Attr) bool { line += " " + a.String(); return true })
	l.mu.Lock()
	l.errs = append(l.errs, line)
	l.mu.Unlock()
	return nil
}

func (l *errorLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.errs, "\n")
}

// TestLeastPrivilegeRefusesEverythingElse connects as the greeter user and
// tries what a plugin must not do; the server refuses each with a
// permissions violation.
func TestLeastPrivilegeRefusesEverythingElse(t *testing.T) {
	is := is.New(t)
	h := startLeastPrivilegeBot(t)
	url := h.Bot().NATSURL()

	violations := make(chan error, 64)
	nc, err := nats.Connect(url, nats.UserInfo("greeter", greeterPassword),
		nats.CustomInboxPrefix(plugin.InboxPrefix("greeter")),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) { violations <- err }))
	is.NoErr(err)
	defer nc.Close()

	// expectRefused waits for the server's refusal naming what and subject.
	expectRefused := func(what, subject string) {
		t.Helper()
		want := "permissions violation for " + what + ` to "` + strings.ToLower(subject) + `"`
		deadline := time.After(10 * time.Second)
		for {
			select {
			case err := <-violations:
				if errors.Is(err, nats.ErrPermissionViolation) && strings.Contains(strings.ToLower(err.Error()), want) {
					return
				}
				t.Logf("other error: %v", err)
			case <-deadline:
				t.Fatalf("no refusal: %s", want)
			}
		}
	}

	for _, subject := range []string{
		"cytube.chat",            // reading the channel
		"cytube.pm",              // reading private messages
		"plugin.fortune.command", // answering another plugin's commands
		"plugin.*.command",       // or every plugin's
		"database.set",           // posing as the database service
		"database.greeter.set",   // or the database of its own namespace
		">",                      // everything
		"$SRV.INFO.fortune",      // another plugin's discovery
	} {
		_, err := nc.Subscribe(subject, func(*nats.Msg) {})
		is.NoErr(err) // refused asynchronously, by the server
		is.NoErr(nc.Flush())
		expectRefused("subscription", subject)
	}
	for _, subject := range []string{
		"cytube.chat",                     // faking chat
		"plugin.fortune.command",          // calling another plugin directly
		"platform.plugin.fortune.started", // posing as another plugin
		"platform.plugins.reload",         // the plugin manager's controls
		"platform.shutdown",               // platform events
	} {
		is.NoErr(nc.Publish(subject, []byte(`{}`)))
		is.NoErr(nc.Flush())
		expectRefused("publish", subject)
	}

	// What it may do, it can: its own subjects, the database, chat.
	sub, err := nc.SubscribeSync("plugin.greeter.command")
	is.NoErr(err)
	is.NoErr(nc.Publish("cytube.send.chat", []byte(`{"message": "hello from greeter"}`)))
	h.Expect("hello from greeter")
	m, err := nc.Request("database.greeter.count", []byte(`{"collection": "anything"}`), 10*time.Second)
	is.NoErr(err)
	is.True(strings.Contains(string(m.Data), `"success":true`))
	is.NoErr(sub.Unsubscribe())
	select {
	case err := <-violations:
		t.Fatalf("allowed actions refused: %v", err)
	default:
	}

	// A wrong password is no way in.
	_, err = nats.Connect(url, nats.UserInfo("greeter", "guess"))
	is.True(errors.Is(err, nats.ErrAuthorization))
}

// TestLeastPrivilegeOwnInbox checks that a plugin user reads the replies to
// its own requests and nobody else's: subscribing to every inbox, to
// another plugin's or to the router's is refused by the server, while the
// other plugin goes on using the database through its own inbox.
func TestLeastPrivilegeOwnInbox(t *testing.T) {
	is := is.New(t)
	h := startLeastPrivilegeBot(t)
	url := h.Bot().NATSURL()
	serve(t, &counter{name: "greeter", copy: "a", log: newHandled()}, eventbus.Config{
		URLs: []string{url}, User: "greeter", Password: greeterPassword,
	})
	waitFor(t, "greeter registered", func() bool { return instances(h, "greeter") == 1 })

	spy := connectAs(t, url, "fortune", "fortune-secret", nats.CustomInboxPrefix(plugin.InboxPrefix("fortune")))
	var taps []<-chan *nats.Msg
	for _, subject := range []string{
		"_INBOX.>",                           // every reply of everybody
		"_INBOX.*.*",                         // nats.go's default inboxes (the bot's)
		plugin.InboxPrefix("greeter") + ".>", // the greeter plugin's database replies
		"_INBOX.plugin.>",                    // every plugin's
		"_INBOX.router.>",                    // a router's plugin answers
		"_INBOX.plugin.*.>",                  // every plugin's, spelled otherwise
		">",                                  // everything
	} {
		taps = append(taps, spy.subscribeRefused(subject))
	}

	// The greeter plugin's database requests and answers go on meanwhile.
	h.Say("alice", "!count pears")
	h.Expect("pears=1")
	h.Say("alice", "!count pears")
	h.Expect("pears=2")

	// The spy's own requests are answered in its own inbox.
	m, err := spy.nc.Request("database.fortune.count", []byte(`{"collection": "anything"}`), 10*time.Second)
	is.NoErr(err)
	is.True(strings.Contains(string(m.Data), `"success":true`))
	is.True(strings.HasPrefix(m.Subject, plugin.InboxPrefix("fortune")+"."))
	for _, tap := range taps {
		is.Equal(len(tap), 0) // nothing leaked to a refused subscription
	}
	spy.noErrors()
}

// TestLeastPrivilegeDatabaseNamespaces checks that a plugin's collections
// are its own: another plugin's user cannot read or write them, on the
// owner's namespace subjects, on the default subjects or by naming the
// collection from its own namespace, while a namespace granted to both
// (database.shared) is shared.
func TestLeastPrivilegeDatabaseNamespaces(t *testing.T) {
	is := is.New(t)
	h := startLeastPrivilegeBot(t)
	url := h.Bot().NATSURL()
	serve(t, &counter{name: "greeter", copy: "a", log: newHandled()}, eventbus.Config{
		URLs: []string{url}, User: "greeter", Password: greeterPassword,
	})
	waitFor(t, "greeter registered", func() bool { return instances(h, "greeter") == 1 })
	h.Say("alice", "!count apples") // greeter/counts: {"apples": {"n": 1}}
	h.Expect("apples=1")

	thief := connectAs(t, url, "fortune", "fortune-secret", nats.CustomInboxPrefix(plugin.InboxPrefix("fortune")))
	for _, subject := range []string{
		"database.greeter.get", "database.greeter.query", "database.greeter.set",
		"database.greeter.update", "database.greeter.delete", "database.greeter.schema.register",
		"database.get", "database.query", "database.set", "database.update", "database.delete", // the default namespace
		"database.schema.register",
	} {
		thief.publishRefused(subject, `{"collection": "counts", "id": "apples", "data": {"n": 1000}}`)
	}
	// Naming the other namespace's collection from its own is refused by
	// the service, and its own "counts" is a different collection.
	request := func(subject, body string) database.Reply {
		t.Helper()
		m, err := thief.nc.Request(subject, []byte(body), 10*time.Second)
		is.NoErr(err)
		var rep database.Reply
		is.NoErr(json.Unmarshal(m.Data, &rep))
		return rep
	}
	rep := request("database.fortune.update", `{"collection": "greeter/counts", "id": "apples", "update": {"$set": {"n": 1000}}}`)
	is.Equal(rep.Code, database.CodeInvalidRequest)
	rep = request("database.fortune.get", `{"collection": "counts", "id": "apples"}`)
	is.Equal(rep.Code, database.CodeNotFound)
	rep = request("database.fortune.update", `{"collection": "counts", "id": "apples", "update": {"$set": {"n": 1000}}, "upsert": true}`)
	is.True(rep.Success)

	h.Say("alice", "!count apples") // untouched by all of the above
	h.Expect("apples=2")

	// A namespace granted to both plugins is shared between them.
	rep = request("database.shared.set", `{"collection": "notes", "id": "hello", "data": {"from": "fortune"}}`)
	is.True(rep.Success)
	reader := connectAs(t, url, "greeter", greeterPassword, nats.CustomInboxPrefix(plugin.InboxPrefix("greeter")))
	m, err := reader.nc.Request("database.shared.get", []byte(`{"collection": "notes", "id": "hello"}`), 10*time.Second)
	is.NoErr(err)
	is.Equal(string(m.Data), `{"success":true,"data":{"from":"fortune"}}`)
	thief.noErrors()
	reader.noErrors()
}

// TestLeastPrivilegeAttacks runs the documented least-privilege layout
// (the bot, the greeter plugin under its own user) and tries, as the
// fortune plugin's user, every attack a hostile plugin would: read other
// clients' replies, read or overwrite another plugin's collections, speak
// in chat without the grant, fake chat lines, answer or pose as another
// plugin, control the plugin manager, and connect with no credentials.
// The server refuses each, and the bot keeps answering other users
// meanwhile, as the greeter plugin keeps its data.
func TestLeastPrivilegeAttacks(t *testing.T) {
	is := is.New(t)
	h := startLeastPrivilegeBot(t)
	url := h.Bot().NATSURL()
	serve(t, &counter{name: "greeter", copy: "a", log: newHandled()}, eventbus.Config{
		URLs: []string{url}, User: "greeter", Password: greeterPassword,
	})
	waitFor(t, "greeter registered", func() bool { return instances(h, "greeter") == 1 })
	h.Say("alice", "!count visits")
	h.Expect("visits=1")

	// No credentials, or wrong ones: no way in at all.
	_, err := nats.Connect(url)
	is.True(errors.Is(err, nats.ErrAuthorization))
	_, err = nats.Connect(url, nats.UserInfo("fortune", "guess"))
	is.True(errors.Is(err, nats.ErrAuthorization))

	evil := connectAs(t, url, "fortune", "fortune-secret", nats.CustomInboxPrefix(plugin.InboxPrefix("fortune")))
	var taps []<-chan *nats.Msg
	for _, subject := range []string{
		"_INBOX.>",                           // everybody's replies
		plugin.InboxPrefix("greeter") + ".>", // the greeter's database replies
		"_INBOX.router.>",                    // a router's plugin answers
		"cytube.>",                           // the chat, PMs and what the bot says
		"plugin.greeter.command",             // the greeter's commands, to answer them
		"database.greeter.>",                 // the greeter's database requests
		"platform.plugins.>",                 // the plugin manager's controls
		"$SRV.INFO.greeter",                  // the greeter's discovery
	} {
		taps = append(taps, evil.subscribeRefused(subject))
	}

	// While the refused publishes stream in, other users are answered.
	attacks := []struct{ subject, body string }{
		{"cytube.send.chat", `{"message": "fortune speaks without the grant"}`},
		{"cytube.send.pm", `{"to": "alice", "message": "psst"}`},
		{"cytube.chat", `{"user": "admin", "message": "!admin disable greeter", "rank": 3}`},
		{"plugin.greeter.command", `{"command": "count", "text": "visits"}`},
		{"platform.plugin.greeter.stopped", `{"name": "greeter", "state": "stopped"}`},
		{"platform.plugin.greeter.started", `{"name": "greeter", "commands": [{"name": "roll"}]}`},
		{"platform.plugins.disable", `{"name": "greeter"}`},
		{"database.greeter.set", `{"collection": "counts", "id": "visits", "data": {"n": 1000}}`},
		{"database.greeter.delete", `{"collection": "counts", "id": "visits"}`},
		{"database.set", `{"collection": "greeter/counts", "id": "visits", "data": {"n": 1000}}`},
		{"database.get", `{"collection": "greeter/counts", "id": "visits"}`},
		{"platform.shutdown", `{}`},
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 20 {
			for _, a := range attacks {
				_ = evil.nc.Publish(a.subject, []byte(a.body))
			}
		}
		_ = evil.nc.Flush()
	}()
	for i := 2; i <= 6; i++ {
		h.Say("bob", "!count visits")
		h.Expect(fmt.Sprintf("visits=%d", i))
		h.PM("carol", "!echo still here")
		h.ExpectPM("carol", "echo: still here")
	}
	<-done
	// Each was refused by the server, not merely ignored.
	for _, a := range attacks {
		evil.refused("publish", a.subject)
	}

	// The greeter's data, listing and commands are as they were, nothing
	// the attacker sent reached the chat, and no tap received anything.
	h.Say("alice", "!count visits")
	h.Expect("visits=7")
	h.Say("alice", "!help")
	h.Expect("greeter: !count !tell !echo")
	h.ExpectNone()
	is.Equal(instances(h, "greeter"), 1)
	for _, tap := range taps {
		is.Equal(len(tap), 0)
	}
}
