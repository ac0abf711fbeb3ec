package console

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/roseybot/rosey/eventbus"
	"github.com/roseybot/rosey/protocol"
)

// Defaults for Config.
const (
	DefaultUser    = "you"
	DefaultChannel = "console"
	DefaultBotName = "rosey"
	// DefaultRank lets the console user try admin commands.
	DefaultRank = protocol.RankAdmin
	// MaxLine is the longest input line read, in bytes; a longer one is
	// cut (between characters), with a notice, and reading goes on.
	MaxLine = 64 * 1024
)

// ErrInvalidConfig means a Config failed validation.
var ErrInvalidConfig = errors.New("console: invalid config")

// Config configures the console connector.
type Config struct {
	// User is who the typed lines come from; default "you".
	User string `json:"user,omitempty"`
	// Rank is the user's CyTube rank; zero means DefaultRank (3, admin).
	Rank float64 `json:"rank,omitempty"`
	// Guest makes the user a guest (rank 0) whatever Rank says. In JSON,
	// "rank": 0 sets it.
	Guest bool `json:"guest,omitempty"`
	// Channel is put in events; default "console".
	Channel string `json:"channel,omitempty"`
	// BotName labels the bot's lines; default "rosey".
	BotName string `json:"bot_name,omitempty"`
	// In is read line by line; Out receives the bot's messages. Required.
	In  io.Reader `json:"-"`
	Out io.Writer `json:"-"`
	// Idle is how long the console waits for late answers after In ends
	// (so `echo '!roll 2d6' | rosey console` prints its answer); default 1s.
	Idle time.Duration `json:"-"`
	// Logger receives errors; nil is silent.
	Logger *slog.Logger `json:"-"`
}

// Connector is a console stand-in for the CyTube connector: each line read
// from In becomes a cytube.chat event from Config.User ("/pm <line>" becomes
// a cytube.pm), and cytube.send.chat / cytube.send.pm are written to Out.
type Connector struct {
	bus  *eventbus.Bus
	cfg  Config
	rank float64
	log  *slog.Logger

	outMu sync.Mutex
	subs  []*eventbus.Subscription
	// in and out count the lines read and written, as a connector counts
	// its channel's (cytube.state.connector).
	in, out atomic.Uint64
	started time.Time

	activity chan struct{}
	done     chan struct{}
	stop     chan struct{}
	wg       sync.WaitGroup
}

// New returns a console connector.
func New(bus *eventbus.Bus, cfg Config) (*Connector, error) {
	if bus == nil {
		return nil, fmt.Errorf("%w: bus is required", ErrInvalidConfig)
	}
	if cfg.In == nil || cfg.Out == nil {
		return nil, fmt.Errorf("%w: in and out are required", ErrInvalidConfig)
	}
	if cfg.User == "" {
		cfg.User = DefaultUser
	}
	if strings.ContainsAny(cfg.User, " \t\r\n") {
		return nil, fmt.Errorf("%w: user: %q must be one word", ErrInvalidConfig, cfg.User)
	}
	if cfg.Channel == "" {
		cfg.Channel = DefaultChannel
	}
	if cfg.BotName == "" {
		cfg.BotName = DefaultBotName
	}
	if cfg.Idle == 0 {
		cfg.Idle = time.Second
	}
	rank := float64(DefaultRank)
	switch {
	case cfg.Guest:
		rank = protocol.RankGuest
	case cfg.Rank != 0:
		rank = cfg.Rank
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Connector{bus: bus, cfg: cfg, rank: rank, log: log, activity: make(chan struct{}, 1), done: make(chan struct{}), stop: make(chan struct{})}, nil
}

// Start prints the bot's messages and begins reading lines.
func (c *Connector) Start(ctx context.Context) error {
	print := func(format string) eventbus.Handler {
		return func(_ context.Context, ev *eventbus.Event) {
			var msg, to string
			if ev.Subject == protocol.SendPM {
				var pm protocol.SendPMRequest
				if err := ev.Decode(&pm); err != nil {
					c.log.Error("malformed pm request", "err", err)
					return
				}
				msg, to = pm.Message, pm.To
			} else {
				var ch protocol.SendChatRequest
				if err := ev.Decode(&ch); err != nil {
					c.log.Error("malformed chat request", "err", err)
					return
				}
				msg = ch.Message
			}
			c.outMu.Lock()
			fmt.Fprintf(c.cfg.Out, format, c.cfg.BotName, to, msg)
			c.outMu.Unlock()
			c.out.Add(1)
			c.touch()
		}
	}
	for subject, h := range map[string]eventbus.Handler{
		protocol.SendChat: print("%s>%.0s %s\n"),
		protocol.SendPM:   print("%s (pm to %s)> %s\n"),
	} {
		sub, err := c.bus.Subscribe(subject, h)
		if err != nil {
			c.unsubscribe()
			return err
		}
		c.subs = append(c.subs, sub)
	}
	c.started = time.Now().UTC()
	if err := c.answerRequests(); err != nil {
		c.unsubscribe()
		return err
	}
	if err := c.bus.Publish(ctx, protocol.Connection, protocol.ConnectionEvent{Channel: c.cfg.Channel, State: protocol.StateConnected, User: c.cfg.BotName}); err != nil {
		c.log.Warn("could not announce connection", "err", err)
	}
	c.wg.Add(1)
	go c.read()
	return nil
}

func (c *Connector) touch() {
	select {
	case c.activity <- struct{}{}:
	default:
	}
}

// UnmarshalJSON reads the config; "rank": 0 means a guest, as it did
// when Rank was a pointer. Unknown fields are errors.
func (c *Config) UnmarshalJSON(b []byte) error {
	type plain Config
	aux := struct {
		*plain
		Rank *float64 `json:"rank,omitempty"`
	}{plain: (*plain)(c)}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&aux); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	if aux.Rank != nil {
		c.Rank = *aux.Rank
		c.Guest = c.Guest || *aux.Rank == 0
	}
	return nil
}

