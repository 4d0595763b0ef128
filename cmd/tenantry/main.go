// Command tenantry is the operator CLI:
//
//	tenantry dev [--addr host:port]     api + worker + scheduler in one process, embedded NATS
//	tenantry migrate                    apply database migrations
//	tenantry partner create --name N [--cors-origin URL]... [--json]
//	tenantry partner token --id P [--json]
//	tenantry partner revoke-token (--token T | --id P)   a partner's or account's non-expiring token
//	tenantry masterkey                  print a fresh TENANTRY_MASTER_KEY
//
// Configuration comes from the environment (see cmd/internal/env).
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:])
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "tenantry:", err)
		os.Exit(1)
	}
}

var errUsage = errors.New(`usage: tenantry <command>
  dev [--addr host:port]                         run everything in one process (embedded NATS)
  migrate                                        apply database migrations
  partner create --name N [--cors-origin URL]... [--json]
  partner token --id PARTNER_ID [--json]         issue another non-expiring partner token
  partner revoke-token (--token T | --id PARTNER_ID)
  masterkey                                      print a fresh TENANTRY_MASTER_KEY`)

func run(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return errUsage
	}
	switch args[0] {
	case "dev":
		return dev(ctx, args[1:])
	case "migrate":
		return migrate(ctx)
	case "partner":
		return partner(ctx, args[1:])
	case "masterkey":
		fmt.Println(newMasterKey())
		return nil
	}
	return errUsage
}
