package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/tenantry/tenantry/cmd/internal/env"
	"github.com/tenantry/tenantry/events"
	"github.com/tenantry/tenantry/node"
	"github.com/tenantry/tenantry/store"
)

// dev runs api + worker + scheduler in one process against an embedded
// nats-server (state under ./.tenantry/nats, on a free port so it never
// collides with a NATS on 4222) and Postgres at DATABASE_URL.
func dev(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("dev", flag.ContinueOnError)
	addr := fs.String("addr", env.Get("TENANTRY_ADDR", "127.0.0.1:8080"), "api listen address")
	if err := fs.Parse(args); err != nil {
		return err
	}
	dir := env.DataDir()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	if err := ensureMasterKey(dir); err != nil {
		return err
	}
	dbURL, stopPG, err := ensurePostgres(ctx, dir)
	if err != nil {
		return err
	}
	defer stopPG()
	natsPort, err := strconv.Atoi(env.Get("TENANTRY_NATS_PORT", "-1"))
	if err != nil {
		return fmt.Errorf("TENANTRY_NATS_PORT: %w", err)
	}
	ns, err := events.StartServer(filepath.Join(dir, "nats"), natsPort)
	if err != nil {
		return err
	}
	defer ns.WaitForShutdown()
	defer ns.Shutdown()

	log, err := env.Logger()
	if err != nil {
		return err
	}
	cfg := node.Config{API: true, Worker: true, Scheduler: true, Migrate: true,
		DatabaseURL: dbURL, NATSURL: ns.ClientURL(), MasterKey: env.MasterKey(), Addr: *addr}
	if cfg, err = env.Settings(cfg); err != nil {
		return err
	}
	cfg.HTTP.Demo = true
	n, err := node.Start(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer n.Stop()
	if err := announce(ctx, n.Store, dir, n.Addr(), ns.ClientURL()); err != nil {
		return err
	}
	<-ctx.Done()
	fmt.Fprintln(os.Stderr, "tenantry dev: shutting down")
	return nil
}

// ensureMasterKey creates the dev master key file unless
// TENANTRY_MASTER_KEY is set.
func ensureMasterKey(dir string) error {
	if env.MasterKey() != "" {
		return nil
	}
	path := filepath.Join(dir, "master.key")
	if err := os.WriteFile(path, []byte(newMasterKey()+"\n"), 0o600); err != nil {
		return fmt.Errorf("write dev master key: %w", err)
	}
	return nil
}

type devPartner struct {
	ID    string `json:"id"`
	Token string `json:"token"`
}

// announce creates the dev partner on first start (kept in
// .tenantry/dev-partner.json) and prints its token with a curl example,
// and the demo page's URL with a fresh token for the "demo" account.
func announce(ctx context.Context, st *store.Store, dir, addr, natsURL string) error {
	path := filepath.Join(dir, "dev-partner.json")
	var p devPartner
	b, err := os.ReadFile(path)
	if err == nil {
		err = json.Unmarshal(b, &p)
	}
	if err == nil {
		_, err = st.Partner(ctx, p.ID)
	}
	if err != nil {
		created, token, err := createPartner(ctx, st, "dev", []string{"http://localhost:3000", "http://" + addr})
		if err != nil {
			return fmt.Errorf("create dev partner: %w", err)
		}
		p = devPartner{ID: created.ID, Token: token}
		b, _ := json.Marshal(p)
		if err := os.WriteFile(path, b, 0o600); err != nil {
			return fmt.Errorf("save dev partner: %w", err)
		}
	}
	if p.Token == "" {
		return errors.New("dev partner file has no token; delete " + path)
	}
	demo, err := demoURL(ctx, "http://"+addr, p.Token)
	if err != nil {
		demo = "unavailable: " + err.Error()
	}
	fmt.Printf(`
tenantry dev is running
  api:   http://%[1]s   (health: /healthz, metrics: /metrics)
  demo:  %[6]s
         (connect apps as the end-customer "demo" would, with embed.js; the link works for 1 hour)
  nats:  %[3]s   (embedded, state in %[4]s)

dev partner %[5]s, token (non-expiring; also in %[4]s/dev-partner.json):
  export TOKEN=%[2]s

create an end-customer account, then poll its job:
  curl -s -X POST http://%[1]s/api/subaccount -H "Authorization: Bearer $TOKEN" \
       -H 'Content-Type: application/json' -d '{"external_id":"customer-1","company_name":"Acme"}'
  curl -s http://%[1]s/api/jobs/<job_id> -H "Authorization: Bearer $TOKEN"

`, addr, p.Token, natsURL, dir, p.ID, demo)
	return nil
}

// demoURL returns the demo page's address with a fresh one-hour token for
// the dev partner's account "demo", created on first use. It goes through
// the API with the partner's token, as a partner's backend would.
func demoURL(ctx context.Context, base, partnerToken string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	call := func(method, path string, in, out any) error {
		return callAPI(ctx, method, base+path, partnerToken, in, out)
	}
	var found struct {
		Items []devAccount `json:"items"`
	}
	if err := call("GET", "/api/subaccount?external_id=demo", nil, &found); err != nil {
		return "", err
	}
	var acct devAccount
	if len(found.Items) > 0 {
		acct = found.Items[0]
	} else if err := call("POST", "/api/subaccount", map[string]string{"external_id": "demo", "company_name": "Demo customer"}, &acct); err != nil {
		return "", err
	}
	for acct.Status != "active" {
		if acct.Status == "failed" {
			return "", fmt.Errorf("the demo account could not be provisioned: %s", acct.StatusReason)
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("the demo account is still %s", acct.Status)
		case <-time.After(100 * time.Millisecond):
		}
		if err := call("GET", "/api/subaccount/"+acct.ID, nil, &acct); err != nil {
			return "", err
		}
	}
	var token struct {
		Token string `json:"token"`
	}
	if err := call("GET", "/api/subaccount/"+acct.ID+"/token", nil, &token); err != nil {
		return "", err
	}
	return base + "/demo#token=" + token.Token, nil
}

type devAccount struct {
	ID           string `json:"id"`
	Status       string `json:"status"`
	StatusReason string `json:"status_reason"`
}

// callAPI sends in as JSON (if not nil) with token and decodes a 2xx answer
// into out; any other answer is an error carrying the problem's detail.
func callAPI(ctx context.Context, method, url, token string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		var p struct {
			Detail string `json:"detail"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&p)
		return fmt.Errorf("%s %s: HTTP %d %s", method, url, resp.StatusCode, p.Detail)
	}
	return json.NewDecoder(resp.Body).Decode(out)
}
