package moderation_test

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/roseybot/rosey/plugin"
	"github.com/roseybot/rosey/plugins/moderation"
)

func ExampleNew() {
	p := moderation.New(moderation.Config{})
	for _, c := range p.Info().Commands {
		fmt.Printf("!%s %s (rank %v)\n", c.Name, c.Usage, c.MinRank)
	}
	// Output:
	// !kick <user> [reason] (rank 2)
	// !ban <user> [reason] (rank 2)
	// !mute <user> [reason] (rank 2)
	// !unmute <user> [reason] (rank 2)
	// !warn <user> [reason] (rank 2)
	// !modlog [user] (rank 2)
}

// An automod set in Go rather than in the bot's config file: flood and
// banned words on, a shorter ladder. Each rule not turned on stays off;
// the fields left out take their defaults when the plugin starts.
func ExampleAutomod() {
	cfg := moderation.Config{Automod: moderation.Automod{
		Flood:  moderation.FloodRule{On: true, Lines: 8, Window: plugin.Duration(10 * time.Second)},
		Words:  moderation.WordsRule{On: true, Words: []string{"badword"}, Patterns: []string{`(?i)free\s+v-?bucks`}},
		Ladder: []string{"warn", "mute 5m", "ban"},
	}}
	p := moderation.New(cfg)
	section, _ := json.Marshal(cfg.Automod)
	fmt.Println(p.Info().Name, string(section))
	// Output:
	// moderation {"flood":{"on":true,"lines":8,"window":"10s"},"repeat":{},"caps":{},"words":{"on":true,"words":["badword"],"patterns":["(?i)free\\s+v-?bucks"]},"links":{},"emotes":{},"ladder":["warn","mute 5m","ban"]}
}
