package script_test

import (
	"context"
	"fmt"
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
// package's code. The tests below prove every layer, so a machine
// without one fails them, naming what it lacks (a skipped test would
// hide it): run them where the kernel has every layer, as CI does.
type machine struct {
	root        bool
	landlockABI int
	binTrue     bool
}

func inspectMachine(t *testing.T) machine {
	t.Helper()
	m := machine{root: os.Geteuid() == 0}
	var missing []string
	abi, _, errno := unix.Syscall(unix.SYS_LANDLOCK_CREATE_RULESET, 0, 0, unix.LANDLOCK_CREATE_RULESET_VERSION)
	if errno != 0 {
		missing = append(missing, fmt.Sprintf("Landlock (landlock_create_ruleset: %v)", errno))
	} else {
		m.landlockABI = int(abi)
	}
	if _, err := unix.PrctlRetInt(unix.PR_GET_SECCOMP, 0, 0, 0, 0); err != nil {
		missing = append(missing, fmt.Sprintf("seccomp (prctl(PR_GET_SECCOMP): %v)", err))
	}
	if runtime.GOARCH != "amd64" && runtime.GOARCH != "arm64" {
		missing = append(missing, "a seccomp filter for "+runtime.GOARCH+" (the package has amd64 and arm64)")
	}
	if err := startInNetNS(); err != nil {
		missing = append(missing, fmt.Sprintf("network namespaces (%v)", err))
	}
	_, err := os.Stat("/bin/true")
	m.binTrue = err == nil
	t.Logf("machine: %+v", m)
	require.Empty(t, missing, "this machine lacks sandbox layers these tests prove")
	return m
}

// startInNetNS runs this test binary, running no test, in a network
// namespace of its own, as a pool would.
func startInNetNS() error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET}
	if uid, gid := os.Geteuid(), os.Getegid(); uid != 0 {
		cmd.SysProcAttr.Cloneflags |= syscall.CLONE_NEWUSER
		cmd.SysProcAttr.UidMappings = []syscall.SysProcIDMap{{ContainerID: uid, HostID: uid, Size: 1}}
		cmd.SysProcAttr.GidMappings = []syscall.SysProcIDMap{{ContainerID: gid, HostID: gid, Size: 1}}
	}
	return cmd.Run()
}

// denies is what each layer alone must stop on this machine.
func (m machine) denies(layer string) []string {
	switch layer {
	case script.LayerNetNS:
		return []string{script.ProbeConnect}
	case script.LayerUnprivileged:
		if !m.root {
			return nil // the runner of a worker that is not root keeps its uid
		}
		// The worker's process and files are root's; another runner has
		// uid 65534 too, and /etc/passwd and /tmp are open to anyone.
		return []string{script.ProbeSignal, script.ProbeChmod}
	case script.LayerSeccomp:
		return allOps
	case script.LayerLandlock:
		denied := []string{script.ProbeRead, script.ProbeWrite, script.ProbeExec} // no ABI covers chmod
		if m.landlockABI >= 4 {
			denied = append(denied, script.ProbeConnect)
		}
		if m.landlockABI >= 6 {
			denied = append(denied, script.ProbeSignal, script.ProbeSignalRunner)
		}
		return denied
	}
	panic("no layer " + layer)
}

var (
	allLayers = []string{script.LayerNetNS, script.LayerUnprivileged, script.LayerLandlock, script.LayerSeccomp}
	allOps    = []string{script.ProbeConnect, script.ProbeRead, script.ProbeWrite, script.ProbeExec, script.ProbeChmod,
		script.ProbeSignal, script.ProbeSignalRunner}
)

// TestSandboxLayers proves each layer on its own: a runner with only
// that layer (and rlimits) probes itself, and exactly what the layer
// stops is denied. With none, everything succeeds (the probe can tell);
// with all, nothing does.
func TestSandboxLayers(t *testing.T) {
	t.Parallel()
	m := inspectMachine(t)
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
				denied = append(denied, m.denies(l)...)
			}
			iso := newPool(t, script.OnlyLayers(script.Config{Runners: 1}, c.layers...)).Isolation()
			t.Log(iso)
			for _, l := range allLayers {
				require.Equal(t, slices.Contains(c.layers, l), iso.On(l), "layer %s", l)
			}
			require.Len(t, iso.Probe, len(allOps))
			for i, r := range iso.Probe {
				want := script.Allowed
				switch {
				case slices.Contains(denied, r.Op):
					want = script.Denied
				case r.Op == script.ProbeExec && !m.binTrue:
					want = script.Untested
				}
				require.Equal(t, allOps[i], r.Op)
				require.Equal(t, want, r.Outcome, "%s: %s", r.Op, r.Detail)
			}
		})
	}
}

// TestIsolation: a pool with the default configuration uses every
// layer, and a runner can do nothing the probe tries (the line Start
// logs).
func TestIsolation(t *testing.T) {
	t.Parallel()
	inspectMachine(t)
	iso := newPool(t, script.Config{}).Isolation()
	t.Log(iso)
	require.True(t, iso.On(script.LayerRlimits))
	require.True(t, iso.On(script.LayerNoNewPrivs))
	for _, l := range allLayers {
		require.True(t, iso.On(l), "layer %s: %s", l, iso)
	}
	require.Len(t, iso.Probe, len(allOps))
	require.Empty(t, iso.Gaps(), "this machine has every layer")
}

// TestRequireIsolation: with RequireIsolation, a pool whose runners
// lack a layer does not start; with every layer, it does.
func TestRequireIsolation(t *testing.T) {
	t.Parallel()
	inspectMachine(t)
	cfg := script.OnlyLayers(script.Config{Runners: 1, RequireIsolation: true},
		script.LayerNetNS, script.LayerUnprivileged, script.LayerLandlock)
	p, err := script.NewPool(cfg, zaptest.NewLogger(t))
	require.NoError(t, err)
	err = p.Start(context.Background())
	require.ErrorContains(t, err, "seccomp is off (skipped)")
	p.Stop()

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
