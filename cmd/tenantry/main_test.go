package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tenantry/tenantry/tenantrytest"
)

func TestMain(m *testing.M) { os.Exit(tenantrytest.Main(m)) }

// cli builds the tenantry binary once per test and returns a runner for
// it against the package database.
func cli(t *testing.T) func(args ...string) (string, error) {
	t.Helper()
	bin := tenantryBinary(t)
	return func(args ...string) (string, error) {
		cmd := exec.Command(bin, args...)
		cmd.Env = append(os.Environ(), "DATABASE_URL="+tenantrytest.DatabaseURL(t),
			"TENANTRY_MASTER_KEY="+tenantrytest.MasterKey, "TENANTRY_DATA_DIR="+t.TempDir())
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
}

func TestPartnerCLI(t *testing.T) {
	run := cli(t)
	sys := tenantrytest.Start(t, nil)

	out, err := run("partner", "create", "--name", "acme", "--cors-origin", "https://app.acme.example", "--json")
	require.NoError(t, err, out)
	var created struct{ ID, Token string }
	require.NoError(t, json.Unmarshal([]byte(out), &created), out)
	require.True(t, strings.HasPrefix(created.ID, "ptn_"))
	r := sys.Do("GET", "/api/subaccount", created.Token, nil, "Origin", "https://app.acme.example")
	require.Equal(t, 200, r.Status, "the printed token works")
	require.Equal(t, "https://app.acme.example", r.Header.Get("Access-Control-Allow-Origin"))

	out, err = run("partner", "token", "--id", created.ID, "--json")
	require.NoError(t, err, out)
	var second struct{ Token string }
	require.NoError(t, json.Unmarshal([]byte(out), &second))
	require.Equal(t, 200, sys.Do("GET", "/api/subaccount", second.Token, nil).Status)

	out, err = run("partner", "revoke-token", "--token", created.Token)
	require.NoError(t, err, out)
	require.Equal(t, 401, sys.Do("GET", "/api/subaccount", created.Token, nil).Status, "revoked")
	require.Equal(t, 200, sys.Do("GET", "/api/subaccount", second.Token, nil).Status, "the other token stands")

	out, err = run("partner", "revoke-token", "--id", created.ID)
	require.NoError(t, err, out)
	require.Contains(t, out, "revoked 1 token(s)")
	require.Equal(t, 401, sys.Do("GET", "/api/subaccount", second.Token, nil).Status)

	t.Run("Errors", func(t *testing.T) {
		for _, args := range [][]string{
			{"partner", "create"},
			{"partner", "create", "--name", "x", "--cors-origin", "not a url"},
			{"partner", "create", "--name", "x", "--cors-origin", "https://x.example/path"},
			{"partner", "revoke-token"},
			{"partner", "token", "--id", "ptn_nope"},
			{"frobnicate"},
		} {
			out, err := run(args...)
			require.Error(t, err, "%v: %s", args, out)
		}
	})
}
