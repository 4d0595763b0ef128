// Command scheduler runs tenantry's scheduled work (run N replicas; one
// leads). Configuration is read from the environment; see
// cmd/internal/env.
package main

import (
	"github.com/tenantry/tenantry/cmd/internal/env"
	"github.com/tenantry/tenantry/node"
)

func main() { env.Main(node.Config{Scheduler: true, Migrate: true}) }
