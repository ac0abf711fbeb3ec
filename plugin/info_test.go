package plugin_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/matryer/is"

	"github.com/roseybot/rosey/plugin"
)

// TestInfoValidateCommandWords: a command and its aliases are lower-case
// words of 1 to 32 letters (any script), digits, '-' or '_'.
func TestInfoValidateCommandWords(t *testing.T) {
	for _, tc := range []struct {
		word string
		ok   bool
	}{
		{"roll", true},
		{"8ball", true},
		{"quote-add", true},
		{"top_10", true},
		{"dé", true},
		{"日本", true},
		{"٣", true}, // an Arabic-Indic digit
		{strings.Repeat("a", 32), true},
		{strings.Repeat("é", 32), true}, // runes are counted, not bytes
		{strings.Repeat("a", 33), false},
		{"", false},
		{"Roll", false},
		{"two words", false},
		{"!roll", false},
		{"a.b", false},
		{"🎲", false},
		{"a\xff", false}, // not UTF-8
	} {
		t.Run(tc.word, func(t *testing.T) {
			is := is.New(t)
			info := plugin.Info{Name: "p", Commands: []plugin.Command{{Name: "go", Aliases: []string{tc.word}}}}
			err := info.Validate()
			if tc.ok {
				is.NoErr(err)
				return
			}
			is.True(errors.Is(err, plugin.ErrInvalidInfo))
		})
	}
}