// readLine reads one line of at most MaxLine bytes, cut between runes;
// cut says how many bytes of a longer line were dropped.
func readLine(r *bufio.Reader) (line string, cut int, err error) {
	var buf []byte
	for {
		part, err := r.ReadSlice('\n')
		if room := MaxLine - len(buf); len(part) > room {
			cut += len(part) - room
			part = part[:room]
		}
		buf = append(buf, part...)
		if err == bufio.ErrBufferFull {
			continue
		}
		if cut > 0 {
			if err == nil {
				cut-- // the newline, cut with the rest, was no part of the line
			}
			for n := 0; n < utf8.UTFMax; n++ { // a rune split by the cut
				if r, size := utf8.DecodeLastRune(buf); r != utf8.RuneError || size != 1 {
					break
				}
				buf, cut = buf[:len(buf)-1], cut+1
			}
		}
		if err == io.EOF && len(buf) > 0 {
			err = nil // a last line without a newline
		}
		return string(buf), cut, err
	}
}

func (c *Connector) read() {
	defer c.wg.Done()
	defer close(c.done)
	in := bufio.NewReader(c.cfg.In)
	var readErr error
scan:
	for {
		line, cut, err := readLine(in)
		if err != nil {
			readErr = err
			break
		}
		if cut > 0 {
			c.outMu.Lock()
			fmt.Fprintf(c.cfg.Out, "console> ✂️ line cut to %d bytes (%d more were dropped)\n", MaxLine, cut)
			c.outMu.Unlock()
			c.log.Warn("console line too long: cut", "max", MaxLine, "dropped", cut)
		}
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		if line == "/quit" || line == "/exit" {
			break scan // still wait for the answers, as at end of input
		}
		subject := protocol.Chat
		if rest, ok := strings.CutPrefix(line, "/pm "); ok {
			subject, line = protocol.PM, strings.TrimSpace(rest)
		}
		ev := protocol.ChatMessage{User: c.cfg.User, Message: line, Channel: c.cfg.Channel, Rank: c.rank, Time: time.Now().UnixMilli()}
		c.in.Add(1)
		if err := c.bus.Publish(context.Background(), subject, ev); err != nil {
			c.log.Error("could not publish line", "err", err)
		}
		c.touch()
		select {
		case <-c.stop:
			return
		default:
		}
	}
	if readErr != nil && readErr != io.EOF {
		c.log.Error("console input failed", "err", readErr)
	}
	// Let answers to the last lines arrive before reporting the end.
	t := time.NewTimer(c.cfg.Idle)
	defer t.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-c.activity:
			t.Reset(c.cfg.Idle)
		case <-t.C:
			return
		}
	}
}

