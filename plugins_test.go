package rosey_test

import "github.com/roseybot/rosey/plugin"

// consolePlugins are the plugins `rosey console` offers.
func consolePlugins() []plugin.Plugin { return []plugin.Plugin{pong{}} }
