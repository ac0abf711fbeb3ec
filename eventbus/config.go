package eventbus

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"
)

// DefaultRequestTimeout applies to requests whose context has no deadline.
const DefaultRequestTimeout = 5 * time.Second

// TLSConfig names the files for a TLS connection to NATS.
type TLSConfig struct {
	// CAFile verifies the server; empty uses the system roots.
	CAFile string `json:"ca_file,omitempty"`
	// CertFile and KeyFile present a client certificate (mutual TLS).
	CertFile string `json:"cert_file,omitempty"`
	KeyFile  string `json:"key_file,omitempty"`
	// ServerName overrides the name checked in the server certificate.
	ServerName string `json:"server_name,omitempty"`
}

// Config says how a Bus connects. With InProcess set the bus talks to an
// embedded server without a socket; otherwise it dials URLs.
type Config struct {
	// URLs of the NATS servers (a cluster may list several). Ignored when
	// InProcess is set.
	URLs []string `json:"urls,omitempty"`
	// Name is the connection name shown by the server, and the default Source.
	Name string `json:"name,omitempty"`
	// Source is put in the Rosey-Source header of everything published.
	Source string `json:"source,omitempty"`
	// User and Password authenticate with user/password.
	User     string `json:"user,omitempty"`
	Password string `json:"password,omitempty"`
	// Token authenticates with a token.
	Token string `json:"token,omitempty"`
	// CredentialsFile is a NATS .creds file (JWT and nkey seed).
	CredentialsFile string `json:"credentials_file,omitempty"`
	// NKeyFile is a file holding an nkey seed.
	NKeyFile string `json:"nkey_file,omitempty"`
	// NKeySeed is an nkey seed held in memory (an embedded server's
	// generated credentials, handed to in-process connections); never
	// written to JSON.
	NKeySeed string `json:"-"`
	// TLS enables TLS with the given files.
	TLS *TLSConfig `json:"tls,omitempty"`
	// Prefix is put in front of every subject (with a dot), so several bots
	// can share one NATS cluster. Empty by default.
	Prefix string `json:"prefix,omitempty"`
	// InboxPrefix replaces "_INBOX" in the reply subjects of this
	// connection's requests (for example "_INBOX.plugin.greeter"), so a
	// server can allow each user its own replies and nobody else's. It is
	// never subject-prefixed. Empty keeps nats.go's "_INBOX".
	InboxPrefix string `json:"inbox_prefix,omitempty"`
	// RequestTimeout applies to requests whose context has no deadline.
	// Zero means DefaultRequestTimeout.
	RequestTimeout time.Duration `json:"request_timeout,omitempty"`
	// MaxReconnects bounds reconnect attempts to an external server after a
	// lost connection; zero means forever.
	MaxReconnects int `json:"max_reconnects,omitempty"`

	// InProcess connects to an embedded server in the same process.
	InProcess nats.InProcessConnProvider `json:"-"`
	// Logger receives the bus's logs; nil is silent.
	Logger *slog.Logger `json:"-"`
}

