package embedded_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/roseybot/rosey/eventbus"
	"github.com/roseybot/rosey/eventbus/embedded"
)

// Start an embedded server with no socket at all, and connect a bus to it
// in-process. Use Listen "127.0.0.1:0" instead for a random port that other
// processes (external plugins) can reach through ClientURL.
func ExampleStart() {
	ctx := context.Background()
	srv, err := embedded.Start(ctx, embedded.Config{NoListen: true})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer srv.Shutdown(ctx)
	fmt.Printf("client URL: %q\n", srv.ClientURL()) // no listener

	bus, err := eventbus.Connect(ctx, srv.BusConfig("example"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer bus.Close(ctx)
	_, _ = bus.Subscribe("greet", func(ctx context.Context, ev *eventbus.Event) { _ = bus.Respond(ctx, ev, "hello") })
	rep, _ := bus.Request(ctx, "greet", nil)
	fmt.Println(string(rep.Data))

	// A bad listen address is refused before anything starts.
	_, err = embedded.Start(ctx, embedded.Config{Listen: "127.0.0.1:http-ish"})
	fmt.Println(errors.Is(err, embedded.ErrStart))
	// Output:
	// client URL: ""
	// "hello"
	// true
}

// ExampleServer_Credentials starts a listening server: it requires the
// credentials it generates, kept in the seed file for other processes.
func ExampleServer_Credentials() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "rosey-example")
	defer os.RemoveAll(dir)
	srv, err := embedded.Start(ctx, embedded.Config{Listen: "127.0.0.1:0", SeedFile: filepath.Join(dir, "nats.nkey")})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer srv.Shutdown(ctx)
	file, generated := srv.Credentials()
	fmt.Println(filepath.Base(file), generated)
	bus, err := eventbus.Connect(ctx, eventbus.Config{URLs: []string{srv.ClientURL()}}) // no credentials
	fmt.Println(bus == nil, err != nil)
	bus, err = eventbus.Connect(ctx, eventbus.Config{URLs: []string{srv.ClientURL()}, NKeyFile: file})
	fmt.Println(err)
	_ = bus.Close(ctx)
	// Output:
	// nats.nkey true
	// true true
	// <nil>
}
