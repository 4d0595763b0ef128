package syncer_test

import (
	"testing"

	"github.com/tenantry/tenantry/tenantrytest"
)

func TestMain(m *testing.M) { tenantrytest.Main(m) }
