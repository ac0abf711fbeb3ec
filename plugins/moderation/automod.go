package moderation

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/roseybot/rosey/cytube/client"
	"github.com/roseybot/rosey/database"
	"github.com/roseybot/rosey/eventbus"
	"github.com/roseybot/rosey/internal/chanwords"
	"github.com/roseybot/rosey/internal/chatevent"
	"github.com/roseybot/rosey/plugin"
	"github.com/roseybot/rosey/protocol"
)

// AutomodName is who did an automod action, in records and in !modlog.
const AutomodName = "automod"

// The automod's collections, besides Config.Collection.
const (
	ladderCollection  = "automod_ladder"  // one document per user on the ladder
	unmuteCollection  = "automod_unmutes" // one document per mute to lift
	membersCollection = "automod_members" // when each user first joined each channel
)

const (
	// queueSize bounds the offenses waiting for their action in one
	// channel: past it the judge drops new ones (logged) rather than wait.
	queueSize = 1024
	// maxUsers bounds the users followed in one channel; past it the
	// quiet ones are forgotten.
	maxUsers = 10000
	// actionTimeout bounds one action, CyTube's answer included (the
	// connector's own action_timeout is 10s).
	actionTimeout = 15 * time.Second
)

// automod judges every chat line against the rules of its channel and
// climbs each offender's ladder; a worker per channel then acts, in the
// order the lines came, so the judge never waits on CyTube or the
// database, and neither do the plugin's commands.
type automod struct {
	s      *server
	h      *plugin.Host
	log    *slog.Logger
	global *rules
	chans  map[string]*rules
	seed   maphash.Seed

	mu      sync.Mutex
	state   map[string]*chanState
	saved   map[string]savedLadder // channel/user key → loaded at start
	unmutes map[string]func()      // channel/user key → cancel of its timer
}

type chanState struct {
	name      string
	users     map[string]*userState
	emotes    map[string]bool // nil until known
	asked     bool            // the emotes were asked for
	firstSeen map[string]time.Time
	pending   map[string]string // user key → name: an unmute to retry
	queue     chan offense
	// sweepAt and seenSweepAt: the sizes of users and firstSeen at which
	// they are swept next.
	sweepAt, seenSweepAt int
}

type userState struct {
	lines  []time.Time // flood window
	recent []said      // repeat window
	level  int         // ladder steps climbed (before forgiveness)
	last   time.Time   // last offense that climbed
	active time.Time   // last line
}

type said struct {
	h  uint64
	at time.Time
}

type offense struct {
	channel, user string
	rank          float64
	rule, reason  string
	step          step
	level         int
	at            time.Time
}

// savedLadder is a user's place on the ladder, in the database.
type savedLadder struct {
	Channel string `json:"channel"`
	User    string `json:"user"`
	Level   int    `json:"level"`
	Last    int64  `json:"last"` // ms since the epoch
}

type pendingUnmute struct {
	Channel string `json:"channel"`
	User    string `json:"user"`
	At      int64  `json:"at"` // ms since the epoch
	For     string `json:"for"`
}

type member struct {
	Channel   string `json:"channel"`
	User      string `json:"user"`
	FirstSeen int64  `json:"first_seen"` // ms since the epoch
}

func newAutomod(s *server, global *rules, chans map[string]*rules) *automod {
	return &automod{s: s, h: s.h, log: s.log, global: global, chans: chans, seed: maphash.MakeSeed(),
		state: map[string]*chanState{}, saved: map[string]savedLadder{}, unmutes: map[string]func(){}}
}

func (a *automod) rulesIn(channel string) *rules {
	if r, ok := a.chans[channel]; ok {
		return r
	}
	return a.global
}

func (a *automod) anyOn() bool {
	if a.global.on {
		return true
	}
	for _, r := range a.chans {
		if r.on {
			return true
		}
	}
	return false
}

func userKey(channel, user string) string { return channel + "/" + strings.ToLower(user) }

