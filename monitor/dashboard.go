package monitor

import (
	"context"
	"embed"
	"encoding/json"
	"io/fs"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/roseybot/rosey/plugin"
	"github.com/roseybot/rosey/protocol"
)

//go:embed dashboard
var assets embed.FS

// ConnectorState is one connector's state as the dashboard shows it.
type ConnectorState struct {
	Channel string `json:"channel"`
	// State is one of the protocol.State* values; Reason explains it.
	State  string `json:"state"`
	Reason string `json:"reason,omitempty"`
	// Users counts the channel's logged-in users.
	Users int `json:"users"`
	// Since is when the current session joined (zero when not joined).
	Since       time.Time `json:"since,omitzero"`
	MessagesIn  uint64    `json:"messages_in"`
	MessagesOut uint64    `json:"messages_out"`
	Queued      int       `json:"queued"`
	Reconnects  uint64    `json:"reconnects"`
	// Paced counts the lines the pace held back, PacedMs the mean time
	// each was held; Cooldowns and Refused count CyTube's cooldown events
	// and refused lines.
	Paced     uint64  `json:"paced"`
	PacedMs   float64 `json:"paced_ms"`
	Cooldowns uint64  `json:"cooldowns"`
	Refused   uint64  `json:"refused"`
}

// ConnectorStateOf is what the dashboard shows of a connector's figures.
func ConnectorStateOf(s protocol.ConnectorStats) ConnectorState {
	c := ConnectorState{Channel: s.Channel, State: s.State, Reason: s.Reason, Users: s.Users, Since: s.ConnectedSince,
		MessagesIn: s.MessagesIn, MessagesOut: s.MessagesOut, Queued: s.Queued, Reconnects: s.Reconnects,
		Paced: s.Paced, Cooldowns: s.Cooldowns, Refused: s.Refused}
	if s.Paced > 0 && s.PacedSeconds > 0 {
		c.PacedMs = s.PacedSeconds * 1000 / float64(s.Paced)
	}
	return c
}

// ConnectorStates returns ConnectorStateOf each connector's figures (for
// Config.Connectors).
func (g *Gatherer) ConnectorStates() []ConnectorState {
	cs := g.Connectors()
	out := make([]ConnectorState, len(cs))
	for i, c := range cs {
		out[i] = ConnectorStateOf(c)
	}
	return out
}

type databaseView struct {
	// PerSecond counts every operation each second of the window, the
	// oldest first; null before sampling began.
	PerSecond  []*uint64  `json:"per_second"`
	Operations []dbOpView `json:"operations"`
}

type dbOpView struct {
	Operation string  `json:"operation"`
	Requests  uint64  `json:"requests"`
	Errors    uint64  `json:"errors"`
	MeanMs    float64 `json:"mean_ms"`
	Rate      float64 `json:"per_second_1m"`
}

// database gathers the database's part of the view: per-operation totals
// and the last minute's rate, and every operation's rate per second.
func (s *Server) database(now time.Time) databaseView {
	v := databaseView{PerSecond: []*uint64{}, Operations: []dbOpView{}}
	if s.cfg.Database == nil {
		return v
	}
	series := s.dbRates.series(now)
	lastMinute := map[string]float64{}
	for i, rs := range series {
		var minute uint64
		var seconds int
		for j, val := range rs.Values {
			if i == 0 {
				v.PerSecond = append(v.PerSecond, nil)
			}
			if val == nil {
				continue
			}
			if v.PerSecond[j] == nil {
				v.PerSecond[j] = new(uint64)
			}
			*v.PerSecond[j] += *val
			// The last minute's full seconds (the current one still fills).
			if j >= len(rs.Values)-61 && j < len(rs.Values)-1 {
				minute += *val
				seconds++
			}
		}
		if seconds > 0 {
			lastMinute[rs.Name] = float64(minute) / float64(seconds)
		}
	}
	for _, o := range s.cfg.Database() {
		d := dbOpView{Operation: o.Operation, Requests: o.Requests, Errors: o.Errors, Rate: lastMinute[o.Operation]}
		if o.Requests > 0 {
			d.MeanMs = ms(o.Time) / float64(o.Requests)
		}
		v.Operations = append(v.Operations, d)
	}
	return v
}

