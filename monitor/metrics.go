package monitor

import (
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/roseybot/rosey/plugin"
	"github.com/roseybot/rosey/plugin/supervisor"
	"github.com/roseybot/rosey/protocol"
	"github.com/roseybot/rosey/router"
)

// ErrWatched means a part of the same kind is already watched.
var ErrWatched = errors.New("monitor: already watched")

// Metrics is a bot's Prometheus registry and the metrics Rosey keeps in
// it. It is safe for concurrent use. The zero value is not usable: call
// NewMetrics.
type Metrics struct {
	reg      *prometheus.Registry
	commands *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	activity *Activity

	mu      sync.Mutex
	watched map[string]bool
}

// NewMetrics returns Metrics with the command metrics and the Go runtime
// and process collectors registered.
func NewMetrics() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		commands: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rosey_commands_total",
			Help: "Commands seen by the router, by channel, plugin, command and outcome (answered, error, timeout, not_running, silent, unknown, refused_rank, refused_cooldown, refused_overload).",
		}, []string{"channel", "plugin", "command", "outcome"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "rosey_command_duration_seconds",
			Help:    "Time from a command line reaching the router to its answer being sent.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"plugin"}),
		activity: NewActivity(),
		watched:  map[string]bool{},
	}
	m.reg.MustRegister(m.commands, m.latency,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Registry returns the registry, for metrics of your own.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// CommandDone counts a command; it makes Metrics a router.Observer.
func (m *Metrics) CommandDone(o router.Outcome) {
	m.commands.WithLabelValues(o.Channel, o.Plugin, o.Command, o.Result).Inc()
	m.latency.WithLabelValues(o.Plugin).Observe(o.Latency.Seconds())
	m.activity.Add(time.Now(), o)
}

// Activity returns the recent commands CommandDone recorded, which the
// dashboard shows.
func (m *Metrics) Activity() *Activity { return m.activity }

// watch registers cs under kind once.
func (m *Metrics) watch(kind string, cs ...prometheus.Collector) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.watched[kind] {
		return fmt.Errorf("%w: %s", ErrWatched, kind)
	}
	for _, c := range cs {
		if err := m.reg.Register(c); err != nil {
			return fmt.Errorf("monitor: watch %s: %w", kind, err)
		}
	}
	m.watched[kind] = true
	return nil
}

// WatchRouter adds the number of commands r owes an answer.
func (m *Metrics) WatchRouter(r *router.Router) error {
	return m.watch("router", prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "rosey_commands_waiting",
		Help: "Command lines the router owes an answer that is not sent yet.",
	}, func() float64 { return float64(r.Waiting()) }))
}

// WatchNATS adds the messages and bytes nc has sent and received.
func (m *Metrics) WatchNATS(nc *nats.Conn) error {
	return m.watch("nats", natsCollector{nc})
}

var (
	natsMsgs = prometheus.NewDesc("rosey_nats_messages_total",
		"Messages this process's NATS connection received (in) and sent (out).", []string{"direction"}, nil)
	natsBytes = prometheus.NewDesc("rosey_nats_bytes_total",
		"Payload bytes this process's NATS connection received (in) and sent (out).", []string{"direction"}, nil)
	natsReconnects = prometheus.NewDesc("rosey_nats_reconnects_total",
		"Times this process's NATS connection reconnected.", nil, nil)
)

type natsCollector struct{ nc *nats.Conn }

func (natsCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- natsMsgs
	ch <- natsBytes
	ch <- natsReconnects
}

func (c natsCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.nc.Stats()
	ch <- prometheus.MustNewConstMetric(natsMsgs, prometheus.CounterValue, float64(s.InMsgs), "in")
	ch <- prometheus.MustNewConstMetric(natsMsgs, prometheus.CounterValue, float64(s.OutMsgs), "out")
	ch <- prometheus.MustNewConstMetric(natsBytes, prometheus.CounterValue, float64(s.InBytes), "in")
	ch <- prometheus.MustNewConstMetric(natsBytes, prometheus.CounterValue, float64(s.OutBytes), "out")
	ch <- prometheus.MustNewConstMetric(natsReconnects, prometheus.CounterValue, float64(s.Reconnects))
}

// WatchPlugins adds each plugin's state, instances, requests and errors,
// read from status (for example (*supervisor.Manager).Status) at each scrape.
func (m *Metrics) WatchPlugins(status func() []supervisor.Status) error {
	return m.watch("plugins", pluginCollector{status})
}

