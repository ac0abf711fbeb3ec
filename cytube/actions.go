package cytube

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/roseybot/rosey/cytube/medialink"
	"github.com/roseybot/rosey/eventbus"
	"github.com/roseybot/rosey/internal/socketio"
	"github.com/roseybot/rosey/protocol"
)

// waiter is an action waiting for CyTube's answer: match sees every event
// (name "" for an ack, with its id) and says when one settles the action.
// sess is the session its request went out on (nil while a command waits
// in the chat queue): when that session ends the answer can never come.
//
// A ghost is a waiter whose action timed out but whose answer CyTube may
// still send: CyTube answers the requests of one link in order, so the
// first answer that matches it is its own, not that of the next action of
// the same kind (kind) waiting behind it. It haunts until that answer, the
// end of its session, or until.
//
// after is the number of events read when it was registered: those, and
// the one being handled then (whose publication a plugin may have answered
// with this action), came before its request and never answer it.
type waiter struct {
	match func(name string, arg json.RawMessage, id int64) (bool, protocol.Reply)
	done  chan protocol.Reply
	sess  *session
	kind  string
	ghost bool
	until time.Time
	after uint64
}

// actions holds what the action handlers share.
type actions struct {
	mu      sync.Mutex
	read    uint64 // events and acks read from CyTube, counted before their handling
	waiters []*waiter
	ackID   int64
	queueMu sync.Mutex  // one queue action at a time, paced by queue
	queue   floodMirror // CyTube's queue limiter for the bot
}

func ok(data any) protocol.Reply {
	r := protocol.Reply{OK: true}
	if data != nil {
		r.Data, _ = json.Marshal(data)
	}
	return r
}

func fail(code, format string, args ...any) protocol.Reply {
	return protocol.Reply{Code: code, Error: fmt.Sprintf(format, args...)}
}

// readOne counts an event or ack read from CyTube, before it is handled,
// and returns its number for answer.
func (c *Connector) readOne() uint64 {
	c.acts.mu.Lock()
	defer c.acts.mu.Unlock()
	c.acts.read++
	return c.acts.read
}

// answer shows an event (or an ack, name "") numbered seq by readOne to
// the waiting actions registered before it was read.
// Waiters see it oldest first; one that a ghost's late answer matched
// never sees it if it is of the ghost's kind.
func (c *Connector) answer(seq uint64, name string, arg json.RawMessage, id int64) {
	a := &c.acts
	a.mu.Lock()
	defer a.mu.Unlock()
	now := time.Now()
	var late string // the kind of the ghost that took this event
	for i := 0; i < len(a.waiters); {
		w := a.waiters[i]
		if w.ghost && now.After(w.until) {
			a.waiters = append(a.waiters[:i], a.waiters[i+1:]...)
			continue
		}
		if w.after >= seq || late != "" && w.kind == late {
			i++
			continue
		}
		if done, r := w.match(name, arg, id); done {
			if w.ghost {
				late = w.kind
			} else {
				w.done <- r
			}
			a.waiters = append(a.waiters[:i], a.waiters[i+1:]...)
			continue
		}
		i++
	}
}

// expect registers an action waiting for CyTube's answer to a request it
// sends on s (nil: a command, bound to its session when it is sent).
func (c *Connector) expect(s *session, match func(name string, arg json.RawMessage, id int64) (bool, protocol.Reply)) *waiter {
	return c.expectKind(s, "", match)
}

// expectKind is expect for an action of a kind that waitOrHaunt waits for.
func (c *Connector) expectKind(s *session, kind string, match func(name string, arg json.RawMessage, id int64) (bool, protocol.Reply)) *waiter {
	w := &waiter{match: match, done: make(chan protocol.Reply, 1), sess: s, kind: kind}
	c.acts.mu.Lock()
	defer c.acts.mu.Unlock()
	w.after = c.acts.read
	if s != nil && s.ended {
		w.done <- dropped
		return w
	}
	c.acts.waiters = append(c.acts.waiters, w)
	return w
}

// dropped answers an action whose connection ended before CyTube answered.
var dropped = fail(protocol.CodeUnknownOutcome, "the connection to CyTube dropped after the action was sent and before CyTube answered; it may or may not have been done")

// bind records that w's command goes out on s now; it reports false when
// w is no longer waiting (answered, or given up), so the command must not
// be sent.
func (c *Connector) bind(w *waiter, s *session) bool {
	a := &c.acts
	a.mu.Lock()
	defer a.mu.Unlock()
	if !slices.Contains(a.waiters, w) {
		return false
	}
	if !s.ended {
		w.sess = s
	}
	return true
}

// unbind undoes bind when the command could not be written.
func (c *Connector) unbind(w *waiter, s *session) {
	c.acts.mu.Lock()
	defer c.acts.mu.Unlock()
	if w.sess == s {
		w.sess = nil
	}
}

// pending reports whether w still waits for its answer.
func (c *Connector) pending(w *waiter) bool {
	c.acts.mu.Lock()
	defer c.acts.mu.Unlock()
	return slices.Contains(c.acts.waiters, w)
}

// failSession answers every action sent on s, which has ended: CyTube's
// answer can no longer come, and the next session's join burst (its
// playlist, its setCurrent) must not be taken for it.
func (c *Connector) failSession(s *session) {
	a := &c.acts
	a.mu.Lock()
	defer a.mu.Unlock()
	s.ended = true
	close(s.gone)
	kept := a.waiters[:0]
	for _, w := range a.waiters {
		if w.sess == s {
			w.done <- dropped
			continue
		}
		kept = append(kept, w)
	}
	clear(a.waiters[len(kept):])
	a.waiters = kept
}