// Done is closed when input has ended (end of file or "/quit") and the
// answers to the last lines had time to arrive.
func (c *Connector) Done() <-chan struct{} { return c.done }

// Stop stops printing. The reading goroutine ends at once unless it is
// blocked reading In; close In (as a pipe) to end it, or let the process exit.
func (c *Connector) Stop(ctx context.Context) error {
	select {
	case <-c.stop:
	default:
		close(c.stop)
	}
	c.unsubscribe()
	done := make(chan struct{})
	go func() { c.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
	case <-time.After(100 * time.Millisecond):
		// Blocked on a read that nothing can interrupt (a terminal): the
		// goroutine ends with the process.
	}
	return nil
}

func (c *Connector) unsubscribe() {
	for _, s := range c.subs {
		_ = s.Unsubscribe()
	}
	c.subs = nil
}

// notSupported is the console's answer to every cytube.do.* request.
const notSupported = "The console is not a CyTube channel: it has no playlist, polls or moderation"

// answerRequests answers the channel's state requests with what a console
// has (its user and the bot, no poll, an empty playlist) and refuses its
// actions at once, so plugins that work the channel hear so rather than
// wait for a connector that is not there.
func (c *Connector) answerRequests() error {
	users := func() any {
		return []protocol.User{{Name: c.cfg.User, Rank: c.rank}, {Name: c.cfg.BotName, Rank: protocol.RankAdmin}}
	}
	state := map[string]func() any{
		protocol.StateUsers: users,
		protocol.StateBot: func() any {
			return protocol.BotState{Channel: c.cfg.Channel, Name: c.cfg.BotName, Rank: protocol.RankAdmin, Allowed: map[string]bool{}, Connected: true}
		},
		protocol.StatePoll: func() any { return nil },
		protocol.StatePlaylist: func() any {
			return protocol.PlaylistSnapshotEvent{Channel: c.cfg.Channel, Items: []protocol.MediaItem{}}
		},
		protocol.StateMedia:       func() any { return protocol.MediaPositionEvent{Channel: c.cfg.Channel} },
		protocol.StateOptions:     func() any { return map[string]any{} },
		protocol.StatePermissions: func() any { return map[string]float64{} },
		protocol.StateMOTD:        func() any { return "" },
		protocol.StateEmotes:      func() any { return []protocol.Emote{} },
		protocol.StateConnector: func() any {
			return protocol.ConnectorStats{Channel: c.cfg.Channel, State: protocol.StateConnected, Users: 2,
				ConnectedSince: c.started, MessagesIn: c.in.Load(), MessagesOut: c.out.Load()}
		},
	}
	handle := func(_ context.Context, ev *eventbus.Event) {
		if !ev.IsRequest() {
			return
		}
		var req protocol.ChannelRequest
		if len(ev.Data) > 0 && json.Unmarshal(ev.Data, &req) != nil {
			c.reply(ev, protocol.Reply{Code: protocol.CodeBadRequest, Error: "the request body must be a JSON object (see docs/PROTOCOL.md)"})
			return
		}
		if req.Channel != "" && !strings.EqualFold(req.Channel, c.cfg.Channel) {
			return // another connector's channel
		}
		data, ok := state[ev.Subject]
		if !ok {
			c.reply(ev, protocol.Reply{Code: protocol.CodeNotSupported, Error: notSupported})
			return
		}
		r := protocol.Reply{OK: true}
		if v := data(); v != nil {
			r.Data, _ = json.Marshal(v)
		}
		c.reply(ev, r)
	}
	for _, subject := range []string{"cytube.state.*", "cytube.do.>"} {
		sub, err := c.bus.Subscribe(subject, handle)
		if err != nil {
			return err
		}
		c.subs = append(c.subs, sub)
	}
	return nil
}

func (c *Connector) reply(ev *eventbus.Event, r protocol.Reply) {
	if err := c.bus.Respond(context.Background(), ev, r); err != nil {
		c.log.Warn("answer request", "subject", ev.Subject, "err", err)
	}
}
