package cytube

import (
	"context"
	"fmt"
	"strings"
	"time"

	"golang.org/x/time/rate"

	"github.com/roseybot/rosey/eventbus"
	"github.com/roseybot/rosey/internal/socketio"
	"github.com/roseybot/rosey/protocol"
)

type chatOut struct {
	Msg  string   `json:"msg"`
	Meta struct{} `json:"meta"`
}

type pmOut struct {
	To   string   `json:"to"`
	Msg  string   `json:"msg"`
	Meta struct{} `json:"meta"`
}

func (c *Connector) handleSendChat(_ context.Context, ev *eventbus.Event) {
	var req protocol.SendChatRequest
	if err := ev.Decode(&req); err != nil {
		c.bad.Add(1)
		c.log.Warn("ignoring bad cytube.send.chat", "err", err, "source", ev.Source)
		return
	}
	if !c.mine(req.Channel) {
		return // for another connector
	}
	parts, cut := splitReply(req.Message, c.cfg.MaxMessageLength, c.cfg.MaxParts, c.cfg.CommandPrefix)
	if cut {
		c.log.Warn("message too long; cut", "parts", len(parts), "source", ev.Source)
	}
	if len(parts) > 0 {
		c.enqueue(outMsg{event: "chatMsg", parts: parts})
	}
}

func (c *Connector) handleSendPM(_ context.Context, ev *eventbus.Event) {
	var req protocol.SendPMRequest
	if err := ev.Decode(&req); err != nil {
		c.bad.Add(1)
		c.log.Warn("ignoring bad cytube.send.pm", "err", err, "source", ev.Source)
		return
	}
	if !c.mine(req.Channel) {
		return
	}
	if !userRe.MatchString(req.To) {
		c.bad.Add(1)
		c.log.Warn("ignoring cytube.send.pm with a bad recipient", "to", req.To, "source", ev.Source)
		return
	}
	parts, cut := splitReply(req.Message, c.cfg.MaxMessageLength, c.cfg.MaxParts, c.cfg.CommandPrefix)
	if cut {
		c.log.Warn("pm too long; cut", "parts", len(parts), "source", ev.Source)
	}
	if len(parts) > 0 {
		c.enqueue(outMsg{event: "pm", to: req.To, parts: parts})
	}
}

// enqueue sends m's parts in order, nothing else in between. It never
// waits for the send loop, which holds sendMu while it waits for the pace,
// a cooldown or a session: a bus handler blocked there would stop the
// bounded queue from filling (and dropping), with everything piling up
// behind it in the NATS client instead.
func (c *Connector) enqueue(m outMsg) {
	// enqMu orders the enqueuers, so that the parts a fast path could not
	// send are queued before any later message.
	c.enqMu.Lock()
	defer c.enqMu.Unlock()
	// Fast path: with nothing waiting and the pace allowing it, send from
	// this goroutine; a hand-off to the send loop costs a wake-up. Taken
	// only when sendMu is free: the send loop holds it while it resends
	// after a cooldown.
	if c.waiting.Load() == 0 && c.sendMu.TryLock() {
		for len(m.parts) > 0 && c.sendNow(sentLine{event: m.event, to: m.to, text: m.parts[0], command: m.command, expires: m.expires, w: m.w}) {
			m.parts = m.parts[1:]
		}
		c.sendMu.Unlock()
		if len(m.parts) == 0 {
			return
		}
	}
	// Counted before it is queued, so whoever sends next sees it waiting;
	// the channel send never blocks.
	c.waiting.Add(1)
	select {
	case c.queue <- m:
	default:
		c.waiting.Add(-1)
		c.dropped.Add(1)
		c.log.Warn("send queue full; message dropped", "event", m.event, "to", m.to, "text", strings.Join(m.parts, "\n"))
	}
}

