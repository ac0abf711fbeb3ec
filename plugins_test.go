package rosey_test

import (
	"github.com/roseybot/rosey/plugin"
	"github.com/roseybot/rosey/plugins/builtin"
)

// consolePlugins are the plugins `rosey console` offers.
func consolePlugins() []plugin.Plugin { return builtin.All() }
