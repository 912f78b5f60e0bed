package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/crypto/bcrypt"
)

// testCA is a certificate authority made for one test.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pool *x509.CertPool
	file string // the CA certificate, PEM
}

// newCA makes a CA and writes its certificate to dir/name.crt.
func newCA(t *testing.T, dir, name string) *testCA {
	t.Helper()
	key := newKey(t)
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	ca := &testCA{cert: cert, key: key, pool: x509.NewCertPool(), file: filepath.Join(dir, name+".crt")}
	ca.pool.AddCert(cert)
	writePEM(t, ca.file, "CERTIFICATE", der)
	return ca
}

// issue signs a certificate for usage (server: for 127.0.0.1; client: for
// a scraper) and writes it and its key to dir/name.crt and dir/name.key.
func (ca *testCA) issue(t *testing.T, dir, name string, usage x509.ExtKeyUsage) (certFile, keyFile string, pair tls.Certificate) {
	t.Helper()
	key := newKey(t)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: name},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{usage},
	}
	if usage == x509.ExtKeyUsageServerAuth {
		tmpl.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1)}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, name+".crt"), filepath.Join(dir, name+".key")
	writePEM(t, certFile, "CERTIFICATE", der)
	writePEM(t, keyFile, "PRIVATE KEY", keyDER)
	pair, err = tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile, pair
}

func newKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

func writePEM(t *testing.T, path, kind string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

// testPKI is a CA, a server certificate for 127.0.0.1 and a client
// certificate it signed, and a client certificate of another CA.
type testPKI struct {
	dir                   string
	ca                    *testCA
	serverCert, serverKey string
	client, stranger      tls.Certificate
}

func newPKI(t *testing.T) *testPKI {
	t.Helper()
	p := &testPKI{dir: t.TempDir()}
	p.ca = newCA(t, p.dir, "ca")
	p.serverCert, p.serverKey, _ = p.ca.issue(t, p.dir, "server", x509.ExtKeyUsageServerAuth)
	_, _, p.client = p.ca.issue(t, p.dir, "client", x509.ExtKeyUsageClientAuth)
	_, _, p.stranger = newCA(t, p.dir, "other-ca").issue(t, p.dir, "stranger", x509.ExtKeyUsageClientAuth)
	return p
}

// bcryptHash hashes password at the lowest cost: the test is about the
// check, not the cost.
func bcryptHash(t *testing.T, password string) string {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return string(h)
}

// withCost is a bcrypt hash that claims cost (one that costly cannot be
// made in a test): a cheap hash with its cost field changed.
func withCost(t *testing.T, cost int) string {
	t.Helper()
	h := bcryptHash(t, "x") // $2a$04$...
	return fmt.Sprintf("%s%02d%s", h[:4], cost, h[6:])
}

// webConfigFile writes a web config of the parts given (tls, users,
// mtls) and returns its path.
func (p *testPKI) webConfigFile(t *testing.T, tlsOn, users, mtls bool) string {
	t.Helper()
	var b strings.Builder
	if tlsOn {
		fmt.Fprintf(&b, "tls_server_config:\n  cert_file: %s\n  key_file: %s\n", p.serverCert, p.serverKey)
		if mtls {
			fmt.Fprintf(&b, "  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: %s\n", p.ca.file)
		}
	}
	if users {
		fmt.Fprintf(&b, "basic_auth_users:\n  prometheus: %s\n", bcryptHash(t, "right"))
	}
	f, err := os.CreateTemp(p.dir, "web-*.yml")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(b.String()); err != nil {
		t.Fatal(err)
	}
	return f.Name()
}

// scrape is one client's GET of /metrics.
type scrape struct {
	scheme     string           // http or https
	trust      bool             // the client trusts the test CA
	cert       *tls.Certificate // the client's certificate, if any
	user, pass string           // basic auth, if user is set
}

// get scrapes addr and returns the status and body, or the error.
func (s scrape) get(addr string, p *testPKI) (int, string, error) {
	tlsConf := &tls.Config{MinVersion: tls.VersionTLS12}
	if s.trust {
		tlsConf.RootCAs = p.ca.pool
	}
	if s.cert != nil {
		// Sent whatever CAs the server names: crypto/tls would keep a
		// certificate of another CA to itself.
		tlsConf.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return s.cert, nil }
	}
	client := &http.Client{Timeout: bound, Transport: &http.Transport{TLSClientConfig: tlsConf}}
	defer client.CloseIdleConnections()
	req, err := http.NewRequest(http.MethodGet, s.scheme+"://"+addr+"/metrics", nil)
	if err != nil {
		return 0, "", err
	}
	if s.user != "" {
		req.SetBasicAuth(s.user, s.pass)
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), err
}