// sendNow sends one line at once if nothing stands in the way: a joined
// session, no cooldown to handle, and the pace allowing a line now. The
// caller holds sendMu.
func (c *Connector) sendNow(l sentLine) bool {
	if len(c.cooldown) > 0 {
		return false
	}
	c.mu.Lock()
	s := c.sess
	r := c.ruleLocked(l.event)
	c.mu.Unlock()
	now := time.Now()
	// (lines lost with the last connection are made ready before its
	// successor is the session: read after it, lostWaiting sees them)
	if s == nil || c.lostWaiting() || c.paceWait(now, r) > 0 || !c.capLim.AllowN(now, 1) || !c.evLim.AllowN(now, 1) {
		return false
	}
	return c.emitLine(s, l)
}

// emitLine sends one line on s and records it for pacing; the caller holds
// sendMu. It reports false when the line was not written and must wait
// for the next session; a line written on a connection that then fails is
// done with here: it is lost with the connection (see lost.go).
func (c *Connector) emitLine(s *session, l sentLine) bool {
	var payload any = chatOut{Msg: l.text}
	if l.event == "pm" {
		payload = pmOut{To: l.to, Msg: l.text}
	}
	frame, err := socketio.EncodeEvent(l.event, payload)
	if err == nil && len(frame) > s.maxPayload {
		err = fmt.Errorf("%w: the frame would be %d bytes and CyTube closes the connection over %d", errTooLarge, len(frame), s.maxPayload)
	}
	if err != nil { // never sendable: sending again cannot help
		c.log.Warn("line cannot be sent to CyTube; dropped", "event", l.event, "err", err)
		if l.resend { // a lost line (the new server takes smaller frames): off the list, or resendLost takes it again
			c.flightMu.Lock()
			if len(c.lost) > 0 && c.lost[0].id == l.id {
				c.lost = c.lost[1:]
			}
			c.flightMu.Unlock()
		}
		return true
	}
	c.mu.Lock()
	r := c.ruleLocked(l.event)
	c.mu.Unlock()
	if l.w != nil && !c.bind(l.w, s) {
		c.log.Debug("action command answered before it was sent; dropped", "text", l.text)
		return true
	}
	// In flight before it is sent: the echo may come back at once.
	c.flightMu.Lock()
	if s.over { // its lines were counted lost already: this one waits for the next
		c.flightMu.Unlock()
		if l.w != nil {
			c.unbind(l.w, s)
		}
		return false
	}
	if l.resend {
		if !c.lostReady || len(c.lost) == 0 || c.lost[0].id != l.id {
			c.flightMu.Unlock()
			return true // no longer to be sent
		}
		c.lost = c.lost[1:]
	}
	if l.id == 0 {
		c.lineID++
		l.id = c.lineID
	}
	l.at, l.resend = time.Now(), false
	if !l.command {
		c.inflight = append(c.inflight, l)
	}
	c.flightMu.Unlock()
	c.out.Add(1) // counted first so that Stats never lags what the server saw
	if err := s.write(frame); err != nil {
		if !l.command {
			// It may have left: CyTube's history on the next join tells.
			c.log.Debug("send failed; the line is lost with the connection", "err", err)
			return true
		}
		c.out.Add(^uint64(0))
		if l.w != nil {
			c.unbind(l.w, s)
		}
		c.log.Debug("send failed; waiting for the next session", "err", err)
		return false
	}
	c.flightMu.Lock()
	var unanswered time.Time
	for _, o := range c.inflight {
		if o.id != l.id {
			unanswered = o.at
			break
		}
	}
	c.mirror.sent(l.at, r, unanswered)
	c.flightMu.Unlock()
	return true
}

// paceWait is how long the next line under r must wait.
func (c *Connector) paceWait(now time.Time, r floodRule) time.Duration {
	c.flightMu.Lock()
	defer c.flightMu.Unlock()
	var unanswered time.Time
	if len(c.inflight) > 0 {
		unanswered = c.inflight[0].at
	}
	return c.mirror.wait(now, r, unanswered)
}

