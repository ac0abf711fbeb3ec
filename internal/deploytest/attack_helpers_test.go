package deploytest_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
)

// intruder is a raw NATS connection logged in as some user, recording the
// errors the server sends it (permissions violations arrive asynchronously).
type intruder struct {
	t    *testing.T
	nc   *nats.Conn
	errs chan error
}

// connectAs logs in to url as user; opts may add options (an inbox prefix).
func connectAs(t *testing.T, url, user, password string, opts ...nats.Option) *intruder {
	t.Helper()
	in := &intruder{t: t, errs: make(chan error, 4096)}
	opts = append([]nats.Option{
		nats.UserInfo(user, password),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) { in.errs <- err }),
	}, opts...)
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		t.Fatalf("connect as %s: %v", user, err)
	}
	t.Cleanup(nc.Close)
	in.nc = nc
	return in
}

// refused waits for the server's permissions violation for what
// ("subscription" or "publish") on subject.
func (in *intruder) refused(what, subject string) {
	in.t.Helper()
	want := "permissions violation for " + what + ` to "` + strings.ToLower(subject) + `"`
	deadline := time.After(10 * time.Second)
	for {
		select {
		case err := <-in.errs:
			if errors.Is(err, nats.ErrPermissionViolation) && strings.Contains(strings.ToLower(err.Error()), want) {
				return
			}
			if !errors.Is(err, nats.ErrPermissionViolation) {
				in.t.Logf("other error: %v", err)
			}
		case <-deadline:
			in.t.Fatalf("no refusal: %s", want)
		}
	}
}

// subscribeRefused subscribes to subject, expects the server to refuse it,
// and returns the channel the subscription would have delivered to.
func (in *intruder) subscribeRefused(subject string) <-chan *nats.Msg {
	in.t.Helper()
	ch := make(chan *nats.Msg, 1024)
	if _, err := in.nc.ChanSubscribe(subject, ch); err != nil {
		in.t.Fatalf("subscribe %s: %v", subject, err)
	}
	if err := in.nc.Flush(); err != nil {
		in.t.Fatalf("flush: %v", err)
	}
	in.refused("subscription", subject)
	return ch
}

// publishRefused publishes body on subject and expects the server to refuse it.
func (in *intruder) publishRefused(subject, body string) {
	in.t.Helper()
	if err := in.nc.Publish(subject, []byte(body)); err != nil {
		in.t.Fatalf("publish %s: %v", subject, err)
	}
	if err := in.nc.Flush(); err != nil {
		in.t.Fatalf("flush: %v", err)
	}
	in.refused("publish", subject)
}

// noErrors fails the test if the server refused anything else so far.
func (in *intruder) noErrors() {
	in.t.Helper()
	select {
	case err := <-in.errs:
		in.t.Fatalf("refused: %v", err)
	default:
	}
}
