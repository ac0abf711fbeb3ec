package loadtest_test

import (
	"context"
	"fmt"
	"time"

	"github.com/roseybot/rosey/loadtest"
)

// A bot with the built-in plugins, offered 100 lines a second of the
// default mix for two seconds.
func Example() {
	ctx := context.Background()
	bot, err := loadtest.StartBot(ctx, loadtest.BotConfig{Layout: loadtest.InProcess})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer bot.Stop(ctx)

	mix, err := loadtest.ParseMix("roll=40,flip=20,quote-add=10,seen=10,help=5,chat=15")
	if err != nil {
		fmt.Println(err)
		return
	}
	rep, err := loadtest.Run(ctx, bot.Bus(), loadtest.Config{Rate: 100, Duration: 2 * time.Second, Mix: mix, Users: 10})
	if err != nil {
		fmt.Println(err)
		return
	}
	// rep.WriteTo(os.Stdout) prints the whole report; the latencies vary.
	fmt.Println("every command answered:", rep.Answered == rep.Commands)
	fmt.Println("lost:", rep.Lost, "duplicated:", rep.Duplicated)
	fmt.Println("answers from the plugins:", rep.OK == rep.Commands)
	// Output:
	// every command answered: true
	// lost: 0 duplicated: 0
	// answers from the plugins: true
}