// start loads the ladder and the mutes to lift, and follows the channel.
func (a *automod) start(ctx context.Context) error {
	if !a.anyOn() {
		return nil
	}
	db := a.s.db
	lctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if res, err := db.Query(lctx, database.QueryRequest{Collection: ladderCollection, Sort: []string{"-last"}, Limit: 1000, NoTotal: true}); err != nil {
		a.log.Warn("automod: could not load the ladder; everyone starts at its foot", "err", err)
	} else {
		for _, it := range res.Items {
			var l savedLadder
			if it.Decode(&l) == nil && l.Level > 0 {
				a.saved[userKey(l.Channel, l.User)] = l
			}
		}
	}
	if res, err := db.Query(lctx, database.QueryRequest{Collection: unmuteCollection, Limit: 1000, NoTotal: true}); err != nil {
		a.log.Warn("automod: could not load the mutes to lift", "err", err)
	} else {
		for _, it := range res.Items {
			var u pendingUnmute
			if it.Decode(&u) == nil && u.User != "" {
				a.scheduleUnmute(u)
			}
		}
	}
	subs := map[string]eventbus.Handler{
		protocol.Chat:          a.onChat,
		protocol.UserJoin:      a.onJoin,
		protocol.ChannelEmotes: a.onEmotes,
		protocol.Connection:    a.onConnection,
	}
	for subject, fn := range subs {
		if err := a.h.Subscribe(subject, fn); err != nil {
			return fmt.Errorf("moderation: automod: subscribe %s: %w", subject, err)
		}
	}
	return nil
}

// channel returns the state of a channel, starting its worker; a.mu held.
func (a *automod) channel(name string) *chanState {
	cs, ok := a.state[name]
	if !ok {
		cs = &chanState{name: name, users: map[string]*userState{}, firstSeen: map[string]time.Time{},
			pending: map[string]string{}, queue: make(chan offense, queueSize)}
		a.state[name] = cs
		a.h.Go(func(ctx context.Context) { a.work(ctx, cs) })
	}
	return cs
}

func (a *automod) user(cs *chanState, key string, now time.Time) *userState {
	u, ok := cs.users[key]
	if ok {
		return u
	}
	if len(cs.users) >= max(maxUsers, cs.sweepAt) {
		// Forget who has been quiet for an hour with nothing against
		// them; sweep again only once the map has doubled, so a channel
		// full of active users is not swept at every new one.
		for k, o := range cs.users {
			if (o.level == 0 || now.Sub(o.last) > 24*time.Hour) && now.Sub(o.active) > time.Hour {
				delete(cs.users, k)
			}
		}
		cs.sweepAt = 2 * len(cs.users)
	}
	u = &userState{}
	if l, ok := a.saved[cs.name+"/"+key]; ok {
		u.level, u.last = l.Level, time.UnixMilli(l.Last)
		delete(a.saved, cs.name+"/"+key)
	}
	cs.users[key] = u
	return u
}

func (a *automod) onChat(_ context.Context, ev *eventbus.Event) {
	var m protocol.ChatMessage
	if err := chatevent.Decode(ev, &m); err != nil || m.User == "" {
		return
	}
	a.judge(m)
}

// judge checks one line and queues the action it earns, if any.
func (a *automod) judge(m protocol.ChatMessage) {
	r := a.rulesIn(m.Channel)
	if !r.on || m.Rank >= r.ExemptRank {
		return
	}
	key := strings.ToLower(m.User)
	if r.admins[key] || a.s.routerAdmin(key) {
		return
	}
	now := a.h.Clock().Now()
	a.mu.Lock()
	cs := a.channel(m.Channel)
	if r.Emotes.On && cs.emotes == nil && !cs.asked {
		cs.asked = true
		a.h.Go(func(ctx context.Context) { a.loadEmotes(ctx, m.Channel) })
	}
	u := a.user(cs, key, now)
	u.active = now
	rule, reason := a.check(r, cs, u, key, m, now)
	var off offense
	acted := false
	if rule != "" {
		off, acted = a.climb(r, u, now)
		off.channel, off.user, off.rank, off.rule, off.reason = m.Channel, m.User, m.Rank, rule, reason
	}
	a.mu.Unlock()
	if !acted {
		if rule != "" {
			a.log.Debug("automod: offense within the grace of the last action", "channel", m.Channel, "user", m.User, "rule", rule)
		}
		return
	}
	select {
	case cs.queue <- off:
	default:
		a.log.Warn("automod: too many actions waiting; this one is dropped", "channel", m.Channel, "user", m.User, "rule", rule)
	}
}

