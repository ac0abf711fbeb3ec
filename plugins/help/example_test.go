package help_test

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/roseybot/rosey"
	"github.com/roseybot/rosey/plugin"
	"github.com/roseybot/rosey/plugins/help"
)

// A bot on the console connector: the lines read are typed by a console
// user, and the bot's answers are printed.
func ExampleNew() {
	cfg := rosey.Config{Plugins: []plugin.Plugin{help.New(help.Config{})}}
	cfg.NATS.Embedded.NoListen = true
	cfg.Database.Disabled = true
	cfg.Console.Enabled = true
	cfg.Console.In = strings.NewReader("!help help\n")
	cfg.Console.Out = os.Stdout
	if err := rosey.New(cfg).Run(context.Background()); err != nil {
		fmt.Println(err)
	}
	// Output:
	// rosey> 📖 !help [command] — Lists the commands you can use, or explains one · aliases: !commands · rank: anyone · plugin: help
}
