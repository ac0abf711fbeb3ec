package trivia

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/roseybot/rosey/database"
	"github.com/roseybot/rosey/eventbus"
	"github.com/roseybot/rosey/internal/chatevent"
	"github.com/roseybot/rosey/plugin"
	"github.com/roseybot/rosey/protocol"
)

// Name is the plugin's name.
const Name = "trivia"

// Defaults for Config.
const (
	DefaultQuestionTime = 30 * time.Second
	DefaultPause        = 5 * time.Second
	DefaultRounds       = 10
	DefaultMaxRounds    = 50
	DefaultCollection   = "trivia_scores"
	DefaultPrefix       = "!"
	maxPoints           = 10
	topSize             = 10
)

//go:embed questions.json
var builtinQuestions []byte

// Question is one trivia question. Alternatives are other accepted answers.
type Question struct {
	Category     string   `json:"category"`
	Question     string   `json:"question"`
	Answer       string   `json:"answer"`
	Alternatives []string `json:"alternatives,omitempty"`
}

// Duration is a time.Duration written in JSON as a string with a unit,
// "30s"; it is plugin.Duration.
type Duration = plugin.Duration

// Config configures the plugin. The JSON fields can also come from the
// plugin's config section, which overrides what New was given.
type Config struct {
	// QuestionTime is how long each question stays open; the hint comes at half time.
	QuestionTime Duration `json:"question_time,omitempty"`
	// Pause is the wait between a question's result and the next question.
	Pause Duration `json:"pause,omitempty"`
	// DefaultRounds is the number of questions of "!trivia start".
	DefaultRounds int `json:"default_rounds,omitempty"`
	// MaxRounds bounds N in "!trivia start N".
	MaxRounds int `json:"max_rounds,omitempty"`
	// QuestionsFile is a JSON file of extra questions (see the package doc).
	QuestionsFile string `json:"questions_file,omitempty"`
	// OnlyCustom drops the built-in bank, keeping only QuestionsFile and Questions.
	OnlyCustom bool `json:"only_custom,omitempty"`
	// Collection holds the leaderboard.
	Collection string `json:"collection,omitempty"`
	// Prefix is the router's command prefix: chat lines starting with it
	// are commands, not answers.
	Prefix string `json:"prefix,omitempty"`

	// Questions are extra questions given in code.
	Questions []Question `json:"-"`
	// Rand shuffles the questions; nil uses a randomly seeded source.
	Rand *rand.Rand `json:"-"`
	// Now tells the time for scoring answers by speed; nil is the Host's
	// clock (Host.Clock), which roseytest.Clock moves by hand in tests.
	Now func() time.Time `json:"-"`
}

// Plugin is the trivia plugin. Create it with New.
type Plugin struct {
	base Config

	mu    sync.Mutex // guards everything below
	cfg   Config
	host  *plugin.Host
	rnd   *rand.Rand
	bank  []Question
	cats  map[string][]int // category -> indexes into bank
	games map[string]*game // by channel
	// chat follows the channel's chat while a game runs, and only then:
	// every line of every channel would otherwise reach this plugin (in
	// a process of its own, a network round for nothing).
	chat *eventbus.Subscription
}

// New returns a trivia plugin.
func New(cfg Config) *Plugin { return &Plugin{base: cfg} }

var (
	cmdTrivia = plugin.Command{
		Name:        "trivia",
		Usage:       "start [N] [category] | stop | categories | top | stats [user]",
		Description: "Play trivia: timed questions, answered in chat",
	}
	cmdAnswer = plugin.Command{
		Name:        "a",
		Usage:       "<answer>",
		Description: "Answer the current trivia question",
		Aliases:     []string{"answer"},
	}
)

// Info describes the plugin.
func (p *Plugin) Info() plugin.Info {
	return plugin.Info{Name: Name, Version: "1.0.0", Description: "Trivia games with a persistent leaderboard",
		Commands: []plugin.Command{cmdTrivia, cmdAnswer}}
}