// check applies the rules in order (flood, repeat, caps, words, links,
// emotes) and returns the first broken, with the reason; a.mu held.
func (a *automod) check(r *rules, cs *chanState, u *userState, key string, m protocol.ChatMessage, now time.Time) (rule, reason string) {
	text := m.Message
	if r.Flood.On {
		cut := now.Add(-time.Duration(r.Flood.Window))
		i := 0
		for i < len(u.lines) && !u.lines[i].After(cut) {
			i++
		}
		u.lines = append(u.lines[:0], u.lines[i:]...)
		u.lines = append(u.lines, now)
		if len(u.lines) > r.Flood.Lines {
			u.lines = u.lines[:0] // the next offense needs a window of its own
			rule, reason = RuleFlood, fmt.Sprintf("flood: more than %d lines in %s", r.Flood.Lines, shortDuration(time.Duration(r.Flood.Window)))
		}
	}
	if r.Repeat.On {
		h := a.lineHash(text)
		cut := now.Add(-time.Duration(r.Repeat.Window))
		n, kept := 1, u.recent[:0]
		for _, s := range u.recent {
			if s.at.After(cut) {
				kept = append(kept, s)
				if s.h == h {
					n++
				}
			}
		}
		u.recent = kept
		if n >= r.Repeat.Count {
			if rule == "" {
				rule, reason = RuleRepeat, fmt.Sprintf("repeated line: %d times in %s", n, shortDuration(time.Duration(r.Repeat.Window)))
			}
			kept = u.recent[:0]
			for _, s := range u.recent {
				if s.h != h {
					kept = append(kept, s)
				}
			}
			u.recent = kept
		} else {
			if len(u.recent) >= 2*r.Repeat.Count+8 {
				u.recent = append(u.recent[:0], u.recent[1:]...)
			}
			u.recent = append(u.recent, said{h: h, at: now})
		}
	}
	if rule != "" {
		return rule, reason
	}
	if r.Caps.On {
		letters, upper := 0, 0
		for _, c := range text {
			if unicode.IsLetter(c) {
				letters++
				if unicode.IsUpper(c) {
					upper++
				}
			}
		}
		if letters >= r.Caps.MinLength && float64(upper) >= r.Caps.Ratio*float64(letters) {
			return RuleCaps, fmt.Sprintf("caps: %d%% capitals", upper*100/letters)
		}
	}
	if r.Words.On && r.bannedWords(text) {
		return RuleWords, "banned words"
	}
	if r.Links.On && hasLink(text) {
		if m.Rank < r.Links.MinRank {
			return RuleLinks, fmt.Sprintf("link from a rank below %s", protocol.RankName(r.Links.MinRank))
		}
		if first, ok := cs.firstSeen[key]; ok && r.Links.NewFor > 0 && now.Sub(first) < time.Duration(r.Links.NewFor) {
			return RuleLinks, fmt.Sprintf("link from a user new to the channel (here for less than %s)", shortDuration(time.Duration(r.Links.NewFor)))
		}
	}
	if r.Emotes.On && len(cs.emotes) > 0 {
		n := 0
		for _, f := range strings.Fields(text) {
			if cs.emotes[f] {
				n++
			}
		}
		if n > r.Emotes.Max {
			return RuleEmotes, fmt.Sprintf("emote spam: %d emotes, at most %d", n, r.Emotes.Max)
		}
	}
	return "", ""
}

