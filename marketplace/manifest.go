package marketplace

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/roseybot/rosey/plugin"
)

// ManifestFile is the manifest's file name: in a Go plugin, in the
// directory of its main package; in a Node plugin, at the package's root.
const ManifestFile = "rosey-plugin.json"

// ProtocolVersion is the version of the wire contract (docs/PROTOCOL.md)
// this Rosey speaks. A plugin whose manifest asks for a higher
// min_protocol is refused.
const ProtocolVersion = 1

// Errors the marketplace returns; each message says more.
var (
	ErrManifest     = errors.New("marketplace: bad manifest")
	ErrNotFound     = errors.New("marketplace: no such plugin")
	ErrNoVersion    = errors.New("marketplace: no such version")
	ErrProtocol     = errors.New("marketplace: incompatible protocol version")
	ErrClash        = errors.New("marketplace: name already taken")
	ErrBuild        = errors.New("marketplace: build failed")
	ErrNotInstalled = errors.New("marketplace: not installed")
	ErrCatalogue    = errors.New("marketplace: bad catalogue")
	ErrSource       = errors.New("marketplace: bad source")
	ErrDeclined     = errors.New("marketplace: declined")
)

// Manifest is what a plugin says about itself in ManifestFile, read
// without running any of its code: its Info (name, version, description,
// commands, as in docs/PROTOCOL.md §5, which plugin.Serve checks against
// the running plugin's), the protocol version it needs, its licence, and
// the subjects it needs beyond those every plugin gets.
type Manifest struct {
	plugin.Info
	// MinProtocol is the lowest ProtocolVersion the plugin works with;
	// 0 means 1.
	MinProtocol int    `json:"min_protocol,omitempty"`
	License     string `json:"license,omitempty"`
	// Subjects are the NATS subjects the plugin needs besides its own
	// (see Permissions), without the bot's subject prefix.
	Subjects Subjects `json:"subjects"`
	// Main is a Node plugin's script, relative to its package; empty
	// means the package.json "main", or index.js.
	Main string `json:"main,omitempty"`
}

// Subjects are subjects a plugin may publish to and subscribe to.
type Subjects struct {
	Publish   []string `json:"publish"`
	Subscribe []string `json:"subscribe"`
}

// ParseManifest reads and validates a manifest.
func ParseManifest(b []byte) (Manifest, error) {
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return Manifest{}, fmt.Errorf("%w: %v", ErrManifest, err)
	}
	return m, m.Validate()
}

// Validate checks the Info, the protocol version and the subjects.
func (m Manifest) Validate() error {
	if err := m.Info.Validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrManifest, err)
	}
	if m.MinProtocol < 0 {
		return fmt.Errorf("%w: %s: min_protocol %d is negative", ErrManifest, m.Name, m.MinProtocol)
	}
	for _, s := range slices.Concat(m.Subjects.Publish, m.Subjects.Subscribe) {
		if err := checkSubject(s); err != nil {
			return fmt.Errorf("%w: %s: subjects: %w", ErrManifest, m.Name, err)
		}
	}
	if strings.Contains(m.Main, "..") || strings.HasPrefix(m.Main, "/") {
		return fmt.Errorf("%w: %s: main %q must stay inside the package", ErrManifest, m.Name, m.Main)
	}
	return nil
}

// Compatible reports ErrProtocol when the plugin needs a newer protocol
// than this Rosey speaks.
func (m Manifest) Compatible() error {
	if m.MinProtocol > ProtocolVersion {
		return fmt.Errorf("%w: %s %s needs Rosey protocol %d; this Rosey speaks %d (upgrade Rosey first)",
			ErrProtocol, m.Name, m.Version, m.MinProtocol, ProtocolVersion)
	}
	return nil
}

// checkSubject refuses what is not a NATS subject, and the grants no
// plugin gets however it asks: everything, other clients' inboxes, the
// server's own subjects.
func checkSubject(s string) error {
	if s == "" || strings.ContainsAny(s, " \t\r\n") {
		return fmt.Errorf("%q is not a NATS subject", s)
	}
	toks := strings.Split(s, ".")
	for i, t := range toks {
		if t == "" || (t == ">" && i != len(toks)-1) || (strings.ContainsAny(t, "*>") && len(t) > 1) {
			return fmt.Errorf("%q is not a NATS subject", s)
		}
	}
	switch {
	case toks[0] == ">" || toks[0] == "*":
		return fmt.Errorf("%q would grant every subject", s)
	case toks[0] == "_INBOX" || strings.HasPrefix(toks[0], "$"):
		return fmt.Errorf("%q is not grantable: inboxes and the server's subjects are given as the plugin needs them", s)
	}
	return nil
}
