package flatjson_test

import (
	"encoding/json"
	"math"
	"testing"

	"github.com/roseybot/rosey/internal/flatjson"
)

func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "hello", "🎲 Rolled 2d6: [3, 5] = 8", "a\"b", "<b>", "x\u2028y", "\xff", "tab\t", "é"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := flatjson.AppendString([]byte("x"), s)
		if !ok {
			if string(got) != "x" {
				t.Fatalf("declined %q but appended", s)
			}
			return
		}
		want, _ := json.Marshal(s)
		if string(got[1:]) != string(want) {
			t.Fatalf("%q: got %s, encoding/json %s", s, got[1:], want)
		}
	})
}

func FuzzAppendFloat(f *testing.F) {
	for _, v := range []float64{0, 1, -1, 3, 1.5, 0.1, 1e20, 1e21, 1e-6, 1e-7, 1 << 53, math.Copysign(0, -1), 123456.789} {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v float64) {
		got, ok := flatjson.AppendFloat(nil, v)
		if !ok {
			return
		}
		want, err := json.Marshal(v)
		if err != nil || string(got) != string(want) {
			t.Fatalf("%v: got %s, encoding/json %s (%v)", v, got, want, err)
		}
	})
}
