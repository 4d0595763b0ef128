package handlers_test

import (
	"os"
	"testing"

	"github.com/tenantry/tenantry/tenantrytest"
)

func TestMain(m *testing.M) { os.Exit(tenantrytest.Main(m)) }

// setup starts api + worker on the package database and an embedded
// NATS, and creates a partner.
func setup(t *testing.T, origins ...string) (sys *tenantrytest.System, token string) {
	t.Helper()
	sys = tenantrytest.Start(t, nil)
	_, token = sys.Partner(origins...)
	return sys, token
}

// create creates a subaccount, waits for it to be provisioned, and
// returns its id.
func create(t testing.TB, sys *tenantrytest.System, token, externalID string) string {
	t.Helper()
	r := sys.Do("POST", "/api/subaccount", token, map[string]any{"external_id": externalID})
	if r.Status != 202 {
		t.Fatalf("create %s: %d %s", externalID, r.Status, r.Body)
	}
	if job := sys.WaitJob(token, r.JSON["job_id"].(string)); job["status"] != "succeeded" {
		t.Fatalf("provision %s: %v", externalID, job)
	}
	return r.JSON["id"].(string)
}