// TestWebConfigServing: --web.config.file turns on TLS, basic auth and
// client certificates, with certificates made in the test; each case
// scrapes a server set up as listen does.
func TestWebConfigServing(t *testing.T) {
	p := newPKI(t)
	g := prometheus.NewRegistry()
	g.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "web_test_up", Help: "1."}, func() float64 { return 1 }))
	type config struct{ tls, users, mtls bool }
	servers := map[config]string{}  // one server per config, shared by its cases
	addr := func(c config) string { // servers live as long as the whole test
		if servers[c] == "" {
			servers[c] = startWebConfig(t, g, testOptions(), p.webConfigFile(t, c.tls, c.users, c.mtls)).addr
		}
		return servers[c]
	}
	for _, tc := range []struct {
		name   string
		config config
		scrape scrape
		status int    // 0: the request must fail
		err    string // in the error when status is 0
	}{
		{"tls", config{tls: true}, scrape{scheme: "https", trust: true}, http.StatusOK, ""},
		{"tls, server not trusted", config{tls: true}, scrape{scheme: "https"}, 0, "certificate signed by unknown authority"},
		{"plain http to the tls port", config{tls: true}, scrape{scheme: "http"}, http.StatusBadRequest, ""},
		{"right password", config{tls: true, users: true}, scrape{scheme: "https", trust: true, user: "prometheus", pass: "right"}, http.StatusOK, ""},
		{"wrong password", config{tls: true, users: true}, scrape{scheme: "https", trust: true, user: "prometheus", pass: "wrong"}, http.StatusUnauthorized, ""},
		{"unknown user", config{tls: true, users: true}, scrape{scheme: "https", trust: true, user: "mallory", pass: "right"}, http.StatusUnauthorized, ""},
		{"no password", config{tls: true, users: true}, scrape{scheme: "https", trust: true}, http.StatusUnauthorized, ""},
		{"basic auth without tls", config{users: true}, scrape{scheme: "http", user: "prometheus", pass: "right"}, http.StatusOK, ""},
		{"wrong password without tls", config{users: true}, scrape{scheme: "http", user: "prometheus", pass: "wrong"}, http.StatusUnauthorized, ""},
		{"client certificate", config{tls: true, mtls: true}, scrape{scheme: "https", trust: true, cert: &p.client}, http.StatusOK, ""},
		{"no client certificate", config{tls: true, mtls: true}, scrape{scheme: "https", trust: true}, 0, "certificate required"},
		{"client certificate of another ca", config{tls: true, mtls: true}, scrape{scheme: "https", trust: true, cert: &p.stranger}, 0, "unknown certificate authority"},
		{"client certificate and password", config{tls: true, users: true, mtls: true}, scrape{scheme: "https", trust: true, cert: &p.client, user: "prometheus", pass: "right"}, http.StatusOK, ""},
		{"client certificate, wrong password", config{tls: true, users: true, mtls: true}, scrape{scheme: "https", trust: true, cert: &p.client, user: "prometheus", pass: "wrong"}, http.StatusUnauthorized, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body, err := tc.scrape.get(addr(tc.config), p)
			switch {
			case tc.status == 0 && err == nil:
				t.Fatalf("status %d, want the request refused (%s)", status, tc.err)
			case tc.status == 0 && !strings.Contains(err.Error(), tc.err):
				t.Fatalf("err = %v, want %q", err, tc.err)
			case tc.status == 0:
				return
			case err != nil:
				t.Fatalf("err = %v, want status %d", err, tc.status)
			case status != tc.status:
				t.Fatalf("status %d, want %d:\n%s", status, tc.status, body)
			}
			if served := strings.Contains(body, "web_test_up 1"); served != (status == http.StatusOK) {
				t.Errorf("status %d, metrics in the body %v:\n%s", status, served, body)
			}
		})
	}
}

