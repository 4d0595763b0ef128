package node

import (
	"context"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tenantry/tenantry/connectors/egress"
	"github.com/tenantry/tenantry/script"
	"github.com/tenantry/tenantry/worker"
)

// useScripts starts the pool of script runners and has the worker run
// scripts with it, and exposes its sandbox as metrics. Scripts' HTTP goes
// through its own guarded client, without retries: a script decides for
// itself what to retry.
func (n *Node) useScripts(ctx context.Context, reg prometheus.Registerer) error {
	pool, err := script.NewPool(n.cfg.Scripts, n.log.Named("scripts"))
	if err != nil {
		return err
	}
	if err := pool.Start(ctx); err != nil {
		return fmt.Errorf("start script runners: %w", err)
	}
	n.pool = pool
	if err := registerSandbox(reg, pool.Isolation()); err != nil {
		return err
	}
	client := egress.New(egress.Config{Allow: n.cfg.EgressAllow, MaxRetries: -1, Logger: n.log.Named("scripts.egress")})
	n.work.UseScripts(worker.Scripts{Pool: pool, Platform: script.NewPlatform(n.Store, n.warehouse, n.sealer, client)})
	return nil
}

// registerSandbox exposes the runners' sandbox as the pool's Start found
// it: tenantry_script_sandbox_layer{layer} is 1 for each layer on and 0
// for each off, tenantry_script_sandbox_gaps counts what falls short of
// full isolation (layers off, operations the probe could do): alert on
// it above 0.
func registerSandbox(reg prometheus.Registerer, iso script.Isolation) error {
	layers := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "tenantry_script_sandbox_layer",
		Help: "Script runner sandbox layers as the pool found them at start: 1 on, 0 off."}, []string{"layer"})
	for _, l := range iso.Layers {
		v := 0.0
		if l.On {
			v = 1
		}
		layers.WithLabelValues(l.Name).Set(v)
	}
	gaps := prometheus.NewGauge(prometheus.GaugeOpts{Name: "tenantry_script_sandbox_gaps",
		Help: "What the script runner sandbox lacks at start: layers off plus operations its probe could do; 0 when fully isolated."})
	gaps.Set(float64(len(iso.Gaps())))
	for _, c := range []prometheus.Collector{layers, gaps} {
		if err := reg.Register(c); err != nil {
			return fmt.Errorf("sandbox metrics: %w", err)
		}
	}
	return nil
}

// ScriptPool is the pool of script runners; nil without the worker role.
func (n *Node) ScriptPool() *script.Pool { return n.pool }
