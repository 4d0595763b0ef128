// Command worker consumes tenantry's commands from JetStream (run N
// replicas). Configuration is read from the environment; see
// cmd/internal/env.
package main

import (
	"github.com/tenantry/tenantry/cmd/internal/env"
	"github.com/tenantry/tenantry/node"
)

func main() { env.Main(node.Config{Worker: true, Migrate: true}) }
