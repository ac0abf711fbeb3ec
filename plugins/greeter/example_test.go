package greeter_test

import (
	"fmt"

	"github.com/roseybot/rosey/plugins/greeter"
)

func ExampleNew() {
	p := greeter.New(greeter.Config{})
	info := p.Info()
	fmt.Println(info.Name)
	for _, c := range info.Commands {
		fmt.Printf("!%s %s (rank %v)\n", c.Name, c.Usage, c.MinRank)
	}
	// Output:
	// welcome
	// !greeting [text|off] (rank 1)
}
