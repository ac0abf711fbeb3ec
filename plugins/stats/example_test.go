package stats_test

import (
	"fmt"

	"github.com/roseybot/rosey/plugins/stats"
)

func ExampleNew() {
	p := stats.New(stats.Config{FlushInterval: 0, Top: 10})
	for _, c := range p.Info().Commands {
		fmt.Printf("!%s %s: %s\n", c.Name, c.Usage, c.Description)
	}
	// Output:
	// !stats [user]: Shows what a user (or you) did in this channel: lines, time here, commands, items queued
	// !top chatters|queuers: Lists who said the most lines, or queued the most items, in this channel
}