// view is one update of the dashboard, sent as a server-sent event. It is
// shaped for drawing: series are arrays over the activity window.
type view struct {
	At         int64            `json:"at"` // Unix milliseconds
	Admin      bool             `json:"admin"`
	PerSecond  float64          `json:"per_second"`
	LastMinute latencyView      `json:"last_minute"`
	Rate       rateView         `json:"rate"`
	Latency    latencySeries    `json:"latency"`
	Messages   []rateSeries     `json:"messages"`
	Plugins    []pluginView     `json:"plugins"`
	Connectors []ConnectorState `json:"connectors"`
	Database   databaseView     `json:"database"`
	Recent     []commandView    `json:"recent"`
	Errors     []commandView    `json:"errors"`
}

type latencyView struct {
	Samples int     `json:"samples"`
	P50     float64 `json:"p50_ms"`
	P95     float64 `json:"p95_ms"`
	P99     float64 `json:"p99_ms"`
}

type rateView struct {
	Start  int64 `json:"start"` // Unix milliseconds of the first second
	Total  []int `json:"total"`
	Errors []int `json:"errors"`
}

type latencySeries struct {
	Start int64 `json:"start"` // Unix milliseconds of the first step
	Step  int64 `json:"step"`  // milliseconds
	// Each is null where the step had no command.
	P50 []*float64 `json:"p50_ms"`
	P95 []*float64 `json:"p95_ms"`
	P99 []*float64 `json:"p99_ms"`
}

type pluginView struct {
	Name      string `json:"name"`
	Version   string `json:"version"`
	State     string `json:"state"`
	External  bool   `json:"external"`
	Managed   bool   `json:"managed"`
	Instances int    `json:"instances"`
	Requests  int    `json:"requests"`
	Errors    int    `json:"errors"`
	LastError string `json:"last_error,omitempty"`
	// Over the last minute, from the router's side.
	Commands int     `json:"commands_1m"`
	P95      float64 `json:"p95_ms_1m"`
}

type commandView struct {
	At      int64   `json:"at"` // Unix milliseconds
	Channel string  `json:"channel"`
	Plugin  string  `json:"plugin"`
	Command string  `json:"command"`
	Result  string  `json:"result"`
	Latency float64 `json:"latency_ms"`
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func commands(cs []Command) []commandView {
	out := make([]commandView, len(cs))
	for i, c := range cs {
		out[i] = commandView{At: c.Time.UnixMilli(), Channel: c.Channel, Plugin: c.Plugin,
			Command: c.Command, Result: c.Result, Latency: ms(c.Latency)}
	}
	return out
}

// view gathers what the dashboard shows now.
func (s *Server) view(now time.Time) view {
	v := view{At: now.UnixMilli(), Admin: s.cfg.Control != nil && s.cfg.AdminToken != "",
		Plugins: []pluginView{}, Connectors: []ConnectorState{}, Recent: []commandView{}, Errors: []commandView{}}
	var recent map[string]PluginActivity
	if m := s.cfg.Metrics; m != nil {
		a := m.Activity().Snapshot(now)
		v.PerSecond = a.PerSecond
		v.LastMinute = latencyView{Samples: a.LastMinute.Samples, P50: ms(a.LastMinute.P50),
			P95: ms(a.LastMinute.P95), P99: ms(a.LastMinute.P99)}
		v.Rate.Start = a.Seconds[0].Time.UnixMilli()
		for _, sec := range a.Seconds {
			v.Rate.Total = append(v.Rate.Total, sec.Total)
			v.Rate.Errors = append(v.Rate.Errors, sec.Errors)
		}
		v.Latency.Start, v.Latency.Step = a.Latency[0].Start.UnixMilli(), LatencyStep.Milliseconds()
		for _, p := range a.Latency {
			if p.Samples == 0 {
				v.Latency.P50, v.Latency.P95, v.Latency.P99 = append(v.Latency.P50, nil), append(v.Latency.P95, nil), append(v.Latency.P99, nil)
				continue
			}
			p50, p95, p99 := ms(p.P50), ms(p.P95), ms(p.P99)
			v.Latency.P50, v.Latency.P95, v.Latency.P99 = append(v.Latency.P50, &p50), append(v.Latency.P95, &p95), append(v.Latency.P99, &p99)
		}
		v.Recent, v.Errors = commands(a.Recent), commands(a.Errors)
		recent = a.Plugins
	}
	v.Messages = s.rates.series(now)
	v.Database = s.database(now)
	if s.cfg.Plugins != nil {
		for _, p := range s.cfg.Plugins() {
			a := recent[p.Info.Name]
			v.Plugins = append(v.Plugins, pluginView{Name: p.Info.Name, Version: p.Info.Version, State: p.State,
				External: p.External, Managed: p.Managed, Instances: p.Instances, Requests: p.Requests,
				Errors: p.Errors, LastError: p.LastError, Commands: a.Commands, P95: ms(a.Latency.P95)})
		}
	}
	if s.cfg.Connectors != nil {
		v.Connectors = append(v.Connectors, s.cfg.Connectors()...)
	}
	return v
}

// securityHeaders keeps the page to its own scripts, styles and origin.
func securityHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
}

