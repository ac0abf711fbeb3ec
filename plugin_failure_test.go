package rosey_test

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/matryer/is"

	"github.com/roseybot/rosey"
	"github.com/roseybot/rosey/plugins/admin"
	"github.com/roseybot/rosey/plugins/dice"
	"github.com/roseybot/rosey/plugins/trivia"
	"github.com/roseybot/rosey/roseytest"
)

// records is a slog handler that keeps every record, for tests that check
// what was logged.
type records struct {
	mu   sync.Mutex
	recs []slog.Record
}

func (r *records) Enabled(context.Context, slog.Level) bool { return true }
func (r *records) Handle(_ context.Context, rec slog.Record) error {
	r.mu.Lock()
	r.recs = append(r.recs, rec.Clone())
	r.mu.Unlock()
	return nil
}
func (r *records) WithAttrs([]slog.Attr) slog.Handler { return r } // attrs are not needed here
func (r *records) WithGroup(string) slog.Handler      { return r }

// at returns the text of every record at level, with its attributes.
func (r *records) at(level slog.Level) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, rec := range r.recs {
		if rec.Level != level {
			continue
		}
		s := rec.Message
		rec.Attrs(func(a slog.Attr) bool { s += " " + a.String(); return true })
		out = append(out, s)
	}
	return out
}

// A plugin whose config section is wrong logs one error naming the field;
// its commands stay known, so users hear it is not there rather than that
// the command does not exist, and !admin status says why.
func TestPluginWithInvalidConfigIsReportedNotForgotten(t *testing.T) {
	is := is.New(t)
	logs := &records{}
	h := roseytest.New(t,
		roseytest.WithPlugins(dice.New(dice.Config{}), admin.New(admin.Config{}), panicky{}),
		roseytest.WithPluginConfig(dice.Name, map[string]any{"max_dice": "fifty"}),
		roseytest.WithConfig(func(c *rosey.Config) {
			c.Logger = slog.New(logs)
			c.Router.Admins = []string{"boss"}
		}))
	var errs []string
	for _, e := range logs.at(slog.LevelError) {
		if !strings.Contains(e, "panicky") {
			errs = append(errs, e)
		}
	}
	is.Equal(len(errs), 1) // one error for dice-roller, at start
	if !strings.Contains(errs[0], "dice-roller") || !strings.Contains(errs[0], "max_dice") {
		t.Fatalf("the error does not name the plugin and the field: %s", errs[0])
	}
	h.Say("alice", "!roll 2d6")
	h.Expect("⚠️ dice-roller is not available right now.")
	h.Say("boss", "!admin status")
	r := h.Expect("📊")
	if !strings.Contains(r.Message, "dice-roller") || !strings.Contains(r.Message, "max_dice") {
		t.Fatalf("!admin status does not say why dice-roller failed: %s", r.Message)
	}
	// A plugin that panics in Start: the status says so in one line.
	h.Say("boss", "!admin status")
	if r := h.Expect("📊"); strings.Contains(r.Message, "\n") {
		t.Fatalf("status spans lines: %q", r.Message)
	}
	// Disabled, its commands are unknown again.
	h.Say("boss", "!admin disable dice-roller")
	h.Expect("Disabled dice-roller")
	h.Say("bob", "!roll 2d6")
	h.Expect("❓ Unknown command !roll")
}

