package builtin_test

import (
	"fmt"

	"github.com/roseybot/rosey/plugins/builtin"
)

func ExampleAll() {
	for _, p := range builtin.All() {
		info := p.Info()
		fmt.Println(info.Name, len(info.Commands) > 0)
	}
	// Output:
	// help true
	// dice-roller true
	// 8ball true
	// quote-db true
	// trivia true
	// countdown true
	// seen true
	// admin true
	// poll true
	// welcome true
	// moderation true
	// stats true
	// playlist true
}

func ExampleByName() {
	p, ok := builtin.ByName("dice-roller")
	fmt.Println(ok, p.Info().Commands[0].Name)
	_, ok = builtin.ByName("nope")
	fmt.Println(ok)
	// Output:
	// true roll
	// false
}
