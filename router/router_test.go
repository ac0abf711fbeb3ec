package router_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/roseybot/rosey/eventbus"
	"github.com/roseybot/rosey/internal/natstest"
	"github.com/roseybot/rosey/plugin"
	"github.com/roseybot/rosey/plugin/supervisor"
	"github.com/roseybot/rosey/protocol"
	"github.com/roseybot/rosey/router"
)

// serve runs p as an external plugin on its own connection to the rig's
// server until the test ends; the returned stop ends it early.
func serve(t *testing.T, r *rig, p plugin.Plugin) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- plugin.ServeContext(ctx, p, plugin.ServeConfig{Bus: r.srv.BusConfig("")}) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("serve: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// untilRouted says line as fresh users until the answer is not the
// unknown-command text, and returns that answer: a router learns of a
// plugin in another process asynchronously.
func untilRouted(t *testing.T, r *rig, line, unknown string) reply {
	t.Helper()
	deadline := time.Now().Add(wait)
	for i := 0; ; i++ {
		r.say("user"+strings.Repeat("x", i%50), line)
		rep := r.next()
		if !strings.Contains(rep.Message, unknown) {
			return rep
		}
		if time.Now().After(deadline) {
			t.Fatalf("%q still unknown after %s", line, wait)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestStandaloneRouterDiscoversPluginInAnotherProcess(t *testing.T) {
	is := is.New(t)
	srv := startServer(t)
	// Started before the router: found by the router's first sweep.
	early := &rig{srv: srv}
	serve(t, early, barrierPlugin{})
	bus := connect(t, srv, "router-process")
	r := startRig(t, srv, bus, nil, router.Config{UnknownCommand: "unknown {command}", HintEvery: time.Nanosecond})
	rep := untilRouted(t, r, "!barrier first", "unknown barrier")
	is.Equal(rep.Message, "first")

	// Started after the router: learned from its announcement.
	stop := serve(t, r, echo{})
	rep = untilRouted(t, r, "!echo hello there", "unknown echo")
	is.True(strings.Contains(rep.Message, `said "hello there" via chat (args 2)`))
	r.say("alice", "!SAY again")
	r.expect(`alice said "again" via chat`)
	r.pm("bob", "!echo secret")
	rep = r.next()
	is.True(rep.PM)
	is.Equal(rep.To, "bob")

	// Once it stops (and says so), its commands are unknown again.
	stop()
	deadline := time.Now().Add(wait)
	for {
		r.say("carol", "!echo anyone?")
		if rep := r.next(); strings.Contains(rep.Message, "unknown echo") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("stopped plugin still routed")
		}
	}
}

func TestCustomPrefixes(t *testing.T) {
	for _, prefix := range []string{"?", "rosey:"} {
		t.Run(prefix, func(t *testing.T) {
			r := newRig(t, router.Config{Prefix: prefix}, echo{})
			r.say("alice", prefix+"echo hi")
			r.expect(`alice said "hi" via chat`)
			r.say("alice", "!echo hi") // the default prefix means nothing now
			r.say("alice", "echo hi")
			r.expectNone()
			r.say("alice", prefix+"nope")
			r.expect("Unknown command " + prefix + "nope. Try " + prefix + "help.")
		})
	}
}

func TestPrefixValidation(t *testing.T) {
	is := is.New(t)
	srv := startServer(t)
	bus := connect(t, srv, "b")
	for _, p := range []string{"a b", "toolongprefix", "\t"} {
		_, err := router.New(bus, nil, router.Config{Prefix: p})
		is.True(errors.Is(err, router.ErrInvalidConfig))
		is.True(strings.Contains(err.Error(), "prefix"))
	}
	_, err := router.New(nil, nil, router.Config{})
	is.True(errors.Is(err, router.ErrInvalidConfig))
	_, err = router.New(bus, nil, router.Config{Timeout: -time.Second})
	is.True(strings.Contains(err.Error(), "timeout"))
	_, err = router.New(bus, nil, router.Config{Routes: map[string]string{"x": "bad.name"}})
	is.True(strings.Contains(err.Error(), "routes"))
}

func TestCommandWordIsCaseInsensitive(t *testing.T) {
	r := newRig(t, router.Config{}, echo{})
	for _, line := range []string{"!ECHO one", "!Echo two", "!eChO three", "!SAY four"} {
		r.say("alice", line)
	}
	r.expect(`"one"`)
	r.expect(`"two"`)
	r.expect(`"three"`)
	r.expect(`"four"`)
	// Text keeps its case and spacing; args are split.
	r.say("alice", "!echo  Mixed   Case ")
	r.expect(`alice said "Mixed   Case" via chat (args 2)`)
}

func TestUnknownCommandCustomText(t *testing.T) {
	r := newRig(t, router.Config{UnknownCommand: "🤷 no {command} here, {command}!"}, echo{})
	r.say("alice", "!Frobnicate now")
	r.expect("🤷 no frobnicate here, frobnicate!")
	r.say("alice", "!other") // once per user per HintEvery
	r.expectNone()
	r.say("bob", "!"+strings.Repeat("z", 100)) // clipped
	rep := r.next()
	if len([]rune(rep.Message)) > 100 || !strings.Contains(rep.Message, "…") {
		t.Fatalf("long command word not clipped: %q", rep.Message)
	}
}

// gate blocks its first command until released.
// gate answers !slow when released; fastPlugin answers !fast at once. They
// are two plugins: one plugin handles its commands one at a time.
type gate struct {
	release chan struct{}
	waiting chan struct{}
}

func (gate) Info() plugin.Info {
	return plugin.Info{Name: "gate", Version: "1.0.0", Commands: []plugin.Command{{Name: "slow"}}}
}

func (g gate) Start(_ context.Context, h *plugin.Host) error {
	h.Handle("slow", func(context.Context, *plugin.Request) (string, error) {
		close(g.waiting)
		<-g.release
		return "slow done", nil
	})
	return nil
}

func (gate) Stop(context.Context) error { return nil }

type fastPlugin struct{ done chan struct{} }

func (fastPlugin) Info() plugin.Info {
	return plugin.Info{Name: "fast", Version: "1.0.0", Commands: []plugin.Command{{Name: "fast"}}}
}

func (f fastPlugin) Start(_ context.Context, h *plugin.Host) error {
	h.Handle("fast", func(context.Context, *plugin.Request) (string, error) {
		defer close(f.done)
		return "fast done", nil
	})
	return nil
}

func (fastPlugin) Stop(context.Context) error { return nil }

// A slow plugin delays only the user who asked it: other users are
// answered at once, and that user's later answers keep their order.
func TestSlowPluginDelaysOnlyItsOwnUser(t *testing.T) {
	g := gate{release: make(chan struct{}), waiting: make(chan struct{})}
	r := newRig(t, router.Config{}, g, echo{})
	var once sync.Once
	release := func() { once.Do(func() { close(g.release) }) }
	t.Cleanup(release)

	r.say("alice", "!slow")
	receiveWithin(t, g.waiting)
	r.say("alice", "!echo after slow") // waits behind alice's !slow
	r.say("bob", "!echo meanwhile")
	r.expect(`bob said "meanwhile"`)
	r.say("carol", "!nope") // answered by the router itself, at once too
	r.expect("Unknown command !nope")
	r.pm("dave", "!echo by pm")
	if rep := r.next(); !rep.PM || !strings.Contains(rep.Message, `dave said "by pm"`) {
		t.Fatalf("want dave's PM answer, got %v", rep)
	}
	release()
	r.expect("slow done")
	r.expect(`alice said "after slow"`)
}

func receiveWithin(t *testing.T, ch <-chan struct{}) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(wait):
		t.Fatalf("not within %s", wait)
	}
}

// hang never answers until released.
type hang struct{ release chan struct{} }

func (hang) Info() plugin.Info {
	return plugin.Info{Name: "hang", Version: "1.0.0", Commands: []plugin.Command{{Name: "hang", Cooldown: time.Hour}}}
}

func (h hang) Start(_ context.Context, host *plugin.Host) error {
	host.Handle("hang", func(context.Context, *plugin.Request) (string, error) {
		<-h.release
		return "too late", nil
	})
	return nil
}

func (hang) Stop(context.Context) error { return nil }

func TestPluginThatDoesNotAnswerInTime(t *testing.T) {
	h := hang{release: make(chan struct{})}
	r := newRig(t, router.Config{Timeout: 100 * time.Millisecond}, h, echo{})
	t.Cleanup(func() { close(h.release) }) // runs before the manager stops
	r.say("alice", "!hang")
	r.say("bob", "!echo still fine")
	r.expect(`bob said "still fine"`) // bob does not wait for alice's plugin
	r.expect("⏱️ hang did not answer in time. Try again later.")
	// A timed-out command gives its cooldown back.
	r.say("alice", "!hang")
	r.expect("did not answer in time")
	r.expectNone() // the late answers are dropped
}

// Commands waiting at the same time each time out once, at their own
// deadline, in the order they were sent; a user who asked another plugin
// does not wait for them.
func TestSeveralCommandsTimeOutInOrder(t *testing.T) {
	h := hang{release: make(chan struct{})}
	r := newRig(t, router.Config{Timeout: 150 * time.Millisecond}, h, echo{})
	t.Cleanup(func() { close(h.release) })
	r.say("alice", "!hang")
	time.Sleep(50 * time.Millisecond)
	r.say("bob", "!hang")
	r.say("carol", "!hang")
	r.say("dave", "!echo meanwhile")
	r.expect(`dave said "meanwhile"`)
	for range 3 {
		r.expect("⏱️ hang did not answer in time. Try again later.")
	}
	r.expectNone()
}

func TestStoppedPluginIsUnknownOrNotRunning(t *testing.T) {
	is := is.New(t)
	srv := startServer(t)
	bus := connect(t, srv, "bot")
	m, err := supervisor.NewManager(supervisor.ManagerConfig{Bus: bus})
	is.NoErr(err)
	is.NoErr(m.Register(echo{}))
	is.NoErr(m.Register(barrierPlugin{}))
	is.NoErr(m.Start(context.Background()))
	t.Cleanup(func() { _ = m.Stop(context.Background()) })
	dir := m.Directory()
	// A plugin the directory knows but whose process died without a word.
	dir.Add(plugin.Info{Name: "ghost", Version: "1.0.0", Commands: []plugin.Command{{Name: "boo"}}}, "gone-instance", false)
	r := startRig(t, srv, bus, dir, router.Config{})

	r.say("alice", "!echo hi")
	r.expect("alice said")
	is.NoErr(m.StopPlugin(context.Background(), "echo"))
	r.say("alice", "!echo hi")
	r.expect("Unknown command !echo")
	r.say("bob", "!boo")
	r.expect("⚠️ ghost is not available right now.")
	r.expectNone()
}

func TestPMAnsweredByPM(t *testing.T) {
	is := is.New(t)
	r := newRig(t, router.Config{UnknownCommand: "no {command}"}, echo{})
	r.pm("Dave", "!echo quietly")
	rep := r.next()
	is.True(rep.PM)
	is.Equal(rep.To, "Dave")
	is.Equal(rep.Channel, "room")
	is.True(strings.Contains(rep.Message, `Dave said "quietly" via pm`))
	r.pm("Dave", "!nope") // the router's own answers follow the same rule
	rep = r.next()
	is.True(rep.PM)
	is.Equal(rep.Message, "no nope")
	r.say("Dave", "!echo loudly")
	rep = r.next()
	is.True(!rep.PM)
	is.Equal(rep.Channel, "room")
}

func TestHostileLinesGetAtMostOneAnswer(t *testing.T) {
	r := newRig(t, router.Config{}, echo{})
	huge := strings.Repeat("a", 64<<10)
	lines := []string{
		"!echo " + huge,
		"!" + huge,
		huge,
		"!",
		"!!!",
		"!!echo",
		"! echo",
		"!echo\x00\x01\x02\x1b[31m",
		"!\x00",
		"!echo \xff\xfe\xfd",
		"!\xff\xfe",
		"!echo\u202e reversed",
		"!echo\r\n!echo second line",
		"\t!echo tabbed",
		"!ECHO" + strings.Repeat(" ", 1000),
	}
	for _, line := range lines {
		for _, user := range []string{"mallory", ""} {
			r.say(user, line)
			if got := r.drain(); len(got) > 1 {
				t.Fatalf("%q from %q got %d answers: %v", clip(line), user, len(got), got)
			}
		}
	}
	// Nothing crashed: the router still answers.
	r.say("alice", "!echo alive")
	r.expect(`alice said "alive"`)
}

func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// A router whose directory missed a plugin's announcement (it never heard
// of it: in a cluster the announcement can cross before the router's
// interest does) asks NATS again when an unknown command comes in.
func TestUnknownCommandRediscoversPlugins(t *testing.T) {
	srv := startServer(t)
	plug := &rig{srv: srv}
	serve(t, plug, echo{})
	bus := connect(t, srv, "router-process")
	probe := supervisor.NewDirectory(connect(t, srv, "probe"))
	for deadline := time.Now().Add(wait); ; {
		_ = probe.Refresh(context.Background(), 100*time.Millisecond)
		if _, _, ok := probe.Lookup("echo"); ok {
			break // the plugin is up
		}
		if time.Now().After(deadline) {
			t.Fatal("the plugin never registered")
		}
	}
	// A directory that is never started: no announcements, no sweeps.
	dir := supervisor.NewDirectory(bus)
	r := startRig(t, srv, bus, dir, router.Config{})
	r.say("alice", "!echo found you")
	r.expect(`alice said "found you" via chat`)
}

// rawPlugin answers plugin.raw.command by hand, through a static route, so
// a test decides when, and how often, each command is answered.
func rawPlugin(t *testing.T, r *rig) <-chan *eventbus.Event {
	t.Helper()
	got := make(chan *eventbus.Event, 16)
	sub, err := r.bus.Subscribe(protocol.PluginCommand("raw"), func(_ context.Context, ev *eventbus.Event) { got <- ev })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sub.Unsubscribe() })
	if err := r.bus.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	return got
}

