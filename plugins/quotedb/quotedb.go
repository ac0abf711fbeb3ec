package quotedb

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/roseybot/rosey/database"
	"github.com/roseybot/rosey/plugin"
	"github.com/roseybot/rosey/protocol"
)

// Name is the plugin's name.
const Name = "quote-db"

// Defaults for Config.
const (
	DefaultCollection = "quotes"
	DefaultMaxLength  = 400
	maxAuthorLen      = 64
	maxSearchShown    = 10
	// searchScan bounds how many candidates a search looks at.
	searchScan = database.MaxLimit
	// concurrency is how many commands are served at once.
	concurrency = 16
)

// Config configures the plugin. The JSON fields can also come from the
// plugin's config section, which overrides what New was given.
type Config struct {
	// Collection is the database collection holding the quotes.
	Collection string `json:"collection,omitempty"`
	// MaxLength bounds a quote's text, in characters.
	MaxLength int `json:"max_length,omitempty"`
	// Rand picks random quotes; nil uses a randomly seeded source. Inject a
	// seeded one to make tests deterministic.
	Rand *rand.Rand `json:"-"`
}

// Quote is a stored quote, the document kept in the collection.
type Quote struct {
	Text    string    `json:"text"`
	Author  string    `json:"author"`
	AddedBy string    `json:"added_by"`
	AddedAt time.Time `json:"added_at"`
	Channel string    `json:"channel,omitempty"`
}

// Plugin is the quote-db plugin. Create it with New.
type Plugin struct {
	base Config

	mu   sync.Mutex // guards cfg and rnd
	cfg  Config
	rnd  *rand.Rand
	host *plugin.Host
}

// New returns a quote-db plugin.
func New(cfg Config) *Plugin { return &Plugin{base: cfg} }

var command = plugin.Command{
	Name:        "quote",
	Usage:       "[id] | random | add <text> [— author] | search <words> | del <id> | count",
	Description: "Store and recall memorable quotes",
	Aliases:     []string{"quotes"},
}

// Info describes the plugin.
func (p *Plugin) Info() plugin.Info {
	return plugin.Info{Name: Name, Version: "1.0.0", Description: "A quote database for the channel", Commands: []plugin.Command{command}}
}

// Start reads the config section and registers the command.
func (p *Plugin) Start(_ context.Context, h *plugin.Host) error {
	cfg := p.base
	if err := h.DecodeConfig(&cfg); err != nil {
		return err
	}
	if cfg.Collection == "" {
		cfg.Collection = DefaultCollection
	}
	if cfg.MaxLength <= 0 {
		cfg.MaxLength = DefaultMaxLength
	}
	rnd := cfg.Rand
	if rnd == nil {
		rnd = rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	}
	p.mu.Lock()
	p.cfg, p.rnd, p.host = cfg, rnd, h
	p.mu.Unlock()
	// Each command waits on the database: side by side, the database
	// service commits their writes together instead of one per fsync.
	// What they share (cfg, rnd) is behind p.mu; one user's commands stay
	// in order, so an add is there for that user's next command.
	if err := h.Concurrency(concurrency); err != nil {
		return err
	}
	h.Handle(command.Name, p.handle)
	return nil
}

// Stop has nothing to release: the Host ends the registrations.
func (p *Plugin) Stop(context.Context) error { return nil }

func (p *Plugin) config() (Config, *plugin.Host) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cfg, p.host
}

// int64n returns a random number in [0, n).
func (p *Plugin) int64n(n int64) int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.rnd.Int64N(n)
}

func (p *Plugin) handle(ctx context.Context, req *plugin.Request) (string, error) {
	if len(req.Args) == 0 {
		return p.random(ctx)
	}
	sub := strings.ToLower(req.Args[0])
	rest := strings.TrimSpace(strings.TrimPrefix(req.Text, req.Args[0]))
	switch sub {
	case "add":
		return p.add(ctx, req, rest)
	case "random", "rand":
		if rest != "" {
			return "", plugin.Usage(command)
		}
		return p.random(ctx)
	case "search", "find":
		return p.search(ctx, rest)
	case "del", "delete", "rm":
		return p.del(ctx, req, rest)
	case "count":
		if rest != "" {
			return "", plugin.Usage(command)
		}
		return p.count(ctx)
	}
	if id, ok := parseID(req.Text); ok {
		return p.show(ctx, id)
	}
	return "", plugin.Usage(command)
}

// parseID reads "42" or "#42".
func parseID(s string) (int64, bool) {
	n, err := strconv.ParseInt(strings.TrimPrefix(strings.TrimSpace(s), "#"), 10, 64)
	return n, err == nil && n > 0
}

// authorRE splits "text — author" or "text -- author" at the last dash.
var authorRE = regexp.MustCompile(`^(.*\S)\s*(?:—|--)\s*([^—]*?)$`)