func (c *Connector) forget(w *waiter) {
	a := &c.acts
	a.mu.Lock()
	defer a.mu.Unlock()
	for i, o := range a.waiters {
		if o == w {
			a.waiters = append(a.waiters[:i], a.waiters[i+1:]...)
			return
		}
	}
}

// wait returns the action's answer, or soft (when not nil) if CyTube says
// nothing by then, else a timeout. A command still in the chat queue then
// was never sent (nor will be: bind refuses it once forgotten), which is
// no timeout.
func (c *Connector) wait(ctx context.Context, w *waiter, soft *protocol.Reply) protocol.Reply {
	defer c.forget(w)
	select {
	case r := <-w.done:
		return r
	case <-ctx.Done():
	}
	c.acts.mu.Lock() // forgotten at once: bind must not send it after this
	i := slices.Index(c.acts.waiters, w)
	unsent := i >= 0 && w.sess == nil
	if i >= 0 {
		c.acts.waiters = slices.Delete(c.acts.waiters, i, i+1)
	}
	c.acts.mu.Unlock()
	select {
	case r := <-w.done: // answered as it timed out
		return r
	default:
	}
	switch {
	case unsent && c.readySessionNow() == nil:
		return fail(protocol.CodeNotConnected, "the bot was not in channel %s in time to send the command; nothing was sent", c.cfg.Channel)
	case unsent:
		return fail(protocol.CodeRateLimited, "the chat pace left no room for the command within %s; nothing was sent", c.cfg.ActionTimeout)
	case soft != nil && !errors.Is(ctx.Err(), context.Canceled):
		return *soft
	}
	return fail(protocol.CodeTimeout, "CyTube did not answer within %s", c.cfg.ActionTimeout)
}

// waitOrHaunt is wait for an action (registered with expectKind) whose
// answer may come after its timeout: w then stays a ghost for haunt, so
// that the late answer settles no later action of its kind.
func (c *Connector) waitOrHaunt(ctx context.Context, w *waiter, haunt time.Duration) protocol.Reply {
	select {
	case r := <-w.done:
		return r
	case <-ctx.Done():
	}
	c.acts.mu.Lock()
	i := slices.Index(c.acts.waiters, w)
	if i >= 0 && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		w.ghost, w.until = true, time.Now().Add(haunt)
	} else if i >= 0 {
		c.acts.waiters = slices.Delete(c.acts.waiters, i, i+1)
	}
	c.acts.mu.Unlock()
	select {
	case r := <-w.done: // answered as it timed out
		return r
	default:
	}
	return fail(protocol.CodeTimeout, "CyTube did not answer within %s", c.cfg.ActionTimeout)
}

// queueHaunt is how long a timed-out queue's late answer is waited for
// (CyTube answers every queue, after looking the media up).
const queueHaunt = time.Minute

// actionSubjects maps each cytube.do.* subject to its handler.
func (c *Connector) actionSubjects() map[string]func(context.Context, *session, protocol.ChannelRequest) protocol.Reply {
	return map[string]func(context.Context, *session, protocol.ChannelRequest) protocol.Reply{
		protocol.DoQueue: c.doQueue, protocol.DoDelete: c.doDelete, protocol.DoMove: c.doMove,
		protocol.DoJump: c.doJump, protocol.DoSkip: c.doSkip, protocol.DoShuffle: c.doShuffle,
		protocol.DoClear: c.doClearPlaylist, protocol.DoSetTemp: c.doSetTemp, protocol.DoVoteskip: c.doVoteskip,
		protocol.DoPollOpen: c.doPollOpen, protocol.DoPollVote: c.doPollVote, protocol.DoPollEnd: c.doPollClose,
		protocol.DoKick: c.doKick, protocol.DoBan: c.doBan, protocol.DoMute: c.doMute("mute"),
		protocol.DoSMute: c.doMute("smute"), protocol.DoUnmute: c.doMute("unmute"),
		protocol.DoSetRank: c.doSetRank, protocol.DoLeader: c.doLeader, protocol.DoClearChat: c.doClearChat,
		protocol.DoSetMOTD: c.doSetMOTD,
	}
}

