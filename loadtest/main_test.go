package loadtest_test

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/roseybot/rosey/plugin"
	"github.com/roseybot/rosey/plugins/builtin"
)

// TestMain lets this test binary serve a built-in plugin when a
// distributed bot starts it as "plugin NAME", as the rosey binary does.
func TestMain(m *testing.M) {
	if len(os.Args) > 2 && os.Args[1] == "plugin" {
		p, ok := builtin.ByName(os.Args[2])
		if !ok {
			fmt.Fprintln(os.Stderr, "no built-in plugin", os.Args[2])
			os.Exit(2)
		}
		cfg, err := plugin.ServeConfigFromArgs(os.Args[2], os.Args[3:], os.Getenv)
		if err == nil {
			err = plugin.ServeContext(context.Background(), p, cfg)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}
