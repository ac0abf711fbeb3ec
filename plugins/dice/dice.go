package dice

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"

	"github.com/roseybot/rosey/plugin"
)

// Name is the plugin's name.
const Name = "dice-roller"

// DefaultRoll is what a bare !roll rolls.
const DefaultRoll = "1d20"

// Config configures the plugin. The JSON fields may also come from the
// plugin's section of the bot config; they override the constructor's.
type Config struct {
	Limits
	// Default is rolled by a bare !roll; default DefaultRoll.
	Default string `json:"default,omitempty"`
	// Rand returns a uniformly random int in [0, n). It must be safe for
	// concurrent use. Nil uses math/rand/v2. Tests inject a fixed sequence.
	Rand func(n int) int `json:"-"`
}

// Plugin is the dice-roller plugin.
type Plugin struct {
	cfg Config
}

// New returns a dice-roller plugin.
func New(cfg Config) *Plugin { return &Plugin{cfg: cfg} }

// The commands, built fresh for each caller so nobody can change ours.
func rollCommand() plugin.Command {
	return plugin.Command{
		Name:        "roll",
		Usage:       "[dice] e.g. 2d6+1, 4d6kh3, 3d6!, d%, adv",
		Description: "Rolls dice: NdM, keep/drop (kh kl dh dl), exploding (!), adv/dis; bare !roll rolls " + DefaultRoll,
		Aliases:     []string{"r", "dice"},
	}
}

func flipCommand() plugin.Command {
	return plugin.Command{
		Name:        "flip",
		Description: "Flips a coin",
		Aliases:     []string{"coin"},
	}
}

// Info describes the plugin.
func (p *Plugin) Info() plugin.Info {
	return plugin.Info{
		Name:        Name,
		Version:     "1.0.0",
		Description: "D&D dice notation roller and coin flips",
		Commands:    []plugin.Command{rollCommand(), flipCommand()},
	}
}

// Start reads the config section and registers !roll and !flip.
func (p *Plugin) Start(_ context.Context, h *plugin.Host) error {
	cfg := p.cfg // a copy: a reload starts from the constructor's config
	if err := h.DecodeConfig(&cfg); err != nil {
		return err
	}
	if cfg.Default == "" {
		cfg.Default = DefaultRoll
	}
	if _, err := Parse(cfg.Default, cfg.Limits); err != nil {
		return fmt.Errorf("dice-roller: config default %q: %w", cfg.Default, err)
	}
	intn := cfg.Rand
	if intn == nil {
		intn = rand.IntN
	}
	h.Handle("roll", func(_ context.Context, req *plugin.Request) (string, error) {
		text := req.Text
		if text == "" {
			text = cfg.Default
		}
		e, err := Parse(text, cfg.Limits)
		if err != nil {
			if errors.Is(err, ErrNotation) {
				return "", plugin.UserError("❌ %s. Usage: !roll %s", err, rollCommand().Usage)
			}
			return "", err
		}
		return "🎲 Rolled " + e.Roll(intn).String(), nil
	})
	h.Handle("flip", func(context.Context, *plugin.Request) (string, error) {
		if intn(2) == 0 {
			return "🪙 Heads!", nil
		}
		return "🪙 Tails!", nil
	})
	return nil
}

// Stop has nothing to release: the Host drops the handlers.
func (p *Plugin) Stop(context.Context) error { return nil }
