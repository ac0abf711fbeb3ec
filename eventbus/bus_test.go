package eventbus_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/matryer/is"
	"github.com/nats-io/nats.go"

	"github.com/roseybot/rosey/eventbus"
)

type greeting struct {
	Text string `json:"text"`
}

func TestPublishSubscribeCarriesTheEnvelope(t *testing.T) {
	is := is.New(t)
	srv := startServer(t)
	pub := connect(t, srv, "publisher", func(c *eventbus.Config) { c.Source = "dice-roller" })
	sub := connect(t, srv, "subscriber")
	got := collect(t, sub, "test.hello")
	raw := make(chan *nats.Msg, 1)
	rs, err := sub.Conn().ChanSubscribe("test.hello", raw)
	is.NoErr(err)
	defer rs.Unsubscribe()
	is.NoErr(sub.Flush(context.Background()))

	before := time.Now()
	ctx := eventbus.WithCorrelationID(context.Background(), "corr-1")
	is.NoErr(pub.Publish(ctx, "test.hello", greeting{"hi"},
		eventbus.WithPriority(eventbus.PriorityHigh),
		eventbus.WithMetadata("channel", "lobby"),
		eventbus.WithMetadata("Attempt", "2")))
	ev := receive(t, got)
	after := time.Now()

	is.Equal(ev.Subject, "test.hello")
	is.Equal(ev.CorrelationID, "corr-1")
	is.Equal(ev.Priority, eventbus.PriorityHigh)
	is.Equal(ev.Source, "dice-roller")
	is.Equal(ev.Metadata, map[string]string{"channel": "lobby", "Attempt": "2"})
	is.True(!ev.IsRequest())
	is.True(!ev.Timestamp.Before(before.Truncate(time.Microsecond)) && !ev.Timestamp.After(after))
	var g greeting
	is.NoErr(ev.Decode(&g))
	is.Equal(g.Text, "hi")

	// On the wire: a plain JSON body and Rosey-* headers.
	m := receive(t, raw)
	is.Equal(string(m.Data), `{"text":"hi"}`)
	is.Equal(m.Header.Get(eventbus.HeaderCorrelationID), "corr-1")
	is.Equal(m.Header.Get(eventbus.HeaderPriority), "high")
	is.Equal(m.Header.Get(eventbus.HeaderSource), "dice-roller")
	is.Equal(m.Header.Get(eventbus.HeaderMetaPrefix+"channel"), "lobby")
	ts, err := time.Parse(time.RFC3339Nano, m.Header.Get(eventbus.HeaderTimestamp))
	is.NoErr(err)
	is.True(ts.Equal(ev.Timestamp))
	is.True(strings.HasSuffix(m.Header.Get(eventbus.HeaderTimestamp), "Z")) // UTC
}

func TestDefaultsWithoutOptions(t *testing.T) {
	is := is.New(t)
	srv := startServer(t)
	bus := connect(t, srv, "plain")
	got := collect(t, bus, "test.defaults")
	is.NoErr(bus.Publish(context.Background(), "test.defaults", nil))
	ev := receive(t, got)
	is.Equal(ev.Priority, eventbus.PriorityNormal)
	is.Equal(ev.Source, "plain")    // the connection name
	is.True(ev.CorrelationID != "") // a fresh id
	is.Equal(string(ev.Data), "{}")
	is.Equal(ev.Metadata, nil)

	// Options override the context and the bus.
	ctx := eventbus.WithCorrelationID(context.Background(), "from-ctx")
	is.NoErr(bus.Publish(ctx, "test.defaults", []byte(`[1,2]`), eventbus.WithCorrelation("from-opt"), eventbus.WithSource("other")))
	ev = receive(t, got)
	is.Equal(ev.CorrelationID, "from-opt")
	is.Equal(ev.Source, "other")
	is.Equal(string(ev.Data), `[1,2]`) // []byte passes through
}

func TestForeignHeadersGetDefaults(t *testing.T) {
	is := is.New(t)
	srv := startServer(t)
	bus := connect(t, srv, "b")
	got := collect(t, bus, "test.foreign")
	// What a hand-written plugin in another language might send.
	m := nats.NewMsg("test.foreign")
	m.Data = []byte(`{}`)
	m.Header.Set(eventbus.HeaderPriority, "URGENT!!")
	m.Header.Set(eventbus.HeaderTimestamp, "yesterday")
	m.Header.Set("rosey-meta-lower", "kept")
	is.NoErr(bus.Conn().PublishMsg(m))
	ev := receive(t, got)
	is.Equal(ev.Priority, eventbus.PriorityNormal)
	is.True(ev.Timestamp.IsZero())
	is.Equal(ev.CorrelationID, "")
	is.Equal(ev.Metadata["lower"], "kept")

	is.NoErr(bus.Conn().Publish("test.foreign", []byte(`{}`))) // no headers at all
	ev = receive(t, got)
	is.Equal(ev.Priority, eventbus.PriorityNormal)
	is.Equal(ev.Metadata, nil)
}

