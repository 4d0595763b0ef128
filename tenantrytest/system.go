package tenantrytest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest"

	"github.com/tenantry/tenantry"
	"github.com/tenantry/tenantry/node"
)

// MasterKey is the master key every node of a test package uses: the
// package database's signing keys are sealed under it.
const MasterKey = "k1:dGVuYW50cnktdGVzdC1tYXN0ZXIta2V5LTMyYnl0ZSE="

// System is a running tenantry (api + worker, and the scheduler if
// asked) on the package database and its own embedded NATS.
type System struct {
	T    testing.TB
	Node *node.Node
	NATS *server.Server
	URL  string // http://host:port of the API
	logs *syncBuffer
}

// Start runs a system for t, stopped when t ends. edit may adjust the
// config before start (roles, scheduler timings…).
func Start(t testing.TB, edit func(*node.Config)) *System {
	t.Helper()
	return StartWithNATS(t, NATS(t), edit)
}

// StartWithNATS is Start on a nats-server the test manages itself (to
// restart it, say).
func StartWithNATS(t testing.TB, ns *server.Server, edit func(*node.Config)) *System {
	t.Helper()
	cfg := node.Config{API: true, Worker: true, DatabaseURL: DatabaseURL(t), NATSURL: ns.ClientURL(),
		MasterKey: MasterKey, Addr: "127.0.0.1:0"}
	if edit != nil {
		edit(&cfg)
	}
	logs := &syncBuffer{}
	n, err := node.Start(context.Background(), cfg, logger(t, logs))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(n.Stop)
	return &System{T: t, Node: n, NATS: ns, URL: "http://" + n.Addr(), logs: logs}
}

// For returns the system reporting to t (a subtest or fuzz input)
// instead of the test that started it.
func (s *System) For(t testing.TB) *System {
	c := *s
	c.T = t
	return &c
}

// logger logs through t (except under fuzzing, where t may not be used
// from the fuzz target's goroutines: then warnings go to stderr), and
// keeps every line, at every level, in logs for tests that grep them.
func logger(t testing.TB, logs *syncBuffer) *zap.Logger {
	keep := zapcore.NewCore(zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig()), logs, zap.DebugLevel)
	if _, fuzzing := t.(*testing.F); fuzzing {
		enc := zapcore.NewConsoleEncoder(zap.NewDevelopmentEncoderConfig())
		return zap.New(zapcore.NewTee(keep, zapcore.NewCore(enc, zapcore.Lock(os.Stderr), zap.WarnLevel)))
	}
	return zaptest.NewLogger(t, zaptest.WrapOptions(zap.WrapCore(func(c zapcore.Core) zapcore.Core {
		return zapcore.NewTee(c, keep)
	}))).Named("node")
}

// syncBuffer is a log sink safe for concurrent writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) Sync() error { return nil }

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Logs returns everything the system has logged so far, every level.
func (s *System) Logs() string { return s.logs.String() }

// Partner creates a partner allowing origins and returns its id and a
// non-expiring partner token.
func (s *System) Partner(origins ...string) (id, token string) {
	s.T.Helper()
	ctx := context.Background()
	p := &tenantry.Partner{Name: "partner", CORSOrigins: origins}
	if err := s.Node.Store.CreatePartner(ctx, p); err != nil {
		s.T.Fatal(err)
	}
	token, _, err := s.Node.Issuer.Issue(ctx, tenantry.Caller{Kind: tenantry.KindPartnerToken, PartnerID: p.ID}, 0)
	if err != nil {
		s.T.Fatal(err)
	}
	return p.ID, token
}

// PartnerOf returns the partner that owns subaccount accountID.
func (s *System) PartnerOf(accountID string) string {
	s.T.Helper()
	var pid string
	err := s.Node.Store.Pool().QueryRow(context.Background(), `SELECT partner_id FROM core.accounts WHERE id = $1`, accountID).Scan(&pid)
	if err != nil {
		s.T.Fatal(err)
	}
	return pid
}

// Response is a decoded API response.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
	JSON   map[string]any
}

// Do sends a request with token as Bearer (if not empty), body as JSON
// (a string or []byte is sent as is), and extra headers as name, value
// pairs.
func (s *System) Do(method, path, token string, body any, headers ...string) Response {
	s.T.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = bytes.NewBufferString(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			s.T.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, s.URL+path, rd)
	if err != nil {
		s.T.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.T.Fatal(err)
	}
	defer resp.Body.Close()
	r := Response{Status: resp.StatusCode, Header: resp.Header}
	r.Body, _ = io.ReadAll(resp.Body)
	_ = json.Unmarshal(r.Body, &r.JSON)
	return r
}

// WaitJob polls job id until it finishes, for up to 20 seconds, and
// returns its final state.
func (s *System) WaitJob(token, id string) map[string]any {
	s.T.Helper()
	return s.WaitJobWithin(token, id, 20*time.Second)
}

// WaitJobWithin is WaitJob for up to d.
func (s *System) WaitJobWithin(token, id string, d time.Duration) map[string]any {
	s.T.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		r := s.Do("GET", "/api/jobs/"+id, token, nil)
		if r.Status != http.StatusOK {
			s.T.Fatalf("GET job %s: %d %s", id, r.Status, r.Body)
		}
		if st := r.JSON["status"]; st == tenantry.JobSucceeded || st == tenantry.JobFailed {
			return r.JSON
		}
		time.Sleep(10 * time.Millisecond)
	}
	s.T.Fatalf("job %s did not finish", id)
	return nil
}

// Account provisions a subaccount of the partner whose token is partner
// and returns its id and an end-customer token for it.
func (s *System) Account(partner, externalID string) (id, token string) {
	s.T.Helper()
	r := s.Do("POST", "/api/subaccount", partner, map[string]any{"external_id": externalID})
	if r.Status != http.StatusAccepted {
		s.T.Fatalf("create %s: %d %s", externalID, r.Status, r.Body)
	}
	if job := s.WaitJob(partner, r.JSON["job_id"].(string)); job["status"] != tenantry.JobSucceeded {
		s.T.Fatalf("provision %s: %v", externalID, job)
	}
	id = r.JSON["id"].(string)
	r = s.Do("GET", "/api/subaccount/"+id+"/token", partner, nil)
	if r.Status != http.StatusOK {
		s.T.Fatalf("token of %s: %d %s", id, r.Status, r.Body)
	}
	return id, r.JSON["token"].(string)
}
