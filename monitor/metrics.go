package monitor

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/roseybot/rosey/plugin"
	"github.com/roseybot/rosey/plugin/supervisor"
	"github.com/roseybot/rosey/protocol"
	"github.com/roseybot/rosey/router"
)

// ErrWatched means a part of the same kind is already watched.
var ErrWatched = errors.New("monitor: already watched")

// latencyBounds are the upper bounds of rosey_command_duration_seconds's
// buckets.
var latencyBounds = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// Metrics are the metrics Rosey keeps, in the Prometheus text format, with
// the Go runtime's and the process's. It is safe for concurrent use. The
// zero value is not usable: call NewMetrics.
type Metrics struct {
	activity *Activity

	mu       sync.Mutex
	commands map[commandKey]uint64
	latency  map[string]*histogram // by plugin
	// watched are the parts' collectors, by kind, which each scrape asks.
	watched map[string]func(*exposition)
}

type commandKey struct{ channel, plugin, command, outcome string }

type histogram struct {
	counts []uint64 // per bucket of latencyBounds, then above the last
	sum    float64
}

// NewMetrics returns Metrics with the command metrics and the Go runtime
// and process metrics.
func NewMetrics() *Metrics {
	return &Metrics{
		activity: NewActivity(),
		commands: map[commandKey]uint64{},
		latency:  map[string]*histogram{},
		watched:  map[string]func(*exposition){},
	}
}

// Write writes every metric, in the Prometheus text format (version
// 0.0.4), as /metrics serves them.
func (m *Metrics) Write(w io.Writer) error {
	e := newExposition()
	m.mu.Lock()
	for k, n := range m.commands {
		e.add("rosey_commands_total", typeCounter, "Commands seen by the router, by channel, plugin, command and outcome (answered, error, timeout, not_running, silent, unknown, refused_rank, refused_cooldown, refused_overload).",
			float64(n), "channel", k.channel, "plugin", k.plugin, "command", k.command, "outcome", k.outcome)
	}
	for p, h := range m.latency {
		e.histogram("rosey_command_duration_seconds", "Time from a command line reaching the router to its answer being sent.",
			latencyBounds, h.counts, h.sum, "plugin", p)
	}
	collect := make([]func(*exposition), 0, len(m.watched))
	for _, c := range m.watched {
		collect = append(collect, c)
	}
	m.mu.Unlock()
	// The parts are asked outside the lock: they may take a while (a NATS
	// server's figures), and a command must not wait for a scrape.
	for _, c := range collect {
		c(e)
	}
	collectGo(e)
	collectProcess(e)
	e.sort()
	return e.write(w)
}

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var b bytes.Buffer
		if err := m.Write(&b); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", contentType)
		_, _ = w.Write(b.Bytes())
	})
}

// CommandDone counts a command; it makes Metrics a router.Observer.
func (m *Metrics) CommandDone(o router.Outcome) {
	m.mu.Lock()
	m.commands[commandKey{o.Channel, o.Plugin, o.Command, o.Result}]++
	h := m.latency[o.Plugin]
	if h == nil {
		h = &histogram{counts: make([]uint64, len(latencyBounds)+1)}
		m.latency[o.Plugin] = h
	}
	sec := o.Latency.Seconds()
	h.counts[sort.SearchFloat64s(latencyBounds, sec)]++
	h.sum += sec
	m.mu.Unlock()
	m.activity.Add(time.Now(), o)
}

// Activity returns the recent commands CommandDone recorded, which the
// dashboard shows.
func (m *Metrics) Activity() *Activity { return m.activity }

// watch adds collect, the metrics of a part of the given kind, once.
func (m *Metrics) watch(kind string, collect func(*exposition)) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.watched[kind] != nil {
		return fmt.Errorf("%w: %s", ErrWatched, kind)
	}
	m.watched[kind] = collect
	return nil
}

// WatchRouter adds the number of commands r owes an answer.
func (m *Metrics) WatchRouter(r *router.Router) error {
	return m.watch("router", func(e *exposition) {
		e.add("rosey_commands_waiting", typeGauge, "Command lines the router owes an answer that is not sent yet.", float64(r.Waiting()))
	})
}

// WatchNATS adds the messages and bytes nc has sent and received.
func (m *Metrics) WatchNATS(nc *nats.Conn) error {
	return m.watch("nats", func(e *exposition) {
		s := nc.Stats()
		const msgs = "Messages this process's NATS connection received (in) and sent (out)."
		const bytes = "Payload bytes this process's NATS connection received (in) and sent (out)."
		e.add("rosey_nats_messages_total", typeCounter, msgs, float64(s.InMsgs), "direction", "in")
		e.add("rosey_nats_messages_total", typeCounter, msgs, float64(s.OutMsgs), "direction", "out")
		e.add("rosey_nats_bytes_total", typeCounter, bytes, float64(s.InBytes), "direction", "in")
		e.add("rosey_nats_bytes_total", typeCounter, bytes, float64(s.OutBytes), "direction", "out")
		e.add("rosey_nats_reconnects_total", typeCounter, "Times this process's NATS connection reconnected.", float64(s.Reconnects))
	})
}

