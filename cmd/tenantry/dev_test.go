package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tenantry/tenantry/tenantrytest"
)

// devRun is one `tenantry dev` process and what it printed.
type devRun struct {
	cmd               *exec.Cmd
	token, nats, demo string
	printedCurls      bool
}

// startDev runs `tenantry dev` and waits for its announcement.
func startDev(t *testing.T, bin, dbURL, dir, addr string) *devRun {
	t.Helper()
	cmd := exec.Command(bin, "dev", "--addr", addr)
	cmd.Env = append(os.Environ(), "DATABASE_URL="+dbURL, "TENANTRY_DATA_DIR="+dir, "TENANTRY_MASTER_KEY=", "TENANTRY_LOG_LEVEL=warn")
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	cmd.Stderr = os.Stderr
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	run := &devRun{cmd: cmd}
	lines := bufio.NewScanner(out)
	natsLine := regexp.MustCompile(`nats:\s+(\S+)`)
	demoLine := regexp.MustCompile(`demo:\s+(\S+)`)
	for lines.Scan() {
		line := lines.Text()
		if m := natsLine.FindStringSubmatch(line); m != nil {
			run.nats = m[1]
		}
		if m := demoLine.FindStringSubmatch(line); m != nil {
			run.demo = m[1]
		}
		if token, ok := strings.CutPrefix(strings.TrimSpace(line), "export TOKEN="); ok {
			run.token = token
		}
		if strings.Contains(line, "curl -s -X POST http://"+addr+"/api/subaccount") {
			run.printedCurls = true
			break
		}
	}
	go func() { _, _ = io.Copy(io.Discard, out) }() // keep the pipe drained
	require.NotEmpty(t, run.token, "dev prints a partner token")
	return run
}

func (r *devRun) stop(t *testing.T) {
	t.Helper()
	require.NoError(t, r.cmd.Process.Signal(syscall.SIGINT))
	require.NoError(t, r.cmd.Wait(), "dev exits cleanly on SIGINT")
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	return ln.Addr().String()
}

// TestDev runs `make run`'s command on a database that does not exist
// yet: it is created, a dev partner is printed with a working curl
// example and a working demo link, NATS is not on 4222, and a restart on
// the same state works.
func TestDev(t *testing.T) {
	bin := tenantryBinary(t)
	admin, err := url.Parse(tenantrytest.DatabaseURL(t))
	require.NoError(t, err)
	name := fmt.Sprintf("tenantry_devtest_%d", time.Now().UnixNano())
	admin.Path = "/" + name
	t.Cleanup(func() {
		if err := tenantrytest.DropDatabase(context.Background(), tenantrytest.DatabaseURL(t), name); err != nil {
			t.Log(err)
		}
	})
	dir := t.TempDir()
	addr := freeAddr(t)

	first := startDev(t, bin, admin.String(), dir, addr)
	require.True(t, first.printedCurls, "dev prints the curl example")
	natsURL, err := url.Parse(first.nats)
	require.NoError(t, err)
	require.NotEqual(t, "4222", natsURL.Port(), "the embedded NATS never takes the default port")

	sys := &tenantrytest.System{T: t, URL: "http://" + addr}
	page, token, ok := strings.Cut(first.demo, "#token=")
	require.True(t, ok, "dev prints the demo link with an account token: %q", first.demo)
	require.Equal(t, "http://"+addr+"/demo", page)
	require.Equal(t, 200, sys.Do("GET", "/demo", "", nil).Status, "dev serves the demo page")
	require.Equal(t, 200, sys.Do("GET", "/api/servers", token, nil).Status, "the demo token is an account token")
	r := sys.Do("POST", "/api/subaccount", first.token, `{"external_id":"customer-1","company_name":"Acme"}`)
	require.Equal(t, 202, r.Status, string(r.Body))
	require.Equal(t, "succeeded", sys.WaitJob(first.token, r.JSON["job_id"].(string))["status"])
	first.stop(t)

	second := startDev(t, bin, admin.String(), dir, addr)
	require.Equal(t, first.token, second.token, "the same dev partner after a restart")
	require.Len(t, sys.Do("GET", "/api/subaccount", second.token, nil).JSON["items"], 2, "customer-1, and demo created once")
	require.NotEmpty(t, second.demo)
	second.stop(t)
}

// tenantryBinary builds the CLI once for the dev test.
func tenantryBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "tenantry")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	require.NoError(t, err, string(out))
	return bin
}
