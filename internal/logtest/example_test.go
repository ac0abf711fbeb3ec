package logtest_test

import (
	"fmt"
	"log/slog"

	"github.com/roseybot/rosey/internal/logtest"
)

func ExampleBuffer() {
	var buf logtest.Buffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		}}))
	log.Warn("disk on fire", "disk", "sda")
	fmt.Print(buf.String())
	// Output: level=WARN msg="disk on fire" disk=sda
}