func answer(t *testing.T, r *rig, req *eventbus.Event, result string) {
	t.Helper()
	if err := r.bus.Respond(context.Background(), req, plugin.Response{Result: result}); err != nil {
		t.Fatal(err)
	}
}

// An answer that comes after its command timed out is dropped, and never
// taken for the answer to a later command.
func TestLateAnswerIsNotTakenForALaterOne(t *testing.T) {
	is := is.New(t)
	r := newRig(t, router.Config{Timeout: 100 * time.Millisecond, Routes: map[string]string{"raw": "raw"}})
	reqs := rawPlugin(t, r)
	r.say("alice", "!raw one")
	first := natstest.Receive(t, reqs)
	time.Sleep(300 * time.Millisecond) // timed out (a static route's timeout is silent)
	r.say("alice", "!raw two")
	second := natstest.Receive(t, reqs)
	is.True(second.Reply != first.Reply) // a timed-out command's reply subject is not reused
	answer(t, r, first, "late answer to one")
	answer(t, r, second, "answer to two")
	r.expect("answer to two")
	r.expectNone()
}

// A plugin that answers a command twice, the second time without headers
// (as any NATS micro library answers with msg.Respond), never answers
// another command: every command has its own reply subject, used once.
func TestSecondAnswerWithoutHeadersCannotAnswerAnotherCommand(t *testing.T) {
	is := is.New(t)
	r := newRig(t, router.Config{Routes: map[string]string{"raw": "raw"}})
	reqs := rawPlugin(t, r)
	for i := range 20 {
		r.say("alice", fmt.Sprintf("!raw one-%d", i))
		first := natstest.Receive(t, reqs)
		answer(t, r, first, fmt.Sprintf("answer to one-%d", i))
		r.expect(fmt.Sprintf("answer to one-%d", i))
		r.say("bob", fmt.Sprintf("!raw two-%d", i))
		second := natstest.Receive(t, reqs)
		// The same plugin answers the first command again, bare.
		is.NoErr(r.bus.Conn().Publish(first.Reply, []byte(`{"result":"hijacked"}`)))
		is.NoErr(r.bus.Conn().Flush())
		answer(t, r, second, fmt.Sprintf("answer to two-%d", i))
		r.expect(fmt.Sprintf("answer to two-%d", i))
		is.True(second.Reply != first.Reply) // never reused
	}
	r.expectNone()
}

