package node

import (
	"context"

	"github.com/tenantry/tenantry"
	"github.com/tenantry/tenantry/connectors/egress"
	"github.com/tenantry/tenantry/events"
	"github.com/tenantry/tenantry/handlers"
	"github.com/tenantry/tenantry/script"
	"github.com/tenantry/tenantry/webhook"
	"github.com/tenantry/tenantry/worker"
)

// WebhookConfig configures webhook ingress (api role), processing
// (worker role) and the operator API (api role).
type WebhookConfig struct {
	// Receiver: PublicURL defaults to Connections.PublicURL, else the
	// API's bound address.
	Receiver webhook.ReceiverConfig
	Worker   worker.WebhookConfig
	// Notifier delivers events to partners' notification endpoints
	// (worker role).
	Notifier worker.NotifierConfig
	// Handler runs accounts' webhook handlers; nil (the default) runs the
	// handler scripts accounts configure (worker.WebhookScripts).
	Handler tenantry.WebhookHandler
	// AdminTokens turn on the operator API (TENANTRY_ADMIN_TOKEN); none:
	// /api/admin/… answers 404.
	AdminTokens []string
}

// startWebhooks starts the worker's webhook processor, running accounts'
// handler scripts in the pool useScripts started, and the partner
// notifier.
func (n *Node) startWebhooks(ctx context.Context, pub tenantry.Publisher) error {
	handler := n.cfg.Webhooks.Handler
	if handler == nil {
		// Handler scripts get their own guarded HTTP client, without
		// retries, as other scripts do.
		client := egress.New(egress.Config{Allow: n.cfg.EgressAllow, MaxRetries: -1, Logger: n.log.Named("webhooks.egress")})
		s := worker.Scripts{Pool: n.pool, Platform: script.NewPlatform(n.Store, n.warehouse, n.sealer, client)}
		handler = worker.NewWebhookScripts(n.cfg.Webhooks.Worker, n.Store, s, n.webhookPublicURL(), n.log.Named("webhooks.scripts"))
	}
	n.hooks = worker.NewWebhooks(n.cfg.Webhooks.Worker, n.Store, handler, n.js, pub, n.log.Named("webhooks"))
	if err := n.hooks.Start(ctx); err != nil {
		return err
	}
	// The notifier schedules its own retries and never follows a
	// redirect: the egress client must do neither.
	client := egress.New(egress.Config{Allow: n.cfg.EgressAllow, MaxRetries: -1, Timeout: n.cfg.Webhooks.Notifier.Timeout,
		Logger: n.log.Named("egress")})
	n.notifier = worker.NewNotifier(n.cfg.Webhooks.Notifier, n.Store, n.sealer, client, n.js, n.log.Named("notifications"))
	return n.notifier.Start(ctx)
}

// stopWebhooks stops what startWebhooks started.
func (n *Node) stopWebhooks() {
	if n.notifier != nil {
		n.notifier.Stop()
	}
	if n.hooks != nil {
		n.hooks.Stop()
	}
}

// webhookPublicURL is where producers reach the API: Receiver.PublicURL,
// else Connections.PublicURL, else the API's bound address; "" on a node
// without the api role and neither set.
func (n *Node) webhookPublicURL() string {
	switch {
	case n.cfg.Webhooks.Receiver.PublicURL != "":
		return n.cfg.Webhooks.Receiver.PublicURL
	case n.cfg.Connections.PublicURL != "":
		return n.cfg.Connections.PublicURL
	case n.cfg.API && n.ln != nil:
		return "http://" + n.ln.Addr().String()
	}
	return ""
}

// useWebhooks gives the API its webhook receiver and operator API.
func (n *Node) useWebhooks(api *handlers.Server, pub tenantry.Publisher) error {
	cfg := n.cfg.Webhooks.Receiver
	cfg.PublicURL = n.webhookPublicURL()
	api.UseNotifications(n.sealer)
	api.UseWebhooks(webhook.NewReceiver(cfg, n.Store, n.Conns.Catalog(), n.sealer, pub, n.nc.IsConnected, n.log.Named("webhooks")))
	return api.UseAdmin(handlers.Admin{Tokens: n.cfg.Webhooks.AdminTokens, DLQ: events.NewDeadLetters(n.js),
		Replayer: events.NewReplayer(n.js, ReplayApplied(n.Store))})
}
