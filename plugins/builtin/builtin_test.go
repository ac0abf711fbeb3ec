package builtin_test

import (
	"testing"

	"github.com/roseybot/rosey/plugins/builtin"
)

// TestCommandWordsAreUnique: no two built-in plugins claim the same
// command word (name or alias), so every one of them answers its own.
func TestCommandWordsAreUnique(t *testing.T) {
	owner := map[string]string{}
	for _, p := range builtin.All() {
		info := p.Info()
		if err := info.Validate(); err != nil {
			t.Error(err)
		}
		for _, c := range info.Commands {
			for _, w := range append([]string{c.Name}, c.Aliases...) {
				if o, ok := owner[w]; ok {
					t.Errorf("!%s is claimed by %s and %s", w, o, info.Name)
				}
				owner[w] = info.Name
			}
		}
	}
}
