package dice_test

import (
	"fmt"

	"github.com/roseybot/rosey/plugins/dice"
)

func ExampleParse() {
	e, err := dice.Parse("4d6kh3 + 2", dice.Limits{})
	if err != nil {
		fmt.Println(err)
		return
	}
	// A fixed "random" source: dice show 6, 1, 5, 4.
	faces := []int{6, 1, 5, 4}
	next := func(n int) int { v := faces[0] - 1; faces = faces[1:]; return v }
	fmt.Println(e.Roll(next))

	_, err = dice.Parse("1000d6", dice.Limits{})
	fmt.Println(err)
	// Output:
	// 4d6kh3+2: [6, (1), 5, 4] + 2 = 17
	// too many dice (at most 100 in one roll)
}

func ExampleNew() {
	p := dice.New(dice.Config{Limits: dice.Limits{MaxDice: 20}})
	for _, c := range p.Info().Commands {
		fmt.Printf("!%s %s\n", c.Name, c.Usage)
	}
	// Output:
	// !roll [dice] [label] e.g. 2d6+1 for damage, 4d6kh3, 3d6!, d%, adv
	// !flip
}
