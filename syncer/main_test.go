package syncer_test

import (
	"os"
	"testing"

	"github.com/tenantry/tenantry/tenantrytest"
)

func TestMain(m *testing.M) { os.Exit(tenantrytest.Main(m)) }
