package cytube

import (
	"encoding/json"
	"strconv"
	"time"
)

// floodRule is one setting of CyTube's per-user chat limiter
// (newRateLimiter in src/utilities.js): Burst lines at once, then one per
// 1/Sustained seconds; the count starts again once Cooldown has passed
// since the last accepted line.
type floodRule struct {
	Burst     int
	Sustained float64
	Cooldown  time.Duration
}

// serverRule is CyTube's fixed limit (MIN_ANTIFLOOD in chat.js). It applies
// to PMs always, and to chat when the channel's antiflood is off or the
// bot's rank is 2 or more.
var serverRule = floodRule{Burst: 20, Sustained: 10, Cooldown: 2 * time.Second}

// defaultAntiFlood is chat_antiflood_params in a new channel.
var defaultAntiFlood = floodRule{Burst: 4, Sustained: 1, Cooldown: 4 * time.Second}

func (r floodRule) interval() time.Duration {
	if r.Sustained <= 0 {
		return time.Second
	}
	return time.Duration(float64(time.Second) / r.Sustained)
}

// slowed is the rule used for a while after a cooldown said the pace was
// wrong: one line at a time, at most half the rate and no faster than the
// cooldown the server asked for.
func (r floodRule) slowed(cooldown time.Duration) floodRule {
	s := r.Sustained / 2
	if cooldown > 0 {
		s = min(s, float64(time.Second)/float64(cooldown))
	}
	s = max(s, 0.2)
	return floodRule{Burst: 1, Sustained: s, Cooldown: max(r.Cooldown, time.Duration(float64(time.Second)/s))}
}

// paceMargin is added to every wait: the server sees our lines a little
// later or earlier than we sent them, and a line that arrives a few
// milliseconds early is dropped.
func paceMargin(interval time.Duration) time.Duration {
	return max(interval/10, 20*time.Millisecond)
}

// floodMirror is CyTube's limiter state for the bot, kept from what the bot
// sent. CyTube's limiter is not a token bucket: past the burst it wants
// every line a full interval after the previous accepted one, until a whole
// cooldown of quiet resets it.
//
// last is an upper bound of when the server counted the bot's last line,
// in our clock: the time it was sent, moved to when the server answered it
// (its echo, or an error) once that arrives. Spacing lines from that bound
// holds however much the network delays one line more than the next.
type floodMirror struct {
	count int
	last  time.Time
}

// wait returns how long a line under r must wait to be accepted. unanswered
// is when the oldest line the server has not answered yet was sent (zero if
// none): past the burst, the next line waits for that answer (at most
// answerWait) so that it is spaced from when the server really counted it.
func (m *floodMirror) wait(now time.Time, r floodRule, unanswered time.Time) time.Duration {
	if m.fresh(now, r, unanswered) || m.count < r.Burst {
		return 0
	}
	iv := r.interval()
	d := m.last.Add(iv + paceMargin(iv)).Sub(now)
	if !unanswered.IsZero() {
		d = max(d, unanswered.Add(answerWait).Sub(now))
	}
	return d
}

// answerWait bounds the wait for the server's answer to a line (some lines
// get none: without the chat permission CyTube ignores them).
const answerWait = 2 * time.Second

// fresh reports whether the server has surely reset its count: a whole
// cooldown of quiet since the last line it counted, and no line sent
// before still unanswered (unanswered is when the oldest was sent). A busy
// server or a slow link counts such a line late, after the quiet the bot
// saw: lines sent then would arrive with it as one burst, and be dropped.
func (m *floodMirror) fresh(now time.Time, r floodRule, unanswered time.Time) bool {
	if !unanswered.IsZero() && now.Before(unanswered.Add(answerWait)) {
		return false
	}
	return m.last.IsZero() || now.Sub(m.last) > r.Cooldown+paceMargin(r.interval())
}

// sent records a line sent at now under r; unanswered is as for fresh,
// without this line.
func (m *floodMirror) sent(now time.Time, r floodRule, unanswered time.Time) {
	switch {
	case m.fresh(now, r, unanswered):
		m.count = 1
	case m.count < r.Burst:
		m.count++
	}
	m.last = now
}

// answered records that the server answered a line at now (our clock): it
// counted the line no later than that.
func (m *floodMirror) answered(now time.Time) {
	if now.After(m.last) {
		m.last = now
	}
}

// channelOptsJSON is the part of channelOpts that decides the chat pace.
type channelOptsJSON struct {
	AntiFlood       *bool `json:"chat_antiflood"`
	AntiFloodParams *struct {
		Burst     jsonNumber  `json:"burst"`
		Sustained jsonNumber  `json:"sustained"`
		Cooldown  *jsonNumber `json:"cooldown"`
	} `json:"chat_antiflood_params"`
}

// rule returns the antiflood rule in o, starting from cur, with CyTube's
// bounds (burst 0-20, sustained up to 10, cooldown burst/sustained unless
// given).
func (o channelOptsJSON) rule(cur floodRule) floodRule {
	p := o.AntiFloodParams
	if p == nil {
		return cur
	}
	r := floodRule{Burst: int(p.Burst), Sustained: float64(p.Sustained)}
	r.Burst = min(max(r.Burst, 0), 20)
	if r.Sustained <= 0 {
		r.Sustained = 1
	}
	r.Sustained = min(r.Sustained, 10)
	cd := float64(r.Burst) / r.Sustained
	if p.Cooldown != nil && *p.Cooldown >= 0 {
		cd = float64(*p.Cooldown)
	}
	r.Cooldown = time.Duration(cd * float64(time.Second))
	return r
}

// jsonNumber accepts a JSON number or a numeric string, as CyTube's stored
// options may hold either.
type jsonNumber float64

func (n *jsonNumber) UnmarshalJSON(b []byte) error {
	var f float64
	if err := json.Unmarshal(b, &f); err == nil {
		*n = jsonNumber(f)
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return err
	}
	*n = jsonNumber(f)
	return nil
}
