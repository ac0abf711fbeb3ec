// Command dice-duel is a Rosey plugin in a process of its own, published
// in the project's plugin catalogue: a bot owner installs it with
//
//	rosey plugin install dice-duel
//
// and the bot runs it under a NATS user that may use nothing but its own
// commands and its own database namespace (rosey-plugin.json, next to
// this file, is its manifest; docs/PLUGINS.md says how to publish one).
//
// !duel [name] rolls two dice for you and two for your opponent (the bot,
// unless you name someone); the higher total wins, and the plugin counts
// each user's wins in the bot's database over NATS.
//
// Run by hand against `rosey console` like any plugin.Serve binary:
//
//	ROSEY_NATS_NKEY=data/nats.nkey go run ./examples/dice-duel
package main

import (
	"context"
	"fmt"
	"log"
	"math/rand/v2"
	"strings"

	"github.com/roseybot/rosey/database"
	"github.com/roseybot/rosey/plugin"
)

func main() {
	if err := plugin.Serve(&duel{}); err != nil {
		log.Fatal(err)
	}
}

// collection holds one document per user: {"wins": N}.
const collection = "duel_wins"

type duel struct{}

func (d *duel) Info() plugin.Info {
	return plugin.Info{
		Name:        "dice-duel",
		Version:     "1.0.0",
		Description: "Dice duels: two dice each, the higher total wins",
		Commands: []plugin.Command{{
			Name:        "duel",
			Usage:       "[name]",
			Description: "Rolls 2d6 for you and for your opponent (the bot, or whoever you name)",
		}},
	}
}

func (d *duel) Start(_ context.Context, h *plugin.Host) error {
	h.Handle("duel", func(ctx context.Context, req *plugin.Request) (string, error) {
		rival := "the bot"
		if req.Text != "" {
			rival = req.Text
		}
		if len(rival) > 64 {
			return "", plugin.UserError("❌ That name is too long.")
		}
		a1, a2, b1, b2 := rand.IntN(6)+1, rand.IntN(6)+1, rand.IntN(6)+1, rand.IntN(6)+1
		line := fmt.Sprintf("🎲 %s rolled %d (%d+%d), %s rolled %d (%d+%d): ", req.User, a1+a2, a1, a2, rival, b1+b2, b1, b2)
		switch {
		case a1+a2 == b1+b2:
			return line + "a draw!", nil
		case a1+a2 < b1+b2:
			return line + rival + " wins.", nil
		}
		var doc struct {
			Wins int64 `json:"wins"`
		}
		id := database.StringID(strings.ToLower(req.User))
		if err := h.DB().Upsert(ctx, collection, id, database.Update{Inc: map[string]any{"wins": 1}}, &doc); err != nil {
			return "", fmt.Errorf("count win: %w", err)
		}
		return fmt.Sprintf("%s%s wins! (win #%d)", line, req.User, doc.Wins), nil
	})
	return nil
}

func (d *duel) Stop(context.Context) error { return nil }
