// Command minimal is the smallest useful Rosey bot built from the public
// API: the built-in plugins plus one of its own, on an embedded NATS server
// and SQLite.
//
// With no channel configured it runs at the console (type !hello or !help):
//
//	go run ./examples/minimal
//
// With a channel it joins CyTube instead (a guest login when no password):
//
//	ROSEY_CYTUBE_CHANNEL=mychannel ROSEY_CYTUBE_USER=MyBot go run ./examples/minimal
package main

import (
	"context"
	"fmt"
	"log"
	"os"
	"os/signal"
	"syscall"

	"github.com/roseybot/rosey"
	"github.com/roseybot/rosey/plugin"
	"github.com/roseybot/rosey/plugins/builtin"
)

// hello is an in-process plugin: one command that greets.
type hello struct{}

func (hello) Info() plugin.Info {
	return plugin.Info{
		Name:        "hello",
		Version:     "1.0.0",
		Description: "Greets people",
		Commands:    []plugin.Command{{Name: "hello", Usage: "[name]", Description: "Say hello", Aliases: []string{"hi"}}},
	}
}

func (hello) Start(_ context.Context, h *plugin.Host) error {
	h.Handle("hello", func(_ context.Context, req *plugin.Request) (string, error) {
		who := req.User
		if req.Text != "" {
			who = req.Text
		}
		return fmt.Sprintf("👋 Hello, %s!", who), nil
	})
	return nil
}

func (hello) Stop(context.Context) error { return nil }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	cfg := rosey.Config{Plugins: append(builtin.All(), hello{})}
	cfg.Database.Dir = "rosey-data"
	cfg.NATS.Embedded.Listen = "127.0.0.1:0" // any free port: never clashes with another bot
	cfg.ApplyEnv(os.Getenv)                  // ROSEY_CYTUBE_CHANNEL, ROSEY_CYTUBE_USER, passwords…
	if cfg.CyTube.Channel == "" {
		cfg.Console.Enabled = true
		cfg.Console.In, cfg.Console.Out = os.Stdin, os.Stdout
		fmt.Fprintln(os.Stderr, "Rosey at the console: try !hello, !roll 2d6 or !help (Ctrl-D to quit)")
	}
	if err := rosey.New(cfg).Run(ctx); err != nil {
		log.Fatal(err)
	}
}