// subscribeChannel subscribes to the cytube.do.* and cytube.state.*
// subjects; the caller adds the subscriptions to c.subs.
func (c *Connector) subscribeChannel(ctx context.Context) error {
	for subject, run := range c.actionSubjects() {
		run := run
		sub, err := c.bus.Subscribe(subject, func(_ context.Context, ev *eventbus.Event) {
			req, mine := c.request(ev)
			if !mine {
				return
			}
			c.wg.Add(1)
			go func() { // actions wait for CyTube: never block the next request
				defer c.wg.Done()
				actx, cancel := context.WithTimeout(ctx, c.cfg.ActionTimeout)
				defer cancel()
				var r protocol.Reply
				if req == nil {
					r = fail(protocol.CodeBadRequest, "the request body must be a JSON object (see docs/PROTOCOL.md)")
				} else if s := c.readySessionNow(); s == nil {
					r = fail(protocol.CodeNotConnected, "the bot is not in channel %s right now", c.cfg.Channel)
				} else {
					r = run(actx, s, *req)
				}
				c.reply(ev, r)
			}()
		})
		if err != nil {
			return err
		}
		c.subs = append(c.subs, sub)
	}
	for subject, data := range map[string]func() any{
		protocol.StateUsers: c.stateUsers, protocol.StatePlaylist: c.statePlaylist, protocol.StateMedia: c.stateMedia,
		protocol.StatePoll: c.statePoll, protocol.StateOptions: c.stateOptions, protocol.StatePermissions: c.statePermissions,
		protocol.StateMOTD: c.stateMOTD, protocol.StateEmotes: c.stateEmotes, protocol.StateBot: c.stateBot,
	} {
		data := data
		sub, err := c.bus.Subscribe(subject, func(_ context.Context, ev *eventbus.Event) {
			req, mine := c.request(ev)
			if !mine {
				return
			}
			if req == nil {
				c.reply(ev, fail(protocol.CodeBadRequest, "the request body must be a JSON object (see docs/PROTOCOL.md)"))
				return
			}
			// Away from the channel, what the connector saw last is not
			// the channel now: say so, as actions do. The bot's own state
			// still names it, marked not connected.
			if subject != protocol.StateBot && c.readySessionNow() == nil {
				c.reply(ev, fail(protocol.CodeNotConnected, "the bot is not in channel %s right now", c.cfg.Channel))
				return
			}
			c.reply(ev, ok(data()))
		})
		if err != nil {
			return err
		}
		c.subs = append(c.subs, sub)
	}
	return nil
}

// request decodes a state or action request. mine is false when it is
// for another channel's connector (which answers it), or not a request.
func (c *Connector) request(ev *eventbus.Event) (*protocol.ChannelRequest, bool) {
	if !ev.IsRequest() {
		return nil, false
	}
	var req protocol.ChannelRequest
	if len(ev.Data) > 0 {
		if err := json.Unmarshal(ev.Data, &req); err != nil {
			c.bad.Add(1)
			return nil, true
		}
	}
	if !c.mine(req.Channel) {
		return nil, false
	}
	return &req, true
}

// mine reports whether a send or request naming channel is this
// connector's to act on ("" is every connector's, unless NamedOnly).
func (c *Connector) mine(channel string) bool {
	if channel == "" {
		return !c.cfg.NamedOnly
	}
	return strings.EqualFold(channel, c.cfg.Channel)
}

func (c *Connector) reply(ev *eventbus.Event, r protocol.Reply) {
	if err := c.bus.Respond(context.Background(), ev, r); err != nil {
		c.log.Warn("answer request", "subject", ev.Subject, "err", err)
	}
}

func (c *Connector) readySessionNow() *session {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sess
}

// canLocked is CyTube's hasPermission for the bot: a playlist permission
// uses its "o" variant while the playlist is open; a permission the table
// does not set allows nobody.
func (c *Connector) canLocked(node string) bool {
	if strings.HasPrefix(node, "playlist") && !c.st.locked {
		if r, ok := c.st.perms["o"+node]; ok && c.rank >= r {
			return true
		}
	}
	r, ok := c.st.perms[node]
	return ok && c.rank >= r
}

// need checks the bot's rank against permission node and returns the
// error to answer, or nil.
func (c *Connector) need(node string) *protocol.Reply {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.canLocked(node) {
		return nil
	}
	r, set := c.st.perms[node]
	if !set {
		e := fail(protocol.CodePermission, "nobody may %s in channel %s (permission %s is not set)", permWhat[node], c.cfg.Channel, node)
		return &e
	}
	e := fail(protocol.CodePermission, "the bot's rank %s (%g) is below the %s (%g) channel %s needs to %s",
		protocol.RankName(c.rank), c.rank, protocol.RankName(r), r, c.cfg.Channel, permWhat[node])
	return &e
}

var permWhat = map[string]string{
	"playlistadd": "add to the playlist", "playlistnext": "queue next", "playlistaddlist": "add playlists",
	"playlistaddlive": "add live media", "playlistaddcustom": "add custom embeds", "playlistaddrawfile": "add raw files",
	"playlistdelete": "delete playlist items", "playlistmove": "move playlist items", "playlistjump": "skip or jump",
	"playlistshuffle": "shuffle the playlist", "playlistclear": "clear the playlist", "settemp": "change temp flags",
	"voteskip": "voteskip", "pollctl": "open or close polls", "pollvote": "vote in polls", "kick": "kick",
	"ban": "ban", "mute": "mute", "chatclear": "clear the chat", "leaderctl": "assign the leader",
	"motdedit": "edit the MOTD", "chat": "chat (CyTube ignores the chat commands of a user who may not chat)",
}

func (c *Connector) hasItem(uid int64) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.st.indexLocked(uid) >= 0
}

func (c *Connector) userPresent(name string) (member, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	u, ok := c.users[strings.ToLower(name)]
	return u, ok
}

// emit sends a non-chat event, paced by the optional event limit.
func (c *Connector) emitAction(ctx context.Context, s *session, event string, arg any) *protocol.Reply {
	if err := c.evLim.Wait(ctx); err != nil {
		r := fail(protocol.CodeRateLimited, "the server's event limit leaves no room before the action's deadline")
		return &r
	}
	var err error
	if arg == nil {
		var f []byte
		if f, err = encodeNoArg(event); err == nil {
			err = s.write(f)
		}
	} else {
		err = s.emit(event, arg)
	}
	if err != nil {
		r := sendFailed(err)
		return &r
	}
	return nil
}