func TestQueueSubscribeSpreadsAcrossTheGroup(t *testing.T) {
	is := is.New(t)
	srv := startServer(t)
	pub := connect(t, srv, "pub")
	const n = 60
	got := make(chan string, n*2)
	for _, name := range []string{"a", "b"} {
		b := connect(t, srv, name)
		_, err := b.QueueSubscribe("work.jobs", "workers", func(_ context.Context, ev *eventbus.Event) { got <- name })
		is.NoErr(err)
		is.NoErr(b.Flush(context.Background()))
	}
	for i := 0; i < n; i++ {
		is.NoErr(pub.Publish(context.Background(), "work.jobs", map[string]int{"i": i}))
	}
	counts := map[string]int{}
	for i := 0; i < n; i++ {
		counts[receive(t, got)]++
	}
	is.Equal(counts["a"]+counts["b"], n) // each job once
	is.True(counts["a"] > 0)             // and both members worked
	is.True(counts["b"] > 0)
	// Nothing was delivered twice: one more job makes exactly one more delivery.
	is.NoErr(pub.Publish(context.Background(), "work.jobs", map[string]int{"i": n}))
	receive(t, got)
	is.NoErr(pub.Flush(context.Background()))
	select {
	case extra := <-got:
		t.Fatalf("a job was delivered twice (extra to %s)", extra)
	default:
	}
}

func TestRequestReply(t *testing.T) {
	is := is.New(t)
	srv := startServer(t)
	server := connect(t, srv, "server")
	client := connect(t, srv, "client")
	_, err := server.Subscribe("math.double", func(ctx context.Context, ev *eventbus.Event) {
		var n int
		if err := ev.Decode(&n); err != nil {
			_ = server.Respond(ctx, ev, map[string]string{"error": err.Error()})
			return
		}
		_ = server.Respond(ctx, ev, n*2, eventbus.WithMetadata("op", "double"))
	})
	is.NoErr(err)
	is.NoErr(server.Flush(context.Background()))

	ctx := eventbus.WithCorrelationID(context.Background(), "req-7")
	rep, err := client.Request(ctx, "math.double", 21)
	is.NoErr(err)
	var n int
	is.NoErr(rep.Decode(&n))
	is.Equal(n, 42)
	is.Equal(rep.CorrelationID, "req-7") // a reply keeps its request's id
	is.Equal(rep.Source, "server")
	is.Equal(rep.Metadata["op"], "double")

	// Respond refuses an event that is not a request.
	err = server.Respond(context.Background(), &eventbus.Event{Subject: "x"}, 1)
	is.True(err != nil)
}

func TestRequestErrors(t *testing.T) {
	is := is.New(t)
	srv := startServer(t)
	bus := connect(t, srv, "b", func(c *eventbus.Config) { c.RequestTimeout = 200 * time.Millisecond })

	_, err := bus.Request(context.Background(), "nobody.home", nil)
	is.True(errors.Is(err, eventbus.ErrNoResponders))

	// A listener that never answers: the bus's request timeout applies...
	_, err = bus.Subscribe("silent.one", func(context.Context, *eventbus.Event) {})
	is.NoErr(err)
	is.NoErr(bus.Flush(context.Background()))
	_, err = bus.Request(context.Background(), "silent.one", nil)
	is.True(errors.Is(err, eventbus.ErrTimeout))
	// ...or the context's deadline.
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err = bus.Request(ctx, "silent.one", nil)
	is.True(errors.Is(err, eventbus.ErrTimeout))
	is.True(strings.Contains(err.Error(), "silent.one"))

	// Unencodable data is refused before anything is sent.
	_, err = bus.Request(context.Background(), "silent.one", make(chan int))
	is.True(err != nil)
	is.True(!errors.Is(err, eventbus.ErrTimeout))
}