// bannedWords reports whether text holds a banned word or phrase or
// matches a banned pattern.
func (r *rules) bannedWords(text string) bool {
	if len(r.wordSet)+len(r.phrases) > 0 {
		n := normalizeWords(text)
		for rest := n; rest != ""; {
			w, more, _ := strings.Cut(rest, " ")
			if r.wordSet[w] {
				return true
			}
			rest = more
		}
		if len(r.phrases) > 0 {
			n = " " + n + " "
			for _, p := range r.phrases {
				if strings.Contains(n, p) {
					return true
				}
			}
		}
	}
	return r.words != nil && r.words.MatchString(text)
}

// lineHash hashes a line with case and spacing aside.
func (a *automod) lineHash(text string) uint64 {
	var h maphash.Hash
	h.SetSeed(a.seed)
	for i, f := range strings.Fields(text) {
		if i > 0 {
			h.WriteByte(' ')
		}
		h.WriteString(strings.ToLower(f))
	}
	return h.Sum64()
}

// climb takes the user one step up the ladder, after forgiving the
// periods without an offense; false within the grace of the last action.
func (a *automod) climb(r *rules, u *userState, now time.Time) (offense, bool) {
	if !u.last.IsZero() && now.Sub(u.last) < r.grace {
		return offense{}, false
	}
	level := u.level
	if level > 0 {
		level = max(0, level-int(now.Sub(u.last)/r.forgive))
	}
	st := r.ladder[min(level, len(r.ladder)-1)]
	u.level, u.last = level+1, now
	return offense{step: st, level: level + 1, at: now}, true
}

// work acts on a channel's offenses, one at a time, in order.
func (a *automod) work(ctx context.Context, cs *chanState) {
	for {
		select {
		case <-ctx.Done():
			return
		case off := <-cs.queue:
			a.enforce(ctx, off)
		}
	}
}