// Start loads the question bank, resets all games and starts listening.
func (p *Plugin) Start(_ context.Context, h *plugin.Host) error {
	cfg := p.base
	if err := h.DecodeConfig(&cfg); err != nil {
		return err
	}
	if cfg.QuestionTime <= 0 {
		cfg.QuestionTime = Duration(DefaultQuestionTime)
	}
	if cfg.Pause < 0 {
		cfg.Pause = 0
	} else if cfg.Pause == 0 {
		cfg.Pause = Duration(DefaultPause)
	}
	if cfg.MaxRounds <= 0 {
		cfg.MaxRounds = DefaultMaxRounds
	}
	if cfg.DefaultRounds <= 0 {
		cfg.DefaultRounds = min(DefaultRounds, cfg.MaxRounds)
	}
	if cfg.Collection == "" {
		cfg.Collection = DefaultCollection
	}
	if cfg.Prefix == "" {
		cfg.Prefix = DefaultPrefix
	}
	if cfg.Now == nil {
		cfg.Now = h.Clock().Now
	}
	bank, err := loadBank(cfg)
	if err != nil {
		return err
	}
	cats := map[string][]int{}
	for i, q := range bank {
		cats[q.Category] = append(cats[q.Category], i)
	}
	rnd := cfg.Rand
	if rnd == nil {
		rnd = rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	}
	p.mu.Lock()
	p.cfg, p.host, p.rnd, p.bank, p.cats, p.games = cfg, h, rnd, bank, cats, map[string]*game{}
	p.mu.Unlock()

	h.Handle(cmdTrivia.Name, p.handleTrivia)
	h.Handle(cmdAnswer.Name, p.handleAnswer)
	return nil
}

// Stop ends every game; the Host cancels their goroutines and waits.
func (p *Plugin) Stop(context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, g := range p.games {
		g.end()
	}
	p.games = map[string]*game{}
	p.followChat()
	return nil
}

// followChat subscribes to chat when a game runs and unsubscribes when
// none does; p.mu is held. The subscription goes to the NATS server
// before the game's first line, so no answer to it can be missed.
func (p *Plugin) followChat() {
	switch {
	case len(p.games) > 0 && p.chat == nil:
		sub, err := p.host.Bus().Subscribe(protocol.Chat, p.onChat)
		if err != nil {
			p.host.Logger().Error("trivia: cannot follow chat; answers only by !a", "err", err)
			return
		}
		p.chat = sub
	case len(p.games) == 0 && p.chat != nil:
		if err := p.chat.Unsubscribe(); err != nil {
			p.host.Logger().Warn("trivia: unsubscribe from chat", "err", err)
		}
		p.chat = nil
	}
}

// parsedBuiltin parses the embedded bank once per process: it is constant
// data, and parsing it on every start made starting the bot slower.
var parsedBuiltin = sync.OnceValues(func() ([]Question, error) {
	var bank []Question
	err := json.Unmarshal(builtinQuestions, &bank)
	return bank, err
})

// loadBank reads the built-in questions, the file and the code's, checking each.
func loadBank(cfg Config) ([]Question, error) {
	var bank []Question
	if !cfg.OnlyCustom {
		builtin, err := parsedBuiltin()
		if err != nil {
			return nil, fmt.Errorf("trivia: built-in questions: %w", err)
		}
		bank = slices.Clone(builtin)
	}
	if cfg.QuestionsFile != "" {
		b, err := os.ReadFile(cfg.QuestionsFile)
		if err != nil {
			return nil, fmt.Errorf("trivia: questions file: %w", err)
		}
		var extra []Question
		if err := json.Unmarshal(b, &extra); err != nil {
			return nil, fmt.Errorf("trivia: questions file %s: %w", cfg.QuestionsFile, err)
		}
		bank = append(bank, extra...)
	}
	bank = append(bank, cfg.Questions...)
	out := bank[:0:0]
	for i, q := range bank {
		q.Category = strings.ToLower(strings.TrimSpace(q.Category))
		q.Question = strings.TrimSpace(q.Question)
		q.Answer = strings.TrimSpace(q.Answer)
		if q.Category == "" || strings.ContainsAny(q.Category, " \t") || q.Question == "" || normalize(q.Answer) == "" {
			return nil, fmt.Errorf("trivia: question %d (%q): needs a one-word category, a question and an answer", i+1, q.Question)
		}
		out = append(out, q)
	}
	if len(out) == 0 {
		return nil, errors.New("trivia: no questions")
	}
	return out, nil
}

