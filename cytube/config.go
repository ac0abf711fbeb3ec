package cytube

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Defaults for Config. Chat is paced by the channel's own rules, read from
// the server (see Config.Rate); the backoff defaults respect CyTube's per-IP
// connection limit (5 attempts, then 1 per 10 s).
const (
	DefaultServer           = "https://cytu.be"
	DefaultCommandPrefix    = "!"
	DefaultMaxMessageLength = 320
	DefaultMaxParts         = 8
	DefaultQueueSize        = 100
	DefaultBackoffMin       = 5 * time.Second
	DefaultBackoffMax       = 5 * time.Minute
	DefaultStableAfter      = time.Minute
	DefaultConnectBurst     = 5
	DefaultConnectInterval  = 10 * time.Second
	DefaultHandshakeTimeout = 30 * time.Second
	DefaultWriteTimeout     = 10 * time.Second
	DefaultCooldownRecovery = 30 * time.Second
	DefaultErrorAfter       = time.Minute
	DefaultPositionEvery    = 30 * time.Second
	DefaultActionTimeout    = 10 * time.Second
)

// Environment variables read by FromEnv.
const (
	EnvPassword        = "ROSEY_CYTUBE_PASSWORD"
	EnvChannelPassword = "ROSEY_CYTUBE_CHANNEL_PASSWORD"
	EnvUser            = "ROSEY_CYTUBE_USER"
	EnvChannel         = "ROSEY_CYTUBE_CHANNEL"
	EnvServer          = "ROSEY_CYTUBE_SERVER"
)

