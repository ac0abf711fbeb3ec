package marketplace

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/roseybot/rosey/plugin"
)

// Catalogue is an index of plugins, a JSON file served by URL or kept on
// disk (docs/PLUGINS.md shows one).
type Catalogue struct {
	// Name names the catalogue in search results.
	Name        string  `json:"name"`
	Description string  `json:"description,omitempty"`
	Plugins     []Entry `json:"plugins"`
	// From is where the catalogue was read.
	From string `json:"-"`
}

// Entry is one plugin in a catalogue. Exactly one of Go and NPM is its
// source.
type Entry struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	// Go is the import path of the plugin's main package, as go install
	// takes it.
	Go string `json:"go,omitempty"`
	// NPM is the npm package's name.
	NPM string `json:"npm,omitempty"`
	// Versions are the published versions (v1.2.3 for Go modules, 1.2.3
	// for npm); the highest that is not a pre-release is the default.
	Versions    []string `json:"versions"`
	Commands    []string `json:"commands,omitempty"`
	Subjects    Subjects `json:"subjects"`
	MinProtocol int      `json:"min_protocol,omitempty"`
	License     string   `json:"license,omitempty"`
	Homepage    string   `json:"homepage,omitempty"`
}

// Source is the entry's source as install takes it: the Go import path,
// or npm:<package>.
func (e Entry) Source() string {
	if e.NPM != "" {
		return "npm:" + e.NPM
	}
	return e.Go
}

// Latest is the highest version that is not a pre-release (the highest
// pre-release when there is nothing else), or "".
func (e Entry) Latest() string { return latest(e.Versions) }

//go:embed catalogue.json
var shipped []byte

// Shipped is the catalogue that comes with Rosey, listing the project's
// own example plugins, so search works with no network.
func Shipped() *Catalogue {
	c, err := ParseCatalogue(shipped)
	if err != nil {
		panic("marketplace: the shipped catalogue is bad: " + err.Error()) // a test guards this
	}
	c.From = "shipped with Rosey"
	return c
}

// ParseCatalogue reads and checks a catalogue.
func ParseCatalogue(b []byte) (*Catalogue, error) {
	var c Catalogue
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCatalogue, err)
	}
	seen := map[string]bool{}
	for i, e := range c.Plugins {
		if err := (plugin.Info{Name: e.Name}).Validate(); err != nil {
			return nil, fmt.Errorf("%w: plugins[%d]: %v", ErrCatalogue, i, err)
		}
		if seen[e.Name] {
			return nil, fmt.Errorf("%w: plugins[%d]: %s is listed twice", ErrCatalogue, i, e.Name)
		}
		seen[e.Name] = true
		if (e.Go == "") == (e.NPM == "") {
			return nil, fmt.Errorf("%w: plugins[%d] (%s): give exactly one of go and npm", ErrCatalogue, i, e.Name)
		}
		if len(e.Versions) == 0 {
			return nil, fmt.Errorf("%w: plugins[%d] (%s): no versions", ErrCatalogue, i, e.Name)
		}
		for _, s := range slices.Concat(e.Subjects.Publish, e.Subjects.Subscribe) {
			if err := checkSubject(s); err != nil {
				return nil, fmt.Errorf("%w: plugins[%d] (%s): subjects: %v", ErrCatalogue, i, e.Name, err)
			}
		}
	}
	return &c, nil
}

// LoadCatalogue reads a catalogue from an http(s) URL or a file.
func LoadCatalogue(ctx context.Context, client *http.Client, src string) (*Catalogue, error) {
	var b []byte
	if strings.HasPrefix(src, "http://") || strings.HasPrefix(src, "https://") {
		if client == nil {
			client = http.DefaultClient
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, src, nil)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrCatalogue, src, err)
		}
		res, err := client.Do(req)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrCatalogue, src, err)
		}
		defer res.Body.Close()
		if res.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("%w: %s: %s", ErrCatalogue, src, res.Status)
		}
		if b, err = io.ReadAll(io.LimitReader(res.Body, 16<<20)); err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrCatalogue, src, err)
		}
	} else {
		var err error
		if b, err = os.ReadFile(strings.TrimPrefix(src, "file://")); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrCatalogue, err)
		}
	}
	c, err := ParseCatalogue(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", src, err)
	}
	c.From = src
	return c, nil
}

// Hit is a search result: an entry and the catalogue listing it.
type Hit struct {
	Entry
	Catalogue string `json:"catalogue"`
}

// Search returns the entries in which every word occurs (ignoring case)
// in the name, description, commands or source; no words lists all. An
// entry in several catalogues is listed from the first.
func Search(cats []*Catalogue, words ...string) []Hit {
	var out []Hit
	seen := map[string]bool{}
	for _, c := range cats {
		for _, e := range c.Plugins {
			if seen[e.Name] {
				continue
			}
			text := strings.ToLower(strings.Join(append([]string{e.Name, e.Description, e.Source()}, e.Commands...), " "))
			if !slices.ContainsFunc(words, func(w string) bool { return !strings.Contains(text, strings.ToLower(w)) }) {
				seen[e.Name] = true
				out = append(out, Hit{Entry: e, Catalogue: cmpOr(c.Name, c.From)})
			}
		}
	}
	slices.SortFunc(out, func(a, b Hit) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// Lookup finds the entry called name in the first catalogue listing it.
func Lookup(cats []*Catalogue, name string) (Entry, bool) {
	for _, c := range cats {
		for _, e := range c.Plugins {
			if e.Name == name {
				return e, true
			}
		}
	}
	return Entry{}, false
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// latest returns the highest release in versions, or the highest
// pre-release when there is no release.
func latest(versions []string) string {
	var best, bestPre string
	for _, v := range versions {
		if strings.Contains(v, "-") {
			if bestPre == "" || compareVersions(v, bestPre) > 0 {
				bestPre = v
			}
		} else if best == "" || compareVersions(v, best) > 0 {
			best = v
		}
	}
	return cmpOr(best, bestPre)
}

// compareVersions orders semantic versions, with or without a leading v:
// numbers by value, a pre-release before its release, build metadata
// ignored.
func compareVersions(a, b string) int {
	split := func(v string) ([]int, string) {
		v = strings.TrimPrefix(v, "v")
		v, _, _ = strings.Cut(v, "+")
		core, pre, _ := strings.Cut(v, "-")
		var nums []int
		for _, f := range strings.Split(core, ".") {
			n, _ := strconv.Atoi(f)
			nums = append(nums, n)
		}
		for len(nums) < 3 {
			nums = append(nums, 0)
		}
		return nums, pre
	}
	an, ap := split(a)
	bn, bp := split(b)
	if c := slices.Compare(an, bn); c != 0 {
		return c
	}
	switch {
	case ap == bp:
		return 0
	case ap == "":
		return 1
	case bp == "":
		return -1
	}
	return strings.Compare(ap, bp)
}
