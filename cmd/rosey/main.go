// Command rosey is the reference Rosey bot.
//
//	rosey console [flags]          try the bot at the terminal (embedded NATS, SQLite, all built-in plugins)
//	rosey run -config FILE [flags] run the bot as configured (a CyTube channel, a NATS cluster, …)
//	rosey loadtest [flags]         offer chat to a bot at a fixed rate and report (sizing)
//	rosey version                  print the version
//
// SIGINT and SIGTERM shut the bot down gracefully.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"

	"github.com/roseybot/rosey"
	"github.com/roseybot/rosey/plugin"
	"github.com/roseybot/rosey/plugin/supervisor"
	"github.com/roseybot/rosey/plugins/builtin"
	"github.com/roseybot/rosey/protocol"
)

const usage = `usage:
  rosey console [-data DIR] [-nats-listen ADDR] [-http ADDR] [-user NAME] [-rank N] [-plugin-mode MODE] [-log-level LEVEL]
  rosey run -config FILE [-components LIST] [-http ADDR] [-plugin-mode in-process|distributed] [-log-level LEVEL]
  rosey plugin NAME [-nats URL] [-config JSON|@FILE] [-log-level LEVEL]   run one built-in plugin as its own process
  rosey plugin search|install|list|info|upgrade|remove …                  find and install plugins (rosey plugin search -h)
  rosey loadtest [-rate N] [-duration D] [-mix LIST] [-mode in-process|distributed] [-users N]   size a setup
  rosey version
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return // -h: the flags' usage is printed, and asking is not a failure
		}
		msg := err.Error()
		if !strings.HasPrefix(msg, "rosey") {
			msg = "rosey: " + msg
		}
		fmt.Fprintln(os.Stderr, msg)
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
		return runConfig(ctx, args[1:], stdin, stdout, stderr)
	case "plugin":
		if len(args) > 1 && slices.Contains(marketVerbs, args[1]) {
			return market(ctx, args[1:], bufio.NewReader(stdin), stdout, stderr)
		}
		return servePlugin(ctx, args[1:])
	case "loadtest":
		return loadTest(ctx, args[1:], stdout, stderr)
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
	mode := fs.String("plugin-mode", "in-process", "in-process, or distributed: every built-in plugin in its own process")
	httpListen := fs.String("http", "127.0.0.1:0", `address serving /metrics, /healthz and /readyz ("127.0.0.1:0" picks a free port, "none" serves nothing)`)
	noAuth := fs.Bool("nats-no-auth", false, "let any local process use the embedded NATS without credentials (development only)")
	var installs installFlag
	fs.Var(&installs, "install-plugin", "install a plugin first unless it is installed (a catalogue name, MODULE@VERSION, npm:PACKAGE@VERSION or a directory; repeatable)")
	yes := fs.Bool("yes", false, "with -install-plugin: install without asking")
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
	if *httpListen != "none" {
		cfg.HTTP.Listen = *httpListen
	}
	if *listen == "none" {
		cfg.NATS.Embedded.NoListen = true
	} else {
		cfg.NATS.Embedded.Listen = *listen
	}
	if *noAuth {
		cfg.NATS.Embedded.NoAuth = true
	}
	var bot *rosey.Bot // the plugin processes' environment reads its NATS URL at launch
	if cfg.Plugins, err = plugins(*mode, &bot, cfg, *level); err != nil {
		return err
	}
	if cfg.Database.Dir == "" && cfg.Database.URL == "" {
		cfg.Database.Dir = *data
	}
	cfg.CyTube.Channel = "" // the console replaces CyTube
	cfg.Console.Enabled = true
	cfg.Console.User, cfg.Console.Rank, cfg.Console.Guest = *user, *rank, *rank == protocol.RankGuest
	in := bufio.NewReader(stdin) // the install prompt's answer, then the console's lines
	if err := installBeforeRun(ctx, cfg, installs, *yes, in, stderr, stderr); err != nil {
		return err
	}
	cfg.Console.In, cfg.Console.Out = in, stdout
	bot = rosey.New(cfg)
	if err := bot.Start(ctx); err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return fmt.Errorf("%w; -nats-listen %s is taken (another bot?): use -nats-listen 127.0.0.1:0 for any free port, or -nats-listen none", err, *listen)
		}
		return err
	}
	fmt.Fprintf(stderr, "Rosey %s console: type !help (Ctrl-D or /quit to leave).", rosey.Version)
	if addr := bot.MonitorAddr(); addr != "" {
		fmt.Fprintf(stderr, " Dashboard: http://%s/ Metrics: http://%s/metrics", addr, addr)
	}
	fmt.Fprintln(stderr)
	if hint := externalPlugins(bot); hint != "" {
		fmt.Fprintln(stderr, hint)
	}
	return bot.Wait(ctx)
}

func runConfig(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configFile := fs.String("config", "", "config file (JSON); required")
	components := fs.String("components", "", "comma-separated subset to run in this process: database, plugins, router, connector (default all)")
	level := fs.String("log-level", "info", "log level: debug, info, warn, error")
	mode := fs.String("plugin-mode", "in-process", "in-process, or distributed: every built-in plugin in its own process")
	httpListen := fs.String("http", "", `address serving /metrics, /healthz and /readyz, overriding "http": {"listen": …} ("none" serves nothing)`)
	noAuth := fs.Bool("nats-no-auth", false, `let any local process use the embedded NATS without credentials (development only; "nats": {"embedded": {"no_auth": true}})`)
	var installs installFlag
	fs.Var(&installs, "install-plugin", "install a plugin first unless it is installed (a catalogue name, MODULE@VERSION, npm:PACKAGE@VERSION or a directory; repeatable)")
	yes := fs.Bool("yes", false, "with -install-plugin: install without asking")
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
	switch *httpListen {
	case "":
	case "none":
		cfg.HTTP.Listen = ""
	default:
		cfg.HTTP.Listen = *httpListen
	}
	if *components != "" {
		cfg.Components = strings.Split(*components, ",")
	}
	if *noAuth {
		cfg.NATS.Embedded.NoAuth = true
	}
	in := bufio.NewReader(stdin) // the install prompt's answer, then the console's lines
	if err := installBeforeRun(ctx, cfg, installs, *yes, in, stderr, stderr); err != nil {
		return err
	}
	if cfg.Console.Enabled {
		cfg.Console.In, cfg.Console.Out = in, stdout
	}
	var bot *rosey.Bot
	if cfg.Plugins, err = plugins(*mode, &bot, cfg, *level); err != nil {
		return err
	}
	bot = rosey.New(cfg)
	err = bot.Start(ctx)
	if err == nil {
		if hint := externalPlugins(bot); hint != "" {
			log.Info(hint)
		}
		err = bot.Wait(ctx)
	}
	if errors.Is(err, syscall.EADDRINUSE) {
		return fmt.Errorf(`%w; set another "nats": {"embedded": {"listen": …}} in %s ("127.0.0.1:0" for any free port)`, err, *configFile)
	}
	return err
}

// plugins returns the built-in plugins, in-process or as supervised child
// processes of this binary (`rosey plugin NAME`) that connect back to bot's
// NATS server.
func plugins(mode string, bot **rosey.Bot, cfg rosey.Config, level string) ([]plugin.Plugin, error) {
	switch mode {
	case "in-process", "":
		return builtin.All(), nil
	case "distributed":
	default:
		return nil, fmt.Errorf("-plugin-mode: %q is not in-process or distributed", mode)
	}
	if len(cfg.NATS.URLs) == 0 && cfg.NATS.Embedded.NoListen {
		return nil, errors.New("-plugin-mode distributed: plugin processes need a NATS listener (not -nats-listen none)")
	}
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("-plugin-mode distributed: %w", err)
	}
	// The bot's NATS address and credentials (those the embedded server
	// generated, or the configured ones), read at every launch.
	env := func() []string {
		return append(supervisor.BusEnv((*bot).ClientConfig()), plugin.EnvLogLevel+"="+level)
	}
	var out []plugin.Plugin
	for _, p := range builtin.All() {
		info := p.Info()
		out = append(out, supervisor.NewProcess(supervisor.ProcessConfig{Info: info, Path: self, Args: []string{"plugin", info.Name}, EnvFunc: env}))
	}
	return out, nil
}

// externalPlugins is the line telling how an external plugin connects to
// the bot's embedded NATS server (its URL, and the credentials file it
// generated), or "" when it has no listener.
func externalPlugins(bot *rosey.Bot) string {
	cc := bot.ClientConfig()
	if bot.NATSURL() == "" || len(cc.URLs) == 0 {
		return ""
	}
	line := "External plugins connect with " + plugin.EnvNATSURL + "=" + cc.URLs[0]
	if cc.NKeyFile != "" {
		line += " " + plugin.EnvNATSNKey + "=" + cc.NKeyFile + " (the credentials, readable by you only)"
	} else if cc.User == "" && cc.Token == "" && cc.CredentialsFile == "" {
		line += " (no credentials: any local process may use the bot)"
	}
	return line
}

// servePlugin runs one built-in plugin as its own process.
func servePlugin(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("plugin: a plugin name is needed: %s", strings.Join(builtin.Names(), ", "))
	}
	p, ok := builtin.ByName(args[0])
	if !ok {
		return fmt.Errorf("plugin: no built-in plugin %q (have %s)", args[0], strings.Join(builtin.Names(), ", "))
	}
	return supervisor.ServeArgs(ctx, p, args[1:])
}
