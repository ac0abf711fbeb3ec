// Command external-plugin is a Rosey plugin that runs as its own process: a
// small binary built around plugin.Serve. It answers !hello (alias !hi) and
// counts, in the bot's database over NATS, how often each user was greeted.
//
// # Running it against the console bot
//
// Start a bot at the terminal. Its embedded NATS server listens on
// 127.0.0.1:4222, the address plugin.Serve uses when told nothing else:
//
//	go run ./cmd/rosey console
//
// In a second terminal start the plugin:
//
//	ROSEY_NATS_NKEY=data/nats.nkey go run ./examples/external-plugin   # the credentials the console printed
//
// Back in the console type !hello or !hi Bob, and !help to see the
// plugin's command listed beside the built-in ones. Stop the plugin with
// Ctrl-C: it finishes the commands in flight, announces that it stopped and
// exits; the bot forgets its commands.
//
// # Flags and environment
//
// plugin.Serve reads these flags, or the ROSEY_* variables of the same
// meaning (a flag wins):
//
//	-nats URL[,URL…]  ROSEY_NATS_URL       NATS server(s), default nats://127.0.0.1:4222
//	-user, -password  ROSEY_NATS_USER, ROSEY_NATS_PASSWORD
//	-token            ROSEY_NATS_TOKEN
//	-creds FILE       ROSEY_NATS_CREDS     a NATS .creds file (JWT and seed)
//	-nkey FILE        ROSEY_NATS_NKEY      a file holding an nkey seed
//	-prefix P         ROSEY_NATS_PREFIX    the bot's subject prefix, if it has one
//	-config JSON|@F   ROSEY_PLUGIN_CONFIG  this plugin's config section
//	-log-level L      ROSEY_LOG_LEVEL      debug, info, warn or error
//
// The plugin's config section is optional: {"greeting": "Howdy"} changes
// the word it greets with.
//
//	go run ./examples/external-plugin -config '{"greeting": "Howdy"}'
//
// Run as many copies as you like: they share the commands through the
// plugin's queue group, and stopping one loses nothing (see
// docs/DEPLOYMENT.md). Against a bot whose NATS server requires a user per
// plugin (docs/examples/least-privilege.conf), pass -user greeter
// -password ….
package main

import (
	"context"
	"fmt"
	"log"
	"strings"

	"github.com/roseybot/rosey/database"
	"github.com/roseybot/rosey/plugin"
)

func main() {
	if err := plugin.Serve(&greeter{}); err != nil {
		log.Fatal(err)
	}
}

// collection holds one document per user: {"count": N}.
const collection = "greeter_counts"

// config is the plugin's config section.
type config struct {
	Greeting string `json:"greeting,omitempty"`
}

// greeter is the plugin. Start resets its state, so it could be reloaded.
type greeter struct {
	cfg config
}

func (g *greeter) Info() plugin.Info {
	return plugin.Info{
		Name:        "greeter",
		Version:     "1.0.0",
		Description: "Greets people and remembers how often (an external Go plugin)",
		Commands: []plugin.Command{{
			Name:        "hello",
			Usage:       "[name]",
			Description: "Greets you, or whoever you name",
			Aliases:     []string{"hi"},
		}},
	}
}

func (g *greeter) Start(_ context.Context, h *plugin.Host) error {
	g.cfg = config{Greeting: "Hello"}
	if err := h.DecodeConfig(&g.cfg); err != nil {
		return err
	}
	h.Handle("hello", func(ctx context.Context, req *plugin.Request) (string, error) {
		who := req.User
		if req.Text != "" {
			who = req.Text
		}
		if len(who) > 64 {
			return "", plugin.UserError("❌ That name is too long.")
		}
		var doc struct {
			Count int64 `json:"count"`
		}
		id := database.StringID(strings.ToLower(who))
		if err := h.DB().Upsert(ctx, collection, id, database.Update{Inc: map[string]any{"count": 1}}, &doc); err != nil {
			return "", fmt.Errorf("count greeting: %w", err)
		}
		return fmt.Sprintf("👋 %s, %s! (greeting #%d)", g.cfg.Greeting, who, doc.Count), nil
	})
	return nil
}

func (g *greeter) Stop(context.Context) error { return nil }