// sendFailed is the answer to an action whose request could not be sent.
func sendFailed(err error) protocol.Reply {
	if errors.Is(err, errTooLarge) {
		return fail(protocol.CodeBadRequest, "%v", err)
	}
	return fail(protocol.CodeNotConnected, "sending to CyTube failed: %v", err)
}

// command sends a CyTube chat command (/kick …) through the chat pace,
// dropped if it cannot leave before ctx's deadline.
// w, when not nil, is the action waiting for its answer: the command is
// dropped unsent once w no longer waits. The line is cut to the chat
// length: CyTube cuts it there before running the command anyway, and a
// longer frame may pass its message size limit (it closes the connection).
func (c *Connector) command(ctx context.Context, line string, w *waiter) {
	dl, _ := ctx.Deadline()
	line = truncateUTF16(line, c.cfg.MaxMessageLength)
	c.enqueue(outMsg{event: "chatMsg", parts: []string{line}, command: true, expires: dl, w: w})
}

func sameName(a json.RawMessage, key, name string) bool {
	var m map[string]any
	if json.Unmarshal(a, &m) != nil {
		return false
	}
	v, _ := m[key].(string)
	return strings.EqualFold(v, name)
}

// errorText returns the text of an errorMsg or channelRankFail event.
func errorText(name string, arg json.RawMessage) (string, bool) {
	if name != "errorMsg" && name != "channelRankFail" {
		return "", false
	}
	var m struct {
		Msg string `json:"msg"`
	}
	_ = json.Unmarshal(arg, &m)
	return PlainText(m.Msg), true
}

// refusal returns CyTube's refusal of the event sent, when name/arg is
// one. CyTube's errors name no request, and other things than actions
// cause them (a PM to a user who left): only the errors CyTube sends for
// that very event count. It type-checks every event ("Unexpected error for
// message delete: …"); channelRankFail answers setChannelRank, and
// assignLeader has an error of its own.
func refusal(event, name string, arg json.RawMessage) (string, bool) {
	msg, isErr := errorText(name, arg)
	switch {
	case !isErr:
		return "", false
	case name == "channelRankFail":
		return msg, event == "setChannelRank"
	case strings.HasPrefix(msg, "Unexpected error for message "+event+":"):
		return msg, true
	case event == "assignLeader" && strings.HasPrefix(msg, "Unable to assign leader"):
		return msg, true
	}
	return "", false
}

// commandRefusal returns CyTube's refusal of a moderation command against
// user, when name/arg is one: an errorMsg that names the user (CyTube's
// command errors do: "You do not have permission to kick bob", "bob is not
// muted.") or one of the errors of the command that name nobody. Errors of
// PMs, leaders and type checks name users too but answer other things.
func commandRefusal(user string, generic []string, name string, arg json.RawMessage) (string, bool) {
	msg, isErr := errorText(name, arg)
	if !isErr || name != "errorMsg" {
		return "", false
	}
	for _, other := range []string{"PM failed", "You can't PM", "You must be signed in", "Unable to assign leader", "Unexpected error for message"} {
		if strings.HasPrefix(msg, other) {
			return "", false
		}
	}
	for _, g := range generic {
		if strings.HasPrefix(msg, g) {
			return msg, true
		}
	}
	for _, w := range strings.FieldsFunc(msg, func(r rune) bool { return !(r == '_' || r == '-' || unicode.IsLetter(r) || unicode.IsDigit(r)) }) {
		if strings.EqualFold(w, user) {
			return msg, true
		}
	}
	return "", false
}