// An admin's "!admin enable" is remembered and wins over disabled_plugins
// at the next start: the log says so, and !admin status shows both.
func TestSavedEnableWinsOverDisabledPlugins(t *testing.T) {
	dir := t.TempDir()
	opts := func(logs *records) []roseytest.Option {
		return []roseytest.Option{
			roseytest.WithPlugins(dice.New(dice.Config{}), admin.New(admin.Config{})),
			roseytest.WithConfig(func(c *rosey.Config) {
				c.Database.Dir = dir
				c.DisabledPlugins = []string{dice.Name}
				c.Router.Admins = []string{"boss"}
				c.Logger = slog.New(logs)
			}),
		}
	}
	t.Run("enable", func(t *testing.T) {
		h := roseytest.New(t, opts(&records{})...)
		h.Say("alice", "!roll 2d6")
		h.Expect("❓ Unknown command !roll")
		h.Say("boss", "!admin enable dice-roller")
		h.Expect("▶️ Enabled dice-roller.")
	})
	t.Run("restart", func(t *testing.T) {
		logs := &records{}
		h := roseytest.New(t, opts(logs)...)
		h.Say("alice", "!roll 2d6")
		h.Expect("🎲")
		warned := false
		for _, w := range logs.at(slog.LevelWarn) {
			warned = warned || strings.Contains(w, "overrides the config") && strings.Contains(w, "dice-roller")
		}
		if !warned {
			t.Fatalf("no warning that the saved choice overrides disabled_plugins: %v", logs.at(slog.LevelWarn))
		}
		h.Say("boss", "!admin status")
		h.Expect("dice-roller enabled by !admin, config says off (disabled_plugins)")
	})
}

// A failed reload is one short sentence in chat; the log and !admin
// status carry the detail.
func TestFailedReloadIsOneShortSentence(t *testing.T) {
	logs := &records{}
	h := roseytest.New(t,
		roseytest.WithPlugins(dice.New(dice.Config{}), admin.New(admin.Config{})),
		roseytest.WithPluginConfig(dice.Name, map[string]any{"max_dice": "fifty"}),
		roseytest.WithConfig(func(c *rosey.Config) {
			c.Logger = slog.New(logs)
			c.Router.Admins = []string{"boss"}
		}))
	h.Say("boss", "!admin reload dice-roller")
	r := h.Expect("❌ Could not reload dice-roller")
	for _, internal := range []string{"plugin:", "platform.", "json", "Go struct", "start failed"} {
		if strings.Contains(r.Message, internal) {
			t.Fatalf("the reply shows %q: %s", internal, r.Message)
		}
	}
	if !strings.Contains(r.Message, "!admin status") {
		t.Fatalf("the reply does not say where the detail is: %s", r.Message)
	}
	detailed := false
	for _, w := range logs.at(slog.LevelWarn) {
		detailed = detailed || strings.Contains(w, "reload") && strings.Contains(w, "max_dice")
	}
	if !detailed {
		t.Fatalf("the log does not carry the detail: %q", logs.at(slog.LevelWarn))
	}
	// The manager's error text names its parts once.
	err := h.Bot().Plugins().Reload(context.Background(), dice.Name)
	if err == nil || strings.Count(err.Error(), "plugin") > 1 {
		t.Fatalf("error text repeats its prefix: %v", err)
	}
}

// A duration without a unit in a plugin's section is refused, and the
// error names the field as the file writes it.
func TestPluginDurationWithoutUnitNamesTheField(t *testing.T) {
	logs := &records{}
	roseytest.New(t,
		roseytest.WithPlugins(trivia.New(trivia.Config{})),
		roseytest.WithPluginConfig(trivia.Name, map[string]any{"question_time": 30}),
		roseytest.WithConfig(func(c *rosey.Config) { c.Logger = slog.New(logs) }))
	errs := logs.at(slog.LevelError)
	if len(errs) != 1 || !strings.Contains(errs[0], `question_time: 30 has no unit: write "30s"`) {
		t.Fatalf("the error does not name the field and the fix: %q", errs)
	}
}

// disabled_plugins may name a declared external plugin (a shared config
// file), but this bot cannot stop it: the log says so.
func TestDisabledExternalPluginIsWarned(t *testing.T) {
	logs := &records{}
	roseytest.New(t, roseytest.WithConfig(func(c *rosey.Config) {
		c.ExternalPlugins = []string{"weather"}
		c.DisabledPlugins = []string{"weather"}
		c.Logger = slog.New(logs)
	}))
	for _, w := range logs.at(slog.LevelWarn) {
		if strings.Contains(w, "weather") && strings.Contains(w, "process of its own") {
			return
		}
	}
	t.Fatalf("no warning that weather cannot be disabled here: %q", logs.at(slog.LevelWarn))
}