func (p *Plugin) state() (Config, *plugin.Host) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cfg, p.host
}

func (p *Plugin) handleTrivia(ctx context.Context, req *plugin.Request) (string, error) {
	if len(req.Args) == 0 {
		return "", plugin.Usage(cmdTrivia)
	}
	args := req.Args[1:]
	switch strings.ToLower(req.Args[0]) {
	case "start", "play":
		return p.start(ctx, req, args)
	case "stop", "end":
		return p.stop(req)
	case "categories", "cats", "category":
		return p.categories(), nil
	case "top", "leaderboard", "scores":
		return p.top(ctx)
	case "stats", "score":
		user := req.User
		if len(args) > 0 {
			user = strings.TrimPrefix(args[0], "@")
		}
		return p.stats(ctx, user)
	}
	return "", plugin.Usage(cmdTrivia)
}

func (p *Plugin) categories() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	names := make([]string, 0, len(p.cats))
	for c := range p.cats {
		names = append(names, c)
	}
	sort.Strings(names)
	for i, c := range names {
		names[i] = fmt.Sprintf("%s (%d)", c, len(p.cats[c]))
	}
	return "📚 Trivia categories: " + strings.Join(names, ", ") + ". Start with !trivia start [N] [category]"
}

func (p *Plugin) start(_ context.Context, req *plugin.Request, args []string) (string, error) {
	startUsage := plugin.UserError("❌ Usage: !trivia start [N] [category]")
	p.mu.Lock()
	defer p.mu.Unlock()
	cfg, h := p.cfg, p.host
	rounds, category := cfg.DefaultRounds, ""
	for _, a := range args {
		if n, err := strconv.Atoi(a); err == nil {
			if n < 1 || n > cfg.MaxRounds {
				return "", plugin.UserError("❌ Choose between 1 and %d questions.", cfg.MaxRounds)
			}
			rounds = n
			continue
		}
		if category != "" {
			return "", startUsage
		}
		category = strings.ToLower(a)
		if _, ok := p.cats[category]; !ok {
			return "", plugin.UserError("❌ Unknown category %q. Try !trivia categories", plugin.Clip(a, 32))
		}
	}
	if _, busy := p.games[req.Channel]; busy {
		return "", plugin.UserError("❌ Trivia game already in progress")
	}
	var pool []int
	if category != "" {
		pool = slices.Clone(p.cats[category])
	} else {
		pool = make([]int, len(p.bank))
		for i := range pool {
			pool[i] = i
		}
	}
	p.rnd.Shuffle(len(pool), func(i, j int) { pool[i], pool[j] = pool[j], pool[i] })
	if rounds > len(pool) {
		rounds = len(pool)
	}
	qs := make([]Question, rounds)
	for i := range qs {
		qs[i] = p.bank[pool[i]]
	}
	g := newGame(p, h, cfg, req.Channel, req.User, qs)
	p.games[req.Channel] = g
	p.followChat()
	what := "questions"
	if rounds == 1 {
		what = "question"
	}
	if category != "" {
		what += " about " + category
	}
	// Said here rather than returned, so it comes before the first question.
	if err := g.say(fmt.Sprintf("🧠 Trivia! %d %s, started by %s. Answer in chat or with !a <answer>.", rounds, what, req.User)); err != nil {
		delete(p.games, req.Channel)
		p.followChat()
		return "", fmt.Errorf("trivia start: %w", err)
	}
	h.Go(g.run)
	return "", nil
}

func (p *Plugin) stop(req *plugin.Request) (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	g, ok := p.games[req.Channel]
	if !ok {
		return "", plugin.UserError("❌ No trivia game is running.")
	}
	if req.Rank < protocol.RankModerator && !protocol.SameUser(req.User, g.starter) {
		return "", plugin.UserError("⛔ Only %s (who started it) or a moderator can stop the game.", g.starter)
	}
	scores := g.end()
	delete(p.games, req.Channel)
	p.followChat()
	return fmt.Sprintf("🛑 Trivia stopped by %s. %s", req.User, scores), nil
}

