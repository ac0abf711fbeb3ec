// Package interleave times operations in alternating slices, so that a
// noisy stretch of the machine affects each of them alike. Rosey's
// benchmarks report their figures as ratios against a baseline measured
// this way in the same run.
package interleave

import (
	"fmt"
	"time"
)

// Slices is how many alternating slices Times splits the calls into.
const Slices = 10

// Times calls each op n times (at least Slices), in Slices rounds that run
// a slice of each op in turn, and returns each op's mean nanoseconds per
// call. An op gets the index of its call, 0 to n-1. The first error stops
// the timing and is returned.
func Times(n int, ops ...func(i int) error) ([]float64, error) {
	slice := max(n/Slices, 1)
	total := make([]time.Duration, len(ops))
	for k := range Slices {
		for j, op := range ops {
			start := time.Now()
			for i := range slice {
				if err := op(k*slice + i); err != nil {
					return nil, fmt.Errorf("interleave: op %d, call %d: %w", j, k*slice+i, err)
				}
			}
			total[j] += time.Since(start)
		}
	}
	out := make([]float64, len(ops))
	for j, t := range total {
		out[j] = float64(t.Nanoseconds()) / float64(slice*Slices)
	}
	return out, nil
}

// Ratio is Times for op and base, returning op's time over base's.
func Ratio(n int, op, base func(i int) error) (float64, error) {
	t, err := Times(n, op, base)
	if err != nil {
		return 0, err
	}
	return t[0] / t[1], nil
}
