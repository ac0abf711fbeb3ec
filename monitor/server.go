package monitor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/roseybot/rosey/plugin/supervisor"
)

// ErrStopped means a stopped Server was started again.
var ErrStopped = errors.New("monitor: server was stopped")

// ErrInvalidConfig means a Config failed validation.
var ErrInvalidConfig = errors.New("monitor: invalid config")

// Check is one thing /readyz asks about: Run returns nil when it is ready,
// or an error saying why not.
type Check struct {
	Name string
	Run  func(ctx context.Context) error
}

// Config configures a Server.
type Config struct {
	// Listen is the address to listen on, such as "127.0.0.1:9321"
	// (port 0 picks a free one; Addr tells which).
	Listen string
	// Metrics are served on /metrics; nil serves none.
	Metrics *Metrics
	// Checks are what /readyz reports on.
	Checks []Check
	// CheckTimeout bounds each check; default 2 seconds.
	CheckTimeout time.Duration
	// Logger receives the server's logs; nil is silent.
	Logger *slog.Logger

	// Plugins returns every plugin's status for the dashboard's table
	// (for example (*supervisor.Manager).Status); nil shows none.
	Plugins func() []supervisor.Status
	// Connectors returns each connector's state for the dashboard; nil
	// shows none.
	Connectors func() []ConnectorState
	// Control carries out the dashboard's admin actions (enable, disable,
	// reload a plugin); *supervisor.Control, which drives the plugin manager
	// over NATS as !admin does, is one. The actions need AdminToken too.
	Control PluginControl
	// AdminToken is the secret the dashboard's admin actions must carry
	// (rosey.New takes it from ROSEY_DASHBOARD_TOKEN); empty keeps the
	// dashboard read-only.
	AdminToken string
	// Interval is how often the dashboard is updated; default 1 second.
	Interval time.Duration
	// MaxWatchers bounds the dashboards open at once; default 32.
	MaxWatchers int
	// Hosts are the host names, besides IP addresses and localhost, that
	// the dashboard answers to, such as a reverse proxy's public name;
	// another name is refused (421), against DNS rebinding. /metrics,
	// /healthz and /readyz answer to any.
	Hosts []string
	// Rates are counters the dashboard charts per second (messages in and
	// out, for example), sampled every second between Start and Stop.
	Rates []Rate
	// Database returns the database operations' figures for the
	// dashboard's database table and chart (for example
	// (*Gatherer).Database), sampled every second between Start and Stop;
	// nil shows none.
	Database func() []DatabaseOp
}

// Validate reports the first problem with c, naming the field.
func (c Config) Validate() error {
	if c.Listen == "" {
		return fmt.Errorf("%w: listen: an address is required, such as 127.0.0.1:9321", ErrInvalidConfig)
	}
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		return fmt.Errorf("%w: listen: %q: want host:port, such as 127.0.0.1:9321", ErrInvalidConfig, c.Listen)
	}
	if c.CheckTimeout < 0 {
		return fmt.Errorf("%w: check_timeout: must not be negative", ErrInvalidConfig)
	}
	if c.Interval < 0 || c.MaxWatchers < 0 {
		return fmt.Errorf("%w: interval and max_watchers must not be negative", ErrInvalidConfig)
	}
	for i, r := range c.Rates {
		if r.Name == "" || r.Read == nil {
			return fmt.Errorf("%w: rates[%d]: needs a name and a Read function", ErrInvalidConfig, i)
		}
	}
	for i, ch := range c.Checks {
		if ch.Name == "" || ch.Run == nil {
			return fmt.Errorf("%w: checks[%d]: needs a name and a Run function", ErrInvalidConfig, i)
		}
	}
	return nil
}

// Server serves the dashboard at /, its updates at /events, its admin
// actions under /api/plugins/, and /metrics, /healthz and /readyz over
// HTTP.
type Server struct {
	cfg Config
	log *slog.Logger
	mux *http.ServeMux

	watchers chan struct{} // a slot per open event stream
	quit     chan struct{} // closed by Stop: event streams and sampling end
	rates    *rates
	dbRates  *rates // one per DatabaseOperations entry, when Config.Database is set
	quitOnce sync.Once

	mu  sync.Mutex
	srv *http.Server
	ln  net.Listener
}

