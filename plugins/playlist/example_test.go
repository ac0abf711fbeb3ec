package playlist_test

import (
	"fmt"
	"strings"

	"github.com/roseybot/rosey/plugins/playlist"
)

func ExampleNew() {
	p := playlist.New(playlist.Config{})
	for _, c := range p.Info().Commands {
		fmt.Println(strings.TrimSpace("!" + c.Name + " " + c.Usage))
	}
	// Output:
	// !add <link> [next]
	// !np
	// !queue [n]
	// !remove [n|mine]
	// !skip
	// !shuffle
	// !bump <n>
	// !history [n]
	// !lastplayed <title words>
	// !like
	// !dislike
	// !liked [n]
	// !random [n]
	// !blacklist [link]
	// !unblacklist <link>
}
