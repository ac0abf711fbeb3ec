package plugin_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/matryer/is"
	"github.com/nats-io/nats.go"

	"github.com/roseybot/rosey/eventbus"
	"github.com/roseybot/rosey/plugin"
	"github.com/roseybot/rosey/protocol"
)

// sideBySide is a plugin whose one command, "do", runs fn; Start asks for
// concurrency n (none when 0).
type sideBySide struct {
	n  int
	fn plugin.CommandHandler
}

func (sideBySide) Info() plugin.Info {
	return plugin.Info{Name: "side", Version: "1.0.0", Commands: []plugin.Command{{Name: "do"}}}
}

func (s sideBySide) Start(_ context.Context, h *plugin.Host) error {
	if s.n != 0 {
		if err := h.Concurrency(s.n); err != nil {
			return err
		}
	}
	h.Handle("do", s.fn)
	return nil
}

func (sideBySide) Stop(context.Context) error { return nil }

// answers are the replies to requests sent with sendAll, by request index.
type answers struct {
	mu  sync.Mutex
	got map[int]plugin.Response
	ch  chan struct{} // a token per answer
}

// sendAll publishes reqs to the side plugin in order, from one connection
// (so they reach the plugin in that order), each with a reply subject of
// its own, and returns where their answers arrive.
func sendAll(t *testing.T, bus *eventbus.Bus, reqs []plugin.Request) *answers {
	t.Helper()
	a := &answers{got: map[int]plugin.Response{}, ch: make(chan struct{}, len(reqs))}
	inbox := nats.NewInbox()
	sub, err := bus.Conn().Subscribe(inbox+".*", func(m *nats.Msg) {
		i, err := strconv.Atoi(m.Subject[len(inbox)+1:])
		var r plugin.Response
		if err == nil {
			err = json.Unmarshal(m.Data, &r)
		}
		if err != nil {
			r.Error = "unreadable answer: " + err.Error()
		}
		a.mu.Lock()
		if _, twice := a.got[i]; twice {
			r.Error = "answered twice"
		}
		a.got[i] = r
		a.mu.Unlock()
		a.ch <- struct{}{}
	})
	if err != nil {
		t.Fatal(err)
	}
	_ = sub.SetPendingLimits(-1, -1)
	t.Cleanup(func() { _ = sub.Unsubscribe() })
	for i, r := range reqs {
		if err := bus.PublishRequest(context.Background(), protocol.PluginCommand("side"), inbox+"."+strconv.Itoa(i), r); err != nil {
			t.Fatal(err)
		}
	}
	if err := bus.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	return a
}