// quotePairs are the quote marks stripped from around a quote's text.
var quotePairs = [][2]string{{`"`, `"`}, {"'", "'"}, {"“", "”"}, {"‘", "’"}, {"«", "»"}}

func (p *Plugin) add(ctx context.Context, req *plugin.Request, rest string) (string, error) {
	addUsage := plugin.UserError("❌ Usage: !quote add <text> [— author]")
	cfg, h := p.config()
	text, author := rest, req.User
	if m := authorRE.FindStringSubmatch(rest); m != nil && strings.TrimSpace(m[2]) != "" {
		text, author = m[1], strings.TrimSpace(m[2])
	} else if strings.HasPrefix(rest, "--") || strings.HasPrefix(rest, "—") {
		return "", addUsage // an author with no text
	}
	text = strings.TrimSpace(text)
	for _, q := range quotePairs {
		if len(text) >= len(q[0])+len(q[1]) && strings.HasPrefix(text, q[0]) && strings.HasSuffix(text, q[1]) {
			text = strings.TrimSpace(text[len(q[0]) : len(text)-len(q[1])])
			break
		}
	}
	switch {
	case text == "":
		return "", addUsage
	case utf8.RuneCountInString(text) > cfg.MaxLength:
		return "", plugin.UserError("❌ That quote is too long (at most %d characters).", cfg.MaxLength)
	case utf8.RuneCountInString(author) > maxAuthorLen:
		return "", plugin.UserError("❌ That author name is too long (at most %d characters).", maxAuthorLen)
	}
	q := Quote{Text: text, Author: author, AddedBy: req.User, AddedAt: h.Clock().Now().UTC(), Channel: req.Channel}
	id, err := h.DB().Set(ctx, cfg.Collection, database.ID{}, q)
	if err != nil {
		return "", fmt.Errorf("quote add: %w", err)
	}
	h.Logger().Info("quote added", "id", id.String(), "by", req.User)
	return fmt.Sprintf("✅ Added quote #%s", id), nil
}

func (p *Plugin) get(ctx context.Context, id int64) (Quote, error) {
	cfg, h := p.config()
	var q Quote
	err := h.DB().Get(ctx, cfg.Collection, database.IntID(id), &q)
	if errors.Is(err, database.ErrNotFound) {
		return q, plugin.UserError("❌ There is no quote #%d.", id)
	}
	if err != nil {
		return q, fmt.Errorf("quote get %d: %w", id, err)
	}
	return q, nil
}

func (p *Plugin) show(ctx context.Context, id int64) (string, error) {
	q, err := p.get(ctx, id)
	if err != nil {
		return "", err
	}
	return format(strconv.FormatInt(id, 10), q), nil
}

// format renders a quote as: Quote #42: 'Hello!' - alice.
func format(id string, q Quote) string {
	return fmt.Sprintf("Quote #%s: '%s' - %s", id, q.Text, q.Author)
}

// noQuotes answers a random pick in an empty collection.
const noQuotes = "📭 No quotes yet. Add one with !quote add <text>"

// randomTries bounds how many ids a random pick tries before it falls back
// to a count and an offset. Every id tried is equally likely to be any
// quote, so a miss (a deleted quote) only costs another try: with half the
// ids up to the highest one deleted, 8 misses in a row happen once in 256
// picks.
const randomTries = 8

// random shows a quote picked uniformly at random. It reads the highest id
// (an index lookup in the database, "-$id"), then tries random ids up to it
// with a get each, so its cost does not grow with the number of quotes.
// Quotes have the integer ids the service assigned; a collection where
// most ids up to the highest are gone, or whose highest id is not a
// positive integer (written by hand), is served by randomByOffset.
func (p *Plugin) random(ctx context.Context) (string, error) {
	cfg, h := p.config()
	db := h.DB()
	res, err := db.Query(ctx, database.QueryRequest{Collection: cfg.Collection, Sort: []string{"-" + database.SortByID}, Limit: 1, NoTotal: true})
	if err != nil {
		return "", fmt.Errorf("quote random: %w", err)
	}
	if len(res.Items) == 0 {
		return noQuotes, nil
	}
	top := res.Items[0]
	if hi, ok := top.ID.Int(); ok && hi > 0 {
		// Quotes added from now on are not candidates, and a quote
		// deleted from now on is a miss: either way the pick is uniform
		// over the quotes there were when the highest id was read.
		for range randomTries {
			id := 1 + p.int64n(hi)
			if id == hi {
				return formatItem(top)
			}
			var q Quote
			err := db.Get(ctx, cfg.Collection, database.IntID(id), &q)
			if errors.Is(err, database.ErrNotFound) {
				continue
			}
			if err != nil {
				return "", fmt.Errorf("quote random: %w", err)
			}
			return format(strconv.FormatInt(id, 10), q), nil
		}
	}
	return p.randomByOffset(ctx)
}

