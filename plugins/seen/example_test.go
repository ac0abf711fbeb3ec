package seen_test

import (
	"fmt"

	"github.com/roseybot/rosey/plugins/seen"
)

func ExampleNew() {
	p := seen.New(seen.Config{})
	for _, c := range p.Info().Commands {
		fmt.Printf("!%s %s: %s\n", c.Name, c.Usage, c.Description)
	}
	// Output:
	// !seen <user>: Tells when a user was last here and what they last said
}