// page registers a dashboard route: only for a Host the dashboard answers
// to (see Config.Hosts).
func (s *Server) page(pattern string, h http.Handler) {
	s.mux.Handle(pattern, s.hostCheck(h))
}

func (s *Server) routeDashboard() {
	static, _ := fs.Sub(assets, "dashboard")
	files := http.FileServerFS(static)
	s.page("GET /{$}", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		securityHeaders(w)
		w.Header().Set("Cache-Control", "no-cache")
		http.ServeFileFS(w, r, static, "index.html")
	}))
	s.page("GET /assets/", http.StripPrefix("/assets/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		securityHeaders(w)
		w.Header().Set("Cache-Control", "no-cache")
		files.ServeHTTP(w, r)
	})))
	s.page("GET /api/state", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		_ = json.NewEncoder(w).Encode(s.view(time.Now()))
	}))
	s.page("GET /events", http.HandlerFunc(s.events))
}

// hostCheck refuses a request whose Host is a name the dashboard does not
// know: a page on another site whose name was made to resolve to this
// address (DNS rebinding) would otherwise read the dashboard as its own.
// IP addresses, localhost and Config.Hosts pass.
func (s *Server) hostCheck(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := r.Host
		if hp, _, err := net.SplitHostPort(host); err == nil {
			host = hp
		}
		host = strings.ToLower(strings.TrimSuffix(strings.Trim(host, "[]"), "."))
		if net.ParseIP(host) != nil || host == "localhost" || strings.HasSuffix(host, ".localhost") ||
			slices.ContainsFunc(s.cfg.Hosts, func(h string) bool { return strings.EqualFold(h, host) }) {
			h.ServeHTTP(w, r)
			return
		}
		s.log.Warn("dashboard request refused", "reason", "unknown host", "host", plugin.Clip(r.Host, 64))
		http.Error(w, "unknown host name: add it to the dashboard's hosts (http.hosts in the config)", http.StatusMisdirectedRequest)
	})
}

// events streams a view every Interval as server-sent events until the
// client goes away or the server stops.
func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	select {
	case s.watchers <- struct{}{}:
		defer func() { <-s.watchers }()
	default:
		http.Error(w, "too many dashboards are open; close one and retry", http.StatusServiceUnavailable)
		return
	}
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	tick := time.NewTicker(s.cfg.Interval)
	defer tick.Stop()
	send := func() bool {
		b, err := json.Marshal(s.view(time.Now()))
		if err != nil {
			s.log.Error("dashboard update", "err", err)
			return false
		}
		// A client that stops reading must not hold the handler forever.
		_ = rc.SetWriteDeadline(time.Now().Add(10 * time.Second))
		if _, err := w.Write(append(append([]byte("event: update\ndata: "), b...), "\n\n"...)); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	// Tell the browser how soon to come back after a lost connection.
	if _, err := w.Write([]byte("retry: 2000\n\n")); err != nil {
		return
	}
	for ok := send(); ok; {
		select {
		case <-r.Context().Done():
			return
		case <-s.quit:
			return
		case <-tick.C:
			ok = send()
		}
	}
}

// stopWatchers ends every event stream, so that a server's Shutdown does
// not wait for them.
func (s *Server) stopWatchers(context.Context) {
	s.quitOnce.Do(func() { close(s.quit) })
}
