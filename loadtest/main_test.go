package loadtest_test

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/roseybot/rosey/plugin/supervisor"
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
		if err := supervisor.ServeArgs(context.Background(), p, os.Args[3:]); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}