var (
	pluginUp = prometheus.NewDesc("rosey_plugin_up",
		"1 when the plugin is started, 0 otherwise.", []string{"plugin", "external"}, nil)
	pluginInstances = prometheus.NewDesc("rosey_plugin_instances",
		"Running copies of the plugin.", []string{"plugin"}, nil)
	pluginRequests = prometheus.NewDesc("rosey_plugin_requests_total",
		"Requests the plugin's command endpoint handled, as its micro service counts them.", []string{"plugin"}, nil)
	pluginErrors = prometheus.NewDesc("rosey_plugin_errors_total",
		"Requests the plugin's command endpoint answered with an error.", []string{"plugin"}, nil)
	pluginRestarts = prometheus.NewDesc("rosey_plugin_restarts_total",
		"Times the plugin's supervised process was started again (after it ended, or a reload).", []string{"plugin"}, nil)
)

type pluginCollector struct{ status func() []supervisor.Status }

func (pluginCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- pluginUp
	ch <- pluginInstances
	ch <- pluginRequests
	ch <- pluginErrors
	ch <- pluginRestarts
}

func (c pluginCollector) Collect(ch chan<- prometheus.Metric) {
	for _, s := range c.status() {
		up := 0.0
		if s.State == plugin.StateStarted {
			up = 1
		}
		name := s.Info.Name
		ch <- prometheus.MustNewConstMetric(pluginUp, prometheus.GaugeValue, up, name, fmt.Sprint(s.External))
		ch <- prometheus.MustNewConstMetric(pluginInstances, prometheus.GaugeValue, float64(s.Instances), name)
		ch <- prometheus.MustNewConstMetric(pluginRequests, prometheus.CounterValue, float64(s.Requests), name)
		ch <- prometheus.MustNewConstMetric(pluginErrors, prometheus.CounterValue, float64(s.Errors), name)
		ch <- prometheus.MustNewConstMetric(pluginRestarts, prometheus.CounterValue, float64(s.Restarts), name)
	}
}

// WatchConnector adds the connector's state for channel, read from state
// (for example (*cytube.Connector).State) at each scrape.
func (m *Metrics) WatchConnector(channel string, state func() string) error {
	return m.watch("connector "+channel, prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name:        "rosey_connector_connected",
		Help:        "1 while the connector is connected and joined to its channel.",
		ConstLabels: prometheus.Labels{"channel": channel},
	}, func() float64 {
		if state() == protocol.StateConnected {
			return 1
		}
		return 0
	}))
}

// WatchGatherer adds the figures g gathers over NATS at each scrape: every
// CyTube connector's, wherever it runs (state, lines in and out, send
// queue, pace delays, cooldowns, refusals, reconnects), and the database
// service's operations and their time.
func (m *Metrics) WatchGatherer(g *Gatherer) error {
	return m.watch("gatherer", gatherCollector{g})
}

var (
	connConnected = prometheus.NewDesc("rosey_connector_connected",
		"1 while the connector is connected and joined to its channel.", []string{"channel"}, nil)
	connUsers = prometheus.NewDesc("rosey_connector_users",
		"Logged-in users in the channel, as the connector sees them.", []string{"channel"}, nil)
	connMessages = prometheus.NewDesc("rosey_connector_messages_total",
		"Chat lines and PMs the connector took from CyTube (in) and sent to it (out).", []string{"channel", "direction"}, nil)
	connQueued = prometheus.NewDesc("rosey_connector_queued_messages",
		"Messages waiting in the connector's send queue.", []string{"channel"}, nil)
	connDropped = prometheus.NewDesc("rosey_connector_dropped_total",
		"Messages lost because the connector's send queue was full.", []string{"channel"}, nil)
	connPaced = prometheus.NewDesc("rosey_connector_pace_delay_seconds",
		"Lines the connector's pace (the channel's antiflood, CyTube's limits, the configured caps) held back, and the time they were held.", []string{"channel"}, nil)
	connCooldowns = prometheus.NewDesc("rosey_connector_cooldowns_total",
		"CyTube cooldown events: a line dropped by CyTube's flood control (the connector sends it again).", []string{"channel"}, nil)
	connRefused = prometheus.NewDesc("rosey_connector_refused_total",
		"Lines CyTube refused otherwise (noflood, spam filter, a failed PM).", []string{"channel"}, nil)
	connReconnects = prometheus.NewDesc("rosey_connector_reconnects_total",
		"Reconnect attempts after the connector's first connection.", []string{"channel"}, nil)
	connBad = prometheus.NewDesc("rosey_connector_bad_requests_total",
		"Unreadable cytube.send.* and request payloads the connector ignored.", []string{"channel"}, nil)
	dbOps = prometheus.NewDesc("rosey_database_operation_duration_seconds",
		"Database requests by operation (count) and the time the database service spent serving them (sum), as its micro service counts them.", []string{"operation"}, nil)
	dbErrors = prometheus.NewDesc("rosey_database_errors_total",
		"Database requests that failed (every error answer but not_found), by operation.", []string{"operation"}, nil)
)

