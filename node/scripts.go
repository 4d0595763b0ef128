package node

import (
	"context"
	"fmt"

	"github.com/tenantry/tenantry/connectors/egress"
	"github.com/tenantry/tenantry/script"
	"github.com/tenantry/tenantry/worker"
)

// useScripts starts the pool of script runners and has the worker run
// scripts with it. Scripts' HTTP goes through its own guarded client,
// without retries: a script decides for itself what to retry.
func (n *Node) useScripts(ctx context.Context) error {
	pool, err := script.NewPool(n.cfg.Scripts, n.log.Named("scripts"))
	if err != nil {
		return err
	}
	if err := pool.Start(ctx); err != nil {
		return fmt.Errorf("start script runners: %w", err)
	}
	n.pool = pool
	client := egress.New(egress.Config{Allow: n.cfg.EgressAllow, MaxRetries: -1, Logger: n.log.Named("scripts.egress")})
	n.work.UseScripts(worker.Scripts{Pool: pool, Platform: script.NewPlatform(n.Store, n.warehouse, n.sealer, client)})
	return nil
}
