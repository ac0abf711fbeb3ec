package handled_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/roseybot/rosey/internal/handled"
)

// A burst of lines does not push out a line whose command is served late:
// Wait finds it at once rather than waiting its whole max. (Before, only
// the last 1024 ids were kept, and !seen under load waited 2s per command.)
func TestHandledKeepsRecentLinesThroughABurst(t *testing.T) {
	var h handled.IDs
	for i := range 20000 {
		h.Mark("line-" + strconv.Itoa(i))
	}
	done := make(chan struct{})
	go func() {
		h.Wait(context.Background(), "line-0", time.Hour)
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(time.Minute):
		t.Fatal("Wait did not find a line marked a moment ago, 20000 lines back")
	}
}

// Wait returns once the line is marked, and at max when it never is.
func TestHandledWaitsForItsLine(t *testing.T) {
	var h handled.IDs
	done := make(chan struct{})
	go func() {
		h.Wait(context.Background(), "late", time.Hour)
		close(done)
	}()
	h.Mark("other")
	select {
	case <-done:
		t.Fatal("Wait returned before its line was marked")
	case <-time.After(50 * time.Millisecond):
	}
	h.Mark("late")
	select {
	case <-done:
	case <-time.After(time.Minute):
		t.Fatal("Wait did not return once its line was marked")
	}
	h.Wait(context.Background(), "never", time.Millisecond) // returns at max
}

// Once a burst is over and no line comes, IDs lets its ids go after their
// time (keeping the last 1024): a quiet channel does not hold a busy
// spell's ids, megabytes of them, for as long as it stays quiet.
func TestHandledLetsABurstGoWhenQuiet(t *testing.T) {
	var h handled.IDs
	for i := range 20000 {
		h.Mark("line-" + strconv.Itoa(i))
	}
	if n := h.Len(); n < 1024 {
		t.Fatalf("%d ids kept right after the burst", n)
	}
	deadline := time.Now().Add(time.Minute)
	for h.Len() > 1024 {
		if time.Now().After(deadline) {
			t.Fatalf("%d ids still kept a minute after the burst", h.Len())
		}
		time.Sleep(100 * time.Millisecond)
	}
	done := make(chan struct{})
	go func() {
		h.Wait(context.Background(), "line-19999", time.Hour)
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(time.Minute):
		t.Fatal("the last line of the burst was forgotten too")
	}
}
