package script_test

import (
	"context"
	"net"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"
	"golang.org/x/sys/unix"

	"github.com/tenantry/tenantry/script"
)

// machine is what this machine's kernel offers, found without the
// package's code: a layer the package stops applying then fails the
// tests below instead of skipping them.
type machine struct {
	root        bool
	netns       bool
	landlockABI int
	seccomp     bool
	binTrue     bool
}

func inspectMachine(t *testing.T) machine {
	t.Helper()
	m := machine{root: os.Geteuid() == 0}
	if abi, _, errno := unix.Syscall(unix.SYS_LANDLOCK_CREATE_RULESET, 0, 0, unix.LANDLOCK_CREATE_RULESET_VERSION); errno == 0 {
		m.landlockABI = int(abi)
	}
	_, err := unix.PrctlRetInt(unix.PR_GET_SECCOMP, 0, 0, 0, 0)
	m.seccomp = err == nil && (runtime.GOARCH == "amd64" || runtime.GOARCH == "arm64")
	_, err = os.Stat("/bin/true")
	m.binTrue = err == nil
	cmd := exec.Command("/bin/true")
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET}
	if !m.root {
		cmd.SysProcAttr.Cloneflags |= syscall.CLONE_NEWUSER
		cmd.SysProcAttr.UidMappings = []syscall.SysProcIDMap{{ContainerID: os.Geteuid(), HostID: os.Geteuid(), Size: 1}}
		cmd.SysProcAttr.GidMappings = []syscall.SysProcIDMap{{ContainerID: os.Getegid(), HostID: os.Getegid(), Size: 1}}
	}
	m.netns = m.binTrue && cmd.Run() == nil
	t.Logf("machine: %+v", m)
	return m
}

// denies is what each layer alone must stop on this machine; nil when
// the machine does not have it.
func (m machine) denies(layer string) []string {
	switch {
	case layer == script.LayerNetNS && m.netns:
		return []string{script.ProbeConnect}
	case layer == script.LayerUnprivileged && m.root:
		return []string{script.ProbeSignal} // of a root worker; /etc/passwd and /tmp are open to anyone
	case layer == script.LayerSeccomp && m.seccomp:
		return []string{script.ProbeConnect, script.ProbeRead, script.ProbeWrite, script.ProbeExec}
	case layer == script.LayerLandlock && m.landlockABI >= 1:
		denied := []string{script.ProbeRead, script.ProbeWrite, script.ProbeExec}
		if m.landlockABI >= 4 {
			denied = append(denied, script.ProbeConnect)
		}
		if m.landlockABI >= 6 {
			denied = append(denied, script.ProbeSignal)
		}
		return denied
	}
	return nil
}

// has reports whether the machine offers layer; a runner of a worker
// that is not root is unprivileged from the start.
func (m machine) has(layer string) bool {
	return layer == script.LayerUnprivileged || m.denies(layer) != nil
}

// complete reports whether the machine has every layer, and so a runner
// can be fully isolated.
func (m machine) complete() bool { return m.netns && m.landlockABI >= 6 && m.seccomp && m.binTrue }

var allLayers = []string{script.LayerNetNS, script.LayerUnprivileged, script.LayerLandlock, script.LayerSeccomp}

// listen opens a TCP listener on the loopback, which no sandboxed runner
// may reach (connections complete in the kernel's backlog, unaccepted).
func listen(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { ln.Close() })
	return ln.Addr().String()
}

// TestSandboxLayers proves each layer on its own: a runner with only
// that layer (and rlimits) probes itself, and exactly what the layer
// stops is denied. With none, everything succeeds (the probe can tell);
// with all, nothing does.
func TestSandboxLayers(t *testing.T) {
	t.Parallel()
	m := inspectMachine(t)
	addr := listen(t)
	cases := []struct {
		name   string
		layers []string
	}{
		{"None", nil},
		{"NetNS", []string{script.LayerNetNS}},
		{"Unprivileged", []string{script.LayerUnprivileged}},
		{"Landlock", []string{script.LayerLandlock}},
		{"Seccomp", []string{script.LayerSeccomp}},
		{"All", allLayers},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			var denied []string
			for _, l := range c.layers {
				if m.denies(l) == nil && len(c.layers) == 1 {
					t.Skipf("this machine has no %s layer", l)
				}
				denied = append(denied, m.denies(l)...)
			}
			p := newPool(t, script.OnlyLayers(script.Config{Runners: 1}, c.layers...))
			iso, err := script.Probe(p, addr)
			require.NoError(t, err)
			t.Log(iso)
			for _, l := range allLayers {
				require.Equal(t, slices.Contains(c.layers, l) && m.has(l), iso.On(l), "layer %s", l)
			}
			for _, r := range iso.Probe {
				want := script.Allowed
				switch {
				case slices.Contains(denied, r.Op):
					want = script.Denied
				case r.Op == script.ProbeExec && !m.binTrue:
					want = script.Untested
				}
				require.Equal(t, want, r.Outcome, "%s: %s", r.Op, r.Detail)
			}
		})
	}
}

// TestIsolation: a pool with the default configuration uses every layer
// the machine has, and reports them (the line Start logs).
func TestIsolation(t *testing.T) {
	t.Parallel()
	m := inspectMachine(t)
	iso := newPool(t, script.Config{}).Isolation()
	t.Log(iso)
	require.True(t, iso.On(script.LayerRlimits))
	require.True(t, iso.On(script.LayerNoNewPrivs))
	for _, l := range allLayers {
		if m.has(l) {
			require.True(t, iso.On(l), "layer %s: %s", l, iso)
		}
	}
	require.Len(t, iso.Probe, 5)
	if m.complete() {
		require.Empty(t, iso.Gaps(), "this machine has every layer")
	}
}

// TestRequireIsolation: with RequireIsolation, a pool whose runners
// lack a layer does not start; with every layer, it does.
func TestRequireIsolation(t *testing.T) {
	t.Parallel()
	cfg := script.OnlyLayers(script.Config{Runners: 1, RequireIsolation: true},
		script.LayerNetNS, script.LayerUnprivileged, script.LayerLandlock)
	p, err := script.NewPool(cfg, zaptest.NewLogger(t))
	require.NoError(t, err)
	err = p.Start(context.Background())
	require.ErrorContains(t, err, "seccomp is off (skipped)")
	p.Stop()

	if !inspectMachine(t).complete() {
		t.Skip("this machine lacks a layer")
	}
	p = newPool(t, script.Config{Runners: 1, RequireIsolation: true})
	res := run(t, p, "def main():\n    return 'isolated'\n")
	require.Nil(t, res.Failure)
	require.Equal(t, `"isolated"`, string(res.Value))
}

// TestTimeZones: a runner that cannot read /usr/share/zoneinfo still
// knows every time zone (they are in the binary).
func TestTimeZones(t *testing.T) {
	t.Parallel()
	p := newPool(t, script.Config{Runners: 1})
	res := run(t, p, "def main():\n    t = time.time(year=2026, month=7, day=1, hour=12, location='Europe/Paris')\n    return str(t.in_location('UTC'))\n")
	require.Nil(t, res.Failure, "%+v", res.Failure)
	require.Equal(t, `"2026-07-01 10:00:00 +0000 UTC"`, string(res.Value))
}