// Config configures a Connector. Only Channel and User are required. In
// JSON, durations are strings with a unit ("10s", "1m30s"); a bare number
// is an error.
type Config struct {
	// Server is the CyTube site's base URL; the socket URL is discovered
	// from it. Default DefaultServer.
	Server string `json:"server,omitempty"`
	// Channel is the channel to join.
	Channel string `json:"channel"`
	// ChannelPassword is needed for password-protected channels.
	ChannelPassword string `json:"channel_password,omitempty"`
	// User is the bot's name. With an empty Password it logs in as a guest.
	User string `json:"user"`
	// Password logs in to a registered account.
	Password string `json:"password,omitempty"`

	// Chat and PMs are paced exactly to the rule CyTube applies to the
	// bot: the channel's chat_antiflood_params (from channelOpts, followed
	// as they change) while antiflood is on and the bot's rank is below 2,
	// else CyTube's fixed per-user limit of 20 lines, then 10 per second.
	//
	// Rate and Burst optionally pace chat and PMs further (messages per
	// second, a token bucket) while the bot's rank is below 2; ModRate and
	// ModBurst from rank 2. Zero means no extra limit (the default).
	Rate     float64 `json:"rate,omitempty"`
	Burst    int     `json:"burst,omitempty"`
	ModRate  float64 `json:"mod_rate,omitempty"`
	ModBurst int     `json:"mod_burst,omitempty"`
	// EventRate and EventBurst mirror a server's io.throttle.in-rate-limit
	// and bucket-capacity (CyTube kicks a socket that sends more events
	// than that). Zero, CyTube's default, means unlimited.
	EventRate  float64 `json:"event_rate,omitempty"`
	EventBurst int     `json:"event_burst,omitempty"`
	// Unpaced turns pacing off: for tests, benchmarks and servers without
	// flood control. A cooldown from the server still pauses sending.
	Unpaced bool `json:"unpaced,omitempty"`
	// CommandPrefix is what starts a bot command in this channel (the
	// router's prefix). A long reply split into parts never starts a later
	// part with it, so no bot reads the middle of a reply as a command.
	// Default "!".
	CommandPrefix string `json:"command_prefix,omitempty"`
	// NamedOnly makes the connector act only on sends and requests that
	// name its channel. A bot with several channels sets it on all but
	// the first, so that a message without a channel (a plugin's
	// Host.Say) is said once, in the first channel, not in every one.
	NamedOnly bool `json:"-"`
	// MaxMessageLength is where long messages are split, in UTF-16 code
	// units as CyTube counts them. Default 320.
	MaxMessageLength int `json:"max_message_length,omitempty"`
	// MaxParts bounds how many chat messages one request may become; the
	// rest is cut and logged. Default 8.
	MaxParts int `json:"max_parts,omitempty"`
	// QueueSize bounds the messages waiting to be sent (while pacing or
	// disconnected). Overflow is logged and counted. Default 100.
	QueueSize int `json:"queue_size,omitempty"`

	// BackoffMin and BackoffMax bound the jittered exponential delay
	// between reconnects. Defaults 5s and 5m.
	BackoffMin time.Duration `json:"backoff_min,omitempty"`
	BackoffMax time.Duration `json:"backoff_max,omitempty"`
	// StableAfter is how long a connection must last for the backoff to
	// start again from BackoffMin. Default 1m.
	StableAfter time.Duration `json:"stable_after,omitempty"`
	// ConnectBurst and ConnectInterval mirror the server's per-IP limit on
	// connection attempts: ConnectBurst at once, then one per
	// ConnectInterval. Defaults 5 and 10s.
	ConnectBurst    int           `json:"connect_burst,omitempty"`
	ConnectInterval time.Duration `json:"connect_interval,omitempty"`
	// GuestRetry overrides the wait after "Guest logins are restricted to
	// one per IP address per N seconds"; zero waits the N seconds given.
	GuestRetry time.Duration `json:"guest_retry,omitempty"`
	// HandshakeTimeout bounds discovery, the websocket dial and the wait
	// for the Engine.IO handshake. Default 30s.
	HandshakeTimeout time.Duration `json:"handshake_timeout,omitempty"`
	// DeadAfter declares the link dead after this long without any frame;
	// zero uses the server's pingInterval + pingTimeout.
	DeadAfter time.Duration `json:"dead_after,omitempty"`
	// WriteTimeout bounds one websocket write. Default 10s.
	WriteTimeout time.Duration `json:"write_timeout,omitempty"`
	// CooldownRecovery is how long after the last cooldown event a slowed
	// pace returns to normal. Default 30s.
	CooldownRecovery time.Duration `json:"cooldown_recovery,omitempty"`
	// ErrorAfter is how long connecting may fail before it is logged at
	// error level (with the last cause; the connector keeps retrying). The
	// first failure and every change of state are warnings. Default 1m.
	ErrorAfter time.Duration `json:"error_after,omitempty"`

	// PositionEvery bounds how often cytube.media.position is published
	// while media plays (CyTube reports every 5 s); pauses, resumes and
	// new items are always published. Default 30s.
	PositionEvery time.Duration `json:"position_every,omitempty"`
	// ActionTimeout bounds the wait for CyTube's answer to an action
	// (cytube.do.*), pacing included. Default 10s.
	ActionTimeout time.Duration `json:"action_timeout,omitempty"`

	// HTTPClient is used for discovery; nil uses a client with
	// HandshakeTimeout.
	HTTPClient *http.Client `json:"-"`
	// Logger receives the connector's logs; nil is silent.
	Logger *slog.Logger `json:"-"`
}

var (
	channelRe = regexp.MustCompile(`^[\w-]{1,30}$`)
	userRe    = regexp.MustCompile(`^[\w-]{1,20}$`)
)

// FromEnv fills secrets (and, when set, the other connection fields) from
// the environment: ROSEY_CYTUBE_PASSWORD, ROSEY_CYTUBE_CHANNEL_PASSWORD,
// ROSEY_CYTUBE_USER, ROSEY_CYTUBE_CHANNEL, ROSEY_CYTUBE_SERVER. A variable
// that is set overrides the field; one that is unset leaves it alone.
func (c *Config) FromEnv() { c.FromLookup(os.LookupEnv) }

// FromLookup is FromEnv with another source of variables.
func (c *Config) FromLookup(lookup func(string) (string, bool)) {
	for _, f := range []struct {
		env string
		dst *string
	}{
		{EnvPassword, &c.Password}, {EnvChannelPassword, &c.ChannelPassword},
		{EnvUser, &c.User}, {EnvChannel, &c.Channel}, {EnvServer, &c.Server},
	} {
		if v, ok := lookup(f.env); ok {
			*f.dst = v
		}
	}
}

