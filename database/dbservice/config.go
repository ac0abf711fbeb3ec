package dbservice

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"
)

// ErrInvalidConfig means a Config failed validation.
var ErrInvalidConfig = errors.New("dbservice: invalid config")

// FileName is the SQLite database file inside Config.Dir.
const FileName = "rosey.db"

// Defaults for zero Config fields.
const (
	DefaultBusyTimeout = 5 * time.Second
	DefaultReaderIdle  = time.Minute
)

// Config configures the database service. Exactly one of Dir (SQLite) and
// URL (PostgreSQL) is set.
type Config struct {
	// Dir is the SQLite data directory; the database is the file rosey.db
	// inside it. It is created if missing.
	Dir string `json:"dir,omitempty"`
	// URL selects PostgreSQL when it starts with postgres:// or
	// postgresql://, for example postgres://rosey:pw@db:5432/rosey?sslmode=disable.
	URL string `json:"url,omitempty"`
	// MaxDocumentSize bounds a document's JSON size in bytes; zero means
	// database.DefaultMaxDocumentSize (256 KiB).
	MaxDocumentSize int `json:"max_document_size,omitempty"`
	// Synchronous is SQLite's synchronous setting: "full" (the default:
	// every acknowledged write is on disk, even after a power cut) or
	// "normal" (faster; with WAL an acknowledged write still survives a
	// killed process, but the last ones may be lost on power loss).
	Synchronous string `json:"synchronous,omitempty"`
	// BusyTimeout is how long SQLite waits for a lock held by another
	// process; zero means DefaultBusyTimeout.
	BusyTimeout time.Duration `json:"busy_timeout,omitempty"`
	// ReaderIdle is how long a SQLite read connection left unused stays
	// open; zero means DefaultReaderIdle, negative keeps them open. Reads
	// run on up to 8 connections at once and each keeps a page cache of
	// what it read (up to 2 MB), so closing the unused ones gives that
	// memory back once a busy spell is over; a read after a quiet spell
	// opens one again (a file open and a schema read).
	ReaderIdle time.Duration `json:"reader_idle,omitempty"`
	// Moves moves collections when the store opens, from the key to the
	// value, each written as a stored name: "collection" in the default
	// namespace or "namespace/collection". It is how a plugin's data from
	// before namespaces reaches its namespace, for example
	// {"greetings": "greeter/greetings"}. A move happens only when the
	// source has documents and the target none, so it is safe to leave in
	// the config; the built-in plugins' collections move by themselves.
	Moves map[string]string `json:"moves,omitempty"`
	// Logger receives the service's logs; nil is silent.
	Logger *slog.Logger `json:"-"`
}

// Validate reports the first problem with c, naming the field.
func (c Config) Validate() error {
	switch {
	case c.Dir == "" && c.URL == "":
		return fmt.Errorf("%w: dir: required (the SQLite data directory) unless url is set", ErrInvalidConfig)
	case c.Dir != "" && c.URL != "":
		return fmt.Errorf("%w: url: set either dir (SQLite) or url (PostgreSQL), not both", ErrInvalidConfig)
	}
	if c.URL != "" {
		u, err := url.Parse(c.URL)
		if err != nil {
			return fmt.Errorf("%w: url: %v", ErrInvalidConfig, redact(err))
		}
		if u.Scheme != "postgres" && u.Scheme != "postgresql" {
			return fmt.Errorf("%w: url: scheme %q is not supported (want postgres:// or postgresql://)", ErrInvalidConfig, u.Scheme)
		}
	}
	if c.MaxDocumentSize < 0 {
		return fmt.Errorf("%w: max_document_size: must not be negative", ErrInvalidConfig)
	}
	if c.MaxDocumentSize > 64<<20 {
		return fmt.Errorf("%w: max_document_size: at most 64 MiB", ErrInvalidConfig)
	}
	switch strings.ToLower(c.Synchronous) {
	case "", "full", "normal":
	default:
		return fmt.Errorf("%w: synchronous: %q (want full or normal)", ErrInvalidConfig, c.Synchronous)
	}
	for from, to := range c.Moves {
		if err := checkCollection(from); err != nil {
			return fmt.Errorf("%w: moves: %q: %v", ErrInvalidConfig, from, err)
		}
		if err := checkCollection(to); err != nil {
			return fmt.Errorf("%w: moves: %q: %v", ErrInvalidConfig, to, err)
		}
		if from == to {
			return fmt.Errorf("%w: moves: %q moves onto itself", ErrInvalidConfig, from)
		}
	}
	if c.BusyTimeout < 0 {
		return fmt.Errorf("%w: busy_timeout: must not be negative", ErrInvalidConfig)
	}
	return nil
}

// redact keeps a password in a URL parse error out of logs.
func redact(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

func (c Config) withDefaults() Config {
	if c.MaxDocumentSize == 0 {
		c.MaxDocumentSize = 256 << 10
	}
	if c.Synchronous == "" {
		c.Synchronous = "full"
	}
	if c.BusyTimeout == 0 {
		c.BusyTimeout = DefaultBusyTimeout
	}
	if c.ReaderIdle == 0 {
		c.ReaderIdle = DefaultReaderIdle
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}
