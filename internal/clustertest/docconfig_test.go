package clustertest

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/matryer/is"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"

	"github.com/roseybot/rosey/eventbus"
	"github.com/roseybot/rosey/eventbus/embedded"
)

// pki is a test certificate authority writing PEM files into dir.
type pki struct {
	t    *testing.T
	dir  string
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

func newPKI(t *testing.T) *pki {
	t.Helper()
	p := &pki{t: t, dir: t.TempDir()}
	p.cert, p.key = p.issue("ca.pem", "ca-key.pem", &x509.Certificate{
		Subject: pkix.Name{CommonName: "rosey test CA"}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	})
	return p
}

// issue signs tmpl with the CA (or itself, for the CA) and writes the
// certificate and key to the named files.
func (p *pki) issue(certName, keyName string, tmpl *x509.Certificate) (*x509.Certificate, *ecdsa.PrivateKey) {
	p.t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		p.t.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl.SerialNumber = serial
	tmpl.NotBefore, tmpl.NotAfter = time.Now().Add(-time.Hour), time.Now().Add(time.Hour)
	parent, signer := tmpl, key
	if p.cert != nil {
		parent, signer = p.cert, p.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, signer)
	if err != nil {
		p.t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		p.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(p.dir, certName), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		p.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(p.dir, keyName), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		p.t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return cert, key
}

func (p *pki) path(name string) string { return filepath.Join(p.dir, name) }

// TestDocumentedClusterConfigRequiresTLSAndCredentials takes the cluster
// server configuration from docs/DEPLOYMENT.md as it is written, fills in
// real certificates and nkeys, and runs it: a client without TLS, without
// a client certificate or without a listed nkey is refused, and one
// configured like the documented client file (nkey_file and tls) connects.
func TestDocumentedClusterConfigRequiresTLSAndCredentials(t *testing.T) {
	is := is.New(t)
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "DEPLOYMENT.md"))
	is.NoErr(err)
	_, rest, ok := strings.Cut(string(doc), "A minimal three-node cluster for nats-server")
	is.True(ok)
	_, rest, ok = strings.Cut(rest, "```\n")
	is.True(ok)
	conf, _, ok := strings.Cut(rest, "```")
	is.True(ok)

	ca := newPKI(t)
	localhost := &x509.Certificate{
		Subject: pkix.Name{CommonName: "n1"}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	ca.issue("n1.pem", "n1-key.pem", localhost)
	route := *localhost
	ca.issue("n1-route.pem", "n1-route-key.pem", &route)
	ca.issue("client.pem", "client-key.pem", &x509.Certificate{
		Subject: pkix.Name{CommonName: "plugins"}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	})

	// The documented file, with this test's paths, keys and ports.
	conf = strings.ReplaceAll(conf, "/etc/nats/", ca.dir+"/")
	conf = strings.ReplaceAll(conf, "0.0.0.0:4222", "127.0.0.1:"+strconv.Itoa(freePort(t)))
	conf = strings.ReplaceAll(conf, "0.0.0.0:6222", "127.0.0.1:"+strconv.Itoa(freePort(t)))
	conf = regexp.MustCompile(`routes: \[[^\]]*\]`).ReplaceAllString(conf, "routes: []") // a one-node "cluster"
	seeds := map[string]string{}
	conf = regexp.MustCompile(`\{nkey: (UA[A-Z]+)\.\.\.\}`).ReplaceAllStringFunc(conf, func(m string) string {
		kp, err := nkeys.CreateUser()
		is.NoErr(err)
		pub, _ := kp.PublicKey()
		seed, _ := kp.Seed()
		name := regexp.MustCompile(`UA[A-Z]+`).FindString(m)
		seeds[name] = string(seed)
		return "{nkey: " + pub + "}"
	})
	is.Equal(len(seeds), 3) // front, database, plugins
	file := filepath.Join(t.TempDir(), "n1.conf")
	is.NoErr(os.WriteFile(file, []byte(conf), 0o600))
	srv, err := embedded.Start(context.Background(), embedded.Config{ConfigFile: file})
	is.NoErr(err)
	defer srv.Shutdown(context.Background())
	url := srv.ClientURL()
	_, generated := srv.Credentials()
	is.True(!generated) // the file's users are the credentials

	seedFile := filepath.Join(t.TempDir(), "plugins.nk")
	is.NoErr(os.WriteFile(seedFile, []byte(seeds["UAPLUGINS"]), 0o600))
	otherSeed, _ := nkeys.CreateUser()
	other, _ := otherSeed.Seed()
	otherFile := filepath.Join(t.TempDir(), "other.nk")
	is.NoErr(os.WriteFile(otherFile, other, 0o600))
	tlsCfg := &eventbus.TLSConfig{CAFile: ca.path("ca.pem"), CertFile: ca.path("client.pem"), KeyFile: ca.path("client-key.pem")}
	connect := func(bc eventbus.Config) error {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		bc.URLs, bc.MaxReconnects = []string{url}, 1
		bus, err := eventbus.Connect(ctx, bc)
		if err == nil {
			err = bus.Close(ctx)
		}
		return err
	}

	is.NoErr(connect(eventbus.Config{NKeyFile: seedFile, TLS: tlsCfg}))                                               // as the documented client file
	is.True(connect(eventbus.Config{NKeyFile: seedFile}) != nil)                                                      // no TLS
	is.True(connect(eventbus.Config{NKeyFile: seedFile, TLS: &eventbus.TLSConfig{CAFile: ca.path("ca.pem")}}) != nil) // no client certificate
	is.True(connect(eventbus.Config{TLS: tlsCfg}) != nil)                                                             // no credentials
	is.True(connect(eventbus.Config{NKeyFile: otherFile, TLS: tlsCfg}) != nil)                                        // an nkey not listed
	_, err = nats.Connect(url)                                                                                        // plain text, nothing else
	is.True(err != nil)
}