func (c *Connector) doQueue(ctx context.Context, s *session, req protocol.ChannelRequest) protocol.Reply {
	typ, id := req.Type, req.ID
	if req.URL != "" {
		l, err := medialink.Parse(req.URL)
		if err != nil {
			return fail(protocol.CodeBadRequest, "%v", err)
		}
		typ, id = l.Type, l.ID
	}
	if typ == "" || id == "" {
		return fail(protocol.CodeBadRequest, "queue needs a url, or a type and an id")
	}
	pos := req.Pos
	if pos == "" {
		pos = "end"
	}
	if pos != "end" && pos != "next" {
		return fail(protocol.CodeBadRequest, "pos must be \"end\" or \"next\", not %q", pos)
	}
	checks := []string{"playlistadd"}
	if pos == "next" {
		checks = append(checks, "playlistnext")
	}
	switch typ {
	case "yp":
		checks = append(checks, "playlistaddlist")
	case "tw", "li", "rt", "hl":
		checks = append(checks, "playlistaddlive")
	case "cu":
		checks = append(checks, "playlistaddcustom")
	case "fi", "cm":
		checks = append(checks, "playlistaddrawfile")
	}
	for _, p := range checks {
		if e := c.need(p); e != nil {
			return *e
		}
	}
	temp := req.Temp != nil && *req.Temp
	// CyTube's queue limiter (newRateLimiter, like chat): past the burst,
	// one a full interval after the last. Wait for it, or say it would
	// refuse.
	c.acts.queueMu.Lock()
	defer c.acts.queueMu.Unlock()
	c.mu.Lock()
	rule := floodRule{Burst: 3, Sustained: 1, Cooldown: 3 * time.Second}
	if c.rank >= protocol.RankModerator {
		rule = floodRule{Burst: 10, Sustained: 2, Cooldown: 5 * time.Second}
	}
	self := c.name
	c.mu.Unlock()
	if d := c.acts.queue.wait(time.Now(), rule, time.Time{}); d > 0 {
		if dl, _ := ctx.Deadline(); time.Now().Add(d).After(dl) {
			return fail(protocol.CodeRateLimited, "CyTube allows %d queued items at once, then %g per second; try again in %s", rule.Burst, rule.Sustained, d.Round(time.Millisecond))
		}
		if !sleep(ctx, d) {
			return fail(protocol.CodeTimeout, "stopped while waiting for CyTube's queue limit")
		}
	}
	w := c.expectKind(s, "queue", func(name string, arg json.RawMessage, _ int64) (bool, protocol.Reply) {
		switch name {
		case "queue":
			var q struct {
				Item itemJSON `json:"item"`
			}
			if json.Unmarshal(arg, &q) != nil || !protocol.SameUser(q.Item.QueueBy, self) {
				return false, protocol.Reply{}
			}
			switch {
			case typ == "yp": // CyTube queues each video (yt) on its own: the first answers
				if q.Item.Media.Type != "yt" {
					return false, protocol.Reply{}
				}
			case q.Item.Media.Type != typ:
				return false, protocol.Reply{}
			case typ != "cu" && q.Item.Media.ID != id: // CyTube renames custom embeds
				return false, protocol.Reply{}
			}
			it := q.Item.item()
			return true, ok(it)
		case "queueFail":
			var f struct {
				Msg  string `json:"msg"`
				Link string `json:"link"`
				ID   any    `json:"id"`
			}
			if json.Unmarshal(arg, &f) != nil {
				return false, protocol.Reply{}
			}
			if fid, _ := f.ID.(string); fid != id && (f.Link == "" || f.Link != medialink.URL(typ, id)) {
				return false, protocol.Reply{}
			}
			// One video of a YouTube playlist failed (the failure names the
			// playlist's id and the video's link): the others may be queued.
			if typ == "yp" && f.Link != "" && f.Link != medialink.URL(typ, id) {
				return false, protocol.Reply{}
			}
			return true, fail(protocol.CodeRefused, "%s", PlainText(f.Msg))
		}
		return false, protocol.Reply{}
	})
	out := map[string]any{"id": id, "type": typ, "pos": pos, "temp": temp}
	if req.Title != "" {
		out["title"] = req.Title
	}
	if req.Duration > 0 {
		out["duration"] = req.Duration
	}
	c.acts.queue.sent(time.Now(), rule, time.Time{})
	if e := c.emitAction(ctx, s, "queue", out); e != nil {
		c.forget(w)
		return *e
	}
	return c.waitOrHaunt(ctx, w, queueHaunt)
}

// simple sends event(arg) after checking node and waits for an event
// that match accepts.
func (c *Connector) simple(ctx context.Context, s *session, node, event string, arg any, match func(name string, arg json.RawMessage) bool, soft *protocol.Reply) protocol.Reply {
	if node != "" {
		if e := c.need(node); e != nil {
			return *e
		}
	}
	w := c.expect(s, func(name string, a json.RawMessage, _ int64) (bool, protocol.Reply) {
		if match(name, a) {
			return true, ok(nil)
		}
		if msg, isErr := refusal(event, name, a); isErr {
			return true, fail(protocol.CodeRefused, "%s", msg)
		}
		return false, protocol.Reply{}
	})
	if e := c.emitAction(ctx, s, event, arg); e != nil {
		c.forget(w)
		return *e
	}
	return c.wait(ctx, w, soft)
}

// uidIs reports whether an event names uid: {uid}, {from} or a bare
// number (CyTube numbers items from 0, so a missing field is no match).
func uidIs(arg json.RawMessage, uid int64) bool {
	var v struct {
		UID  *jsonNumber `json:"uid"`
		From *jsonNumber `json:"from"`
	}
	if json.Unmarshal(arg, &v) == nil && (v.UID != nil && int64(*v.UID) == uid || v.From != nil && int64(*v.From) == uid) {
		return true
	}
	var n jsonNumber
	return json.Unmarshal(arg, &n) == nil && int64(n) == uid
}

// needItem returns the uid of the request, or the error to answer.
func (c *Connector) needItem(uid *int64) (int64, *protocol.Reply) {
	if uid == nil {
		r := fail(protocol.CodeBadRequest, "uid is required (CyTube numbers playlist items from 0)")
		return 0, &r
	}
	if !c.hasItem(*uid) {
		r := fail(protocol.CodeNotFound, "no playlist item with uid %d", *uid)
		return 0, &r
	}
	return *uid, nil
}

func (c *Connector) doDelete(ctx context.Context, s *session, req protocol.ChannelRequest) protocol.Reply {
	uid, e := c.needItem(req.UID)
	if e != nil {
		return *e
	}
	return c.simple(ctx, s, "playlistdelete", "delete", uid, func(n string, a json.RawMessage) bool {
		return n == "delete" && uidIs(a, uid)
	}, nil)
}

