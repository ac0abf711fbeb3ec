package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/roseybot/rosey/loadtest"
)

// loadTest starts a bot on embedded defaults (a temporary data directory),
// offers it chat at a fixed rate and prints what came back.
func loadTest(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("loadtest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	rate := fs.Float64("rate", 200, "chat lines offered per second (0: as fast as the bot answers, -window commands in flight)")
	window := fs.Int("window", loadtest.DefaultWindow, "with -rate 0, how many commands may await their answer at once")
	duration := fs.Duration("duration", 10*time.Second, "how long lines are offered")
	mix := fs.String("mix", loadtest.DefaultMix, "what is said, kind=weight,… (kinds: roll, flip, 8ball, quote-add, quote, seen, help, chat)")
	mode := fs.String("mode", "in-process", "where the plugins run: in-process, or distributed (each built-in plugin in a process of its own)")
	users := fs.Int("users", loadtest.DefaultUsers, "how many users take turns speaking")
	level := fs.String("log-level", "error", "the bot's log level: debug, info, warn, error")
	if err := fs.Parse(args); err != nil {
		return err
	}
	m, err := loadtest.ParseMix(*mix)
	if err != nil {
		return fmt.Errorf("-mix: %w", err)
	}
	log, err := logger(stderr, *level)
	if err != nil {
		return err
	}
	bc := loadtest.BotConfig{Layout: loadtest.Layout(*mode)}
	bc.Config.Logger = log
	bot, err := loadtest.StartBot(ctx, bc)
	if err != nil {
		return fmt.Errorf("loadtest: %w", err)
	}
	defer bot.Stop(context.Background())
	fmt.Fprintf(stderr, "Rosey loadtest: %s bot started; offering for %s…\n", *mode, *duration)
	refused := bot.Router().Refused()
	rep, err := loadtest.Run(ctx, bot.Bus(), loadtest.Config{Rate: *rate, Window: *window, Duration: *duration, Mix: m, Users: *users})
	if rep != nil {
		fmt.Fprintf(stdout, "mode       %s\n", *mode)
		_, _ = rep.WriteTo(stdout)
		if n := bot.Router().Refused() - refused; n > 0 {
			// Past the first per user and minute, refusals are silent:
			// the lost commands above.
			fmt.Fprintf(stdout, "router     refused %d commands: too many waited (router.max_concurrent, max_per_user); each user hears the ⏳ notice once per router.hint_every, later refusals get no answer\n", n)
		}
	}
	return err
}