// Validate reports the first problem in c, naming the field. The error
// wraps ErrInvalidConfig. Zero values are valid where a default exists.
func (c Config) Validate() error {
	bad := func(field, format string, args ...any) error {
		return fmt.Errorf("%w: %s: %s", ErrInvalidConfig, field, fmt.Sprintf(format, args...))
	}
	if c.Server != "" {
		u, err := url.Parse(c.Server)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return bad("server", "%q is not an http(s) URL", c.Server)
		}
	}
	if !channelRe.MatchString(c.Channel) {
		return bad("channel", "%q must be 1-30 characters of a-z, A-Z, 0-9, - or _", c.Channel)
	}
	if !userRe.MatchString(c.User) {
		return bad("user", "%q must be 1-20 characters of a-z, A-Z, 0-9, - or _", c.User)
	}
	for _, f := range []struct {
		name string
		v    float64
	}{{"rate", c.Rate}, {"mod_rate", c.ModRate}, {"event_rate", c.EventRate}} {
		if f.v < 0 {
			return bad(f.name, "must not be negative")
		}
	}
	for _, f := range []struct {
		name string
		v    int
	}{{"burst", c.Burst}, {"mod_burst", c.ModBurst}, {"event_burst", c.EventBurst}, {"max_parts", c.MaxParts}, {"queue_size", c.QueueSize}, {"connect_burst", c.ConnectBurst}} {
		if f.v < 0 {
			return bad(f.name, "must not be negative")
		}
	}
	if strings.ContainsFunc(c.CommandPrefix, unicode.IsSpace) || utf8.RuneCountInString(c.CommandPrefix) > 8 {
		return bad("command_prefix", "%q must be 1-8 characters without spaces", c.CommandPrefix)
	}
	if c.MaxMessageLength < 0 || c.MaxMessageLength > 1000 {
		return bad("max_message_length", "must be between 1 and 1000 (CyTube's hard cap)")
	}
	for _, f := range []struct {
		name string
		v    time.Duration
	}{
		{"backoff_min", c.BackoffMin}, {"backoff_max", c.BackoffMax}, {"stable_after", c.StableAfter},
		{"connect_interval", c.ConnectInterval}, {"guest_retry", c.GuestRetry}, {"handshake_timeout", c.HandshakeTimeout},
		{"dead_after", c.DeadAfter}, {"write_timeout", c.WriteTimeout}, {"cooldown_recovery", c.CooldownRecovery},
		{"error_after", c.ErrorAfter},
		{"position_every", c.PositionEvery}, {"action_timeout", c.ActionTimeout},
	} {
		if f.v < 0 {
			return bad(f.name, "must not be negative")
		}
	}
	if c.BackoffMax > 0 && c.BackoffMin > c.BackoffMax {
		return bad("backoff_min", "%s is above backoff_max %s", c.BackoffMin, c.BackoffMax)
	}
	return nil
}

func (c *Config) applyDefaults() {
	c.Server = strings.TrimRight(c.Server, "/")
	if c.Server == "" {
		c.Server = DefaultServer
	}
	setI := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	setD := func(v *time.Duration, d time.Duration) {
		if *v == 0 {
			*v = d
		}
	}
	if c.CommandPrefix == "" {
		c.CommandPrefix = DefaultCommandPrefix
	}
	setI(&c.MaxMessageLength, DefaultMaxMessageLength)
	setI(&c.MaxParts, DefaultMaxParts)
	setI(&c.QueueSize, DefaultQueueSize)
	setD(&c.BackoffMin, DefaultBackoffMin)
	setD(&c.BackoffMax, DefaultBackoffMax)
	if c.BackoffMax < c.BackoffMin {
		c.BackoffMax = c.BackoffMin
	}
	setD(&c.StableAfter, DefaultStableAfter)
	setI(&c.ConnectBurst, DefaultConnectBurst)
	setD(&c.ConnectInterval, DefaultConnectInterval)
	setD(&c.HandshakeTimeout, DefaultHandshakeTimeout)
	setD(&c.WriteTimeout, DefaultWriteTimeout)
	setD(&c.CooldownRecovery, DefaultCooldownRecovery)
	setD(&c.ErrorAfter, DefaultErrorAfter)
	setD(&c.PositionEvery, DefaultPositionEvery)
	setD(&c.ActionTimeout, DefaultActionTimeout)
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{Timeout: c.HandshakeTimeout}
	}
}

