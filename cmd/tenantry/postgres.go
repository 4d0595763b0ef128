package main

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/tenantry/tenantry/cmd/internal/env"
)

// privatePort is where `tenantry dev` runs its own Postgres when no
// other answers.
const privatePort = 54329

// ensurePostgres returns a URL of a reachable Postgres with the tenantry
// database, creating the database if missing. When DATABASE_URL is unset
// and nothing answers at the default, it starts a private cluster under
// dir/pg with initdb/pg_ctl if they are installed; stop stops it.
func ensurePostgres(ctx context.Context, dir string) (dbURL string, stop func(), err error) {
	stop = func() {}
	dbURL = env.Get("DATABASE_URL", env.DefaultDatabaseURL)
	err = ensureDatabase(ctx, dbURL)
	if err == nil || os.Getenv("DATABASE_URL") != "" || !unreachable(err) {
		return dbURL, stop, explain(err, dbURL)
	}
	fmt.Fprintf(os.Stderr, "tenantry dev: no Postgres at %s; starting a private one under %s/pg\n", redact(dbURL), dir)
	stop, err = startPrivatePostgres(ctx, filepath.Join(dir, "pg"))
	if err != nil {
		return "", func() {}, fmt.Errorf("%w\n%s", err, howToPoint)
	}
	dbURL = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/tenantry?sslmode=disable", privatePort)
	if err := ensureDatabase(ctx, dbURL); err != nil {
		stop()
		return "", func() {}, err
	}
	return dbURL, stop, nil
}

const howToPoint = `point tenantry at a Postgres server with DATABASE_URL, e.g.
  DATABASE_URL=postgres://user:pass@host:5432/tenantry?sslmode=disable make run
or install PostgreSQL (apt-get install postgresql) so tenantry dev can start its own.`

func explain(err error, dbURL string) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("postgres at %s: %w\n%s", redact(dbURL), err, howToPoint)
}

// ensureDatabase connects to dbURL, creating its database through the
// server's "postgres" database if it does not exist.
func ensureDatabase(ctx context.Context, dbURL string) error {
	conn, err := pgx.Connect(ctx, dbURL)
	if err == nil {
		return conn.Close(ctx)
	}
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "3D000" {
		return err
	}
	u, perr := url.Parse(dbURL)
	if perr != nil {
		return perr
	}
	name := strings.TrimPrefix(u.Path, "/")
	u.Path = "/postgres"
	admin, err := pgx.Connect(ctx, u.String())
	if err != nil {
		return err
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return fmt.Errorf("create database %s: %w", name, err)
	}
	return nil
}

func unreachable(err error) bool {
	var pgErr *pgconn.PgError
	return !errors.As(err, &pgErr) // no server answered at all
}

func redact(dbURL string) string {
	u, err := url.Parse(dbURL)
	if err != nil {
		return "(unparseable DATABASE_URL)"
	}
	return u.Redacted()
}

// startPrivatePostgres initialises (once) and starts a cluster in dir.
// Postgres refuses to run as root, so as root it runs as user postgres.
func startPrivatePostgres(ctx context.Context, dir string) (stop func(), err error) {
	initdb, pgctl := findPGBin("initdb"), findPGBin("pg_ctl")
	if initdb == "" || pgctl == "" {
		return nil, errors.New("initdb/pg_ctl not found")
	}
	run := func(ctx context.Context, name string, args ...string) error {
		cmd := exec.CommandContext(ctx, name, args...)
		if os.Geteuid() == 0 {
			cmd = exec.CommandContext(ctx, "runuser", append([]string{"-u", "postgres", "--", name}, args...)...)
		}
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("%s: %w\n%s", filepath.Base(name), err, out)
		}
		return nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	if os.Geteuid() == 0 {
		if err := chownToPostgres(dir); err != nil {
			return nil, err
		}
		// The postgres user must traverse the data dir to reach dir;
		// traverse only: the files in it stay private (0600).
		if err := os.Chmod(filepath.Dir(dir), 0o711); err != nil {
			return nil, err
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "PG_VERSION")); err != nil {
		if err := run(ctx, initdb, "-D", dir, "-U", "postgres", "--auth=trust", "-E", "UTF8"); err != nil {
			return nil, err
		}
	}
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1", privatePort, dir)
	if err := run(ctx, pgctl, "-D", dir, "-l", filepath.Join(dir, "server.log"), "-w", "-o", opts, "start"); err != nil {
		return nil, err
	}
	// Stopping happens after ctx (the signal context) is done: it needs
	// its own.
	return func() {
		stopCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = run(stopCtx, pgctl, "-D", dir, "-m", "fast", "-w", "stop")
	}, nil
}

func chownToPostgres(dir string) error {
	u, err := user.Lookup("postgres")
	if err != nil {
		return fmt.Errorf("running as root needs a postgres user: %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return os.Chown(dir, uid, gid)
}

func findPGBin(name string) string {
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/" + name)
	if len(matches) > 0 {
		return matches[len(matches)-1]
	}
	return ""
}