// An answer to a reply subject the router never handed out is ignored.
func TestAnswerOnAGuessedReplySubjectIsIgnored(t *testing.T) {
	is := is.New(t)
	r := newRig(t, router.Config{Routes: map[string]string{"raw": "raw"}})
	reqs := rawPlugin(t, r)
	r.say("alice", "!raw one")
	first := natstest.Receive(t, reqs)
	inbox := first.Reply[:strings.LastIndexByte(first.Reply, '.')]
	for _, guess := range []string{"1", "2", "0", "A", "", "x.y"} {
		is.NoErr(r.bus.Conn().Publish(inbox+"."+guess, []byte(`{"result":"guessed"}`)))
	}
	is.NoErr(r.bus.Conn().Flush())
	answer(t, r, first, "answer to one")
	r.expect("answer to one")
	r.expectNone()
}

// A router started again after Stop answers on its new inbox.
func TestRestartedRouterAnswers(t *testing.T) {
	is := is.New(t)
	r := newRig(t, router.Config{}, echo{})
	r.say("alice", "!echo one")
	r.expect(`alice said "one"`)
	is.NoErr(r.router.Stop(context.Background()))
	is.NoErr(r.router.Start(context.Background()))
	is.NoErr(r.bus.Flush(context.Background()))
	r.say("alice", "!echo two")
	r.expect(`alice said "two"`)
}