func (c *Connector) doMove(ctx context.Context, s *session, req protocol.ChannelRequest) protocol.Reply {
	uid, e := c.needItem(req.UID)
	if e != nil {
		return *e
	}
	a, where, okAfter := afterUID(req.After)
	var after any = where
	switch {
	case !okAfter:
		return fail(protocol.CodeBadRequest, "after must be a uid, \"prepend\" or \"append\"")
	case where == "":
		if _, e := c.needItem(&a); e != nil {
			return *e
		}
		if a == uid {
			return fail(protocol.CodeBadRequest, "an item cannot move after itself")
		}
		after = a
	}
	return c.simple(ctx, s, "playlistmove", "moveMedia", map[string]any{"from": uid, "after": after}, func(n string, a json.RawMessage) bool {
		return n == "moveVideo" && uidIs(a, uid)
	}, nil)
}

func (c *Connector) doJump(ctx context.Context, s *session, req protocol.ChannelRequest) protocol.Reply {
	uid, e := c.needItem(req.UID)
	if e != nil {
		return *e
	}
	return c.simple(ctx, s, "playlistjump", "jumpTo", uid, func(n string, a json.RawMessage) bool {
		return n == "setCurrent" && uidIs(a, uid)
	}, nil)
}

func (c *Connector) doSkip(ctx context.Context, s *session, _ protocol.ChannelRequest) protocol.Reply {
	c.mu.Lock()
	empty := len(c.st.items) == 0
	c.mu.Unlock()
	if empty {
		return fail(protocol.CodeNotFound, "the playlist is empty")
	}
	// Done when the next item plays, or when the last (temporary) item
	// was deleted and nothing is left to play.
	return c.simple(ctx, s, "playlistjump", "playNext", nil, func(n string, _ json.RawMessage) bool {
		if n == "setCurrent" {
			return true
		}
		if n != "delete" && n != "playlist" {
			return false
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		return len(c.st.items) == 0
	}, nil)
}

func (c *Connector) doShuffle(ctx context.Context, s *session, _ protocol.ChannelRequest) protocol.Reply {
	return c.simple(ctx, s, "playlistshuffle", "shufflePlaylist", nil, func(n string, _ json.RawMessage) bool { return n == "playlist" }, nil)
}

func (c *Connector) doClearPlaylist(ctx context.Context, s *session, _ protocol.ChannelRequest) protocol.Reply {
	return c.simple(ctx, s, "playlistclear", "clearPlaylist", nil, func(n string, _ json.RawMessage) bool { return n == "playlist" }, nil)
}

func (c *Connector) doSetTemp(ctx context.Context, s *session, req protocol.ChannelRequest) protocol.Reply {
	uid, e := c.needItem(req.UID)
	if e != nil {
		return *e
	}
	if req.Temp == nil {
		return fail(protocol.CodeBadRequest, "temp (true or false) is required")
	}
	return c.simple(ctx, s, "settemp", "setTemp", map[string]any{"uid": uid, "temp": *req.Temp}, func(n string, a json.RawMessage) bool {
		return n == "setTemp" && uidIs(a, uid)
	}, nil)
}

func (c *Connector) doVoteskip(ctx context.Context, s *session, _ protocol.ChannelRequest) protocol.Reply {
	c.mu.Lock()
	var o struct {
		Allow *bool `json:"allow_voteskip"`
	}
	_ = json.Unmarshal(c.st.options, &o)
	c.mu.Unlock()
	if o.Allow != nil && !*o.Allow {
		return fail(protocol.CodePermission, "voteskip is turned off in channel %s", c.cfg.Channel)
	}
	// CyTube counts one vote per IP and shows counts only to some ranks:
	// no answer means the vote was sent but not shown.
	soft := ok(map[string]any{"confirmed": false})
	sctx, cancel := context.WithTimeout(ctx, min(2*time.Second, c.cfg.ActionTimeout))
	defer cancel()
	return c.simple(sctx, s, "voteskip", "voteskip", nil, func(n string, _ json.RawMessage) bool {
		return n == "voteskip" || n == "setCurrent"
	}, &soft)
}

func (c *Connector) doPollOpen(ctx context.Context, s *session, req protocol.ChannelRequest) protocol.Reply {
	if e := c.need("pollctl"); e != nil {
		return *e
	}
	c.acts.mu.Lock()
	c.acts.ackID++
	id := c.acts.ackID
	c.acts.mu.Unlock()
	w := c.expect(s, func(name string, arg json.RawMessage, ackID int64) (bool, protocol.Reply) {
		if name != "" || ackID != id {
			return false, protocol.Reply{}
		}
		var r struct {
			Error *struct {
				Message string `json:"message"`
			} `json:"error"`
		}
		_ = json.Unmarshal(arg, &r)
		if r.Error != nil {
			return true, fail(protocol.CodeRefused, "%s", r.Error.Message)
		}
		return true, ok(nil)
	})
	p := map[string]any{"title": req.Title, "opts": req.Options, "obscured": req.Hidden}
	if req.Options == nil {
		p["opts"] = []string{}
	}
	if req.Timeout != 0 {
		p["timeout"] = req.Timeout
	}
	if err := c.evLim.Wait(ctx); err != nil {
		c.forget(w)
		return fail(protocol.CodeRateLimited, "the server's event limit leaves no room before the action's deadline")
	}
	f, err := encodeAck(id, "newPoll", p)
	if err == nil {
		err = s.write(f)
	}
	if err != nil {
		c.forget(w)
		return sendFailed(err)
	}
	return c.wait(ctx, w, nil)
}

func (c *Connector) doPollVote(ctx context.Context, s *session, req protocol.ChannelRequest) protocol.Reply {
	c.mu.Lock()
	p := c.st.poll
	c.mu.Unlock()
	if p == nil {
		return fail(protocol.CodeNotFound, "no poll is open")
	}
	if req.Option == nil || *req.Option < 0 || *req.Option >= len(p.Options) {
		return fail(protocol.CodeBadRequest, "option must be an index from 0 to %d", len(p.Options)-1)
	}
	// A vote that changes nothing (the same option again) gets no update.
	soft := ok(map[string]any{"confirmed": false})
	sctx, cancel := context.WithTimeout(ctx, min(2*time.Second, c.cfg.ActionTimeout))
	defer cancel()
	return c.simple(sctx, s, "pollvote", "vote", map[string]any{"option": *req.Option}, func(n string, _ json.RawMessage) bool {
		return n == "updatePoll"
	}, &soft)
}

func (c *Connector) doPollClose(ctx context.Context, s *session, _ protocol.ChannelRequest) protocol.Reply {
	c.mu.Lock()
	open := c.st.poll != nil
	c.mu.Unlock()
	if !open {
		return fail(protocol.CodeNotFound, "no poll is open")
	}
	return c.simple(ctx, s, "pollctl", "closePoll", nil, func(n string, _ json.RawMessage) bool { return n == "closePoll" }, nil)
}

// modCommand sends a chat command after checking node and the target, and
// waits for match or an errorMsg.
// generic lists the errors of the command that name nobody.
func (c *Connector) modCommand(ctx context.Context, node, user string, mustBePresent bool, line string, generic []string, match func(name string, arg json.RawMessage) bool) protocol.Reply {
	if !userRe.MatchString(user) {
		return fail(protocol.CodeBadRequest, "user must be a CyTube user name, not %q", user)
	}
	nodes := []string{"chat"} // CyTube runs no command of a user who may not chat
	if node != "" {
		nodes = append(nodes, node)
	}
	for _, n := range nodes {
		if e := c.need(n); e != nil {
			return *e
		}
	}
	if _, here := c.userPresent(user); mustBePresent && !here {
		return fail(protocol.CodeUnknownUser, "%s is not in channel %s", user, c.cfg.Channel)
	}
	w := c.expect(nil, func(name string, a json.RawMessage, _ int64) (bool, protocol.Reply) {
		if match(name, a) {
			return true, ok(nil)
		}
		if msg, isErr := commandRefusal(user, generic, name, a); isErr {
			return true, fail(protocol.CodeRefused, "%s", msg)
		}
		return false, protocol.Reply{}
	})
	c.command(ctx, line, w)
	return c.wait(ctx, w, nil)
}

func serverLine(name string, arg json.RawMessage, contains string) bool {
	if name != "chatMsg" {
		return false
	}
	var m chatJSON
	return json.Unmarshal(arg, &m) == nil && m.Username == "[server]" && strings.Contains(strings.ToLower(PlainText(m.Msg)), strings.ToLower(contains))
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

func (c *Connector) doKick(ctx context.Context, _ *session, req protocol.ChannelRequest) protocol.Reply {
	return c.modCommand(ctx, "kick", req.User, true, oneLine("/kick "+req.User+" "+req.Reason), nil, func(n string, a json.RawMessage) bool {
		return n == "userLeave" && sameName(a, "name", req.User)
	})
}

func (c *Connector) doBan(ctx context.Context, _ *session, req protocol.ChannelRequest) protocol.Reply {
	cmd := "/ban "
	if req.IP {
		cmd = "/ipban "
	}
	return c.modCommand(ctx, "ban", req.User, false, oneLine(cmd+req.User+" "+req.Reason),
		[]string{"You cannot ban yourself", "You do not have ban permissions"}, func(n string, a json.RawMessage) bool {
			return serverLine(n, a, "namebanned "+req.User)
		})
}

func (c *Connector) doMute(verb string) func(context.Context, *session, protocol.ChannelRequest) protocol.Reply {
	return func(ctx context.Context, _ *session, req protocol.ChannelRequest) protocol.Reply {
		notice := map[string]string{"mute": " muted ", "smute": " shadowmuted ", "unmute": " unmuted "}[verb] + req.User
		return c.modCommand(ctx, "mute", req.User, true, "/"+verb+" "+req.User, []string{"You are not allowed to unmute yourself"}, func(n string, a json.RawMessage) bool {
			if serverLine(n, a, notice) { // "bot shadowmuted alice", seen from the mute rank
				return true
			}
			if n == "setUserMeta" && sameName(a, "name", req.User) {
				var m struct {
					Meta userMetaJSON `json:"meta"`
				}
				_ = json.Unmarshal(a, &m)
				return (verb == "unmute") == !(m.Meta.Muted || m.Meta.SMuted)
			}
			return false
		})
	}
}

func (c *Connector) doClearChat(ctx context.Context, _ *session, _ protocol.ChannelRequest) protocol.Reply {
	for _, n := range []string{"chat", "chatclear"} {
		if e := c.need(n); e != nil {
			return *e
		}
	}
	w := c.expect(nil, func(name string, _ json.RawMessage, _ int64) (bool, protocol.Reply) {
		return name == "clearchat", ok(nil)
	})
	c.command(ctx, "/clear", w)
	return c.wait(ctx, w, nil)
}

func (c *Connector) doSetRank(ctx context.Context, s *session, req protocol.ChannelRequest) protocol.Reply {
	if !userRe.MatchString(req.User) || req.Rank == nil {
		return fail(protocol.CodeBadRequest, "rank needs a user name and a rank")
	}
	c.mu.Lock()
	rank := c.rank
	c.mu.Unlock()
	if rank < protocol.RankAdmin {
		return fail(protocol.CodePermission, "the bot's rank %s (%g) is below the admin (3) CyTube needs to change ranks", protocol.RankName(rank), rank)
	}
	return c.simple(ctx, s, "", "setChannelRank", map[string]any{"name": req.User, "rank": *req.Rank}, func(n string, a json.RawMessage) bool {
		return n == "setUserRank" && sameName(a, "name", req.User)
	}, nil)
}

func (c *Connector) doLeader(ctx context.Context, s *session, req protocol.ChannelRequest) protocol.Reply {
	// Without leaderctl CyTube kicks the bot: check first.
	if e := c.need("leaderctl"); e != nil {
		return *e
	}
	name := req.User
	if name != "" {
		u, here := c.userPresent(name)
		if !here {
			return fail(protocol.CodeUnknownUser, "%s is not in channel %s", name, c.cfg.Channel)
		}
		name = u.name
	}
	return c.simple(ctx, s, "", "assignLeader", map[string]any{"name": name}, func(n string, a json.RawMessage) bool {
		var l string
		return n == "setLeader" && json.Unmarshal(a, &l) == nil && strings.EqualFold(l, name)
	}, nil)
}

func (c *Connector) doSetMOTD(ctx context.Context, s *session, req protocol.ChannelRequest) protocol.Reply {
	// Without motdedit CyTube kicks the bot: check first.
	return c.simple(ctx, s, "motdedit", "setMotd", map[string]any{"motd": req.MOTD}, func(n string, _ json.RawMessage) bool {
		return n == "setMotd"
	}, nil)
}

func encodeNoArg(event string) ([]byte, error) { return socketio.EncodeEvent(event) }

func encodeAck(id int64, event string, arg any) ([]byte, error) {
	return socketio.EncodeEventAck(id, event, arg)
}

func sortUsers(us []protocol.User) {
	slices.SortFunc(us, func(a, b protocol.User) int { return strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)) })
}

