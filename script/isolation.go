package script

import (
	"fmt"
	"slices"
	"strings"
)

// The layers of the runner sandbox, each enforced by the kernel and each
// best-effort: a layer the machine lacks is reported off, with the reason
// (see Config.RequireIsolation).
const (
	// LayerNetNS: the runner starts in its own network namespace (only a
	// loopback interface, down), IPC and UTS namespaces; inside a user
	// namespace when the worker is not root.
	LayerNetNS = "netns"
	// LayerRlimits: address space, CPU time, file size 0, 16 files, no
	// core. Always on: a runner that cannot set them does not start.
	LayerRlimits = "rlimits"
	// LayerUnprivileged: the runner holds no capabilities; a runner of a
	// root worker switches to uid and gid 65534 once started.
	LayerUnprivileged = "unprivileged"
	// LayerNoNewPrivs: PR_SET_NO_NEW_PRIVS, on every thread.
	LayerNoNewPrivs = "nnp"
	// LayerLandlock: Landlock with no rule: no file may be opened,
	// created or executed, no TCP port bound or connected to, no signal
	// sent outside the runner (from ABI 6). Detail is the kernel's ABI.
	LayerLandlock = "landlock"
	// LayerSeccomp: a seccomp filter that fails the system calls a runner
	// never needs: sockets, opening or changing files, exec, namespaces,
	// ptrace…, and signals or rlimits for any process but the runner.
	LayerSeccomp = "seccomp"
)

// The operations the probe tries from inside a runner.
const (
	ProbeConnect      = "connect"       // a TCP connection to a listener on the worker's loopback
	ProbeRead         = "read"          // open and read /etc/passwd
	ProbeWrite        = "write"         // create a file in /tmp
	ProbeExec         = "exec"          // execute /bin/true
	ProbeChmod        = "chmod"         // change the mode of a file of the worker's
	ProbeSignal       = "signal"        // signal 0 to the worker (kill, tgkill, pidfd_send_signal…)
	ProbeSignalRunner = "signal-runner" // signal 0 to another runner, which has the same uid
)

// Isolation is what confines a pool's runners: the layers its first
// runner reported, and what a probe inside that runner could still do.
type Isolation struct {
	Layers []Layer       `json:"layers"`
	Probe  []ProbeResult `json:"probe"`
}

// Layer is one layer of the sandbox.
type Layer struct {
	Name   string `json:"name"` // one of the Layer* names
	On     bool   `json:"on"`
	Detail string `json:"detail,omitempty"` // "abi 7", "uid 65534"; when off, why
}

// ProbeResult is one operation the probe tried.
type ProbeResult struct {
	Op      string `json:"op"`      // one of the Probe* names
	Outcome string `json:"outcome"` // "denied", "allowed", or "untested"
	Detail  string `json:"detail,omitempty"`
}

// Probe outcomes.
const (
	Denied   = "denied"
	Allowed  = "allowed"
	Untested = "untested" // e.g. exec on a machine with no /bin/true, chmod with no temporary directory
)

// String is the one-line report the pool logs at Start:
// "netns=on rlimits=on … landlock=on(abi 7) … probe: connect=denied …";
// without "probe:" when there was none.
func (iso Isolation) String() string {
	var parts []string
	for _, l := range iso.Layers {
		part := l.Name + "=" + onOff(l.On)
		if l.Detail != "" {
			part += "(" + l.Detail + ")"
		}
		parts = append(parts, part)
	}
	if len(iso.Probe) > 0 {
		parts = append(parts, "probe:")
	}
	for _, r := range iso.Probe {
		parts = append(parts, r.Op+"="+r.Outcome)
	}
	return strings.Join(parts, " ")
}

// Gaps names what falls short of full isolation: each layer that is off
// and each probe operation that was allowed. None when fully isolated.
func (iso Isolation) Gaps() []string {
	gaps := layerGaps(iso.Layers)
	for _, r := range iso.Probe {
		if r.Outcome == Allowed {
			gaps = append(gaps, "a runner could "+r.Op)
		}
	}
	return gaps
}

// On reports whether the layer called name is on.
func (iso Isolation) On(name string) bool {
	i := slices.IndexFunc(iso.Layers, func(l Layer) bool { return l.Name == name })
	return i >= 0 && iso.Layers[i].On
}

func layerGaps(layers []Layer) []string {
	var gaps []string
	for _, l := range layers {
		if !l.On {
			gaps = append(gaps, fmt.Sprintf("%s is off (%s)", l.Name, l.Detail))
		}
	}
	return gaps
}

func onOff(on bool) string {
	if on {
		return "on"
	}
	return "off"
}

// skipped reports whether name is in skip, a comma-separated list of
// layers a test asked runners not to apply (Config.skipLayers).
func skipped(skip, name string) bool { return slices.Contains(strings.Split(skip, ","), name) }
