// Package tenantrytest gives tests real infrastructure: a fresh, migrated
// Postgres database per test package (dropped afterwards together with
// the tenant roles its tests created) and an in-process nats-server with
// JetStream per test. Nothing is mocked.
package tenantrytest

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats-server/v2/server"

	"github.com/tenantry/tenantry/events"
	"github.com/tenantry/tenantry/store"
)

// DefaultAdminURL is the Postgres server tests use unless
// TENANTRY_TEST_DATABASE_URL names another (any database on it).
const DefaultAdminURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

var packageURL string // set once by Main before any test runs

// Main creates the package database, runs the tests, and drops it. Use it
// from TestMain: os.Exit(tenantrytest.Main(m)).
func Main(m *testing.M) int {
	ctx := context.Background()
	admin := os.Getenv("TENANTRY_TEST_DATABASE_URL")
	if admin == "" {
		admin = DefaultAdminURL
	}
	name := fmt.Sprintf("tenantry_test_%d_%d", time.Now().UnixNano(), os.Getpid())
	u, err := withDatabase(admin, name)
	if err == nil {
		err = createDatabase(ctx, admin, name)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "tenantrytest: Postgres is required (set TENANTRY_TEST_DATABASE_URL): %v\n", err)
		return 1
	}
	packageURL = u
	if err := migrate(ctx, u); err != nil {
		fmt.Fprintf(os.Stderr, "tenantrytest: migrate: %v\n", err)
		return 1
	}
	code := m.Run()
	if err := DropDatabase(ctx, admin, name); err != nil {
		fmt.Fprintf(os.Stderr, "tenantrytest: cleanup: %v\n", err)
	}
	return code
}

// DatabaseURL returns the package database's URL.
func DatabaseURL(t testing.TB) string {
	t.Helper()
	if packageURL == "" {
		t.Fatal("tenantrytest: call tenantrytest.Main from TestMain")
	}
	return packageURL
}

// Database creates a fresh, migrated database for t alone and returns its
// URL; it is dropped, with the tenant roles made in it, when t ends. Use
// it for tests that run a scheduler: scheduler leadership is per
// database, and a leader acts on every row in it.
func Database(t testing.TB) string {
	t.Helper()
	ctx := context.Background()
	admin := DatabaseURL(t)
	name := fmt.Sprintf("tenantry_test_%d_%d", time.Now().UnixNano(), os.Getpid())
	u, err := withDatabase(admin, name)
	if err == nil {
		err = createDatabase(ctx, admin, name)
	}
	if err == nil {
		err = migrate(ctx, u)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := DropDatabase(ctx, admin, name); err != nil {
			t.Log(err)
		}
	})
	return u
}

// Store opens a store on the package database, closed when t ends.
func Store(t testing.TB) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), DatabaseURL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	return st
}

// NATS starts an in-process nats-server with JetStream storing under a
// temporary directory, shut down when t ends.
func NATS(t testing.TB) *server.Server {
	t.Helper()
	ns, err := events.StartServer(t.TempDir(), -1)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })
	return ns
}

func withDatabase(raw, name string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", err
	}
	u.Path = "/" + name
	return u.String(), nil
}

func createDatabase(ctx context.Context, admin, name string) error {
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
	return err
}

func migrate(ctx context.Context, u string) error {
	st, err := store.Open(ctx, u)
	if err != nil {
		return err
	}
	defer st.Close()
	return st.Migrate(ctx)
}

// DropDatabase drops database name (on the server admin points at) and
// then the tenant roles made in it, which are cluster-wide and outlive it.
func DropDatabase(ctx context.Context, admin, name string) error {
	u, err := withDatabase(admin, name)
	if err != nil {
		return err
	}
	var roles []string
	if conn, err := pgx.Connect(ctx, u); err == nil {
		rows, _ := conn.Query(ctx, `SELECT schema_name FROM core.accounts`)
		roles, _ = pgx.CollectRows(rows, pgx.RowTo[string])
		conn.Close(ctx)
	}
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
		return err
	}
	var failed []string
	for _, r := range roles {
		for _, role := range []string{store.LoginRole(r), r} {
			if _, err := conn.Exec(ctx, "DROP ROLE IF EXISTS "+pgx.Identifier{role}.Sanitize()); err != nil {
				failed = append(failed, role)
			}
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("drop roles %s", strings.Join(failed, ", "))
	}
	return nil
}