// wait returns every answer once each request has one.
func (a *answers) wait(t *testing.T) map[int]plugin.Response {
	t.Helper()
	for range cap(a.ch) {
		receive(t, a.ch)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.got
}

// users returns one request of the "do" command per user, user0 to user<n-1>.
func users(n int) []plugin.Request {
	reqs := make([]plugin.Request, n)
	for i := range reqs {
		reqs[i] = plugin.Request{Command: "do", User: "user" + strconv.Itoa(i), Args: []string{strconv.Itoa(i)}}
	}
	return reqs
}

// gauge counts the handlers inside at once and the most there were.
type gauge struct{ in, most atomic.Int64 }

func (g *gauge) enter() {
	n := g.in.Add(1)
	for m := g.most.Load(); n > m && !g.most.CompareAndSwap(m, n); m = g.most.Load() {
	}
}

func (g *gauge) leave() { g.in.Add(-1) }

// TestConcurrencyServesSideBySide: with Concurrency(4), four users'
// commands are all inside their handler at once; each waits until the
// others are (served one at a time, the first would wait alone forever).
func TestConcurrencyServesSideBySide(t *testing.T) {
	is := is.New(t)
	srv := startServer(t)
	const n = 4
	var inside atomic.Int64
	all := make(chan struct{})
	run(t, connect(t, srv, "plugin"), plugin.RunConfig{}, sideBySide{n: n, fn: func(ctx context.Context, req *plugin.Request) (string, error) {
		if inside.Add(1) == n {
			close(all)
		}
		select {
		case <-all:
			return "together " + req.Args[0], nil
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}})
	got := sendAll(t, connect(t, srv, "router"), users(n)).wait(t)
	for i := range n {
		is.Equal(got[i], plugin.Response{Result: "together " + strconv.Itoa(i)})
	}
}

// TestConcurrencyDefaultIsOneAtATime: without Concurrency, a command's
// handler has the plugin to itself: the first waits a moment for the
// second to come in, which it does only once the first has answered.
func TestConcurrencyDefaultIsOneAtATime(t *testing.T) {
	is := is.New(t)
	srv := startServer(t)
	var g gauge
	second := make(chan struct{})
	var order []string
	var mu sync.Mutex
	run(t, connect(t, srv, "plugin"), plugin.RunConfig{}, sideBySide{fn: func(ctx context.Context, req *plugin.Request) (string, error) {
		g.enter()
		defer g.leave()
		mu.Lock()
		order = append(order, req.User)
		mu.Unlock()
		if req.User != "user0" {
			close(second)
			return "ok", nil
		}
		// Served side by side, user1 would come in meanwhile.
		select {
		case <-second:
			return "not alone", nil
		case <-time.After(300 * time.Millisecond):
			return "alone", nil
		}
	}})
	got := sendAll(t, connect(t, srv, "router"), users(2)).wait(t)
	is.Equal(got[0].Result, "alone")
	is.Equal(got[1].Result, "ok")
	is.Equal(order, []string{"user0", "user1"})
	is.Equal(g.most.Load(), int64(1))
}

// TestConcurrencyBound: with Concurrency(3) and ten users' commands, three
// handlers are inside at once, never more; each time one leaves another
// comes in, and all are answered.
func TestConcurrencyBound(t *testing.T) {
	is := is.New(t)
	srv := startServer(t)
	const n, total = 3, 10
	var g gauge
	entered := make(chan struct{}, total)
	release := make(chan struct{})
	run(t, connect(t, srv, "plugin"), plugin.RunConfig{}, sideBySide{n: n, fn: func(ctx context.Context, req *plugin.Request) (string, error) {
		g.enter()
		defer g.leave()
		entered <- struct{}{}
		select {
		case <-release:
			return "ok", nil
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}})
	a := sendAll(t, connect(t, srv, "router"), users(total))
	for range n {
		receive(t, entered)
	}
	for range total - n {
		release <- struct{}{} // one leaves…
		receive(t, entered)   // …another comes in
		is.Equal(g.in.Load(), int64(n))
	}
	close(release)
	got := a.wait(t)
	for i := range total {
		is.Equal(got[i].Result, "ok")
	}
	is.Equal(g.most.Load(), int64(n))
}

// TestConcurrencyKeepsEachUsersOrder: alice's commands run one at a time,
// in the order she said them, while bob's run beside them. Alice's first
// command waits for bob's, so her next ones (queued behind it) come after
// bob's too.
func TestConcurrencyKeepsEachUsersOrder(t *testing.T) {
	is := is.New(t)
	srv := startServer(t)
	var mu sync.Mutex
	var log []string
	var aliceInside atomic.Int64
	bobDone := make(chan struct{})
	run(t, connect(t, srv, "plugin"), plugin.RunConfig{}, sideBySide{n: 8, fn: func(ctx context.Context, req *plugin.Request) (string, error) {
		if req.User == "Bob" {
			mu.Lock()
			log = append(log, "bob")
			mu.Unlock()
			close(bobDone)
			return "ok", nil
		}
		if aliceInside.Add(1) != 1 {
			return "", errors.New("two of alice's commands at once")
		}
		defer aliceInside.Add(-1)
		if req.Args[0] == "0" {
			select {
			case <-bobDone:
			case <-ctx.Done():
				return "", ctx.Err()
			}
		}
		mu.Lock()
		log = append(log, "alice "+req.Args[0])
		mu.Unlock()
		return "ok", nil
	}})
	const said = 20
	var reqs []plugin.Request
	want := []string{"bob"}
	for i := range said {
		// Names compare case-insensitively: ALICE is alice.
		user := []string{"alice", "Alice", "ALICE"}[i%3]
		reqs = append(reqs, plugin.Request{Command: "do", User: user, Args: []string{strconv.Itoa(i)}})
		want = append(want, "alice "+strconv.Itoa(i))
	}
	reqs = append(reqs, plugin.Request{Command: "do", User: "Bob", Args: []string{"x"}})
	got := sendAll(t, connect(t, srv, "router"), reqs).wait(t)
	for i := range reqs {
		is.Equal(got[i].Result, "ok")
	}
	mu.Lock()
	defer mu.Unlock()
	is.Equal(log, want)
}

// TestConcurrencyStopWaitsForCommandsInFlight: stopping a plugin serving
// side by side, with commands running and more waiting their turn (one
// user's behind another of theirs, others for a free slot), answers every
// one of them before Stop returns; none is lost or turned away, and the
// statistics count them all.
func TestConcurrencyStopWaitsForCommandsInFlight(t *testing.T) {
	is := is.New(t)
	srv := startServer(t)
	const n = 4
	var finished atomic.Int64
	entered := make(chan struct{}, 64)
	release := make(chan struct{})
	bus := connect(t, srv, "plugin")
	in := run(t, bus, plugin.RunConfig{}, sideBySide{n: n, fn: func(ctx context.Context, req *plugin.Request) (string, error) {
		defer finished.Add(1)
		entered <- struct{}{}
		select {
		case <-release:
			return "ok " + req.Args[0], nil
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}})
	reqs := users(12)
	for i := range 6 { // and a second command of six of those users
		reqs = append(reqs, plugin.Request{Command: "do", User: "user" + strconv.Itoa(i), Args: []string{strconv.Itoa(len(reqs))}})
	}
	a := sendAll(t, connect(t, srv, "router"), reqs)
	for range n {
		receive(t, entered)
	}
	stopped := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		stopped <- in.Stop(ctx)
		// Stop returns only once every command has been served.
		if f := finished.Load(); f != int64(len(reqs)) {
			t.Errorf("Stop returned with %d of %d commands served", f, len(reqs))
		}
	}()
	// Once Stop has unsubscribed the endpoint it waits for the commands
	// it holds. One ends, then the others pause for longer than the quiet
	// moment after which a Stop that forgot them would end their context
	// (they would answer an error), and well within the second without
	// progress after which Stop takes them for stuck.
	subject := bus.Subject(protocol.PluginCommand("side"))
	for deadline := time.Now().Add(wait); srv.NATS().GlobalAccount().SubscriptionInterest(subject); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("Stop never unsubscribed the endpoint")
		}
	}
	release <- struct{}{}
	time.Sleep(200 * time.Millisecond)
	close(release)
	is.NoErr(receive(t, stopped))
	got := a.wait(t)
	for i := range reqs {
		is.Equal(got[i], plugin.Response{Result: "ok " + strconv.Itoa(i)})
	}
	requests, errs, _ := in.Stats()
	is.Equal(requests, len(reqs))
	is.Equal(errs, 0)
}

// TestConcurrencyFullPoolWaits: with more commands than run at once and
// can wait in the plugin (256), the rest wait in the subscription until
// there is room: every one is answered, none twice, none dropped.
func TestConcurrencyFullPoolWaits(t *testing.T) {
	is := is.New(t)
	srv := startServer(t)
	const n, total = 2, 2 + 256 + 50
	entered := make(chan struct{}, total)
	release := make(chan struct{})
	in := run(t, connect(t, srv, "plugin"), plugin.RunConfig{}, sideBySide{n: n, fn: func(ctx context.Context, req *plugin.Request) (string, error) {
		entered <- struct{}{}
		select {
		case <-release:
			return "ok " + req.Args[0], nil
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}})
	a := sendAll(t, connect(t, srv, "router"), users(total))
	for range n {
		receive(t, entered)
	}
	close(release)
	got := a.wait(t)
	for i := range total {
		is.Equal(got[i], plugin.Response{Result: "ok " + strconv.Itoa(i)})
	}
	requests, errs, _ := in.Stats()
	is.Equal(requests, total)
	is.Equal(errs, 0)
}

// TestConcurrencyOneUserCannotFillThePool: one user (here in many
// channels, each within the router's own per-channel bound, or a component
// publishing to the command subject directly) holds at most
// plugin.MaxPerUser of a pool's commands; past that theirs are turned away
// at once, so the others' commands are still taken in and served while the
// user's wait.
func TestConcurrencyOneUserCannotFillThePool(t *testing.T) {
	is := is.New(t)
	srv := startServer(t)
	const n, flood = 2, 2 + 256 + 50
	release := make(chan struct{})
	in := run(t, connect(t, srv, "plugin"), plugin.RunConfig{}, sideBySide{n: n, fn: func(ctx context.Context, req *plugin.Request) (string, error) {
		if req.User != "alice" {
			select {
			case <-release:
			case <-ctx.Done():
				return "", ctx.Err()
			}
		}
		return "ok " + req.Args[0], nil
	}})
	var reqs []plugin.Request
	for i := range flood {
		reqs = append(reqs, plugin.Request{Command: "do", User: []string{"mallory", "Mallory"}[i%2],
			Channel: "chan" + strconv.Itoa(i%8), Args: []string{strconv.Itoa(i)}})
	}
	reqs = append(reqs, plugin.Request{Command: "do", User: "alice", Channel: "chan0", Args: []string{strconv.Itoa(flood)}})
	a := sendAll(t, connect(t, srv, "router"), reqs)
	// alice is answered while mallory's commands still wait; mallory's
	// past the bound were turned away before alice's came in.
	for {
		receive(t, a.ch)
		a.mu.Lock()
		_, done := a.got[flood]
		a.mu.Unlock()
		if done {
			break
		}
	}
	a.mu.Lock()
	is.Equal(a.got[flood], plugin.Response{Result: "ok " + strconv.Itoa(flood)})
	is.Equal(len(a.got), 1+flood-plugin.MaxPerUser)
	for i := plugin.MaxPerUser; i < flood; i++ {
		is.Equal(a.got[i], plugin.Response{Error: "⚠️ " + reqs[i].User + ", too many of your commands are waiting in side; try again in a moment."})
	}
	a.mu.Unlock()
	close(release)
	for {
		a.mu.Lock()
		all := len(a.got) == len(reqs)
		a.mu.Unlock()
		if all {
			break
		}
		receive(t, a.ch)
	}
	a.mu.Lock()
	for i := range plugin.MaxPerUser {
		is.Equal(a.got[i], plugin.Response{Result: "ok " + strconv.Itoa(i)})
	}
	is.Equal(len(a.got), len(reqs))
	a.mu.Unlock()
	requests, errs, _ := in.Stats()
	is.Equal(requests, len(reqs))
	is.Equal(errs, flood-plugin.MaxPerUser) // the ones turned away
}

// TestConcurrencyRecoversPanicsAndCountsErrors: a handler that panics
// beside others is answered "internal error" and counted as an error; the
// others are served as usual.
func TestConcurrencyRecoversPanicsAndCountsErrors(t *testing.T) {
	is := is.New(t)
	srv := startServer(t)
	in := run(t, connect(t, srv, "plugin"), plugin.RunConfig{}, sideBySide{n: 4, fn: func(_ context.Context, req *plugin.Request) (string, error) {
		switch req.Args[0] {
		case "3":
			panic("boom")
		case "5":
			return "", plugin.UserError("❌ no")
		case "6":
			return "", errors.New("broken")
		}
		return "ok", nil
	}})
	reqs := append(users(8), plugin.Request{Command: "nope", User: "x"})
	got := sendAll(t, connect(t, srv, "router"), reqs).wait(t)
	for i := range 8 {
		switch i {
		case 3, 6:
			is.Equal(got[i], plugin.Response{Error: "internal error"})
		case 5:
			is.Equal(got[i], plugin.Response{Error: "❌ no"})
		default:
			is.Equal(got[i], plugin.Response{Result: "ok"})
		}
	}
	is.Equal(got[8], plugin.Response{Error: `unknown command "nope"`})
	requests, errs, last := in.Stats()
	is.Equal(requests, 9)
	is.Equal(errs, 3) // the panic, the failure, the unknown command
	is.True(last != "")
}

// TestConcurrencyIsValidated: a bound out of range fails the plugin's
// start, and asking once the plugin serves is refused.
func TestConcurrencyIsValidated(t *testing.T) {
	srv := startServer(t)
	bus := connect(t, srv, "plugin")
	for _, n := range []int{-1, plugin.MaxConcurrency + 1} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			is := is.New(t)
			_, err := plugin.Run(context.Background(), sideBySide{n: n}, bus, plugin.RunConfig{})
			is.True(errors.Is(err, plugin.ErrStartFailed))
			is.True(errors.Is(err, plugin.ErrInvalidConcurrency))
		})
	}
	t.Run("late", func(t *testing.T) {
		is := is.New(t)
		var host *plugin.Host
		late := &lateConcurrency{host: &host}
		run(t, bus, plugin.RunConfig{}, late)
		is.True(errors.Is(host.Concurrency(2), plugin.ErrInvalidConcurrency))
	})
}

// lateConcurrency keeps its Host, to call Concurrency once it serves.
type lateConcurrency struct{ host **plugin.Host }

func (lateConcurrency) Info() plugin.Info { return plugin.Info{Name: "late", Version: "1.0.0"} }

func (l *lateConcurrency) Start(_ context.Context, h *plugin.Host) error { *l.host = h; return nil }

func (lateConcurrency) Stop(context.Context) error { return nil }
