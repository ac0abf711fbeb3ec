package trivia

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/roseybot/rosey/plugin"
)

// game is one running game in one channel. Its goroutine (run) asks the
// questions; answers arrive from the chat subscription and the !a command.
// Every line the game says is said with mu held and only while the game
// is not over, so nothing follows "stopped" or "over".
type game struct {
	p       *Plugin
	h       *plugin.Host
	cfg     Config
	channel string
	starter string
	qs      []Question
	ctx     context.Context
	cancel  context.CancelFunc
	pending sync.WaitGroup // leaderboard writes not yet done

	mu       sync.Mutex
	over     bool
	open     bool // the current question still takes answers
	cur      int
	askedAt  time.Time
	answered chan struct{}
	scores   map[string]int // by lower-case name
	names    map[string]string
}

func newGame(p *Plugin, h *plugin.Host, cfg Config, channel, starter string, qs []Question) *game {
	ctx, cancel := context.WithCancel(h.Context())
	return &game{p: p, h: h, cfg: cfg, channel: channel, starter: starter, qs: qs, ctx: ctx, cancel: cancel,
		scores: map[string]int{}, names: map[string]string{}}
}

// say publishes a line for the game; with mu held once the game runs.
func (g *game) say(msg string) error {
	return g.h.SayIn(g.ctx, g.channel, msg)
}

func (g *game) sayLocked(msg string) {
	if g.over {
		return
	}
	if err := g.say(msg); err != nil {
		g.h.Logger().Error("trivia: could not say", "err", err)
	}
}

// end stops the game and returns its scores line.
func (g *game) end() string {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.over, g.open = true, false
	g.cancel()
	return g.scoreLine()
}

func (g *game) scoreLine() string {
	if len(g.scores) == 0 {
		return "Nobody scored."
	}
	keys := make([]string, 0, len(g.scores))
	for k := range g.scores {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if g.scores[keys[i]] != g.scores[keys[j]] {
			return g.scores[keys[i]] > g.scores[keys[j]]
		}
		return keys[i] < keys[j]
	})
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", g.names[k], g.scores[k])
	}
	return "Scores: " + strings.Join(parts, ", ")
}

func (g *game) players() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make([]string, 0, len(g.names))
	for _, n := range g.names {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// run asks the questions one by one. hostCtx ends when the plugin stops.
func (g *game) run(hostCtx context.Context) {
	defer g.p.finished(g)
	completed := false
	defer func() {
		if !completed && hostCtx.Err() == nil { // stopped early: still count the game
			g.pending.Wait()
			g.p.recordGame(hostCtx, g.players())
		}
	}()
	qt := time.Duration(g.cfg.QuestionTime)
	for i, q := range g.qs {
		if i > 0 && !g.wait(time.Duration(g.cfg.Pause)) {
			return
		}
		answered := make(chan struct{}, 1)
		g.mu.Lock()
		if g.over {
			g.mu.Unlock()
			return
		}
		// The question's timers run from before it is said, so whoever
		// sees it (a test moving the clock) finds them set.
		clock := g.h.Clock()
		hint, end := clock.NewTimer(qt/2), clock.NewTimer(qt)
		g.cur, g.open, g.askedAt, g.answered = i, true, g.cfg.Now(), answered
		g.sayLocked(fmt.Sprintf("❓ [%d/%d] (%s) %s", i+1, len(g.qs), q.Category, q.Question))
		g.mu.Unlock()
		goOn := g.ask(q, hint, end, answered)
		hint.Stop()
		end.Stop()
		if !goOn {
			return
		}
	}
	// The leaderboard is up to date before "over" is said.
	g.pending.Wait()
	g.p.recordGame(hostCtx, g.players())
	completed = true
	// The channel is free by the time "over" is said, so a "!trivia start"
	// right after it is not refused. (Lock order: plugin, then game.)
	g.p.mu.Lock()
	g.mu.Lock()
	g.sayLocked("🏁 Trivia over! " + g.scoreLine())
	g.over = true
	if g.p.games[g.channel] == g {
		delete(g.p.games, g.channel)
		g.p.followChat()
	}
	g.mu.Unlock()
	g.p.mu.Unlock()
}

// wait pauses for d and reports whether the game goes on.
func (g *game) wait(d time.Duration) bool {
	t := g.h.Clock().NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C():
		return true
	case <-g.ctx.Done():
		return false
	}
}