// settled takes the oldest line of event ("" for any) off the lines in
// flight: the server echoed it, refused it, or (for a cooldown) dropped it.
// Lines older than ten seconds are forgotten: the server said nothing of
// them (no chat permission, for one).
func (c *Connector) settled(event string) *sentLine {
	c.flightMu.Lock()
	defer c.flightMu.Unlock()
	now := time.Now()
	c.mirror.answered(now)
	select {
	case c.answered <- struct{}{}:
	default:
	}
	old := now.Add(-10 * time.Second)
	for len(c.inflight) > 0 && c.inflight[0].at.Before(old) {
		c.inflight = c.inflight[1:]
	}
	for i, l := range c.inflight {
		if event == "" || l.event == event {
			c.inflight = append(c.inflight[:i:i], c.inflight[i+1:]...)
			return &l
		}
	}
	return nil
}

// sendLoop sends queued replies one at a time, paced, on whatever session
// is joined; while none is, they wait in the queue.
func (c *Connector) sendLoop(ctx context.Context) {
	defer c.wg.Done()
	for {
		select {
		case <-ctx.Done():
			return
		case cd := <-c.cooldown:
			c.sendMu.Lock()
			ok := c.afterCooldown(ctx, cd)
			c.sendMu.Unlock()
			if !ok {
				return
			}
		case <-c.resend:
			c.sendMu.Lock()
			ok := true
			if s := c.readySessionNow(); s != nil {
				ok = c.resendLost(ctx, s)
			}
			c.sendMu.Unlock()
			if !ok {
				return
			}
		case m := <-c.queue:
			c.sendMu.Lock()
			ok := true
			for _, p := range m.parts {
				if ok = c.deliver(ctx, sentLine{event: m.event, to: m.to, text: p, command: m.command, expires: m.expires, w: m.w}); !ok {
					break
				}
			}
			c.waiting.Add(-1)
			c.sendMu.Unlock()
			if !ok {
				return
			}
		}
	}
}

// deliver sends l, waiting for the pace and for a session; the caller
// holds sendMu. It reports false when ctx ended first.
func (c *Connector) deliver(ctx context.Context, l sentLine) bool {
	return c.deliverLine(ctx, l, true)
}

// deliverLine is deliver; with cooldowns false it leaves cooldown events
// that arrive meanwhile to its caller, which is resending dropped lines
// and must keep their order.
func (c *Connector) deliverLine(ctx context.Context, l sentLine, cooldowns bool) bool {
	held := false
	var heldFor time.Duration // time slept for the pace and the caps
	defer func() {
		if held {
			c.paced.Add(1)
			c.pacedNanos.Add(int64(heldFor))
		}
	}()
	capped := false // the optional caps are passed once per line
	for {
		if cooldowns {
			c.maybeRecover()
		}
		for _, lim := range []*rate.Limiter{c.capLim, c.evLim} {
			if capped {
				break
			}
			res := lim.Reserve()
			if d := res.Delay(); d > 0 {
				held = true
				t0 := time.Now()
				if !sleep(ctx, d) {
					res.Cancel()
					return false
				}
				heldFor += time.Since(t0)
			}
		}
		capped = true
		c.mu.Lock()
		r := c.ruleLocked(l.event)
		c.mu.Unlock()
		if d := c.paceWait(time.Now(), r); d > 0 {
			held = true
			t0 := time.Now()
			if !c.sleepOrAnswer(ctx, d) {
				return false
			}
			heldFor += time.Since(t0)
			continue // an answer moves the pace: look again
		}
		// A cooldown that arrived meanwhile: pause, resend what it
		// dropped (before l, which came later), then look at the pace
		// again.
		if cooldowns {
			select {
			case cd := <-c.cooldown:
				if !c.afterCooldown(ctx, cd) {
					return false
				}
				continue
			default:
			}
		}
		if !l.expires.IsZero() && time.Now().After(l.expires) || l.w != nil && !c.pending(l.w) {
			c.log.Debug("action command expired unsent", "text", l.text)
			return true
		}
		s := c.readySession(ctx)
		if s == nil {
			return false
		}
		if cooldowns && c.lostWaiting() { // they go first
			if !c.resendLost(ctx, s) {
				return false
			}
			if c.lostWaiting() { // s ended meanwhile: wait for the next
				select {
				case <-s.gone:
				case <-ctx.Done():
					return false
				}
			}
			continue
		}
		if !l.expires.IsZero() && time.Now().After(l.expires) { // expired while the bot was away
			c.log.Debug("action command expired unsent", "text", l.text)
			return true
		}
		if c.emitLine(s, l) {
			return true
		}
		// The session is broken (its connection is being closed): wait for
		// it to end rather than try it again at once.
		select {
		case <-s.gone:
		case <-ctx.Done():
			return false
		}
	}
}

