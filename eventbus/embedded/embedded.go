package embedded

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/roseybot/rosey/eventbus"
)

// DefaultListen is where the embedded server listens unless told otherwise.
const DefaultListen = "127.0.0.1:4222"

// ErrStart means the server could not start.
var ErrStart = errors.New("embedded: nats server did not start")

// Config configures an embedded server. The zero value listens on
// DefaultListen.
type Config struct {
	// Listen is host:port. Port 0 picks a free port. Empty means DefaultListen.
	Listen string `json:"listen,omitempty"`
	// NoListen opens no socket at all: only in-process connections work.
	NoListen bool `json:"no_listen,omitempty"`
	// ConfigFile is a nats-server configuration file (accounts, users,
	// permissions, cluster routes). Listen still applies when set.
	ConfigFile string `json:"config_file,omitempty"`
	// ServerName names the server (useful in clusters).
	ServerName string `json:"server_name,omitempty"`
	// ReadyTimeout bounds the wait for the server; zero means 10 seconds.
	ReadyTimeout time.Duration `json:"ready_timeout,omitempty"`
	// Logger receives the server's own log lines at debug level; nil is silent.
	Logger *slog.Logger `json:"-"`
}

// Server is a running embedded nats-server.
type Server struct {
	ns *server.Server
}

// Start starts a server and waits until it accepts connections. The
// server's own signal handling is off so the host program's shutdown runs.
func Start(ctx context.Context, cfg Config) (*Server, error) {
	opts := &server.Options{}
	if cfg.ConfigFile != "" {
		o, err := server.ProcessConfigFile(cfg.ConfigFile)
		if err != nil {
			return nil, fmt.Errorf("%w: config_file: %v", ErrStart, err)
		}
		opts = o
	}
	listen := cfg.Listen
	if listen == "" && (cfg.ConfigFile == "" || opts.Port == 0) {
		listen = DefaultListen
	}
	if listen != "" {
		host, port, err := net.SplitHostPort(listen)
		if err != nil {
			return nil, fmt.Errorf("%w: listen: %q: %v", ErrStart, listen, err)
		}
		p, err := strconv.Atoi(port)
		if err != nil || p < 0 || p > 65535 {
			return nil, fmt.Errorf("%w: listen: bad port %q", ErrStart, port)
		}
		if p == 0 {
			p = server.RANDOM_PORT
		} else if !cfg.NoListen {
			// nats-server would only say so by never becoming ready: check
			// first, so a taken port is an instant, clear error.
			l, err := net.Listen("tcp", listen)
			if err != nil {
				return nil, fmt.Errorf("%w: listen %s: %w (another NATS server? use port 0 for a free one)", ErrStart, listen, err)
			}
			_ = l.Close()
		}
		opts.Host, opts.Port = host, p
	}
	opts.DontListen = cfg.NoListen
	opts.NoSigs = true
	opts.NoLog = cfg.Logger == nil
	if cfg.ServerName != "" {
		opts.ServerName = cfg.ServerName
	}
	ns, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrStart, err)
	}
	if cfg.Logger != nil {
		ns.SetLoggerV2(&logAdapter{cfg.Logger}, false, false, false)
	}
	ns.Start()
	wait := cfg.ReadyTimeout
	if wait == 0 {
		wait = 10 * time.Second
	}
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
		wait = time.Until(dl)
	}
	if !ns.ReadyForConnections(wait) {
		ns.Shutdown()
		ns.WaitForShutdown()
		return nil, fmt.Errorf("%w: not ready after %s (is %s already in use?)", ErrStart, wait, listen)
	}
	return &Server{ns: ns}, nil
}

// ClientURL is the nats:// URL other processes use to connect, or "" with NoListen.
func (s *Server) ClientURL() string {
	if s.ns.Addr() == nil {
		return ""
	}
	return s.ns.ClientURL()
}

// BusConfig returns a bus configuration that connects in-process.
func (s *Server) BusConfig(name string) eventbus.Config {
	return eventbus.Config{Name: name, InProcess: s.ns}
}

// NATS returns the underlying server, for options this package does not wrap.
func (s *Server) NATS() *server.Server { return s.ns }

// Shutdown stops the server and waits until it is down or ctx ends.
func (s *Server) Shutdown(ctx context.Context) error {
	done := make(chan struct{})
	go func() {
		s.ns.Shutdown()
		s.ns.WaitForShutdown()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("embedded: shutdown: %w", ctx.Err())
	}
}

// logAdapter sends nats-server logs to slog at debug level (errors at error).
type logAdapter struct{ l *slog.Logger }

func (a *logAdapter) Noticef(format string, v ...any) { a.l.Debug(fmt.Sprintf(format, v...)) }
func (a *logAdapter) Warnf(format string, v ...any)   { a.l.Warn(fmt.Sprintf(format, v...)) }
func (a *logAdapter) Fatalf(format string, v ...any)  { a.l.Error(fmt.Sprintf(format, v...)) }
func (a *logAdapter) Errorf(format string, v ...any)  { a.l.Error(fmt.Sprintf(format, v...)) }
func (a *logAdapter) Debugf(format string, v ...any)  { a.l.Debug(fmt.Sprintf(format, v...)) }
func (a *logAdapter) Tracef(format string, v ...any)  { a.l.Debug(fmt.Sprintf(format, v...)) }
