package dice

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"unicode"
	"unicode/utf8"

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
		Usage:       "[dice] [label] e.g. 2d6+1 for damage, 4d6kh3, 3d6!, d%, adv",
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
		e, label, err := parseLabelled(text, cfg.Limits)
		if err != nil {
			if errors.Is(err, ErrNotation) {
				return "", plugin.UserError("❌ %s. Usage: !roll %s", err, rollCommand().Usage)
			}
			return "", err
		}
		res := e.Roll(intn).String()
		if label != "" {
			// "2d6: [3, 5] = 8" → "2d6 for damage: [3, 5] = 8"
			res = e.Text + " " + label + strings.TrimPrefix(res, e.Text)
		}
		return "🎲 Rolled " + res, nil
	})
	h.Handle("flip", func(context.Context, *plugin.Request) (string, error) {
		if intn(2) == 0 {
			return "🪙 Heads!", nil
		}
		return "🪙 Tails!", nil
	})
	return nil
}

// maxLabel bounds the label said back with a roll, in characters.
const maxLabel = 60

// parseLabelled reads dice notation followed by an optional label, as in
// "2d6 for damage": the longest run of leading words that parses is the
// notation, and the rest is the label, if it starts with a word that
// could not be notation (so "2d6 d8" is a mistake, not a label).
func parseLabelled(text string, lim Limits) (Expr, string, error) {
	e, err := Parse(text, lim)
	if err == nil {
		return e, "", nil
	}
	words := strings.Fields(text)
	for k := len(words) - 1; k > 0; k-- {
		first := words[k]
		if r, _ := utf8.DecodeRuneInString(first); !unicode.IsLetter(r) {
			continue
		}
		if _, wordErr := Parse(first, lim); wordErr == nil {
			continue
		}
		prefix, perr := Parse(strings.Join(words[:k], " "), lim)
		if perr != nil {
			continue
		}
		return prefix, plugin.Clip(strings.Join(words[k:], " "), maxLabel), nil
	}
	return Expr{}, "", err
}

// Stop has nothing to release: the Host drops the handlers.
func (p *Plugin) Stop(context.Context) error { return nil }
