package eventbus_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/roseybot/rosey/eventbus"
	"github.com/roseybot/rosey/eventbus/embedded"
)

// Connect to an embedded server in the same process. To reach a server
// or cluster elsewhere, set Config.URLs (and credentials) instead of
// InProcess.
func ExampleConnect() {
	ctx := context.Background()
	srv, err := embedded.Start(ctx, embedded.Config{NoListen: true})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer srv.Shutdown(ctx)

	bus, err := eventbus.Connect(ctx, eventbus.Config{
		Name:      "my-component",
		InProcess: srv.NATS(),
		Prefix:    "bot1", // optional: several bots on one cluster
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer bus.Close(ctx)
	fmt.Println(bus.Source(), bus.Subject("cytube.chat"))

	// A Config without a server is refused, naming the field.
	_, err = eventbus.Connect(ctx, eventbus.Config{})
	fmt.Println(errors.Is(err, eventbus.ErrInvalidConfig), err)
	// Output:
	// my-component bot1.cytube.chat
	// true eventbus: invalid config: urls: at least one NATS URL is needed without an in-process server
}

// Publish an event with a priority and metadata; a subscriber receives the
// plain JSON payload and the envelope.
func ExampleBus_Publish() {
	ctx := context.Background()
	srv, _ := embedded.Start(ctx, embedded.Config{NoListen: true})
	defer srv.Shutdown(ctx)
	bus, _ := eventbus.Connect(ctx, srv.BusConfig("trivia"))
	defer bus.Close(ctx)

	done := make(chan struct{})
	_, _ = bus.Subscribe("cytube.send.chat", func(_ context.Context, ev *eventbus.Event) {
		fmt.Println(ev.Subject, string(ev.Data))
		fmt.Println("priority:", ev.Priority, "source:", ev.Source, "round:", ev.Metadata["round"])
		close(done)
	})

	err := bus.Publish(ctx, "cytube.send.chat", map[string]string{"message": "Time's up!"},
		eventbus.WithPriority(eventbus.PriorityHigh),
		eventbus.WithMetadata("round", "3"))
	if err != nil {
		fmt.Println(err)
	}
	<-done
	// Output:
	// cytube.send.chat {"message":"Time's up!"}
	// priority: high source: trivia round: 3
}

// Subscribe with wildcards; Decode reads the payload into a Go value and
// reports a malformed one with ErrMalformed.
func ExampleBus_Subscribe() {
	ctx := context.Background()
	srv, _ := embedded.Start(ctx, embedded.Config{NoListen: true})
	defer srv.Shutdown(ctx)
	bus, _ := eventbus.Connect(ctx, srv.BusConfig("watcher"))
	defer bus.Close(ctx)

	type join struct {
		User string `json:"user"`
	}
	seen := make(chan string, 2)
	_, _ = bus.Subscribe("cytube.user.*", func(_ context.Context, ev *eventbus.Event) {
		var j join
		if err := ev.Decode(&j); err != nil {
			seen <- fmt.Sprint(ev.Subject, ": ", errors.Is(err, eventbus.ErrMalformed))
			return
		}
		seen <- ev.Subject + ": " + j.User
	})
	_ = bus.Publish(ctx, "cytube.user.join", join{User: "alice"})
	_ = bus.Publish(ctx, "cytube.user.leave", []byte(`{"user": `)) // broken JSON
	fmt.Println(<-seen)
	fmt.Println(<-seen)
	// Output:
	// cytube.user.join: alice
	// cytube.user.leave: true
}

// Several copies of a worker share the load through a queue group: each
// event goes to exactly one of them.
func ExampleBus_QueueSubscribe() {
	ctx := context.Background()
	srv, _ := embedded.Start(ctx, embedded.Config{NoListen: true})
	defer srv.Shutdown(ctx)
	bus, _ := eventbus.Connect(ctx, srv.BusConfig("workers"))
	defer bus.Close(ctx)

	handled := make(chan int, 10)
	for range 3 {
		_, _ = bus.QueueSubscribe("jobs.resize", "resizers", func(_ context.Context, ev *eventbus.Event) {
			var n int
			_ = ev.Decode(&n)
			handled <- n
		})
	}
	for i := range 10 {
		_ = bus.Publish(ctx, "jobs.resize", i)
	}
	sum := 0
	for range 10 {
		sum += <-handled
	}
	fmt.Println("jobs handled once each, sum:", sum)
	// Output:
	// jobs handled once each, sum: 45
}

// Request sends a request and waits for one reply; Respond answers it,
// keeping the request's correlation id.
func ExampleBus_Request() {
	ctx := context.Background()
	srv, _ := embedded.Start(ctx, embedded.Config{NoListen: true})
	defer srv.Shutdown(ctx)
	bus, _ := eventbus.Connect(ctx, srv.BusConfig("example"))
	defer bus.Close(ctx)

	_, _ = bus.Subscribe("math.square", func(ctx context.Context, req *eventbus.Event) {
		var n int
		_ = req.Decode(&n)
		_ = bus.Respond(ctx, req, n*n)
	})

	rep, err := bus.Request(ctx, "math.square", 12, eventbus.WithCorrelation("calc-1"))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(string(rep.Data), rep.CorrelationID)

	// Nobody listens here: the error says so at once.
	_, err = bus.Request(ctx, "math.cube", 3)
	fmt.Println(errors.Is(err, eventbus.ErrNoResponders))
	// Output:
	// 144 calc-1
	// true
}

// PublishRequest sends requests without waiting: the answers come to a
// subject of the caller's own, which matches them up (here by order). The
// router sends commands to plugins this way.
func ExampleBus_PublishRequest() {
	ctx := context.Background()
	srv, _ := embedded.Start(ctx, embedded.Config{NoListen: true})
	defer srv.Shutdown(ctx)
	bus, _ := eventbus.Connect(ctx, srv.BusConfig("example"))
	defer bus.Close(ctx)

	_, _ = bus.Subscribe("math.double", func(ctx context.Context, req *eventbus.Event) {
		var n int
		_ = req.Decode(&n)
		_ = bus.Respond(ctx, req, n*2)
	})
	answers := make(chan string, 2)
	inbox := bus.Conn().NewInbox() // a raw NATS subject: replies are never prefixed
	_, _ = bus.Conn().Subscribe(inbox, func(m *nats.Msg) { answers <- string(m.Data) })
	_ = bus.Flush(ctx)

	for _, n := range []int{20, 21} {
		if err := bus.PublishRequest(ctx, "math.double", inbox, n); err != nil {
			fmt.Println(err)
		}
	}
	fmt.Println(<-answers, <-answers)

	err := bus.PublishRequest(ctx, "math.double", "", 1)
	fmt.Println(errors.Is(err, eventbus.ErrInvalidSubject))
	// Output:
	// 40 42
	// true
}

// Respond replies to a request; a handler that never answers makes the
// request end with ErrTimeout.
func ExampleBus_Respond() {
	ctx := context.Background()
	srv, _ := embedded.Start(ctx, embedded.Config{NoListen: true})
	defer srv.Shutdown(ctx)
	bus, _ := eventbus.Connect(ctx, srv.BusConfig("example"))
	defer bus.Close(ctx)

	_, _ = bus.Subscribe("svc.>", func(ctx context.Context, req *eventbus.Event) {
		if req.Subject == "svc.echo" {
			_ = bus.Respond(ctx, req, req.Data, eventbus.WithMetadata("served-by", "echo"))
		}
		// svc.silent: no answer.
	})

	rep, _ := bus.Request(ctx, "svc.echo", map[string]int{"n": 1})
	fmt.Println(string(rep.Data), rep.Metadata["served-by"])

	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	_, err := bus.Request(short, "svc.silent", nil)
	fmt.Println(errors.Is(err, eventbus.ErrTimeout))
	// Output:
	// {"n":1} echo
	// true
}

// A correlation id ties events together: a handler's context carries the id
// of the event it handles, so what it publishes carries the same id.
func ExampleWithCorrelationID() {
	ctx := context.Background()
	srv, _ := embedded.Start(ctx, embedded.Config{NoListen: true})
	defer srv.Shutdown(ctx)
	bus, _ := eventbus.Connect(ctx, srv.BusConfig("example"))
	defer bus.Close(ctx)

	out := make(chan string, 1)
	_, _ = bus.Subscribe("cytube.send.chat", func(_ context.Context, ev *eventbus.Event) { out <- ev.CorrelationID })
	_, _ = bus.Subscribe("cytube.chat", func(ctx context.Context, ev *eventbus.Event) {
		fmt.Println("handler ctx:", eventbus.CorrelationID(ctx))
		_ = bus.Publish(ctx, "cytube.send.chat", map[string]string{"message": "hi"})
	})

	traced := eventbus.WithCorrelationID(ctx, "trace-42")
	_ = bus.Publish(traced, "cytube.chat", map[string]string{"user": "alice", "message": "hello"})
	fmt.Println("reply:", <-out)
	// Output:
	// handler ctx: trace-42
	// reply: trace-42
}
