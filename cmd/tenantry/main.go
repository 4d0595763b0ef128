// Command tenantry is the operator CLI:
//
//	tenantry dev [--addr host:port]     api + worker + scheduler in one process, embedded NATS
//	tenantry migrate                    apply database migrations
//	tenantry partner create --name N [--cors-origin URL]... [--json]
//	tenantry partner token --id P [--json]
//	tenantry partner revoke-token (--token T | --id P)   a partner's or account's non-expiring token
//	tenantry masterkey                  print a fresh TENANTRY_MASTER_KEY
//	tenantry replay --stream S --since T [--subject F] [--until T | --to-seq N] [--dry-run] [--rate N]
//	tenantry dlq list|show|redrive|purge   inspect and empty the dead-letter queue
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
  masterkey                                      print a fresh TENANTRY_MASTER_KEY
  replay --stream S --since T [--subject F] [--until T | --to-seq N] [--dry-run] [--rate N] [--id ID] [--json]
                                                 publish a stream's messages again through their consumers
  dlq list [--subject F] [--after SEQ] [--limit N] [--json]
  dlq show SEQ
  dlq redrive (--seq N ... | --subject F | --all)   publish dead letters back to their subjects
  dlq purge (--seq N ... | --subject F | --all)     delete dead letters for good`)

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
	case "replay":
		return replay(ctx, args[1:])
	case "dlq":
		return dlq(ctx, args[1:])
	case "masterkey":
		fmt.Println(newMasterKey())
		return nil
	}
	return errUsage
}