// Chat lines and PMs are answered in the order they were said, across the
// two subjects.
func TestChatAndPMAnswersKeepTheOrderSaid(t *testing.T) {
	is := is.New(t)
	r := newRig(t, router.Config{MaxPerUser: 1000}, echo{})
	const n = 200
	for i := range n {
		if i%2 == 0 {
			r.say("alice", fmt.Sprintf("!echo %d", i))
		} else {
			r.pm("alice", fmt.Sprintf("!echo %d", i))
		}
	}
	for i := range n {
		rep := r.next()
		is.Equal(rep.PM, i%2 == 1)
		is.True(strings.Contains(rep.Message, fmt.Sprintf(`"%d"`, i))) // the i-th line's answer
	}
}

// TestAdminsAnswered: the router says its configured admins on
// platform.router.admins, for plugins that protect them (moderation).
func TestAdminsAnswered(t *testing.T) {
	is := is.New(t)
	r := newRig(t, router.Config{Admins: []string{"Chief", "boss"}})
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	ev, err := r.bus.Request(ctx, protocol.RouterAdmins, struct{}{})
	is.NoErr(err)
	var got protocol.RouterAdminsReply
	is.NoErr(ev.Decode(&got))
	is.True(got.OK)
	is.Equal(got.Admins, []string{"Chief", "boss"})
}
