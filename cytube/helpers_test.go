package cytube_test

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/roseybot/rosey/cytube"
	"github.com/roseybot/rosey/cytube/cytubetest"
	"github.com/roseybot/rosey/eventbus"
	"github.com/roseybot/rosey/eventbus/embedded"
	"github.com/roseybot/rosey/protocol"
)

// wait is the generous deadline for anything a test waits for.
const wait = 20 * time.Second

type harness struct {
	t   *testing.T
	srv *cytubetest.Server
	bus *eventbus.Bus
	// conn is started by the harness's first wait, mark or publish, so the
	// accounts and channels a test adds to srv first are there when it
	// logs in (started at once, its login raced the test's setup).
	conn  *cytube.Connector
	cfg   cytube.Config
	start sync.Once

	mu     sync.Mutex
	events []*eventbus.Event
	cond   chan struct{}
}

// testConfig returns connector settings scaled for tests.
func testConfig(srv *cytubetest.Server) cytube.Config {
	return cytube.Config{
		Server:           srv.URL,
		Channel:          "test",
		User:             "bot",
		Rate:             50,
		Burst:            10,
		BackoffMin:       20 * time.Millisecond,
		BackoffMax:       200 * time.Millisecond,
		StableAfter:      time.Second,
		ConnectInterval:  50 * time.Millisecond,
		HandshakeTimeout: 2 * time.Second,
		CooldownRecovery: 200 * time.Millisecond,
	}
}

// newBus starts an embedded NATS server and connects a bus to it.
func newBus(t testing.TB) *eventbus.Bus {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	ns, err := embedded.Start(ctx, embedded.Config{NoListen: true})
	if err != nil {
		t.Fatal(err)
	}
	bus, err := eventbus.Connect(ctx, ns.BusConfig(t.Name()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		_ = bus.Close(ctx)
		_ = ns.Shutdown(ctx)
	})
	return bus
}

// newHarness starts a fake server and a bus that records every cytube.>
// event. The connector, configured by edit, starts at the harness's first
// wait, mark or publish: set the server up before that.
func newHarness(t *testing.T, scfg cytubetest.Config, edit func(*cytube.Config)) *harness {
	t.Helper()
	srv := cytubetest.NewServer(scfg)
	t.Cleanup(srv.Close)
	h := &harness{t: t, srv: srv, bus: newBus(t), cond: make(chan struct{})}
	if _, err := h.bus.Subscribe("cytube.>", func(_ context.Context, ev *eventbus.Event) {
		h.mu.Lock()
		h.events = append(h.events, ev)
		close(h.cond)
		h.cond = make(chan struct{})
		h.mu.Unlock()
	}); err != nil {
		t.Fatal(err)
	}
	h.cfg = testConfig(srv)
	if edit != nil {
		edit(&h.cfg)
	}
	return h
}

// connect starts the harness's connector, once.
func (h *harness) connect() {
	h.start.Do(func() { h.conn = h.newConnector(h.cfg) })
}

func (h *harness) newConnector(cfg cytube.Config) *cytube.Connector {
	h.t.Helper()
	c, err := cytube.New(h.bus, cfg)
	if err != nil {
		h.t.Fatal(err)
	}
	if err := c.Start(context.Background()); err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		if err := c.Stop(ctx); err != nil {
			h.t.Errorf("stop: %v", err)
		}
	})
	return c
}

// waitEvent waits for an event on subject matching match, starting after
// the from-th recorded event, and returns it with its index.
func (h *harness) waitEvent(from int, subject string, match func(*eventbus.Event) bool) (*eventbus.Event, int) {
	h.t.Helper()
	h.connect()
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	for {
		h.mu.Lock()
		for i := from; i < len(h.events); i++ {
			if ev := h.events[i]; ev.Subject == subject && (match == nil || match(ev)) {
				h.mu.Unlock()
				return ev, i
			}
		}
		from = len(h.events)
		ch := h.cond
		h.mu.Unlock()
		select {
		case <-ch:
		case <-deadline.C:
			h.t.Fatalf("no %s event in %s; state %s", subject, wait, h.conn.State())
		}
	}
}

func (h *harness) mark() int {
	h.connect()
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.events)
}

// waitState waits for a cytube.connection event with state after from.
func (h *harness) waitState(from int, state string) (protocol.ConnectionEvent, int) {
	h.t.Helper()
	var ce protocol.ConnectionEvent
	_, i := h.waitEvent(from, protocol.Connection, func(ev *eventbus.Event) bool {
		var c protocol.ConnectionEvent
		if ev.Decode(&c) != nil || c.State != state {
			return false
		}
		ce = c
		return true
	})
	return ce, i
}

func (h *harness) publish(subject string, v any) {
	h.t.Helper()
	h.connect()
	if err := h.bus.Publish(context.Background(), subject, v); err != nil {
		h.t.Fatal(err)
	}
}

// waitBotSaid waits until the bot's chat text (plain) equals text.
func (h *harness) waitBotSaid(text string) cytubetest.Message {
	h.t.Helper()
	h.connect()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	m, err := h.srv.WaitMessage(ctx, func(m cytubetest.Message) bool {
		return m.From == "bot" && m.To == "" && cytube.PlainText(m.HTML) == text
	})
	if err != nil {
		h.t.Fatalf("bot never said %q: %v (state %s)", text, err, h.conn.State())
	}
	return m
}

// botLines returns the plain text of everything the bot said in chat.
func (h *harness) botLines() []string {
	var out []string
	for _, m := range h.srv.Messages() {
		if m.From == "bot" && m.To == "" {
			out = append(out, cytube.PlainText(m.HTML))
		}
	}
	return out
}

// echo is the in-test stand-in for router + plugin: "!echo x" in chat is
// answered "echo: x" in chat, and by PM when it came by PM.
func echo(t testing.TB, bus *eventbus.Bus) {
	t.Helper()
	for _, subj := range []string{protocol.Chat, protocol.PM} {
		subj := subj
		_, err := bus.Subscribe(subj, func(ctx context.Context, ev *eventbus.Event) {
			var m protocol.ChatMessage
			if ev.Decode(&m) != nil {
				return
			}
			rest, ok := strings.CutPrefix(m.Message, "!echo ")
			if !ok {
				return
			}
			if subj == protocol.PM {
				_ = bus.Publish(ctx, protocol.SendPM, protocol.SendPMRequest{To: m.User, Message: "echo: " + rest})
				return
			}
			_ = bus.Publish(ctx, protocol.SendChat, protocol.SendChatRequest{Message: "echo: " + rest})
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

func decodeChat(t *testing.T, ev *eventbus.Event) protocol.ChatMessage {
	t.Helper()
	var m protocol.ChatMessage
	if err := json.Unmarshal(ev.Data, &m); err != nil {
		t.Fatal(err)
	}
	return m
}
