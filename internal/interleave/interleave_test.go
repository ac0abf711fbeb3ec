package interleave_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/matryer/is"

	"github.com/roseybot/rosey/internal/interleave"
)

func TestTimesAlternatesSlicesAndCountsEveryCall(t *testing.T) {
	is := is.New(t)
	var order []string
	var seen [2][]int
	op := func(name string, j int) func(int) error {
		return func(i int) error {
			if len(order) == 0 || order[len(order)-1] != name {
				order = append(order, name)
			}
			seen[j] = append(seen[j], i)
			return nil
		}
	}
	got, err := interleave.Times(100, op("a", 0), op("b", 1))
	is.NoErr(err)
	is.Equal(len(got), 2)
	is.True(got[0] > 0 && got[1] > 0)
	is.Equal(len(order), 2*interleave.Slices) // a, b, a, b, …: one switch per slice
	is.Equal(order[0], "a")
	is.Equal(order[1], "b")
	want := make([]int, 100)
	for i := range want {
		want[i] = i
	}
	is.True(slices.Equal(seen[0], want)) // each op saw every index once, in order
	is.True(slices.Equal(seen[1], want))
}

func TestTimesStopsAtTheFirstError(t *testing.T) {
	is := is.New(t)
	boom := errors.New("boom")
	calls := 0
	_, err := interleave.Ratio(100, func(int) error { return nil }, func(i int) error {
		calls++
		if i == 3 {
			return boom
		}
		return nil
	})
	is.True(errors.Is(err, boom))
	is.Equal(calls, 4)
}
