package builtin

import (
	"github.com/roseybot/rosey/plugin"
	"github.com/roseybot/rosey/plugins/admin"
	"github.com/roseybot/rosey/plugins/countdown"
	"github.com/roseybot/rosey/plugins/dice"
	"github.com/roseybot/rosey/plugins/eightball"
	"github.com/roseybot/rosey/plugins/greeter"
	"github.com/roseybot/rosey/plugins/help"
	"github.com/roseybot/rosey/plugins/moderation"
	"github.com/roseybot/rosey/plugins/playlist"
	"github.com/roseybot/rosey/plugins/poll"
	"github.com/roseybot/rosey/plugins/quotedb"
	"github.com/roseybot/rosey/plugins/seen"
	"github.com/roseybot/rosey/plugins/stats"
	"github.com/roseybot/rosey/plugins/trivia"
)

// All returns a new instance of every built-in plugin.
func All() []plugin.Plugin {
	return []plugin.Plugin{
		help.New(help.Config{}),
		dice.New(dice.Config{}),
		eightball.New(eightball.Config{}),
		quotedb.New(quotedb.Config{}),
		trivia.New(trivia.Config{}),
		countdown.New(countdown.Config{}),
		seen.New(seen.Config{}),
		admin.New(admin.Config{}),
		poll.New(poll.Config{}),
		greeter.New(greeter.Config{}),
		moderation.New(moderation.Config{}),
		stats.New(stats.Config{}),
		playlist.New(playlist.Config{}),
	}
}

// Names returns the names of the built-in plugins, in the order of All.
func Names() []string {
	var names []string
	for _, p := range All() {
		names = append(names, p.Info().Name)
	}
	return names
}

// ByName returns a new instance of the built-in plugin called name.
func ByName(name string) (plugin.Plugin, bool) {
	for _, p := range All() {
		if p.Info().Name == name {
			return p, true
		}
	}
	return nil, false
}