func TestCorrelationFlowsThroughHandlers(t *testing.T) {
	is := is.New(t)
	srv := startServer(t)
	front := connect(t, srv, "front")
	back := connect(t, srv, "back")
	watcher := connect(t, srv, "watcher")
	sideEffects := collect(t, watcher, "audit.>")

	// back answers lookups; front handles orders by asking back and
	// publishing an audit event, all with the ctx it was given.
	_, err := back.Subscribe("svc.lookup", func(ctx context.Context, ev *eventbus.Event) {
		_ = back.Publish(ctx, "audit.lookup", nil)
		_ = back.Respond(ctx, ev, "found")
	})
	is.NoErr(err)
	replyIDs := make(chan string, 1)
	_, err = front.Subscribe("svc.order", func(ctx context.Context, ev *eventbus.Event) {
		rep, err := front.Request(ctx, "svc.lookup", nil)
		if err != nil {
			replyIDs <- "error: " + err.Error()
			return
		}
		replyIDs <- rep.CorrelationID
		_ = front.Publish(ctx, "audit.order", nil)
		_ = front.Respond(ctx, ev, "ordered")
	})
	is.NoErr(err)
	is.NoErr(front.Flush(context.Background()))
	is.NoErr(back.Flush(context.Background()))

	rep, err := watcher.Request(context.Background(), "svc.order", nil, eventbus.WithCorrelation("order-99"))
	is.NoErr(err)
	is.Equal(rep.CorrelationID, "order-99")
	is.Equal(receive(t, replyIDs), "order-99")
	seen := map[string]string{}
	for range 2 {
		ev := receive(t, sideEffects)
		seen[ev.Subject] = ev.CorrelationID
	}
	is.Equal(seen, map[string]string{"audit.lookup": "order-99", "audit.order": "order-99"})
}

func TestHandlerPanicIsRecoveredAndCounted(t *testing.T) {
	is := is.New(t)
	srv := startServer(t)
	bus := connect(t, srv, "b")
	ok := make(chan string, 4)
	_, err := bus.Subscribe("risky.>", func(_ context.Context, ev *eventbus.Event) {
		if ev.Subject == "risky.boom" {
			panic("handler exploded")
		}
		ok <- ev.Subject
	})
	is.NoErr(err)
	is.NoErr(bus.Flush(context.Background()))
	is.NoErr(bus.Publish(context.Background(), "risky.boom", nil))
	is.NoErr(bus.Publish(context.Background(), "risky.fine", nil))
	is.Equal(receive(t, ok), "risky.fine") // the same subscription still delivers
	is.Equal(bus.Stats().Panics, uint64(1))
	is.True(bus.Stats().Received >= 2)
	is.True(bus.Stats().Published >= 2)
	// Publish and request still work on the bus.
	_, err = bus.Subscribe("risky2.echo", func(ctx context.Context, ev *eventbus.Event) { _ = bus.Respond(ctx, ev, "pong") })
	is.NoErr(err)
	is.NoErr(bus.Flush(context.Background()))
	rep, err := bus.Request(context.Background(), "risky2.echo", nil)
	is.NoErr(err)
	is.Equal(string(rep.Data), `"pong"`)
}

func TestMalformedPayloadDecodesToErrMalformed(t *testing.T) {
	is := is.New(t)
	srv := startServer(t)
	bus := connect(t, srv, "b")
	got := collect(t, bus, "test.bad")
	for _, body := range []string{`{"text": `, `not json`, ``, `{"text": 12}`} {
		is.NoErr(bus.Conn().Publish("test.bad", []byte(body)))
		ev := receive(t, got)
		var g greeting
		err := ev.Decode(&g)
		is.True(errors.Is(err, eventbus.ErrMalformed))
		is.True(strings.Contains(err.Error(), "test.bad")) // names the subject
	}
}

func TestSubjectPrefixAppliedAndStripped(t *testing.T) {
	is := is.New(t)
	srv := startServer(t)
	botA := connect(t, srv, "a", func(c *eventbus.Config) { c.Prefix = "bot-a" })
	botB := connect(t, srv, "b", func(c *eventbus.Config) { c.Prefix = "bot-b" })
	plain := connect(t, srv, "plain")
	is.Equal(botA.Prefix(), "bot-a.")
	is.Equal(botA.Subject("cytube.chat"), "bot-a.cytube.chat")
	is.Equal(plain.Prefix(), "")

	gotA := collect(t, botA, "cytube.chat")
	gotB := collect(t, botB, "cytube.chat")
	gotPlain := collect(t, plain, "cytube.chat")
	gotRaw := collect(t, plain, "bot-a.cytube.chat")
	_, err := botA.Subscribe("svc.ping", func(ctx context.Context, ev *eventbus.Event) {
		_ = botA.Respond(ctx, ev, ev.Subject)
	})
	is.NoErr(err)
	is.NoErr(botA.Flush(context.Background()))

	is.NoErr(botA.Publish(context.Background(), "cytube.chat", greeting{"a"}))
	ev := receive(t, gotA)
	is.Equal(ev.Subject, "cytube.chat") // stripped
	raw := receive(t, gotRaw)
	is.Equal(raw.Subject, "bot-a.cytube.chat") // what is really on the wire
	rep, err := botA.Request(context.Background(), "svc.ping", nil)
	is.NoErr(err)
	is.Equal(string(rep.Data), `"svc.ping"`)

	// Neither the other bot nor an unprefixed client heard it.
	is.NoErr(botB.Publish(context.Background(), "cytube.chat", greeting{"b"}))
	ev = receive(t, gotB)
	var g greeting
	is.NoErr(ev.Decode(&g))
	is.Equal(g.Text, "b")
	is.NoErr(plain.Flush(context.Background()))
	select {
	case ev := <-gotPlain:
		t.Fatalf("unprefixed bus got %s", ev.Data)
	case ev := <-gotA:
		t.Fatalf("bot a got bot b's %s", ev.Data)
	default:
	}
}