// Validate reports the first problem with c, naming the field.
func (c Config) Validate() error {
	if c.InProcess == nil && len(c.URLs) == 0 {
		return fmt.Errorf("%w: urls: at least one NATS URL is needed without an in-process server", ErrInvalidConfig)
	}
	for i, u := range c.URLs {
		if strings.TrimSpace(u) == "" {
			return fmt.Errorf("%w: urls[%d]: empty", ErrInvalidConfig, i)
		}
	}
	if c.Token != "" && c.User != "" {
		return fmt.Errorf("%w: token: use either token or user/password, not both", ErrInvalidConfig)
	}
	if c.Password != "" && c.User == "" {
		return fmt.Errorf("%w: user: a password needs a user", ErrInvalidConfig)
	}
	if c.CredentialsFile != "" && c.NKeyFile != "" {
		return fmt.Errorf("%w: nkey_file: use either credentials_file or nkey_file, not both", ErrInvalidConfig)
	}
	if c.NKeySeed != "" && (c.NKeyFile != "" || c.CredentialsFile != "") {
		return fmt.Errorf("%w: nkey_file: an nkey seed is given in memory already", ErrInvalidConfig)
	}
	if c.TLS != nil && (c.TLS.CertFile == "") != (c.TLS.KeyFile == "") {
		return fmt.Errorf("%w: tls: cert_file and key_file go together", ErrInvalidConfig)
	}
	if strings.ContainsAny(c.Prefix, " \t*>") || strings.HasPrefix(c.Prefix, ".") || strings.HasSuffix(c.Prefix, ".") {
		return fmt.Errorf("%w: prefix: %q is not a valid subject prefix", ErrInvalidConfig, c.Prefix)
	}
	if p := c.InboxPrefix; p != "" && (strings.ContainsAny(p, " \t\r\n*>") || strings.HasPrefix(p, ".") || strings.HasSuffix(p, ".") || strings.Contains(p, "..")) {
		return fmt.Errorf("%w: inbox_prefix: %q is not a valid subject prefix", ErrInvalidConfig, p)
	}
	if c.RequestTimeout < 0 {
		return fmt.Errorf("%w: request_timeout: must not be negative", ErrInvalidConfig)
	}
	return nil
}

func (c Config) natsOptions() ([]nats.Option, error) {
	opts := []nats.Option{nats.Name(c.Name)}
	if c.InProcess != nil {
		// No write deadline: there is no network to time out, and setting
		// one on the in-memory pipe costs a timer on every flush.
		opts = append(opts, nats.InProcessServer(c.InProcess), nats.FlusherTimeout(0))
	}
	if c.MaxReconnects > 0 {
		opts = append(opts, nats.MaxReconnects(c.MaxReconnects))
	} else {
		opts = append(opts, nats.MaxReconnects(-1))
	}
	if c.InboxPrefix != "" {
		opts = append(opts, nats.CustomInboxPrefix(c.InboxPrefix))
	}
	if c.User != "" {
		opts = append(opts, nats.UserInfo(c.User, c.Password))
	}
	if c.Token != "" {
		opts = append(opts, nats.Token(c.Token))
	}
	if c.CredentialsFile != "" {
		// nats.go reads the file only while connecting, where a missing
		// one looks like a refused login; say what is wrong up front.
		if _, err := os.Stat(c.CredentialsFile); err != nil {
			return nil, fmt.Errorf("%w: credentials_file: %v", ErrInvalidConfig, err)
		}
		opts = append(opts, nats.UserCredentials(c.CredentialsFile))
	}
	if c.NKeyFile != "" {
		o, err := nats.NkeyOptionFromSeed(c.NKeyFile)
		if err != nil {
			return nil, fmt.Errorf("%w: nkey_file: %v", ErrInvalidConfig, err)
		}
		opts = append(opts, o)
	}
	if c.NKeySeed != "" {
		kp, err := nkeys.FromSeed([]byte(c.NKeySeed))
		if err != nil {
			return nil, fmt.Errorf("%w: nkey seed: %v", ErrInvalidConfig, err)
		}
		pub, err := kp.PublicKey()
		if err != nil {
			return nil, fmt.Errorf("%w: nkey seed: %v", ErrInvalidConfig, err)
		}
		opts = append(opts, nats.Nkey(pub, kp.Sign))
	}
	if c.TLS != nil {
		tc, err := c.TLS.load()
		if err != nil {
			return nil, err
		}
		opts = append(opts, nats.Secure(tc))
	}
	return opts, nil
}

func (t *TLSConfig) load() (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: t.ServerName}
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, fmt.Errorf("%w: tls.ca_file: %v", ErrInvalidConfig, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%w: tls.ca_file: no certificates in %s", ErrInvalidConfig, t.CAFile)
		}
		tc.RootCAs = pool
	}
	if t.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("%w: tls.cert_file: %v", ErrInvalidConfig, err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}