// NewServer returns a Server; Start makes it listen.
func NewServer(cfg Config) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.CheckTimeout == 0 {
		cfg.CheckTimeout = 2 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Interval == 0 {
		cfg.Interval = time.Second
	}
	if cfg.MaxWatchers == 0 {
		cfg.MaxWatchers = 32
	}
	s := &Server{cfg: cfg, log: cfg.Logger.With("component", "monitor"), mux: http.NewServeMux(),
		watchers: make(chan struct{}, cfg.MaxWatchers), quit: make(chan struct{}), rates: newRates(cfg.Rates)}
	if cfg.Database != nil {
		s.dbRates = newRates(databaseRates(cfg.Database))
	}
	if cfg.Metrics != nil {
		s.mux.Handle("GET /metrics", cfg.Metrics.Handler())
	}
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	})
	s.mux.HandleFunc("GET /readyz", s.readyz)
	s.routeDashboard()
	s.routeAdmin()
	return s, nil
}

// Handler returns the server's routes, for mounting in a server of your
// own instead of calling Start. Config.Rates are sampled only between
// Start and Stop.
func (s *Server) Handler() http.Handler { return s.mux }

// Start listens and serves in the background until Stop.
func (s *Server) Start(context.Context) error {
	select {
	case <-s.quit:
		return fmt.Errorf("monitor: start: %w", ErrStopped)
	default:
	}
	ln, err := net.Listen("tcp", s.cfg.Listen)
	if err != nil {
		return fmt.Errorf("monitor: listen on %s: %w", s.cfg.Listen, err)
	}
	srv := &http.Server{Handler: s.mux, ReadHeaderTimeout: 5 * time.Second}
	s.mu.Lock()
	s.srv, s.ln = srv, ln
	s.mu.Unlock()
	if len(s.cfg.Rates) > 0 {
		// The first sample is the baseline: taken before Start returns, so
		// what happens after it counts even when the sampler's goroutine
		// is slow to run (a busy machine).
		s.rates.sample(time.Now())
		go s.rates.run(s.quit)
	}
	if s.dbRates != nil {
		s.dbRates.sample(time.Now())
		go s.dbRates.run(s.quit)
	}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("monitor server stopped", "err", err)
		}
	}()
	s.log.Info("monitor listening", "addr", ln.Addr().String())
	return nil
}

// Addr is the address the server listens on, once started.
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return ""
	}
	return s.ln.Addr().String()
}

// Stop stops serving, letting requests in progress finish within ctx; it
// ends the dashboards' event streams, also those of a Handler mounted
// elsewhere. A stopped Server does not start again.
func (s *Server) Stop(ctx context.Context) error {
	s.stopWatchers(ctx)
	s.mu.Lock()
	srv := s.srv
	s.srv, s.ln = nil, nil
	s.mu.Unlock()
	if srv == nil {
		return nil
	}
	if err := srv.Shutdown(ctx); err != nil {
		return fmt.Errorf("monitor: stop: %w", err)
	}
	return nil
}

// readyz runs every check at once and answers 200 when all pass, or 503
// listing each check with its reason.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.CheckTimeout)
	defer cancel()
	errs := make([]error, len(s.cfg.Checks))
	var wg sync.WaitGroup
	for i, c := range s.cfg.Checks {
		wg.Go(func() { errs[i] = c.Run(ctx) })
	}
	wg.Wait()
	var b strings.Builder
	ready := true
	for i, c := range s.cfg.Checks {
		if errs[i] != nil {
			ready = false
			fmt.Fprintf(&b, "%s: %s\n", c.Name, oneLine(errs[i].Error()))
		} else {
			fmt.Fprintf(&b, "%s: ok\n", c.Name)
		}
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if !ready {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	_, _ = w.Write([]byte(b.String()))
}

func oneLine(s string) string {
	return strings.Join(slices.Collect(strings.FieldsSeq(s)), " ")
}