// ask waits for an answer or the end of the question, giving the hint at
// half time. It reports whether the game goes on.
func (g *game) ask(q Question, hint, end plugin.Timer, answered <-chan struct{}) bool {
	for {
		select {
		case <-g.ctx.Done():
			return false
		case <-answered:
			return true
		case <-hint.C():
			g.mu.Lock()
			if g.open {
				g.sayLocked("💡 Hint: " + makeHint(q.Answer))
			}
			g.mu.Unlock()
		case <-end.C():
			g.mu.Lock()
			if g.open {
				g.open = false
				g.sayLocked("⏰ Time's up! The answer was: " + q.Answer)
			}
			g.mu.Unlock()
			return true
		}
	}
}

// answer checks a guess from user against the open question.
func (g *game) answer(ctx context.Context, user, guess string) {
	g.mu.Lock()
	if !g.open || g.over {
		g.mu.Unlock()
		return
	}
	q := g.qs[g.cur]
	if !matches(guess, q) {
		g.mu.Unlock()
		return
	}
	g.open = false
	qt := time.Duration(g.cfg.QuestionTime)
	left := qt - g.cfg.Now().Sub(g.askedAt)
	points := 1 + int(math.Round(float64(maxPoints-1)*float64(max(left, 0))/float64(qt)))
	points = min(max(points, 1), maxPoints)
	key := strings.ToLower(user)
	g.scores[key] += points
	g.names[key] = user
	g.sayLocked(fmt.Sprintf("✅ %s got it! The answer was: %s (+%d, %d this game)", user, q.Answer, points, g.scores[key]))
	g.pending.Add(1)
	answered := g.answered
	g.mu.Unlock()

	if err := g.p.record(ctx, user, points); err != nil {
		g.h.Logger().Error("trivia: could not record points", "user", user, "err", err)
	}
	g.pending.Done()
	answered <- struct{}{} // buffered, one winner per question
}

// makeHint shows the first character of each word and masks the rest:
// "Buenos Aires" gives "B_____ A____".
func makeHint(answer string) string {
	var b strings.Builder
	first := true
	for _, r := range answer {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			if first {
				b.WriteRune(r)
			} else {
				b.WriteRune('_')
			}
			first = false
		default:
			b.WriteRune(r)
			first = r == ' ' || r == '-'
		}
	}
	if n := utf8.RuneCountInString(answer); n == 1 {
		return "_ (one character)"
	}
	return b.String()
}

// matches reports whether guess answers q, tolerantly.
func matches(guess string, q Question) bool {
	g := normalize(guess)
	if g == "" {
		return false
	}
	for _, acc := range append([]string{q.Answer}, q.Alternatives...) {
		a := normalize(acc)
		if a == "" {
			continue
		}
		tol := tolerance(a)
		if near(g, a, tol) || near(strings.ReplaceAll(g, " ", ""), strings.ReplaceAll(a, " ", ""), tol) {
			return true
		}
	}
	return false
}

// tolerance is how many typos an answer forgives: none for numbers and
// very short answers (where one edit is a different answer), one for
// short answers, two for long ones.
func tolerance(a string) int {
	n := utf8.RuneCountInString(a)
	switch {
	case n <= 3 || isNumber(a):
		return 0
	case n <= 8:
		return 1
	}
	return 2
}

func isNumber(s string) bool {
	for _, r := range s {
		if !unicode.IsDigit(r) && r != '.' {
			return false
		}
	}
	return true
}

func near(g, a string, tol int) bool {
	if g == a {
		return true
	}
	rg, ra := []rune(g), []rune(a)
	if d := len(rg) - len(ra); d > tol || -d > tol {
		return false // also keeps long chat lines cheap
	}
	return levenshtein(rg, ra) <= tol
}

// normalize lower-cases s, drops punctuation (keeping a decimal point
// between digits), collapses spaces and strips a leading article.
func normalize(s string) string {
	rs := []rune(strings.ToLower(strings.TrimSpace(s)))
	var b strings.Builder
	for i, r := range rs {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(r)
		case (r == '.' || r == ',') && i > 0 && i+1 < len(rs) && unicode.IsDigit(rs[i-1]) && unicode.IsDigit(rs[i+1]):
			b.WriteRune('.')
		case unicode.IsSpace(r) || r == '-' || r == '_' || r == '/':
			b.WriteRune(' ')
		}
	}
	out := strings.Join(strings.Fields(b.String()), " ")
	for _, art := range []string{"the ", "a ", "an "} {
		if strings.HasPrefix(out, art) && len(out) > len(art) {
			return out[len(art):]
		}
	}
	return out
}

func levenshtein(a, b []rune) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
