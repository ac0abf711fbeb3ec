package embedded_test

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/matryer/is"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"

	"github.com/roseybot/rosey/eventbus"
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

// TestListeningServerRequiresCredentials checks the default of a server
// with a listener: a connection without credentials is refused, the
// in-process bus gets the generated credentials, another process gets them
// from the seed file (0600, reused on the next start); NoAuth, NoListen and
// a config file with users of its own generate none.
func TestListeningServerRequiresCredentials(t *testing.T) {
	is := is.New(t)
	ctx := context.Background()
	seedFile := filepath.Join(t.TempDir(), "sub", "nats.nkey")
	srv, err := embedded.Start(ctx, embedded.Config{Listen: "127.0.0.1:0", SeedFile: seedFile})
	is.NoErr(err)
	_, err = nats.Connect(srv.ClientURL())
	is.True(errors.Is(err, nats.ErrAuthorization))
	bus, err := eventbus.Connect(ctx, srv.BusConfig("in-process"))
	is.NoErr(err)
	is.NoErr(bus.Close(ctx))
	file, generated := srv.Credentials()
	is.True(generated)
	is.Equal(file, seedFile)
	fi, err := os.Stat(seedFile)
	is.NoErr(err)
	is.Equal(fi.Mode().Perm(), os.FileMode(0o600))
	bus, err = eventbus.Connect(ctx, eventbus.Config{URLs: []string{srv.ClientURL()}, NKeyFile: seedFile})
	is.NoErr(err)
	is.NoErr(bus.Close(ctx))
	is.NoErr(srv.Shutdown(ctx))

	// The next start keeps the same credentials, and tightens a file
	// someone made readable by others.
	is.NoErr(os.Chmod(seedFile, 0o644))
	srv, err = embedded.Start(ctx, embedded.Config{Listen: "127.0.0.1:0", SeedFile: seedFile})
	is.NoErr(err)
	bus, err = eventbus.Connect(ctx, eventbus.Config{URLs: []string{srv.ClientURL()}, NKeyFile: seedFile})
	is.NoErr(err)
	is.NoErr(bus.Close(ctx))
	fi, err = os.Stat(seedFile)
	is.NoErr(err)
	is.Equal(fi.Mode().Perm(), os.FileMode(0o600))
	is.NoErr(srv.Shutdown(ctx))

	// Without a file the credentials stay in memory, for this process.
	srv, err = embedded.Start(ctx, embedded.Config{Listen: "127.0.0.1:0"})
	is.NoErr(err)
	_, err = nats.Connect(srv.ClientURL())
	is.True(errors.Is(err, nats.ErrAuthorization))
	bus, err = eventbus.Connect(ctx, srv.BusConfig("in-process"))
	is.NoErr(err)
	is.NoErr(bus.Close(ctx))
	is.NoErr(srv.Shutdown(ctx))

	// NoAuth: development only, anyone local may connect.
	srv, err = embedded.Start(ctx, embedded.Config{Listen: "127.0.0.1:0", NoAuth: true, SeedFile: filepath.Join(t.TempDir(), "unused")})
	is.NoErr(err)
	nc, err := nats.Connect(srv.ClientURL())
	is.NoErr(err)
	nc.Close()
	_, generated = srv.Credentials()
	is.True(!generated)
	is.NoErr(srv.Shutdown(ctx))

	// A config file with users of its own: those are the credentials.
	conf := filepath.Join(t.TempDir(), "users.conf")
	is.NoErr(os.WriteFile(conf, []byte(`authorization { users: [{user: a, password: b}] }`), 0o600))
	srv, err = embedded.Start(ctx, embedded.Config{Listen: "127.0.0.1:0", ConfigFile: conf, SeedFile: filepath.Join(t.TempDir(), "unused")})
	is.NoErr(err)
	_, generated = srv.Credentials()
	is.True(!generated)
	nc, err = nats.Connect(srv.ClientURL(), nats.UserInfo("a", "b"))
	is.NoErr(err)
	nc.Close()
	is.NoErr(srv.Shutdown(ctx))
}

// TestSetUsers adds a user with a few subjects to a running server: it may
// use those and is refused the rest; the bot keeps every right; removing
// the user closes its connection and refuses it from then on.
func TestSetUsers(t *testing.T) {
	is := is.New(t)
	ctx := context.Background()
	srv, err := embedded.Start(ctx, embedded.Config{Listen: "127.0.0.1:0", SeedFile: filepath.Join(t.TempDir(), "bot.nkey")})
	is.NoErr(err)
	defer srv.Shutdown(ctx)

	kp, err := nkeys.CreateUser()
	is.NoErr(err)
	pub, _ := kp.PublicKey()
	seed, _ := kp.Seed()
	seedFile := filepath.Join(t.TempDir(), "plugin.nkey")
	is.NoErr(os.WriteFile(seedFile, seed, 0o600))
	opt, err := nats.NkeyOptionFromSeed(seedFile)
	is.NoErr(err)
	_, err = nats.Connect(srv.ClientURL(), opt)
	is.True(err != nil) // not a user yet

	is.NoErr(srv.SetUsers([]embedded.User{{NKey: pub, Publish: []string{"allowed.>"}, Subscribe: []string{"mine.>"}}}))
	refused := make(chan error, 8)
	closed := make(chan struct{})
	nc, err := nats.Connect(srv.ClientURL(), opt,
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) { refused <- err }),
		nats.NoReconnect(), nats.ClosedHandler(func(*nats.Conn) { close(closed) }))
	is.NoErr(err)
	defer nc.Close()

	bot, err := eventbus.Connect(ctx, srv.BusConfig("bot"))
	is.NoErr(err)
	defer bot.Close(ctx)
	got := make(chan *nats.Msg, 1)
	_, err = bot.Conn().ChanSubscribe("allowed.x", got)
	is.NoErr(err)
	is.NoErr(bot.Conn().Flush())
	is.NoErr(nc.Publish("allowed.x", []byte("hi")))
	select {
	case m := <-got:
		is.Equal(string(m.Data), "hi")
	case <-time.After(10 * time.Second):
		t.Fatal("the allowed message never came")
	}
	is.NoErr(nc.Publish("cytube.send.chat", []byte("nope")))
	_, err = nc.SubscribeSync("cytube.chat")
	is.NoErr(err)
	for range 2 {
		select {
		case err := <-refused:
			is.True(errors.Is(err, nats.ErrPermissionViolation))
		case <-time.After(10 * time.Second):
			t.Fatal("no permissions violation")
		}
	}

	is.True(srv.SetUsers([]embedded.User{{NKey: "not-a-key"}}) != nil)
	is.NoErr(srv.SetUsers(nil))
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("the removed user is still connected")
	}
	_, err = nats.Connect(srv.ClientURL(), opt)
	is.True(err != nil)
	is.True(bot.Conn().IsConnected())

	open, err := embedded.Start(ctx, embedded.Config{Listen: "127.0.0.1:0", NoAuth: true})
	is.NoErr(err)
	defer open.Shutdown(ctx)
	is.True(errors.Is(open.SetUsers(nil), embedded.ErrUsers))
}
