package plugin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode"
)

// Plugin is one unit of bot behaviour. Start registers command handlers and
// subscriptions through the Host and must return promptly; long-running work
// goes in goroutines started with Host.Go. Stop undoes Start. A plugin may be
// started again after Stop (a reload), so Start should reset its state.
type Plugin interface {
	Info() Info
	Start(ctx context.Context, h *Host) error
	Stop(ctx context.Context) error
}

// Info describes a plugin and its commands. It is published on the bus so
// the router, !help and other processes can see what a plugin offers.
type Info struct {
	// Name is the plugin's unique name, used in subjects: plugin.<name>.command.
	Name string `json:"name"`
	// Version is a semantic version such as "1.2.0".
	Version string `json:"version"`
	// Description is one line for !help and !admin plugins.
	Description string `json:"description,omitempty"`
	// Commands are the chat commands the plugin answers.
	Commands []Command `json:"commands,omitempty"`
}

// Command describes one chat command.
type Command struct {
	// Name is the command word without prefix, in lower case: "roll".
	Name string `json:"name"`
	// Usage shows the arguments: "<NdM> [more dice…]".
	Usage string `json:"usage,omitempty"`
	// Description is one line for !help.
	Description string `json:"description,omitempty"`
	// Aliases are other words for the same command.
	Aliases []string `json:"aliases,omitempty"`
	// MinRank is the lowest CyTube rank allowed to use the command.
	MinRank float64 `json:"min_rank,omitempty"`
	// Cooldown is how long one user waits between two uses.
	Cooldown time.Duration `json:"-"`
}

type commandJSON struct {
	Name        string   `json:"name"`
	Usage       string   `json:"usage,omitempty"`
	Description string   `json:"description,omitempty"`
	Aliases     []string `json:"aliases,omitempty"`
	MinRank     float64  `json:"min_rank,omitempty"`
	CooldownMS  int64    `json:"cooldown_ms,omitempty"`
}

// MarshalJSON writes Cooldown as cooldown_ms, a unit every language reads.
func (c Command) MarshalJSON() ([]byte, error) {
	return json.Marshal(commandJSON{c.Name, c.Usage, c.Description, c.Aliases, c.MinRank, c.Cooldown.Milliseconds()})
}

// UnmarshalJSON reads cooldown_ms.
func (c *Command) UnmarshalJSON(b []byte) error {
	var j commandJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*c = Command{j.Name, j.Usage, j.Description, j.Aliases, j.MinRank, time.Duration(j.CooldownMS) * time.Millisecond}
	return nil
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// commandWord reports whether w is 1-32 letters, digits, '-' or '_'. It is
// a loop: the regexp `^[\p{L}\p{N}_-]{1,32}$` compiles to 700 kB of heap,
// kept for the life of every process that links this package.
func commandWord(w string) bool {
	n := 0
	for _, r := range w {
		n++
		if n > 32 || !(unicode.IsLetter(r) || unicode.IsNumber(r) || r == '_' || r == '-') {
			return false
		}
	}
	return n > 0
}

// Validate reports the first problem with the info, naming the field.
func (i Info) Validate() error {
	if !nameRE.MatchString(i.Name) {
		return fmt.Errorf("%w: name %q: use 1-64 letters, digits, '-' or '_'", ErrInvalidInfo, i.Name)
	}
	seen := map[string]bool{}
	for n, c := range i.Commands {
		words := append([]string{c.Name}, c.Aliases...)
		for _, w := range words {
			if !commandWord(w) || strings.ToLower(w) != w {
				return fmt.Errorf("%w: %s: commands[%d]: %q must be a lower-case word", ErrInvalidInfo, i.Name, n, w)
			}
			if seen[w] {
				return fmt.Errorf("%w: %s: commands[%d]: %q is declared twice", ErrInvalidInfo, i.Name, n, w)
			}
			seen[w] = true
		}
		if c.Cooldown < 0 {
			return fmt.Errorf("%w: %s: commands[%d].cooldown: negative", ErrInvalidInfo, i.Name, n)
		}
	}
	return nil
}

// Find returns the command named word, or having word as an alias.
func (i Info) Find(word string) (Command, bool) {
	word = strings.ToLower(word)
	for _, c := range i.Commands {
		if c.Name == word {
			return c, true
		}
		for _, a := range c.Aliases {
			if a == word {
				return c, true
			}
		}
	}
	return Command{}, false
}

// Where a command came from, in Request.Source.
const (
	SourceChat = "chat"
	SourcePM   = "pm"
)

// Request is the payload of plugin.<name>.command.
type Request struct {
	// Command is the command's canonical name (an alias is resolved).
	Command string `json:"command"`
	// Args are the words after the command word.
	Args []string `json:"args"`
	// Text is everything after the command word, spacing kept, trimmed.
	Text string `json:"text"`
	// User said the command.
	User    string `json:"user"`
	Channel string `json:"channel"`
	// Rank is the user's CyTube rank; configured bot admins are raised to at
	// least protocol.RankAdmin by the router.
	Rank float64 `json:"rank"`
	// Source is SourceChat or SourcePM.
	Source string `json:"source"`
}

// Response is the reply to a Request. An empty Result sends nothing back to
// chat: the plugin has answered some other way (a PM, or nothing at all).
type Response struct {
	Result string `json:"result,omitempty"`
	Error  string `json:"error,omitempty"`
}

// CommandHandler answers one command. The returned text goes back to where
// the command came from. An error made with UserError (or Usage) is shown to
// the user; any other error is logged and the user sees a short apology.
type CommandHandler func(ctx context.Context, req *Request) (string, error)

// Sentinel errors.
var (
	ErrInvalidInfo = errors.New("plugin: invalid info")
	ErrStartFailed = errors.New("plugin: start failed")
)

// userError is an error whose text is meant for the chat user.
type userError struct{ msg string }

func (e *userError) Error() string { return e.msg }

// UserError returns an error whose message is shown to the user as is.
func UserError(format string, args ...any) error {
	return &userError{fmt.Sprintf(format, args...)}
}

// Usage returns a user error showing how to use a command: "Usage: !roll <dice>".
// The router's prefix is not known to the plugin, so "!" is assumed; it is
// the default and what users type in most channels.
func Usage(cmd Command) error {
	return &userError{strings.TrimSpace(fmt.Sprintf("❌ Usage: !%s %s", cmd.Name, cmd.Usage))}
}

// IsUserError reports whether err is meant to be shown to the user.
func IsUserError(err error) bool {
	var u *userError
	return errors.As(err, &u)
}