// randomByOffset picks a quote at a random offset of the collection: a
// count and a page, both of which cost the size of the collection, for the
// collections random cannot serve by id.
func (p *Plugin) randomByOffset(ctx context.Context) (string, error) {
	cfg, h := p.config()
	// The collection may change between the count and the page, so an
	// empty page is retried once against the new size.
	for range 2 {
		n, err := h.DB().Count(ctx, cfg.Collection, nil)
		if err != nil {
			return "", fmt.Errorf("quote count: %w", err)
		}
		if n == 0 {
			return noQuotes, nil
		}
		res, err := h.DB().Query(ctx, database.QueryRequest{Collection: cfg.Collection, Limit: 1, Offset: int(p.int64n(min(n, math.MaxInt32))), NoTotal: true})
		if err != nil {
			return "", fmt.Errorf("quote random: %w", err)
		}
		if len(res.Items) == 1 {
			return formatItem(res.Items[0])
		}
	}
	return "", fmt.Errorf("quote random: collection keeps changing")
}

func formatItem(it database.Item) (string, error) {
	var q Quote
	if err := it.Decode(&q); err != nil {
		return "", fmt.Errorf("quote random: %w", err)
	}
	return format(it.ID.String(), q), nil
}

func (p *Plugin) search(ctx context.Context, rest string) (string, error) {
	words := strings.Fields(strings.ToLower(rest))
	if len(words) == 0 {
		return "", plugin.UserError("❌ Usage: !quote search <words>")
	}
	// The database filters on the longest word (LIKE wildcards escaped
	// with a backslash, as the service expects); the others are checked here.
	longest := words[0]
	for _, w := range words {
		if utf8.RuneCountInString(w) > utf8.RuneCountInString(longest) {
			longest = w
		}
	}
	pattern := "%" + strings.NewReplacer(`\`, `\\`, "%", `\%`, "_", `\_`).Replace(longest) + "%"
	cfg, h := p.config()
	res, err := h.DB().Query(ctx, database.QueryRequest{
		Collection: cfg.Collection,
		Filter:     database.Filter{"text": database.Filter{"$like": pattern}},
		Limit:      searchScan,
		NoTotal:    true,
	})
	if err != nil {
		return "", fmt.Errorf("quote search: %w", err)
	}
	var ids []string
	var first Quote
	// Newest first: items come in insertion order.
	for i := len(res.Items) - 1; i >= 0; i-- {
		it := res.Items[i]
		var q Quote
		if err := it.Decode(&q); err != nil {
			continue
		}
		hay := strings.ToLower(q.Text)
		all := true
		for _, w := range words {
			if !strings.Contains(hay, w) {
				all = false
				break
			}
		}
		if !all {
			continue
		}
		if len(ids) == 0 {
			first = q
		}
		ids = append(ids, it.ID.String())
	}
	switch len(ids) {
	case 0:
		return fmt.Sprintf("🔎 No quote contains %q.", plugin.Clip(rest, 50)), nil
	case 1:
		return format(ids[0], first), nil
	}
	shown := ids
	more := ""
	if len(shown) > maxSearchShown {
		shown, more = shown[:maxSearchShown], fmt.Sprintf(" and %d more", len(ids)-maxSearchShown)
	}
	return fmt.Sprintf("🔎 %d quotes match: #%s%s. Newest: %s", len(ids), strings.Join(shown, ", #"), more, format(ids[0], first)), nil
}

func (p *Plugin) del(ctx context.Context, req *plugin.Request, rest string) (string, error) {
	id, ok := parseID(rest)
	if !ok {
		return "", plugin.UserError("❌ Usage: !quote del <id>")
	}
	q, err := p.get(ctx, id)
	if err != nil {
		return "", err
	}
	if req.Rank < protocol.RankModerator && !protocol.SameUser(req.User, q.AddedBy) {
		return "", plugin.UserError("⛔ Only a moderator or %s (who added it) can delete quote #%d.", q.AddedBy, id)
	}
	cfg, h := p.config()
	deleted, err := h.DB().Delete(ctx, cfg.Collection, database.IntID(id))
	if err != nil {
		return "", fmt.Errorf("quote del %d: %w", id, err)
	}
	if !deleted {
		return "", plugin.UserError("❌ There is no quote #%d.", id)
	}
	h.Logger().Info("quote deleted", "id", id, "by", req.User)
	return fmt.Sprintf("🗑️ Deleted quote #%d", id), nil
}

func (p *Plugin) count(ctx context.Context) (string, error) {
	cfg, h := p.config()
	n, err := h.DB().Count(ctx, cfg.Collection, nil)
	if err != nil {
		return "", fmt.Errorf("quote count: %w", err)
	}
	if n == 1 {
		return "📚 There is 1 quote.", nil
	}
	return fmt.Sprintf("📚 There are %d quotes.", n), nil
}
