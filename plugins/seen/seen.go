package seen

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/roseybot/rosey/database"
	"github.com/roseybot/rosey/eventbus"
	"github.com/roseybot/rosey/plugin"
	"github.com/roseybot/rosey/protocol"
)

// Name is the plugin's name.
const Name = "seen"

// DefaultCollection is the database collection the plugin keeps users in.
const DefaultCollection = "seen"

// Config configures the plugin. The JSON fields may also come from the
// plugin's section of the bot config; they override the constructor's.
type Config struct {
	// Collection is the database collection; default DefaultCollection.
	Collection string `json:"collection,omitempty"`
	// Now returns the current time; nil is the Host's clock (Host.Clock),
	// which roseytest.Clock moves by hand in tests.
	Now func() time.Time `json:"-"`
}

// Plugin is the seen plugin.
type Plugin struct {
	cfg Config
}

// New returns a seen plugin.
func New(cfg Config) *Plugin { return &Plugin{cfg: cfg} }

func command() plugin.Command {
	return plugin.Command{
		Name:        "seen",
		Usage:       "<user>",
		Description: "Tells when a user was last here and what they last said",
		Aliases:     []string{"lastseen"},
	}
}

// Info describes the plugin.
func (p *Plugin) Info() plugin.Info {
	return plugin.Info{
		Name:        Name,
		Version:     "1.0.0",
		Description: "Remembers when users were last here and what they said",
		Commands:    []plugin.Command{command()},
	}
}

// record is one user's document, under the lower-cased name.
type record struct {
	Name string `json:"name"`
	Here bool   `json:"here"`
	// SeenAt is the last join, leave or line, in ms since the epoch.
	SeenAt int64 `json:"seen_at"`
	// Event is what happened at SeenAt: chat, join or leave.
	Event   string `json:"event"`
	Message string `json:"message,omitempty"`
	SaidAt  int64  `json:"said_at,omitempty"`
}

// maxMessage bounds the stored last line (in runes).
const maxMessage = 200

// Start registers !seen and begins watching the channel.
func (p *Plugin) Start(_ context.Context, h *plugin.Host) error {
	cfg := p.cfg
	if err := h.DecodeConfig(&cfg); err != nil {
		return err
	}
	if cfg.Collection == "" {
		cfg.Collection = DefaultCollection
	}
	if cfg.Now == nil {
		cfg.Now = h.Clock().Now
	}
	s := &server{cfg: cfg, db: h.DB(), log: h.Logger()}
	// One subscription for chat, joins and leaves keeps them in the order
	// they were published, so a quick join-leave is never stored backwards.
	if err := h.Subscribe("cytube.>", s.onEvent); err != nil {
		return fmt.Errorf("seen: subscribe: %w", err)
	}
	h.Handle("seen", s.seen)
	return nil
}

// Stop has nothing to release: the Host ends the subscription.
func (p *Plugin) Stop(context.Context) error { return nil }

type server struct {
	cfg Config
	db  *database.Client
	log *slog.Logger

	// The lines already stored, so !seen can wait for the lines said before
	// it (its own line has the same correlation id).
	handled plugin.Handled
}

func (s *server) onEvent(ctx context.Context, ev *eventbus.Event) {
	now := s.cfg.Now().UnixMilli()
	var (
		name string
		set  map[string]any
	)
	switch ev.Subject {
	case protocol.Chat:
		var m protocol.ChatMessage
		if err := ev.Decode(&m); err != nil {
			s.log.Warn("malformed chat event", "err", err)
			return
		}
		defer s.handled.Mark(ev.CorrelationID)
		name = m.User
		set = map[string]any{"here": true, "event": "chat", "message": plugin.Clip(m.Message, maxMessage), "said_at": now}
	case protocol.UserJoin:
		var j protocol.UserJoinEvent
		if err := ev.Decode(&j); err != nil {
			s.log.Warn("malformed join event", "err", err)
			return
		}
		name = j.User
		set = map[string]any{"here": true, "event": "join"}
	case protocol.UserLeave:
		var l protocol.UserLeaveEvent
		if err := ev.Decode(&l); err != nil {
			s.log.Warn("malformed leave event", "err", err)
			return
		}
		name = l.User
		set = map[string]any{"here": false, "event": "leave"}
	case protocol.Connection:
		var c protocol.ConnectionEvent
		if err := ev.Decode(&c); err == nil && c.State == protocol.StateConnected {
			s.resetPresence(ctx)
		}
		return
	default:
		return
	}
	name = strings.TrimSpace(name)
	if name == "" || utf8.RuneCountInString(name) > 64 {
		return
	}
	set["name"], set["seen_at"] = name, now
	if err := s.db.Upsert(ctx, s.cfg.Collection, database.StringID(strings.ToLower(name)), database.Update{Set: set}, nil); err != nil {
		s.log.Error("could not store a sighting", "user", name, "err", err)
	}
}

// resetPresence forgets who was here: after a (re)connect CyTube sends a
// join for everyone present, and users who left meanwhile sent no leave.
func (s *server) resetPresence(ctx context.Context) {
	for range 100 { // at most 100 000 users; each pass clears up to 1000
		res, err := s.db.Query(ctx, database.QueryRequest{Collection: s.cfg.Collection, Filter: database.Filter{"here": true}, Limit: database.MaxLimit})
		if err != nil {
			s.log.Warn("could not reset presence", "err", err)
			return
		}
		for _, it := range res.Items {
			if err := s.db.Update(ctx, s.cfg.Collection, it.ID, database.Update{Set: map[string]any{"here": false}}, nil); err != nil {
				s.log.Warn("could not reset presence", "user", it.ID.String(), "err", err)
				return
			}
		}
		if len(res.Items) < database.MaxLimit {
			return
		}
	}
}

func (s *server) seen(ctx context.Context, req *plugin.Request) (string, error) {
	if len(req.Args) != 1 {
		return "", plugin.Usage(command())
	}
	who := strings.TrimLeft(req.Args[0], "@")
	if who == "" || utf8.RuneCountInString(who) > 64 {
		return "", plugin.Usage(command())
	}
	if protocol.SameUser(who, req.User) {
		return fmt.Sprintf("👋 %s, you are right here!", req.User), nil
	}
	if req.Source == plugin.SourceChat {
		s.handled.Wait(ctx, eventbus.CorrelationID(ctx), 2*time.Second)
	}
	var r record
	err := s.db.Get(ctx, s.cfg.Collection, database.StringID(strings.ToLower(who)), &r)
	switch {
	case errors.Is(err, database.ErrNotFound):
		return fmt.Sprintf("🤷 I have not seen %s.", who), nil
	case err != nil:
		return "", fmt.Errorf("seen: load %s: %w", who, err)
	}
	now := s.cfg.Now()
	var b strings.Builder
	if r.Here {
		fmt.Fprintf(&b, "👀 %s is here now.", r.Name)
	} else {
		fmt.Fprintf(&b, "👀 %s was last seen %s", r.Name, ago(now, r.SeenAt))
		if r.Event == "leave" {
			b.WriteString(", leaving")
		}
		b.WriteString(".")
	}
	if r.SaidAt != 0 {
		fmt.Fprintf(&b, " Last said %s: \"%s\"", ago(now, r.SaidAt), r.Message)
	}
	return b.String(), nil
}

// ago humanises the time since ms: "3h 12m ago", the two largest units.
func ago(now time.Time, ms int64) string {
	d := now.Sub(time.UnixMilli(ms))
	if d < time.Second {
		return "just now"
	}
	return plugin.FormatDuration(d) + " ago"
}
