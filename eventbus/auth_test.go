package eventbus_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/matryer/is"
	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nkeys"

	"github.com/roseybot/rosey/eventbus"
	"github.com/roseybot/rosey/eventbus/embedded"
)

// writeCert makes a self-signed certificate for 127.0.0.1 and returns the
// paths of the certificate and its key.
func writeCert(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "rosey test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:              []string{"localhost"},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

// TestExternalServerAuthAndTLS connects to a server needing TLS and
// authentication, the way a bot joins an external NATS cluster: with
// user/password, a token-less nkey, and TLS verified against a CA file.
// Wrong credentials and an untrusted server are refused.
func TestExternalServerAuthAndTLS(t *testing.T) {
	is := is.New(t)
	dir := t.TempDir()
	certFile, keyFile := writeCert(t, dir)
	seed, pub := newNKey(t)
	seedFile := filepath.Join(dir, "user.nk")
	is.NoErr(os.WriteFile(seedFile, seed, 0o600))
	conf := filepath.Join(dir, "server.conf")
	is.NoErr(os.WriteFile(conf, []byte(fmt.Sprintf(`
tls { cert_file: %q, key_file: %q }
authorization {
  users: [
    {user: "bot", password: "s3cret"}
    {nkey: %q}
  ]
}
`, certFile, keyFile, pub)), 0o600))
	srv, err := embedded.Start(context.Background(), embedded.Config{ConfigFile: conf, Listen: "127.0.0.1:0"})
	is.NoErr(err)
	defer srv.Shutdown(context.Background())
	url := srv.ClientURL()
	tlsCfg := &eventbus.TLSConfig{CAFile: certFile}

	roundTrip := func(cfg eventbus.Config) error {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		bus, err := eventbus.Connect(ctx, cfg)
		if err != nil {
			return err
		}
		defer bus.Close(ctx)
		if _, err := bus.Subscribe("auth.echo", func(ctx context.Context, ev *eventbus.Event) { _ = bus.Respond(ctx, ev, ev.Data) }); err != nil {
			return err
		}
		rep, err := bus.Request(ctx, "auth.echo", map[string]string{"hello": "tls"})
		if err != nil {
			return err
		}
		if string(rep.Data) != `{"hello":"tls"}` {
			return fmt.Errorf("echo: got %s", rep.Data)
		}
		return nil
	}

	is.NoErr(roundTrip(eventbus.Config{URLs: []string{url}, User: "bot", Password: "s3cret", TLS: tlsCfg}))
	is.NoErr(roundTrip(eventbus.Config{URLs: []string{url}, NKeyFile: seedFile, TLS: tlsCfg}))

	// Refusals: wrong password, no credentials, a server not signed by the CA.
	is.True(roundTrip(eventbus.Config{URLs: []string{url}, User: "bot", Password: "nope", TLS: tlsCfg}) != nil)
	is.True(roundTrip(eventbus.Config{URLs: []string{url}, TLS: tlsCfg}) != nil)
	otherCert, _ := writeCert(t, t.TempDir())
	err = roundTrip(eventbus.Config{URLs: []string{url}, User: "bot", Password: "s3cret", TLS: &eventbus.TLSConfig{CAFile: otherCert}})
	is.True(err != nil)

	// Configuration mistakes are caught before dialling, naming the field.
	err = roundTrip(eventbus.Config{URLs: []string{url}, NKeyFile: filepath.Join(dir, "missing.nk")})
	is.True(errors.Is(err, eventbus.ErrInvalidConfig))
	err = roundTrip(eventbus.Config{URLs: []string{url}, TLS: &eventbus.TLSConfig{CAFile: filepath.Join(dir, "missing.pem")}})
	is.True(errors.Is(err, eventbus.ErrInvalidConfig))
}

func TestTokenAuth(t *testing.T) {
	is := is.New(t)
	conf := filepath.Join(t.TempDir(), "server.conf")
	is.NoErr(os.WriteFile(conf, []byte(`authorization { token: "t0ken" }`), 0o600))
	srv, err := embedded.Start(context.Background(), embedded.Config{ConfigFile: conf, Listen: "127.0.0.1:0"})
	is.NoErr(err)
	defer srv.Shutdown(context.Background())
	ctx := context.Background()
	bus, err := eventbus.Connect(ctx, eventbus.Config{URLs: []string{srv.ClientURL()}, Token: "t0ken"})
	is.NoErr(err)
	is.NoErr(bus.Close(ctx))
	_, err = eventbus.Connect(ctx, eventbus.Config{URLs: []string{srv.ClientURL()}, Token: "wrong"})
	is.True(err != nil)
}

func newNKey(t *testing.T) (seed []byte, public string) {
	t.Helper()
	kp, err := nkeys.CreateUser()
	if err != nil {
		t.Fatal(err)
	}
	seed, err = kp.Seed()
	if err != nil {
		t.Fatal(err)
	}
	public, err = kp.PublicKey()
	if err != nil {
		t.Fatal(err)
	}
	return seed, public
}

// TestCredentialsFileAuth connects with a .creds file (a user JWT and its
// nkey seed) to a server in operator mode, the way NGS or any
// decentralised-auth cluster is joined. A user of an account the server
// does not trust is refused.
func TestCredentialsFileAuth(t *testing.T) {
	is := is.New(t)
	dir := t.TempDir()
	op, err := nkeys.CreateOperator()
	is.NoErr(err)
	opPub, _ := op.PublicKey()
	opJWT, err := jwt.NewOperatorClaims(opPub).Encode(op)
	is.NoErr(err)

	// creds makes an account signed by signer and a user of it, and
	// returns the account's public key, its JWT and a .creds file.
	creds := func(signer nkeys.KeyPair, name string) (string, string, string) {
		acc, err := nkeys.CreateAccount()
		is.NoErr(err)
		accPub, _ := acc.PublicKey()
		accJWT, err := jwt.NewAccountClaims(accPub).Encode(signer)
		is.NoErr(err)
		user, err := nkeys.CreateUser()
		is.NoErr(err)
		userPub, _ := user.PublicKey()
		uc := jwt.NewUserClaims(userPub)
		uc.Name = name
		userJWT, err := uc.Encode(acc)
		is.NoErr(err)
		seed, _ := user.Seed()
		file, err := jwt.FormatUserConfig(userJWT, seed)
		is.NoErr(err)
		path := filepath.Join(dir, name+".creds")
		is.NoErr(os.WriteFile(path, file, 0o600))
		return accPub, accJWT, path
	}
	accPub, accJWT, good := creds(op, "bot")
	stranger, _ := nkeys.CreateOperator()
	_, _, bad := creds(stranger, "intruder")

	conf := filepath.Join(dir, "server.conf")
	is.NoErr(os.WriteFile(conf, []byte(fmt.Sprintf(`
operator: %q
resolver: MEMORY
resolver_preload: { %s: %q }
`, opJWT, accPub, accJWT)), 0o600))
	srv, err := embedded.Start(context.Background(), embedded.Config{ConfigFile: conf, Listen: "127.0.0.1:0"})
	is.NoErr(err)
	defer srv.Shutdown(context.Background())

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	bus, err := eventbus.Connect(ctx, eventbus.Config{URLs: []string{srv.ClientURL()}, CredentialsFile: good})
	is.NoErr(err)
	defer bus.Close(ctx)
	got := make(chan string, 1)
	_, err = bus.Subscribe("creds.hello", func(_ context.Context, ev *eventbus.Event) { got <- string(ev.Data) })
	is.NoErr(err)
	is.NoErr(bus.Publish(ctx, "creds.hello", map[string]string{"via": "jwt"}))
	select {
	case s := <-got:
		is.Equal(s, `{"via":"jwt"}`)
	case <-ctx.Done():
		t.Fatal("no message over a creds connection")
	}

	_, err = eventbus.Connect(ctx, eventbus.Config{URLs: []string{srv.ClientURL()}, CredentialsFile: bad})
	is.True(err != nil) // signed by an operator the server does not trust
	_, err = eventbus.Connect(ctx, eventbus.Config{URLs: []string{srv.ClientURL()}, CredentialsFile: filepath.Join(dir, "missing.creds")})
	is.True(errors.Is(err, eventbus.ErrInvalidConfig))
}

// TestInboxPrefix checks that requests of a bus with an inbox prefix are
// answered in that prefix (so a server may allow a user only its own
// replies), and that an unusable prefix is refused before dialling.
func TestInboxPrefix(t *testing.T) {
	is := is.New(t)
	srv := startServer(t)
	server := connect(t, srv, "server")
	replies := make(chan string, 1)
	_, err := server.Subscribe("echo", func(ctx context.Context, ev *eventbus.Event) {
		replies <- ev.Reply
		_ = server.Respond(ctx, ev, ev.Data)
	})
	is.NoErr(err)
	is.NoErr(server.Flush(context.Background()))
	client := connect(t, srv, "client", func(c *eventbus.Config) { c.InboxPrefix = "_INBOX.plugin.me" })
	_, err = client.Request(context.Background(), "echo", map[string]int{"n": 1})
	is.NoErr(err)
	is.True(strings.HasPrefix(receive(t, replies), "_INBOX.plugin.me."))

	for _, bad := range []string{"_INBOX.>", "_INBOX.*", "_INBOX.", ".x", "a b"} {
		err := eventbus.Config{URLs: []string{"nats://127.0.0.1:1"}, InboxPrefix: bad}.Validate()
		is.True(errors.Is(err, eventbus.ErrInvalidConfig))
	}
}