func (c *Connector) stateUsers() any {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]protocol.User, 0, len(c.users))
	for _, u := range c.users {
		out = append(out, protocol.User{Name: u.name, Rank: u.rank, AFK: u.afk, Muted: u.muted, Shadow: u.smuted, Leader: strings.EqualFold(u.name, c.st.leader)})
	}
	sortUsers(out)
	return out
}

func (c *Connector) statePlaylist() any {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.snapshotLocked()
}

func (c *Connector) stateMedia() any {
	c.mu.Lock()
	defer c.mu.Unlock()
	st := &c.st
	ev := protocol.MediaPositionEvent{Channel: c.cfg.Channel, UID: st.current, Time: st.position, Paused: st.paused}
	if !st.playing {
		return protocol.MediaPositionEvent{Channel: c.cfg.Channel}
	}
	if !st.paused && !st.posAt.IsZero() {
		ev.Time += time.Since(st.posAt).Seconds()
	}
	if i := st.indexLocked(st.current); i >= 0 {
		it := st.items[i]
		ev.Item = &it
	}
	return ev
}

func (c *Connector) statePoll() any {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.st.poll
}

func (c *Connector) stateOptions() any {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.st.options == nil {
		return map[string]any{}
	}
	return c.st.options
}

func (c *Connector) statePermissions() any {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.st.perms
}

