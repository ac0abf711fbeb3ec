package poll_test

import (
	"fmt"

	"github.com/roseybot/rosey/plugins/poll"
)

func ExampleNew() {
	p := poll.New(poll.Config{})
	for _, c := range p.Info().Commands {
		fmt.Printf("!%s %s\n", c.Name, c.Usage)
	}
	// Output:
	// !poll <title> | <option> | <option>… [--time 2m] [--hidden] — or close, results
}