// TestWebConfigFileChecked: a bad --web.config.file stops ebpfmon with the
// flags (exit status 2, before anything is loaded), with an error naming
// the file and what is wrong in it; a good one passes.
func TestWebConfigFileChecked(t *testing.T) {
	p := newPKI(t)
	tlsPart := fmt.Sprintf("tls_server_config:\n  cert_file: %s\n  key_file: %s\n", p.serverCert, p.serverKey)
	fifo := filepath.Join(p.dir, "fifo.yml")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, content string // content "": the file is not written
		path          string // instead of a file with content
		err           string // "": accepted
	}{
		{name: "tls", content: tlsPart},
		{name: "tls and users", content: tlsPart + "basic_auth_users:\n  prometheus: " + bcryptHash(t, "x") + "\n"},
		{name: "client certificates", content: tlsPart + "  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: " + p.ca.file + "\n"},
		{name: "users only", content: "basic_auth_users:\n  prometheus: " + bcryptHash(t, "x") + "\n"},
		{name: "empty", content: "\n"},
		{name: "missing file", path: filepath.Join(p.dir, "nope.yml"), err: "no such file or directory"},
		{name: "directory", path: p.dir, err: "directory"},
		{name: "fifo", path: fifo, err: "FIFO"},
		{name: "unknown key", content: "tls_server_confg:\n  cert_file: x\n", err: "field tls_server_confg not found"},
		{name: "not yaml", content: "tls_server_config: [\n", err: "yaml"},
		{name: "missing cert file", content: "tls_server_config:\n  cert_file: /nonexistent/server.crt\n  key_file: " + p.serverKey + "\n", err: "/nonexistent/server.crt"},
		{name: "key without cert", content: "tls_server_config:\n  key_file: " + p.serverKey + "\n", err: "missing one of cert or cert_file"},
		{name: "cert and key mismatch", content: fmt.Sprintf("tls_server_config:\n  cert_file: %s\n  key_file: %s\n", p.serverCert, p.ca.file), err: "X509KeyPair"},
		{name: "password not hashed", content: "basic_auth_users:\n  prometheus: secret\n", err: "bcrypt"},
		{name: "bcrypt cost 31", content: "basic_auth_users:\n  prometheus: " + withCost(t, 31) + "\n", err: "bcrypt cost 31 is over 14"},
		{name: "bcrypt cost 15", content: "basic_auth_users:\n  prometheus: " + withCost(t, 15) + "\n", err: "bcrypt cost 15 is over 14"},
		{name: "bcrypt cost 14", content: "basic_auth_users:\n  prometheus: " + withCost(t, 14) + "\n"},
		{name: "unicode user", content: "basic_auth_users:\n  \"пром ethé 普罗\": " + bcryptHash(t, "x") + "\n"},
		{name: "user with a colon", content: "basic_auth_users:\n  \"prom:etheus\": " + bcryptHash(t, "x") + "\n", err: `user "prom:etheus" has a ':'`},
		{name: "bad client auth type", content: tlsPart + "  client_auth_type: Always\n", err: "invalid ClientAuth: Always"},
		{name: "client ca without client auth", content: tlsPart + "  client_ca_file: " + p.ca.file + "\n", err: "without a Client Auth Policy"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := tc.path
			if path == "" {
				path = filepath.Join(t.TempDir(), "web.yml")
				if err := os.WriteFile(path, []byte(tc.content), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			f, err := parseFlags([]string{"--web.config.file=" + path})
			switch {
			case tc.err == "" && err != nil:
				t.Fatalf("err = %v, want none", err)
			case tc.err == "" && f.webConfigFile != path:
				t.Fatalf("webConfigFile = %q, want %q", f.webConfigFile, path)
			case tc.err == "":
			case err == nil:
				t.Fatalf("accepted, want an error with %q", tc.err)
			case !strings.Contains(err.Error(), "--web.config.file") || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), tc.err):
				t.Fatalf("err = %v, want one naming --web.config.file, %s and %q", err, path, tc.err)
			}
		})
	}
}

// FuzzCheckWebConfig: whatever the file holds, checking it returns
// (an error naming the flag, or nil) and does not panic.
func FuzzCheckWebConfig(f *testing.F) {
	for _, seed := range []string{"", "tls_server_config:\n  cert_file: a\n  key_file: b\n", "basic_auth_users:\n  u: x\n",
		"http_server_config:\n  http2: false\n  headers:\n    X-Frame-Options: deny\n", "rate_limit:\n  burst: 1\n  interval: 1s\n", "{"} {
		f.Add(seed)
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, content string) {
		path := filepath.Join(dir, "web.yml")
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := checkWebConfig(path); err != nil && !strings.HasPrefix(err.Error(), "--web.config.file") {
			t.Fatalf("err = %v, want it to name --web.config.file", err)
		}
	})
}
