package cytube

import (
	"context"
	"time"
)

// Lines lost with a connection.
//
// A chat line or PM written to a websocket that dies before the connector
// notices may or may not have reached CyTube: the connector has written it
// and CyTube's echo never came. The connector sends such a line again on
// the next connection, before anything else, unless CyTube took it:
//
//   - Only lines written in the lostWindow (10 s, the time after which an
//     unanswered line is forgotten anyway, see settled) before the
//     connection was found dead count, at most maxLost (20, CyTube's
//     burst) of them, and a line is sent again at most maxTries times in
//     all. Commands sent for actions are never sent again: their actions
//     were answered "unknown_outcome" already.
//   - CyTube replays its chat history on every join, its time stamps
//     included. Every one of the bot's own lines in it that is newer than
//     the newest the bot saw before (its server time, counting lines of the
//     same millisecond) is a line CyTube took. CyTube reads a socket's
//     events in order, so those are the first lines lost, and every line
//     written before the last of them was taken too: none of them is sent
//     again, and no line CyTube shows in its history is ever said twice.
//   - A PM is not in the history. One written after a chat line CyTube did
//     not take is lost for sure and is sent again; one written after the
//     last line CyTube took and before the first it missed (or after every
//     line) may have been taken: it is not sent again, and a warning says
//     so. At most once is the rule for what cannot be checked.
//
// What the history cannot show is taken for lost: a history cleared
// meanwhile (/clear, or a server restart that loses an unregistered
// channel's history), more than its 15 lines said since, or the bot's own
// shadow-muted lines (never kept) make such a line said twice.
const (
	lostWindow = 10 * time.Second
	maxLost    = 20
)

// chatMark is the newest server time of the bot's own chat lines seen
// (echoed, or replayed on a join), and how many were seen with that time.
// Used by the run goroutine only.
type chatMark struct {
	t float64
	n int
}

// saw records one of the bot's own lines seen live.
func (m *chatMark) saw(t float64) {
	switch {
	case t > m.t:
		m.t, m.n = t, 1
	case t == m.t:
		m.n++
	}
}

// heard returns how many of replayed (the server times of the bot's own
// lines in a join's history, oldest first) the bot had not seen, and
// moves the mark past them.
func (m *chatMark) heard(replayed []float64) int {
	newer, atMark, top, atTop := 0, 0, m.t, 0
	for _, t := range replayed {
		switch {
		case t > m.t:
			newer++
		case t == m.t:
			atMark++
		}
		switch {
		case t > top:
			top, atTop = t, 1
		case t == top:
			atTop++
		}
	}
	heard := newer + max(0, atMark-m.n)
	if top > m.t {
		m.t, m.n = top, atTop
	} else {
		m.n = max(m.n, atMark)
	}
	return heard
}

// collectLostLocked takes the lines written on s, which has ended, that
// CyTube never answered, in front of those still waiting to be sent again.
// The caller holds flightMu.
func (c *Connector) collectLostLocked(s *session) {
	s.over = true
	now := time.Now()
	var lost []sentLine
	for _, l := range c.inflight {
		if l.command || now.Sub(l.at) > lostWindow || l.lost >= maxTries {
			continue
		}
		l.unsure = true
		l.lost++
		lost = append(lost, l)
	}
	c.lost = append(lost, c.lost...)
	if over := len(c.lost) - maxLost; over > 0 {
		c.log.Warn("too many lines lost with the connection; the last ones are not sent again", "dropped", over)
		c.lost = c.lost[:maxLost]
	}
	c.lostReady = false
}

// judgeLost decides, from the bot's own lines in a join's history,
// which of the lines lost with the last connection CyTube took, and makes
// the others ready to be sent again (see the rules above).
func (c *Connector) judgeLost(replayed []float64) {
	heard := c.mark.heard(replayed)
	c.flightMu.Lock()
	defer c.flightMu.Unlock()
	taken, missed := -1, -1 // the last unsure chat line taken; the first missed
	for i, l := range c.lost {
		if !l.unsure || l.event != "chatMsg" {
			continue
		}
		if heard > 0 {
			heard--
			taken = i
		} else if missed < 0 {
			missed = i
		}
	}
	kept := make([]sentLine, 0, len(c.lost))
	resent := 0
	for i, l := range c.lost {
		switch {
		case !l.unsure:
		case i <= taken:
			continue
		case l.event == "pm" && (missed < 0 || i < missed):
			c.log.Warn("a PM written as the connection dropped may or may not have reached CyTube; not sent again", "to", l.to)
			continue
		default:
			l.unsure = false
			resent++
		}
		kept = append(kept, l)
	}
	if resent > 0 {
		c.log.Info("lines lost with the connection will be sent again", "count", resent)
	}
	c.lost, c.lostReady = kept, len(kept) > 0
}

// lostWaiting reports whether lines lost with the last connection wait to
// be sent: nothing else goes out before them.
func (c *Connector) lostWaiting() bool {
	c.flightMu.Lock()
	defer c.flightMu.Unlock()
	return len(c.lost) > 0
}

// resendLost sends on s, paced, the lines judged lost. The caller holds
// sendMu; false means ctx ended. When s ends meanwhile it returns true:
// the next session's history judges what is left.
func (c *Connector) resendLost(ctx context.Context, s *session) bool {
	for {
		c.flightMu.Lock()
		if !c.lostReady || len(c.lost) == 0 {
			c.flightMu.Unlock()
			return true
		}
		l := c.lost[0]
		c.flightMu.Unlock()
		c.mu.Lock()
		r := c.ruleLocked(l.event)
		c.mu.Unlock()
		if d := c.paceWait(time.Now(), r); d > 0 {
			if !c.sleepOrAnswer(ctx, d) {
				return false
			}
			continue
		}
		l.resend = true
		if !c.emitLine(s, l) {
			return true
		}
	}
}
