package admin_test

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/roseybot/rosey"
	"github.com/roseybot/rosey/plugin"
	"github.com/roseybot/rosey/plugins/admin"
)

// A bot on the console connector; the console user is an admin by default.
func ExampleNew() {
	cfg := rosey.Config{Plugins: []plugin.Plugin{admin.New(admin.Config{})}}
	cfg.NATS.Embedded.NoListen = true
	cfg.Database.Disabled = true
	cfg.Console.Enabled = true
	cfg.Console.In = strings.NewReader("!admin reload admin\n")
	cfg.Console.Out = os.Stdout
	if err := rosey.New(cfg).Run(context.Background()); err != nil {
		fmt.Println(err)
	}
	// Output:
	// rosey> ❌ I can't reload admin from admin itself (it would cut off !admin); restart the bot instead.
}
