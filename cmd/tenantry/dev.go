package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

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
// .tenantry/dev-partner.json) and prints its token with a curl example.
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
	fmt.Printf(`
tenantry dev is running
  api:   http://%[1]s   (health: /healthz, metrics: /metrics)
  nats:  %[3]s   (embedded, state in %[4]s)

dev partner %[5]s, token (non-expiring; also in %[4]s/dev-partner.json):
  export TOKEN=%[2]s

create an end-customer account, then poll its job:
  curl -s -X POST http://%[1]s/api/subaccount -H "Authorization: Bearer $TOKEN" \
       -H 'Content-Type: application/json' -d '{"external_id":"customer-1","company_name":"Acme"}'
  curl -s http://%[1]s/api/jobs/<job_id> -H "Authorization: Bearer $TOKEN"

`, addr, p.Token, natsURL, dir, p.ID)
	return nil
}