// enforce does one offense's step, records it and says it.
func (a *automod) enforce(ctx context.Context, off offense) {
	ctx, cancel := context.WithTimeout(ctx, actionTimeout)
	defer cancel()
	log := a.log.With("channel", off.channel, "user", off.user, "rule", off.rule, "step", off.step.String())
	if a.s.protected(off.channel, off.user) {
		return
	}
	c := client.New(a.h.Bus(), off.channel)
	action, reason := off.step.action, off.reason
	var bot protocol.BotState
	var err error
	if action != Warn {
		// The bot's rank, to act only below it. Without a channel that
		// answers (the console) the automod can still warn.
		sctx, scancel := chanwords.State(ctx)
		bot, err = c.Bot(sctx)
		scancel()
		switch {
		case err != nil:
			log.Info("automod: the channel's state is not known; a warning instead", "err", err)
			action = Warn
		case off.rank >= bot.Rank:
			log.Info("automod: the user's rank is not below the bot's; a warning instead")
			action = Warn
		}
		err = nil
	}
	var until time.Time
	switch action {
	case Mute:
		err = c.Mute(ctx, off.user)
		until = a.h.Clock().Now().Add(off.step.d)
	case Kick:
		err = c.Kick(ctx, off.user, "automod: "+reason)
	case Ban:
		err = c.Ban(ctx, off.user, "automod: "+reason, a.s.cfg.BanIP)
	}
	switch {
	case errors.Is(err, client.ErrPermission):
		log.Warn("automod: the bot may not do this step here; a warning instead", "err", err)
		action, err = Warn, nil
	case errors.Is(err, client.ErrNotSupported): // the console: no moderation
		log.Info("automod: the channel cannot do this step; a warning instead", "err", err)
		action, err = Warn, nil
	}
	if err != nil {
		log.Warn("automod: the action failed", "err", err)
		if action == Mute && transient(err) {
			// CyTube may have muted them with its answer lost (late, or
			// the connection dropped): keep the mute's end all the same,
			// or they stay muted for ever. Lifting a mute that never was
			// is refused, and forgotten.
			sctx, scancel := context.WithTimeout(a.h.Context(), 5*time.Second)
			a.startUnmute(sctx, pendingUnmute{Channel: off.channel, User: off.user, At: until.UnixMilli(), For: shortDuration(off.step.d)})
			scancel()
		}
		if unanswered(err) {
			// Sent, and perhaps done: logged so that moderators see it.
			rec := record{Channel: off.channel, Action: action, Target: off.user, TargetKey: strings.ToLower(off.user),
				By: AutomodName, ByRank: bot.Rank, Reason: reason, Rule: off.rule, At: off.at.UnixMilli(), Status: StatusUnconfirmed}
			if !until.IsZero() {
				rec.Until = until.UnixMilli()
			}
			wctx, wcancel := recordContext(ctx)
			if _, err := a.s.db.Set(wctx, a.s.cfg.Collection, database.ID{}, rec); err != nil {
				log.Error("automod: could not record the unconfirmed action", "err", err)
			}
			wcancel()
		}
		return
	}
	var msg string
	switch action {
	case Warn:
		msg = fmt.Sprintf("⚠️ %s, automod warning (%s).", off.user, reason)
	case Mute:
		msg = fmt.Sprintf("🔇 automod muted %s for %s (%s).", off.user, shortDuration(off.step.d), reason)
		a.startUnmute(ctx, pendingUnmute{Channel: off.channel, User: off.user, At: until.UnixMilli(), For: shortDuration(off.step.d)})
	case Kick:
		msg = fmt.Sprintf("👢 automod kicked %s (%s).", off.user, reason)
	case Ban:
		msg = fmt.Sprintf("🔨 automod banned %s (%s).", off.user, reason)
	}
	rec := record{Channel: off.channel, Action: action, Target: off.user, TargetKey: strings.ToLower(off.user),
		By: AutomodName, ByRank: bot.Rank, Reason: reason, Rule: off.rule, At: off.at.UnixMilli()}
	if !until.IsZero() {
		rec.Until = until.UnixMilli()
	}
	if _, err := a.s.db.Set(ctx, a.s.cfg.Collection, database.ID{}, rec); err != nil {
		log.Error("automod: could not record the action", "err", err)
	}
	if _, err := a.s.db.Set(ctx, ladderCollection, database.StringID(userKey(off.channel, off.user)),
		savedLadder{Channel: off.channel, User: off.user, Level: off.level, Last: off.at.UnixMilli()}); err != nil {
		log.Warn("automod: could not save the ladder", "err", err)
	}
	if err := a.h.SayIn(ctx, off.channel, msg); err != nil {
		log.Warn("automod: could not say the action", "err", err)
	}
}

// startUnmute keeps a mute to lift in the database and sets its timer.
func (a *automod) startUnmute(ctx context.Context, u pendingUnmute) {
	if _, err := a.s.db.Set(ctx, unmuteCollection, database.StringID(userKey(u.Channel, u.User)), u); err != nil {
		a.log.Warn("automod: could not keep the mute's end; it is lifted only if the plugin runs until then", "user", u.User, "err", err)
	}
	a.scheduleUnmute(u)
}

func (a *automod) scheduleUnmute(u pendingUnmute) {
	key := userKey(u.Channel, u.User)
	cancel := a.h.At(time.UnixMilli(u.At), func(ctx context.Context) { a.unmuteRetrying(ctx, u) })
	a.mu.Lock()
	if old, ok := a.unmutes[key]; ok {
		old()
	}
	a.unmutes[key] = cancel
	a.mu.Unlock()
}