// finished removes g once its goroutine is done, unless it was replaced.
func (p *Plugin) finished(g *game) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.games[g.channel] == g {
		delete(p.games, g.channel)
		p.followChat()
	}
}

func (p *Plugin) game(channel string) *game {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.games[channel]
}

func (p *Plugin) handleAnswer(ctx context.Context, req *plugin.Request) (string, error) {
	if req.Text == "" {
		return "", plugin.Usage(cmdAnswer)
	}
	g := p.game(req.Channel)
	if g == nil {
		return "", plugin.UserError("❌ No trivia game is running. Start one with !trivia start")
	}
	// A wrong answer gets no reply, as in plain chat: the channel stays quiet.
	g.answer(ctx, req.User, req.Text)
	return "", nil
}

func (p *Plugin) onChat(ctx context.Context, ev *eventbus.Event) {
	p.mu.Lock()
	idle := len(p.games) == 0
	p.mu.Unlock()
	if idle {
		return // most lines: no game, nothing to read
	}
	var m protocol.ChatMessage
	if err := chatevent.Decode(ev, &m); err != nil {
		return // the router logs malformed chat
	}
	cfg, _ := p.state()
	if m.User == "" || strings.HasPrefix(m.Message, cfg.Prefix) {
		return
	}
	if g := p.game(m.Channel); g != nil {
		g.answer(ctx, m.User, m.Message)
	}
}

// Score is a player's all-time record, the document kept in the collection.
type Score struct {
	User    string `json:"user"`
	Points  int64  `json:"points"`
	Correct int64  `json:"correct"`
	Games   int64  `json:"games"`
}

// record adds a correct answer to the leaderboard, atomically.
func (p *Plugin) record(ctx context.Context, user string, points int) error {
	cfg, h := p.state()
	return h.DB().Upsert(ctx, cfg.Collection, database.StringID(strings.ToLower(user)), database.Update{
		Inc: map[string]any{"points": points, "correct": 1},
		Set: map[string]any{"user": user},
	}, nil)
}

// recordGame counts a finished game for each player who scored.
func (p *Plugin) recordGame(ctx context.Context, users []string) {
	cfg, h := p.state()
	for _, u := range users {
		err := h.DB().Upsert(ctx, cfg.Collection, database.StringID(strings.ToLower(u)), database.Update{Inc: map[string]any{"games": 1}}, nil)
		if err != nil {
			h.Logger().Error("trivia: could not record a game", "user", u, "err", err)
		}
	}
}

func (p *Plugin) top(ctx context.Context) (string, error) {
	cfg, h := p.state()
	res, err := h.DB().Query(ctx, database.QueryRequest{Collection: cfg.Collection, Sort: []string{"-points", "-correct"}, Limit: topSize, NoTotal: true})
	if err != nil {
		return "", fmt.Errorf("trivia top: %w", err)
	}
	var parts []string
	for _, it := range res.Items {
		var s Score
		if err := it.Decode(&s); err != nil || s.Points <= 0 {
			continue
		}
		parts = append(parts, fmt.Sprintf("%d. %s %d", len(parts)+1, s.User, s.Points))
	}
	if len(parts) == 0 {
		return "🏆 Nobody has scored yet. Start a game with !trivia start", nil
	}
	return "🏆 Trivia top: " + strings.Join(parts, " · "), nil
}

func (p *Plugin) stats(ctx context.Context, user string) (string, error) {
	if user == "" || len(user) > 64 {
		return "", plugin.UserError("❌ Usage: !trivia stats [user]")
	}
	cfg, h := p.state()
	var s Score
	err := h.DB().Get(ctx, cfg.Collection, database.StringID(strings.ToLower(user)), &s)
	if errors.Is(err, database.ErrNotFound) || (err == nil && s.Correct == 0) {
		return fmt.Sprintf("📊 %s has no trivia points yet.", user), nil
	}
	if err != nil {
		return "", fmt.Errorf("trivia stats: %w", err)
	}
	return fmt.Sprintf("📊 %s: %d points, %d correct, %d games", s.User, s.Points, s.Correct, s.Games), nil
}
