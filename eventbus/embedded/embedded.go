package embedded

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nkeys"

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
	// NoAuth lets any process that reaches the listener connect without
	// credentials. It is for development only: by default a listening
	// server requires the credentials it generates (see SeedFile), unless
	// ConfigFile sets up authentication of its own. A server with
	// NoListen needs none, as only this process can reach it.
	NoAuth bool `json:"no_auth,omitempty"`
	// SeedFile keeps the generated credentials, an nkey seed, readable by
	// the owner only (0600); it is created on first start and reused after,
	// so external plugins keep connecting with it (ROSEY_NATS_NKEY=<file>).
	// Empty keeps the seed in memory: then only this process can use it.
	SeedFile string `json:"seed_file,omitempty"`
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
	// seed and seedFile are the generated credentials, if any.
	seed     string
	seedFile string
	// opts are the options the server started with (SetUsers reloads a
	// copy); mu serialises SetUsers.
	opts *server.Options
	mu   sync.Mutex
}

// User is a NATS user the server lets in besides the bot, with only the
// subjects given: a plugin under least privilege. Subjects are full NATS
// subjects (prefixed already where the bot has a subject prefix).
type User struct {
	// NKey is the user's public nkey ("U…"); the user proves it holds the
	// seed when it connects.
	NKey      string
	Publish   []string
	Subscribe []string
	// AllowResponses lets the user answer each request it receives once.
	AllowResponses bool
}

// ErrUsers means the server cannot take users of its own: it has no
// generated credentials (NoAuth, NoListen, or users from ConfigFile).
var ErrUsers = errors.New("embedded: users can be added only to a server that made its own credentials")

// SetUsers replaces the users the server lets in besides the bot, while
// it runs: a new user may connect at once, and the connections of a user
// no longer listed are closed. It needs the generated credentials (see
// Credentials); with NoAuth, NoListen or a ConfigFile that sets up users
// it returns ErrUsers.
func (s *Server) SetUsers(users []User) error {
	if s.seed == "" {
		return ErrUsers
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.opts.Clone()
	o.Nkeys = o.Nkeys[:1] // the bot's own
	for _, u := range users {
		if !nkeys.IsValidPublicUserKey(u.NKey) {
			return fmt.Errorf("embedded: %q is not a public user nkey", u.NKey)
		}
		perm := &server.Permissions{
			Publish:   &server.SubjectPermission{Allow: append([]string{}, u.Publish...)},
			Subscribe: &server.SubjectPermission{Allow: append([]string{}, u.Subscribe...)},
		}
		if u.AllowResponses {
			perm.Response = &server.ResponsePermission{MaxMsgs: server.DEFAULT_ALLOW_RESPONSE_MAX_MSGS, Expires: server.DEFAULT_ALLOW_RESPONSE_EXPIRATION}
		}
		o.Nkeys = append(o.Nkeys, &server.NkeyUser{Nkey: u.NKey, Permissions: perm})
	}
	if err := s.ns.ReloadOptions(o); err != nil {
		return fmt.Errorf("embedded: set users: %w", err)
	}
	return nil
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
	var seed, seedFile string
	if !cfg.NoListen && !cfg.NoAuth && !hasAuth(opts) {
		kp, err := loadSeed(cfg.SeedFile, cfg.Logger)
		if err != nil {
			return nil, fmt.Errorf("%w: seed_file: %w", ErrStart, err)
		}
		pub, _ := kp.PublicKey()
		raw, _ := kp.Seed()
		seed, seedFile = string(raw), cfg.SeedFile
		opts.Nkeys = append(opts.Nkeys, &server.NkeyUser{Nkey: pub})
	}
	opts.NoSigs = true
	opts.NoLog = cfg.Logger == nil
	if cfg.ServerName != "" {
		opts.ServerName = cfg.ServerName
	}
	orig := opts.Clone() // NewServer and Start change opts as they go
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
	return &Server{ns: ns, seed: seed, seedFile: seedFile, opts: orig}, nil
}

// hasAuth reports whether a configuration file set up authentication.
func hasAuth(o *server.Options) bool {
	return len(o.Users) > 0 || len(o.Nkeys) > 0 || o.Username != "" || o.Authorization != "" ||
		len(o.TrustedKeys) > 0 || len(o.TrustedOperators) > 0 || o.AuthCallout != nil
}

// loadSeed reads the nkey seed in file, or creates one there (0600, in a
// directory created 0700 if missing). With no file the seed is new and
// kept in memory.
func loadSeed(file string, log *slog.Logger) (nkeys.KeyPair, error) {
	if file == "" {
		return nkeys.CreateUser()
	}
	raw, err := os.ReadFile(file)
	if errors.Is(err, fs.ErrNotExist) {
		kp, err := nkeys.CreateUser()
		if err != nil {
			return nil, err
		}
		seed, _ := kp.Seed()
		if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
			return nil, err
		}
		f, err := os.OpenFile(file, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return nil, err
		}
		_, werr := f.Write(append(seed, '\n'))
		if err := errors.Join(werr, f.Close()); err != nil {
			_ = os.Remove(file)
			return nil, err
		}
		return kp, nil
	}
	if err != nil {
		return nil, err
	}
	if fi, err := os.Stat(file); err == nil && fi.Mode().Perm()&0o077 != 0 {
		// Readable by others: whoever read it could already connect, but
		// nobody else should from now on.
		if err := os.Chmod(file, 0o600); err != nil {
			return nil, err
		}
		if log != nil {
			log.Warn("the NATS credentials file was readable by others; now 0600 (consider deleting it to make new credentials)", "file", file)
		}
	}
	kp, err := nkeys.FromSeed(bytes.TrimSpace(raw))
	if err != nil {
		return nil, fmt.Errorf("%s: not an nkey seed: %w", file, err)
	}
	return kp, nil
}

// ClientURL is the nats:// URL other processes use to connect, or "" with NoListen.
func (s *Server) ClientURL() string {
	if s.ns.Addr() == nil {
		return ""
	}
	return s.ns.ClientURL()
}

// BusConfig returns a bus configuration that connects in-process, with
// the server's generated credentials if it has any.
func (s *Server) BusConfig(name string) eventbus.Config {
	return eventbus.Config{Name: name, InProcess: s.ns, NKeySeed: s.seed}
}

// Credentials returns what another process needs to connect: the file
// holding the generated nkey seed (for ROSEY_NATS_NKEY or -nkey), and
// whether the server generated credentials at all. With NoListen, NoAuth,
// or authentication from ConfigFile it generated none; with no SeedFile
// only this process knows them and file is "".
func (s *Server) Credentials() (file string, generated bool) {
	return s.seedFile, s.seed != ""
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
