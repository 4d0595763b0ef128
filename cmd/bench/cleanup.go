package main

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/tenantry/tenantry/store"
)

// Close stops the node, the fake API, the bare handler and nats-server
// and drops the bench database and every role the run created (roles
// are cluster-wide and outlive the database). Safe on a partly set-up
// bench, and to call twice.
func (b *bench) Close() error {
	if b.closed {
		return nil
	}
	b.closed = true
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if b.node != nil {
		b.node.Stop()
	}
	roles, err := b.createdRoles(ctx)
	if b.pool != nil {
		b.pool.Close()
	}
	if b.nc != nil {
		b.nc.Close()
	}
	if b.src != nil {
		err = errors.Join(err, b.src.Close())
	}
	if b.bare != nil {
		err = errors.Join(err, b.bare.Close())
	}
	if b.ns != nil {
		b.ns.Shutdown()
		b.ns.WaitForShutdown()
	}
	if b.dir != "" {
		err = errors.Join(err, os.RemoveAll(b.dir))
	}
	if b.dbURL != "" {
		err = errors.Join(err, dropDatabase(ctx, b.cfg.AdminURL, b.dbURL, roles))
	}
	return err
}

// createdRoles lists the tenant roles (core.accounts.schema_name), each
// preceded by its SQL login role, and the DDL baseline's roles not
// dropped yet (an interrupted run).
func (b *bench) createdRoles(ctx context.Context) ([]string, error) {
	var roles []string
	if b.base != nil {
		roles = append(roles, b.base.roles...)
	}
	if b.pool == nil {
		return roles, nil
	}
	rows, _ := b.pool.Query(ctx, `SELECT schema_name FROM core.accounts`)
	tenants, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil && !isUndefinedTable(err) {
		return roles, fmt.Errorf("list tenant roles: %w", err)
	}
	for _, t := range tenants {
		roles = append(roles, store.LoginRole(t), t)
	}
	return roles, nil
}

// isUndefinedTable is true when setup stopped before migrating.
func isUndefinedTable(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && (pgErr.Code == "42P01" || pgErr.Code == "3F000")
}

// createDatabase creates database name through the admin URL (copied in
// spirit from cmd/tenantry's ensureDatabase).
func createDatabase(ctx context.Context, adminURL, name string) error {
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return fmt.Errorf("connect %s: %w", redact(adminURL), err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return fmt.Errorf("create database %s: %w", name, err)
	}
	return nil
}

// dropDatabase drops the database dbURL names, then roles, many per
// statement.
func dropDatabase(ctx context.Context, adminURL, dbURL string, roles []string) error {
	u, err := url.Parse(dbURL)
	if err != nil {
		return err
	}
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return fmt.Errorf("connect %s: %w", redact(adminURL), err)
	}
	defer conn.Close(ctx)
	name := pgx.Identifier{strings.TrimPrefix(u.Path, "/")}.Sanitize()
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
		return fmt.Errorf("drop database %s: %w", name, err)
	}
	return inBatches(roles, func(idents string) error {
		if _, err := conn.Exec(ctx, "DROP ROLE IF EXISTS "+idents); err != nil {
			return fmt.Errorf("drop roles: %w", err)
		}
		return nil
	})
}

func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparseable URL)"
	}
	return u.Redacted()
}
