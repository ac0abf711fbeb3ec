package eightball

import (
	"context"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/roseybot/rosey/plugin"
)

// Name is the plugin's name.
const Name = "8ball"

// DefaultCooldown is how long one user waits between two questions.
const DefaultCooldown = 10 * time.Second

// answers are the twenty answers of the classic Magic 8-Ball: ten
// affirmative, five non-committal, five negative.
var answers = [20]string{
	"It is certain.",
	"It is decidedly so.",
	"Without a doubt.",
	"Yes definitely.",
	"You may rely on it.",
	"As I see it, yes.",
	"Most likely.",
	"Outlook good.",
	"Yes.",
	"Signs point to yes.",
	"Reply hazy, try again.",
	"Ask again later.",
	"Better not tell you now.",
	"Cannot predict now.",
	"Concentrate and ask again.",
	"Don't count on it.",
	"My reply is no.",
	"My sources say no.",
	"Outlook not so good.",
	"Very doubtful.",
}

// Answers returns the twenty classic answers, in the traditional order.
func Answers() []string { return slices.Clone(answers[:]) }

// Config configures the plugin.
type Config struct {
	// Cooldown is how long one user waits between two questions; zero
	// means DefaultCooldown, negative means none. The router enforces it.
	Cooldown time.Duration
	// Rand returns a uniformly random int in [0, n); it must be safe for
	// concurrent use. Nil uses math/rand/v2.
	Rand func(n int) int
}

// Plugin is the 8ball plugin.
type Plugin struct {
	cfg Config
}

// New returns an 8ball plugin.
func New(cfg Config) *Plugin {
	switch {
	case cfg.Cooldown == 0:
		cfg.Cooldown = DefaultCooldown
	case cfg.Cooldown < 0:
		cfg.Cooldown = 0
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.IntN
	}
	return &Plugin{cfg: cfg}
}

func (p *Plugin) command() plugin.Command {
	return plugin.Command{
		Name:        "8ball",
		Usage:       "<question>",
		Description: "Asks the Magic 8-Ball a yes-or-no question",
		Aliases:     []string{"eightball", "8b"},
		Cooldown:    p.cfg.Cooldown,
	}
}

// Info describes the plugin.
func (p *Plugin) Info() plugin.Info {
	return plugin.Info{
		Name:        Name,
		Version:     "1.0.0",
		Description: "The Magic 8-Ball answers yes-or-no questions",
		Commands:    []plugin.Command{p.command()},
	}
}

// Start registers !8ball.
func (p *Plugin) Start(_ context.Context, h *plugin.Host) error {
	cmd := p.command()
	h.Handle(cmd.Name, func(_ context.Context, req *plugin.Request) (string, error) {
		if req.Text == "" {
			return "", plugin.Usage(cmd)
		}
		return "🎱 " + answers[p.cfg.Rand(len(answers))], nil
	})
	return nil
}

// Stop has nothing to release.
func (p *Plugin) Stop(context.Context) error { return nil }