func (c *Connector) stateMOTD() any {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.st.motd
}

func (c *Connector) stateEmotes() any {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]protocol.Emote{}, c.st.emotes...)
}

// botAllowed lists, per action subject, the permission it needs.
var botAllowed = map[string]string{
	protocol.DoQueue: "playlistadd", protocol.DoDelete: "playlistdelete", protocol.DoMove: "playlistmove",
	protocol.DoJump: "playlistjump", protocol.DoSkip: "playlistjump", protocol.DoShuffle: "playlistshuffle",
	protocol.DoClear: "playlistclear", protocol.DoSetTemp: "settemp", protocol.DoVoteskip: "voteskip",
	protocol.DoPollOpen: "pollctl", protocol.DoPollVote: "pollvote", protocol.DoPollEnd: "pollctl",
	protocol.DoKick: "kick", protocol.DoBan: "ban", protocol.DoMute: "mute", protocol.DoSMute: "mute",
	protocol.DoUnmute: "mute", protocol.DoLeader: "leaderctl", protocol.DoClearChat: "chatclear",
	protocol.DoSetMOTD: "motdedit",
}

// chatCommand lists the actions sent as chat commands, which CyTube runs
// only for a user who may chat.
var chatCommand = map[string]bool{
	protocol.DoKick: true, protocol.DoBan: true, protocol.DoMute: true, protocol.DoSMute: true,
	protocol.DoUnmute: true, protocol.DoClearChat: true,
}

func (c *Connector) stateBot() any {
	c.mu.Lock()
	defer c.mu.Unlock()
	b := protocol.BotState{Channel: c.cfg.Channel, Name: c.name, Rank: c.rank, Allowed: map[string]bool{}, Connected: c.sess != nil}
	for subject, node := range botAllowed {
		b.Allowed[subject] = c.canLocked(node) && (!chatCommand[subject] || c.canLocked("chat"))
	}
	b.Allowed[protocol.DoSetRank] = c.rank >= protocol.RankAdmin
	return b
}