func TestConfigValidateNamesTheField(t *testing.T) {
	for _, tc := range []struct {
		cfg  eventbus.Config
		want string
	}{
		{eventbus.Config{}, "urls"},
		{eventbus.Config{URLs: []string{"nats://a:4222", " "}}, "urls[1]"},
		{eventbus.Config{URLs: []string{"nats://a"}, Token: "t", User: "u"}, "token"},
		{eventbus.Config{URLs: []string{"nats://a"}, Password: "p"}, "user"},
		{eventbus.Config{URLs: []string{"nats://a"}, CredentialsFile: "c", NKeyFile: "n"}, "nkey_file"},
		{eventbus.Config{URLs: []string{"nats://a"}, TLS: &eventbus.TLSConfig{CertFile: "c"}}, "tls"},
		{eventbus.Config{URLs: []string{"nats://a"}, Prefix: "bad prefix"}, "prefix"},
		{eventbus.Config{URLs: []string{"nats://a"}, Prefix: "wild.*"}, "prefix"},
		{eventbus.Config{URLs: []string{"nats://a"}, Prefix: "trailing."}, "prefix"},
		{eventbus.Config{URLs: []string{"nats://a"}, RequestTimeout: -time.Second}, "request_timeout"},
	} {
		t.Run(tc.want, func(t *testing.T) {
			is := is.New(t)
			err := tc.cfg.Validate()
			is.True(errors.Is(err, eventbus.ErrInvalidConfig))
			if !strings.Contains(err.Error(), tc.want+":") {
				t.Fatalf("error %q does not name %q", err, tc.want)
			}
			// Connect validates first.
			_, err = eventbus.Connect(context.Background(), tc.cfg)
			is.True(errors.Is(err, eventbus.ErrInvalidConfig))
		})
	}
	is := is.New(t)
	is.NoErr(eventbus.Config{URLs: []string{"nats://127.0.0.1:4222"}, Prefix: "bot.one"}.Validate())
}

func TestCloseDrains(t *testing.T) {
	is := is.New(t)
	srv := startServer(t)
	bus, err := eventbus.Connect(context.Background(), srv.BusConfig("drainer"))
	is.NoErr(err)
	release := make(chan struct{})
	var mu sync.Mutex
	var handled []string
	_, err = bus.Subscribe("work.>", func(_ context.Context, ev *eventbus.Event) {
		if ev.Subject == "work.first" {
			<-release // still busy when Close is called
		}
		mu.Lock()
		handled = append(handled, ev.Subject)
		mu.Unlock()
	})
	is.NoErr(err)
	is.NoErr(bus.Flush(context.Background()))
	is.NoErr(bus.Publish(context.Background(), "work.first", nil))
	is.NoErr(bus.Publish(context.Background(), "work.last", nil)) // just before Close
	closed := make(chan error, 1)
	go func() { closed <- bus.Close(context.Background()) }()
	select {
	case err := <-closed:
		t.Fatalf("Close returned (%v) while a handler was still running", err)
	default:
	}
	close(release)
	is.NoErr(receive(t, closed))
	mu.Lock()
	is.Equal(handled, []string{"work.first", "work.last"})
	mu.Unlock()
	<-bus.Closed()
	is.NoErr(bus.Close(context.Background())) // a second Close is harmless

	err = bus.Publish(context.Background(), "work.after", nil)
	is.True(errors.Is(err, eventbus.ErrClosed))
	_, err = bus.Request(context.Background(), "work.after", nil)
	is.True(errors.Is(err, eventbus.ErrClosed))
}

