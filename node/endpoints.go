package node

import (
	"context"

	"github.com/tenantry/tenantry/connectors/egress"
	"github.com/tenantry/tenantry/handlers"
	"github.com/tenantry/tenantry/script"
	"github.com/tenantry/tenantry/worker"
)

// EndpointConfig configures published endpoints: the API forwards calls
// (api role), workers run them (worker role).
type EndpointConfig struct {
	API    handlers.EndpointConfig
	Worker worker.EndpointConfig
}

// startEndpoints has the worker answer endpoint calls with the script
// pool; useScripts must have started it. Endpoint scripts get their own
// guarded HTTP client, without retries, as other scripts do.
func (n *Node) startEndpoints(ctx context.Context) error {
	client := egress.New(egress.Config{Allow: n.cfg.EgressAllow, MaxRetries: -1, Logger: n.log.Named("endpoints.egress")})
	s := worker.Scripts{Pool: n.pool, Platform: script.NewPlatform(n.Store, n.warehouse, n.sealer, client)}
	n.endpoints = worker.NewEndpoints(n.cfg.Endpoints.Worker, n.Store, s, n.nc, n.log.Named("endpoints"))
	return n.endpoints.Start(ctx)
}

// useEndpoints has the API serve published endpoints, forwarding calls
// to the workers over NATS.
func (n *Node) useEndpoints(api *handlers.Server) {
	api.UseEndpoints(n.cfg.Endpoints.API, n.nc)
}
