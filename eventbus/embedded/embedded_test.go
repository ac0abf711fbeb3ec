package embedded_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/roseybot/rosey/eventbus/embedded"
)

func TestTakenPortFailsAtOnce(t *testing.T) {
	is := is.New(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	is.NoErr(err)
	defer l.Close()
	start := time.Now()
	_, err = embedded.Start(context.Background(), embedded.Config{Listen: l.Addr().String()})
	is.True(errors.Is(err, embedded.ErrStart))
	is.True(strings.Contains(err.Error(), l.Addr().String()))
	is.True(time.Since(start) < 5*time.Second) // not the ten-second readiness wait
}

func TestRandomPortAndNoListener(t *testing.T) {
	is := is.New(t)
	ctx := context.Background()
	srv, err := embedded.Start(ctx, embedded.Config{Listen: "127.0.0.1:0"})
	is.NoErr(err)
	is.True(strings.HasPrefix(srv.ClientURL(), "nats://127.0.0.1:"))
	is.True(!strings.HasSuffix(srv.ClientURL(), ":0"))
	is.NoErr(srv.Shutdown(ctx))

	srv, err = embedded.Start(ctx, embedded.Config{NoListen: true})
	is.NoErr(err)
	is.Equal(srv.ClientURL(), "")
	is.NoErr(srv.Shutdown(ctx))
}

func TestBadListenAddress(t *testing.T) {
	is := is.New(t)
	for _, addr := range []string{"nonsense", "127.0.0.1:99999", "127.0.0.1:port"} {
		_, err := embedded.Start(context.Background(), embedded.Config{Listen: addr})
		is.True(errors.Is(err, embedded.ErrStart))
	}
}