func TestInvalidSubjectsRefused(t *testing.T) {
	is := is.New(t)
	srv := startServer(t)
	bus := connect(t, srv, "b")
	for _, s := range []string{"", "a b", "tab\there", "new\nline", ".lead", "trail.", "a..b"} {
		err := bus.Publish(context.Background(), s, nil)
		is.True(errors.Is(err, eventbus.ErrInvalidSubject))
		_, err = bus.Request(context.Background(), s, nil)
		is.True(errors.Is(err, eventbus.ErrInvalidSubject))
		_, err = bus.Subscribe(s, func(context.Context, *eventbus.Event) {})
		is.True(errors.Is(err, eventbus.ErrInvalidSubject))
		_, err = bus.QueueSubscribe(s, "q", func(context.Context, *eventbus.Event) {})
		is.True(errors.Is(err, eventbus.ErrInvalidSubject))
	}
	// Wildcards are fine for subscribing.
	_, err := bus.Subscribe("cytube.*", func(context.Context, *eventbus.Event) {})
	is.NoErr(err)
	_, err = bus.Subscribe("platform.>", func(context.Context, *eventbus.Event) {})
	is.NoErr(err)
}

func TestUnsubscribeStopsDelivery(t *testing.T) {
	is := is.New(t)
	srv := startServer(t)
	bus := connect(t, srv, "b")
	got := make(chan string, 8)
	s, err := bus.Subscribe("u.one", func(_ context.Context, ev *eventbus.Event) { got <- "one" })
	is.NoErr(err)
	is.Equal(s.Subject(), "u.one")
	barrier := collect(t, bus, "u.barrier")
	is.NoErr(s.Unsubscribe())
	is.NoErr(bus.Publish(context.Background(), "u.one", nil))
	is.NoErr(bus.Publish(context.Background(), "u.barrier", nil))
	receive(t, barrier) // sent after u.one on the same connection
	select {
	case <-got:
		t.Fatal("delivered after Unsubscribe")
	default:
	}
}

func TestPriorityValid(t *testing.T) {
	is := is.New(t)
	for _, p := range []eventbus.Priority{eventbus.PriorityLow, eventbus.PriorityNormal, eventbus.PriorityHigh, eventbus.PriorityCritical} {
		is.True(p.Valid())
	}
	is.True(!eventbus.Priority("urgent").Valid())
	is.True(!eventbus.Priority("").Valid())
}

func TestDrainWaitsUntilUnreachable(t *testing.T) {
	is := is.New(t)
	srv := startServer(t)
	a, b := connect(t, srv, "a"), connect(t, srv, "b")
	ctx := context.Background()
	for range 20 {
		sub, err := a.Subscribe("drain.ping", func(ctx context.Context, ev *eventbus.Event) { _ = a.Respond(ctx, ev, "pong") })
		is.NoErr(err)
		is.NoErr(a.Flush(ctx))
		_, err = b.Request(ctx, "drain.ping", nil)
		is.NoErr(err)
		is.NoErr(sub.Drain(ctx))
		_, err = b.Request(ctx, "drain.ping", nil)
		is.True(errors.Is(err, eventbus.ErrNoResponders)) // gone for everyone once Drain returns
	}
}

func TestEnvelopeHeaderNamesAnyCase(t *testing.T) {
	is := is.New(t)
	srv := startServer(t)
	bus := connect(t, srv, "bot")
	got := collect(t, bus, "case.test")
	msg := nats.NewMsg("case.test")
	msg.Data = []byte(`{}`)
	msg.Header = nats.Header{"rosey-correlation-id": {"abc"}, "ROSEY-SOURCE": {"node-plugin"}, "rosey-priority": {"HIGH"}}
	is.NoErr(bus.Conn().PublishMsg(msg))
	ev := receive(t, got)
	is.Equal(ev.CorrelationID, "abc")
	is.Equal(ev.Source, "node-plugin")
	is.Equal(ev.Priority, eventbus.PriorityHigh)
}

func TestCorrelationIDThroughWrappedContexts(t *testing.T) {
	is := is.New(t)
	type other struct{}
	ctx := eventbus.WithCorrelationID(context.Background(), "outer")
	ctx = context.WithValue(ctx, other{}, "v")
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	is.Equal(eventbus.CorrelationID(ctx), "outer") // found under other contexts
	is.Equal(ctx.Value(other{}), "v")              // other values still reachable
	inner := eventbus.WithCorrelationID(ctx, "inner")
	is.Equal(eventbus.CorrelationID(inner), "inner") // the nearest id wins
	is.Equal(inner.Value(other{}), "v")
	cancel()
	<-inner.Done() // cancellation passes through
	is.Equal(eventbus.CorrelationID(context.Background()), "")
}
