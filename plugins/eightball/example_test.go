package eightball_test

import (
	"fmt"
	"time"

	"github.com/roseybot/rosey/plugins/eightball"
)

func ExampleNew() {
	p := eightball.New(eightball.Config{Cooldown: 30 * time.Second})
	for _, c := range p.Info().Commands {
		fmt.Printf("!%s %s (aliases %v, cooldown %s)\n", c.Name, c.Usage, c.Aliases, c.Cooldown)
	}
	fmt.Println(len(eightball.Answers()), "answers, first:", eightball.Answers()[0])
	// Output:
	// !8ball <question> (aliases [eightball 8b], cooldown 30s)
	// 20 answers, first: It is certain.
}