// WatchPlugins adds each plugin's state, instances, requests and errors,
// read from status (for example (*supervisor.Manager).Status) at each scrape.
func (m *Metrics) WatchPlugins(status func() []supervisor.Status) error {
	return m.watch("plugins", func(e *exposition) {
		for _, s := range status() {
			up := 0.0
			if s.State == plugin.StateStarted {
				up = 1
			}
			name := s.Info.Name
			e.add("rosey_plugin_up", typeGauge, "1 when the plugin is started, 0 otherwise.", up, "plugin", name, "external", fmt.Sprint(s.External))
			e.add("rosey_plugin_instances", typeGauge, "Running copies of the plugin.", float64(s.Instances), "plugin", name)
			e.add("rosey_plugin_requests_total", typeCounter, "Requests the plugin's command endpoint handled, as its micro service counts them.", float64(s.Requests), "plugin", name)
			e.add("rosey_plugin_errors_total", typeCounter, "Requests the plugin's command endpoint answered with an error.", float64(s.Errors), "plugin", name)
			e.add("rosey_plugin_restarts_total", typeCounter, "Times the plugin's supervised process was started again (after it ended, or a reload).", float64(s.Restarts), "plugin", name)
		}
	})
}

// connConnectedHelp is rosey_connector_connected's, which WatchConnector
// and WatchGatherer both export.
const connConnectedHelp = "1 while the connector is connected and joined to its channel."

// WatchConnector adds the connector's state for channel, read from state
// (for example (*cytube.Connector).State) at each scrape.
func (m *Metrics) WatchConnector(channel string, state func() string) error {
	return m.watch("connector "+channel, func(e *exposition) {
		up := 0.0
		if state() == protocol.StateConnected {
			up = 1
		}
		e.add("rosey_connector_connected", typeGauge, connConnectedHelp, up, "channel", channel)
	})
}

// WatchGatherer adds the figures g gathers over NATS at each scrape: every
// CyTube connector's, wherever it runs (state, lines in and out, send
// queue, pace delays, cooldowns, refusals, reconnects), and the database
// service's operations and their time.
func (m *Metrics) WatchGatherer(g *Gatherer) error {
	return m.watch("gatherer", func(e *exposition) {
		for _, s := range g.Connectors() {
			up := 0.0
			if s.State == protocol.StateConnected {
				up = 1
			}
			l := s.Channel
			e.add("rosey_connector_connected", typeGauge, connConnectedHelp, up, "channel", l)
			e.add("rosey_connector_users", typeGauge, "Logged-in users in the channel, as the connector sees them.", float64(s.Users), "channel", l)
			const lines = "Chat lines and PMs the connector took from CyTube (in) and sent to it (out)."
			e.add("rosey_connector_messages_total", typeCounter, lines, float64(s.MessagesIn), "channel", l, "direction", "in")
			e.add("rosey_connector_messages_total", typeCounter, lines, float64(s.MessagesOut), "channel", l, "direction", "out")
			e.add("rosey_connector_queued_messages", typeGauge, "Messages waiting in the connector's send queue.", float64(s.Queued), "channel", l)
			e.add("rosey_connector_dropped_total", typeCounter, "Messages lost because the connector's send queue was full.", float64(s.Dropped), "channel", l)
			e.summary("rosey_connector_pace_delay_seconds", "Lines the connector's pace (the channel's antiflood, CyTube's limits, the configured caps) held back, and the time they were held.",
				s.Paced, max(s.PacedSeconds, 0), "channel", l)
			e.add("rosey_connector_cooldowns_total", typeCounter, "CyTube cooldown events: a line dropped by CyTube's flood control (the connector sends it again).", float64(s.Cooldowns), "channel", l)
			e.add("rosey_connector_refused_total", typeCounter, "Lines CyTube refused otherwise (noflood, spam filter, a failed PM).", float64(s.Refused), "channel", l)
			e.add("rosey_connector_reconnects_total", typeCounter, "Reconnect attempts after the connector's first connection.", float64(s.Reconnects), "channel", l)
			e.add("rosey_connector_bad_requests_total", typeCounter, "Unreadable cytube.send.* and request payloads the connector ignored.", float64(s.BadRequests), "channel", l)
		}
		for _, o := range g.Database() {
			e.summary("rosey_database_operation_duration_seconds", "Database requests by operation (count) and the time the database service spent serving them (sum), as its micro service counts them.",
				o.Requests, o.Time.Seconds(), "operation", o.Operation)
		}
	})
}

// WatchNATSServer adds the messages, bytes and client connections of the
// NATS server the bot embeds: the whole bus's traffic, every process's.
func (m *Metrics) WatchNATSServer(s *server.Server) error {
	return m.watch("nats server", func(e *exposition) {
		v, err := s.Varz(nil)
		if err != nil {
			return
		}
		const msgs = "Messages the embedded NATS server received from its clients (in) and delivered to them (out)."
		const bytes = "Payload bytes the embedded NATS server received (in) and delivered (out)."
		e.add("rosey_nats_server_messages_total", typeCounter, msgs, float64(v.InMsgs), "direction", "in")
		e.add("rosey_nats_server_messages_total", typeCounter, msgs, float64(v.OutMsgs), "direction", "out")
		e.add("rosey_nats_server_bytes_total", typeCounter, bytes, float64(v.InBytes), "direction", "in")
		e.add("rosey_nats_server_bytes_total", typeCounter, bytes, float64(v.OutBytes), "direction", "out")
		e.add("rosey_nats_server_connections", typeGauge, "Clients connected to the embedded NATS server.", float64(v.Connections))
	})
}