type gatherCollector struct{ g *Gatherer }

func (gatherCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{connConnected, connUsers, connMessages, connQueued, connDropped, connPaced,
		connCooldowns, connRefused, connReconnects, connBad, dbOps, dbErrors} {
		ch <- d
	}
}

func (c gatherCollector) Collect(ch chan<- prometheus.Metric) {
	for _, s := range c.g.Connectors() {
		up := 0.0
		if s.State == protocol.StateConnected {
			up = 1
		}
		l := s.Channel
		ch <- prometheus.MustNewConstMetric(connConnected, prometheus.GaugeValue, up, l)
		ch <- prometheus.MustNewConstMetric(connUsers, prometheus.GaugeValue, float64(s.Users), l)
		ch <- prometheus.MustNewConstMetric(connMessages, prometheus.CounterValue, float64(s.MessagesIn), l, "in")
		ch <- prometheus.MustNewConstMetric(connMessages, prometheus.CounterValue, float64(s.MessagesOut), l, "out")
		ch <- prometheus.MustNewConstMetric(connQueued, prometheus.GaugeValue, float64(s.Queued), l)
		ch <- prometheus.MustNewConstMetric(connDropped, prometheus.CounterValue, float64(s.Dropped), l)
		ch <- prometheus.MustNewConstSummary(connPaced, s.Paced, max(s.PacedSeconds, 0), nil, l)
		ch <- prometheus.MustNewConstMetric(connCooldowns, prometheus.CounterValue, float64(s.Cooldowns), l)
		ch <- prometheus.MustNewConstMetric(connRefused, prometheus.CounterValue, float64(s.Refused), l)
		ch <- prometheus.MustNewConstMetric(connReconnects, prometheus.CounterValue, float64(s.Reconnects), l)
		ch <- prometheus.MustNewConstMetric(connBad, prometheus.CounterValue, float64(s.BadRequests), l)
	}
	for _, o := range c.g.Database() {
		ch <- prometheus.MustNewConstSummary(dbOps, o.Requests, o.Time.Seconds(), nil, o.Operation)
		ch <- prometheus.MustNewConstMetric(dbErrors, prometheus.CounterValue, float64(o.Errors), o.Operation)
	}
}

// WatchNATSServer adds the messages, bytes and client connections of the
// NATS server the bot embeds: the whole bus's traffic, every process's.
func (m *Metrics) WatchNATSServer(s *server.Server) error {
	return m.watch("nats server", natsServerCollector{s})
}

var (
	natsServerMsgs = prometheus.NewDesc("rosey_nats_server_messages_total",
		"Messages the embedded NATS server received from its clients (in) and delivered to them (out).", []string{"direction"}, nil)
	natsServerBytes = prometheus.NewDesc("rosey_nats_server_bytes_total",
		"Payload bytes the embedded NATS server received (in) and delivered (out).", []string{"direction"}, nil)
	natsServerConns = prometheus.NewDesc("rosey_nats_server_connections",
		"Clients connected to the embedded NATS server.", nil, nil)
)

type natsServerCollector struct{ s *server.Server }

func (natsServerCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- natsServerMsgs
	ch <- natsServerBytes
	ch <- natsServerConns
}

func (c natsServerCollector) Collect(ch chan<- prometheus.Metric) {
	v, err := c.s.Varz(nil)
	if err != nil {
		return
	}
	ch <- prometheus.MustNewConstMetric(natsServerMsgs, prometheus.CounterValue, float64(v.InMsgs), "in")
	ch <- prometheus.MustNewConstMetric(natsServerMsgs, prometheus.CounterValue, float64(v.OutMsgs), "out")
	ch <- prometheus.MustNewConstMetric(natsServerBytes, prometheus.CounterValue, float64(v.InBytes), "in")
	ch <- prometheus.MustNewConstMetric(natsServerBytes, prometheus.CounterValue, float64(v.OutBytes), "out")
	ch <- prometheus.MustNewConstMetric(natsServerConns, prometheus.GaugeValue, float64(v.Connections))
}