// UnmarshalJSON reads durations written as strings ("10s", "1m30s"); a
// bare number is an error that shows how to write it.
func (c *Config) UnmarshalJSON(b []byte) error {
	type plain Config
	var aux struct {
		*plain
		BackoffMin       jsonDuration `json:"backoff_min"`
		BackoffMax       jsonDuration `json:"backoff_max"`
		StableAfter      jsonDuration `json:"stable_after"`
		ConnectInterval  jsonDuration `json:"connect_interval"`
		GuestRetry       jsonDuration `json:"guest_retry"`
		HandshakeTimeout jsonDuration `json:"handshake_timeout"`
		DeadAfter        jsonDuration `json:"dead_after"`
		WriteTimeout     jsonDuration `json:"write_timeout"`
		CooldownRecovery jsonDuration `json:"cooldown_recovery"`
		ErrorAfter       jsonDuration `json:"error_after"`
		PositionEvery    jsonDuration `json:"position_every"`
		ActionTimeout    jsonDuration `json:"action_timeout"`
	}
	p := plain(*c)
	aux.plain = &p
	aux.BackoffMin, aux.BackoffMax, aux.StableAfter = jsonDuration(c.BackoffMin), jsonDuration(c.BackoffMax), jsonDuration(c.StableAfter)
	aux.ConnectInterval, aux.GuestRetry, aux.HandshakeTimeout = jsonDuration(c.ConnectInterval), jsonDuration(c.GuestRetry), jsonDuration(c.HandshakeTimeout)
	aux.DeadAfter, aux.WriteTimeout, aux.CooldownRecovery = jsonDuration(c.DeadAfter), jsonDuration(c.WriteTimeout), jsonDuration(c.CooldownRecovery)
	aux.ErrorAfter = jsonDuration(c.ErrorAfter)
	aux.PositionEvery, aux.ActionTimeout = jsonDuration(c.PositionEvery), jsonDuration(c.ActionTimeout)
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields() // a typo must not silently do nothing
	if err := dec.Decode(&aux); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidConfig, err)
	}
	*c = Config(p)
	c.BackoffMin, c.BackoffMax, c.StableAfter = time.Duration(aux.BackoffMin), time.Duration(aux.BackoffMax), time.Duration(aux.StableAfter)
	c.ConnectInterval, c.GuestRetry, c.HandshakeTimeout = time.Duration(aux.ConnectInterval), time.Duration(aux.GuestRetry), time.Duration(aux.HandshakeTimeout)
	c.DeadAfter, c.WriteTimeout, c.CooldownRecovery = time.Duration(aux.DeadAfter), time.Duration(aux.WriteTimeout), time.Duration(aux.CooldownRecovery)
	c.ErrorAfter = time.Duration(aux.ErrorAfter)
	c.PositionEvery, c.ActionTimeout = time.Duration(aux.PositionEvery), time.Duration(aux.ActionTimeout)
	return nil
}

type jsonDuration time.Duration

func (d *jsonDuration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		v, err := time.ParseDuration(s)
		if err != nil {
			return err
		}
		*d = jsonDuration(v)
		return nil
	}
	var n float64
	if err := json.Unmarshal(b, &n); err == nil {
		return fmt.Errorf("duration %s has no unit: write \"%ss\"", b, strconv.FormatFloat(n, 'f', -1, 64))
	}
	return fmt.Errorf("duration must be a string such as \"10s\": %s", b)
}