// sleepOrAnswer sleeps d, or less if the server answers a line meanwhile.
func (c *Connector) sleepOrAnswer(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
	case <-c.answered:
	}
	return true
}

func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// afterCooldown slows the pace, takes every other cooldown already
// received, waits them out and sends once more, in order, the lines they
// dropped. The caller holds sendMu; false means ctx ended.
func (c *Connector) afterCooldown(ctx context.Context, first cooldownEv) bool {
	cds := []cooldownEv{first}
	for more := true; more; {
		select {
		case cd := <-c.cooldown:
			cds = append(cds, cd)
		default:
			more = false
		}
	}
	last := cds[len(cds)-1]
	c.cooldowns.Add(uint64(len(cds)))
	c.mu.Lock()
	c.lastCooldown = last.at
	if !c.cfg.Unpaced && !c.slowed {
		c.slowRule = c.ruleLocked("chatMsg").slowed(first.d)
		c.slowed = true
	}
	c.mu.Unlock()
	c.log.Warn("flood control dropped messages; slowing down", "count", len(cds), "cooldown", first.d)
	if !sleep(ctx, time.Until(last.at.Add(last.d))) {
		return false
	}
	for _, cd := range cds {
		if cd.line == nil || cd.line.tries >= maxTries {
			continue
		}
		l := *cd.line
		l.tries++
		if !c.deliverLine(ctx, l, false) {
			return false
		}
	}
	// The slow pace lasts CooldownRecovery from now, when the dropped
	// lines have been sent again.
	c.mu.Lock()
	c.lastCooldown = time.Now()
	c.mu.Unlock()
	return true
}

// maxTries bounds how often one line is sent again after cooldowns.
const maxTries = 3

func (c *Connector) maybeRecover() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.slowed && time.Since(c.lastCooldown) > c.cfg.CooldownRecovery {
		c.slowed = false
		c.setPaceLocked()
	}
}

// antiFloodAppliesLocked reports whether the channel's antiflood rule
// applies to the bot's chat (CyTube: antiflood on and rank below 2).
func (c *Connector) antiFloodAppliesLocked() bool {
	return c.antiFlood && c.rank < protocol.RankModerator
}

// ruleLocked returns the flood rule CyTube applies to the bot's next event
// (chatMsg or pm): PMs always get CyTube's fixed limit.
func (c *Connector) ruleLocked(event string) floodRule {
	if c.cfg.Unpaced {
		return floodRule{Burst: 1 << 30, Sustained: 1e9}
	}
	r := serverRule
	if event == "chatMsg" && c.antiFloodAppliesLocked() {
		r = c.floodParams
	}
	if c.slowed && c.slowRule.Sustained < r.Sustained {
		r = c.slowRule
	}
	return r
}

// setPaceLocked sets the optional Rate/Burst cap for the bot's rank.
func (c *Connector) setPaceLocked() {
	lim, burst := rate.Inf, 1
	switch {
	case c.cfg.Unpaced:
	case c.rank >= protocol.RankModerator && c.cfg.ModRate > 0:
		lim, burst = rate.Limit(c.cfg.ModRate), max(c.cfg.ModBurst, 1)
	case c.rank < protocol.RankModerator && c.cfg.Rate > 0:
		lim, burst = rate.Limit(c.cfg.Rate), max(c.cfg.Burst, 1)
	}
	if c.capLim.Limit() != lim || c.capLim.Burst() != burst {
		c.capLim.SetLimit(lim)
		c.capLim.SetBurst(burst)
	}
}