// unmuteRetrying lifts a mute whose time is over, trying again a few
// times while the channel does not answer (the bot is starting, or
// reconnecting). The waits are real time, not the Host's clock: they wait
// for the connector, not for the mute's end.
func (a *automod) unmuteRetrying(ctx context.Context, u pendingUnmute) {
	for attempt := 0; ; attempt++ {
		err := a.unmute(ctx, u)
		if err == nil || attempt == 8 || !transient(err) {
			return
		}
		t := time.NewTimer(min(250*time.Millisecond<<attempt, time.Minute))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// transient reports whether err says the channel did not answer, rather
// than that the unmute cannot be done.
func transient(err error) bool {
	return errors.Is(err, client.ErrNotConnected) || errors.Is(err, client.ErrTimeout) || errors.Is(err, client.ErrUnknownOutcome) ||
		errors.Is(err, eventbus.ErrNoResponders) || errors.Is(err, eventbus.ErrTimeout) || errors.Is(err, context.DeadlineExceeded)
}

// unmute lifts a mute whose time is over; a user who is away (or a
// channel the bot is not in) is unmuted when they are back (or the bot
// is). It returns the error of a mute still to lift.
func (a *automod) unmute(ctx context.Context, u pendingUnmute) error {
	ctx, cancel := context.WithTimeout(ctx, actionTimeout)
	defer cancel()
	key := userKey(u.Channel, u.User)
	err := client.New(a.h.Bus(), u.Channel).Unmute(ctx, u.User)
	switch {
	case err == nil:
		rec := record{Channel: u.Channel, Action: Unmute, Target: u.User, TargetKey: strings.ToLower(u.User), By: AutomodName,
			Reason: "the mute of " + u.For + " is over", At: a.h.Clock().Now().UnixMilli()}
		if _, err := a.s.db.Set(ctx, a.s.cfg.Collection, database.ID{}, rec); err != nil {
			a.log.Error("automod: could not record the unmute", "user", u.User, "err", err)
		}
	case errors.Is(err, client.ErrRefused):
		// Not muted any more: a moderator lifted it.
	default:
		a.log.Info("automod: the mute is lifted when the user (or the bot) is back", "channel", u.Channel, "user", u.User, "err", err)
		a.mu.Lock()
		a.channel(u.Channel).pending[strings.ToLower(u.User)] = u.User
		a.mu.Unlock()
		return err
	}
	a.mu.Lock()
	delete(a.unmutes, key)
	delete(a.channel(u.Channel).pending, strings.ToLower(u.User))
	a.mu.Unlock()
	if _, err := a.s.db.Delete(ctx, unmuteCollection, database.StringID(key)); err != nil {
		a.log.Warn("automod: could not forget a lifted mute", "user", u.User, "err", err)
	}
	return nil
}

// forget drops the automod's end of a mute of user in channel (its
// timer, a retry waiting for the user, the database's record of it).
func (a *automod) forget(ctx context.Context, channel, user string) {
	key := userKey(channel, user)
	a.mu.Lock()
	cancel, timed := a.unmutes[key]
	if timed {
		cancel()
		delete(a.unmutes, key)
	}
	waiting := false
	if cs, ok := a.state[channel]; ok {
		_, waiting = cs.pending[strings.ToLower(user)]
		delete(cs.pending, strings.ToLower(user))
	}
	a.mu.Unlock()
	if !timed && !waiting {
		return
	}
	if _, err := a.s.db.Delete(ctx, unmuteCollection, database.StringID(key)); err != nil && !errors.Is(err, database.ErrNotFound) {
		a.log.Warn("automod: could not forget the end of a mute", "user", user, "err", err)
	}
}

// retryUnmutes lifts the due mutes waiting in a channel (for one user, or
// for every user when user is "").
func (a *automod) retryUnmutes(ctx context.Context, channel, user string) {
	a.mu.Lock()
	var due []pendingUnmute
	cs := a.channel(channel)
	for k, name := range cs.pending {
		if user == "" || k == strings.ToLower(user) {
			due = append(due, pendingUnmute{Channel: channel, User: name, For: "its time"})
			delete(cs.pending, k)
		}
	}
	a.mu.Unlock()
	for _, u := range due {
		var saved pendingUnmute
		if err := a.s.db.Get(ctx, unmuteCollection, database.StringID(userKey(channel, u.User)), &saved); err == nil && saved.For != "" {
			u.For = saved.For
		}
		_ = a.unmute(ctx, u) // failed: pending again, for the next join or connection
	}
}

func (a *automod) onJoin(ctx context.Context, ev *eventbus.Event) {
	var j protocol.UserJoinEvent
	if err := ev.Decode(&j); err != nil || j.User == "" {
		return
	}
	key := strings.ToLower(j.User)
	a.mu.Lock()
	cs := a.channel(j.Channel)
	_, wait := cs.pending[key]
	_, known := cs.firstSeen[key]
	now := a.h.Clock().Now()
	r := a.rulesIn(j.Channel)
	follow := r.Links.On && r.Links.NewFor > 0 && !known
	if follow {
		cs.firstSeen[key] = now // new until the database says otherwise
		if len(cs.firstSeen) > max(maxUsers, cs.seenSweepAt) {
			// Those here longer than new_for are not new: the database
			// says so when they come back.
			for k, t := range cs.firstSeen {
				if now.Sub(t) > time.Duration(r.Links.NewFor) {
					delete(cs.firstSeen, k)
				}
			}
			cs.seenSweepAt = 2 * len(cs.firstSeen)
		}
	}
	a.mu.Unlock()
	if wait {
		a.retryUnmutes(ctx, j.Channel, j.User)
	}
	if !follow {
		return
	}
	id := database.StringID(userKey(j.Channel, j.User))
	var m member
	err := a.s.db.Get(ctx, membersCollection, id, &m)
	switch {
	case err == nil && m.FirstSeen > 0:
		a.mu.Lock()
		cs.firstSeen[key] = time.UnixMilli(m.FirstSeen)
		a.mu.Unlock()
	case errors.Is(err, database.ErrNotFound):
		if _, err := a.s.db.Set(ctx, membersCollection, id, member{Channel: j.Channel, User: j.User, FirstSeen: now.UnixMilli()}); err != nil {
			a.log.Warn("automod: could not record a first visit", "user", j.User, "err", err)
		}
	default:
		a.log.Warn("automod: could not look up a user's first visit", "user", j.User, "err", err)
	}
}

func (a *automod) onConnection(ctx context.Context, ev *eventbus.Event) {
	var c protocol.ConnectionEvent
	if err := ev.Decode(&c); err != nil || c.State != protocol.StateConnected {
		return
	}
	a.retryUnmutes(ctx, c.Channel, "")
}

func (a *automod) onEmotes(_ context.Context, ev *eventbus.Event) {
	var e protocol.ChannelEmotesEvent
	if err := ev.Decode(&e); err != nil {
		return
	}
	a.setEmotes(e.Channel, e.Emotes)
}

func (a *automod) setEmotes(channel string, emotes []protocol.Emote) {
	set := make(map[string]bool, len(emotes))
	for _, e := range emotes {
		if e.Name != "" {
			set[e.Name] = true
		}
	}
	a.mu.Lock()
	a.channel(channel).emotes = set
	a.mu.Unlock()
}

// loadEmotes asks the connector for a channel's emotes the plugin has not
// heard of yet (it started after the bot joined).
func (a *automod) loadEmotes(ctx context.Context, channel string) {
	sctx, cancel := chanwords.State(ctx)
	defer cancel()
	emotes, err := client.New(a.h.Bus(), channel).Emotes(sctx)
	if err != nil {
		a.log.Debug("automod: the channel's emotes are not known", "channel", channel, "err", err)
		return
	}
	a.mu.Lock()
	known := a.channel(channel).emotes != nil
	a.mu.Unlock()
	if !known { // an emotes event that came meanwhile is newer
		a.setEmotes(channel, emotes)
	}
}
