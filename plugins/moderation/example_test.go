package moderation_test

import (
	"fmt"

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
