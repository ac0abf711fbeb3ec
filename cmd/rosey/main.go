// Command rosey is the reference Rosey bot.
//
//	rosey console [flags]          try the bot at the terminal (embedded NATS, SQLite, all built-in plugins)
//	rosey run -config FILE [flags] run the bot as configured (a CyTube channel, a NATS cluster, …)
//	rosey version                  print the version
//
// SIGINT and SIGTERM shut the bot down gracefully.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/roseybot/rosey"
	"github.com/roseybot/rosey/plugins/builtin"
)

const usage = `usage:
  rosey console [-data DIR] [-nats-listen ADDR] [-user NAME] [-rank N] [-log-level LEVEL]
  rosey run -config FILE [-components LIST] [-log-level LEVEL]
  rosey version
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "rosey:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("a command is needed")
	}
	switch args[0] {
	case "version", "-version", "--version":
		fmt.Fprintln(stdout, "rosey", rosey.Version)
		return nil
	case "console":
		return console(ctx, args[1:], stdin, stdout, stderr)
	case "run":
		return runConfig(ctx, args[1:], stderr)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", args[0])
}

func logger(w io.Writer, level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("-log-level: %q is not debug, info, warn or error", level)
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l})), nil
}

func console(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("console", flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := fs.String("data", rosey.DefaultDataDir, "SQLite data directory")
	listen := fs.String("nats-listen", "127.0.0.1:4222", `embedded NATS address for external plugins ("127.0.0.1:0" picks a free port, "none" opens no socket)`)
	user := fs.String("user", "you", "your user name in the console")
	rank := fs.Float64("rank", 3, "your CyTube rank (3 = channel admin, so admin commands work)")
	level := fs.String("log-level", "warn", "log level: debug, info, warn, error")
	configFile := fs.String("config", "", "optional config file (plugin settings, router options)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	log, err := logger(stderr, *level)
	if err != nil {
		return err
	}
	cfg := rosey.Config{}
	if *configFile != "" {
		if cfg, err = rosey.LoadConfig(*configFile); err != nil {
			return err
		}
	}
	cfg.Logger = log
	cfg.Plugins = builtin.All()
	if cfg.Database.Dir == "" && cfg.Database.URL == "" {
		cfg.Database.Dir = *data
	}
	if *listen == "none" {
		cfg.NATS.Embedded.NoListen = true
	} else {
		cfg.NATS.Embedded.Listen = *listen
	}
	cfg.CyTube.Channel = "" // the console replaces CyTube
	cfg.Console.Enabled = true
	cfg.Console.User, cfg.Console.Rank = *user, rank
	cfg.Console.In, cfg.Console.Out = stdin, stdout
	bot := rosey.New(cfg)
	if err := bot.Start(ctx); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "Rosey %s console: type !help (Ctrl-D or /quit to leave).", rosey.Version)
	if url := bot.NATSURL(); url != "" {
		fmt.Fprintf(stderr, " NATS for external plugins: %s", url)
	}
	fmt.Fprintln(stderr)
	return bot.Wait(ctx)
}

func runConfig(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configFile := fs.String("config", "", "config file (JSON); required")
	components := fs.String("components", "", "comma-separated subset to run in this process: database, plugins, router, connector (default all)")
	level := fs.String("log-level", "info", "log level: debug, info, warn, error")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *configFile == "" {
		return errors.New("run: -config FILE is required")
	}
	log, err := logger(stderr, *level)
	if err != nil {
		return err
	}
	cfg, err := rosey.LoadConfig(*configFile)
	if err != nil {
		return err
	}
	cfg.Logger = log
	if *components != "" {
		cfg.Components = strings.Split(*components, ",")
	}
	cfg.Plugins = builtin.All()
	return rosey.New(cfg).Run(ctx)
}
