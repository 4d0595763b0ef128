package script

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"
	"time"
)

// The probe checks the sandbox from inside: a runner, locked down as for
// any run, tries what code that broke out of Starlark would try first,
// and reports what succeeded. Only the host asks for it (a probe frame on
// the runner's stdin, which nothing of a script's reaches); its one input
// is the TCP address to dial, a listener the host opened. The pool probes
// its first runner at Start (Pool.Isolation); tests probe each layer.

// probeRequest is a probe frame's Data.
type probeRequest struct {
	TCP string `json:"tcp,omitempty"` // host:port to connect to; none: connect is untested
}

// errUntested marks an operation the probe could not meaningfully try.
var errUntested = errors.New("not tried")

// probe runs in the runner.
func probe(req probeRequest) []ProbeResult {
	return []ProbeResult{
		try(ProbeConnect, func() error { return dial(req.TCP) }),
		try(ProbeRead, readPasswd),
		try(ProbeWrite, createTemp),
		try(ProbeExec, execTrue),
		try(ProbeSignal, func() error { return syscall.Kill(os.Getppid(), 0) }),
	}
}

func try(op string, f func() error) ProbeResult {
	err := f()
	switch {
	case err == nil:
		return ProbeResult{Op: op, Outcome: Allowed}
	case errors.Is(err, errUntested):
		return ProbeResult{Op: op, Outcome: Untested, Detail: err.Error()}
	}
	return ProbeResult{Op: op, Outcome: Denied, Detail: err.Error()}
}

func dial(addr string) error {
	if addr == "" {
		return fmt.Errorf("%w: no listener", errUntested)
	}
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	return c.Close()
}

func readPasswd() error {
	f, err := os.Open("/etc/passwd")
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = f.Read(make([]byte, 1))
	return err
}

func createTemp() error {
	f, err := os.CreateTemp("/tmp", ".tenantry-probe-*")
	if err != nil {
		return err
	}
	f.Close()
	return os.Remove(f.Name())
}

// execTrue runs /bin/true with no file descriptors.
func execTrue() error {
	const path = "/bin/true"
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("%w: %w", errUntested, err)
	}
	pid, err := syscall.ForkExec(path, []string{"true"}, &syscall.ProcAttr{})
	if err != nil {
		return err
	}
	_, err = syscall.Wait4(pid, nil, 0, nil)
	return err
}

// probe asks the runner to probe itself, connecting to tcpAddr.
func (p *proc) probe(tcpAddr string) ([]ProbeResult, error) {
	data, _ := json.Marshal(probeRequest{TCP: tcpAddr})
	if err := p.w.write(&frame{Type: frameProbe, Data: data}); err != nil {
		return nil, fmt.Errorf("send probe: %w", err)
	}
	_ = p.out.SetReadDeadline(time.Now().Add(10 * time.Second))
	defer func() { _ = p.out.SetReadDeadline(time.Time{}) }()
	f, err := p.r.read()
	if err == nil && f.Type != frameProbed {
		err = fmt.Errorf("a %q frame", f.Type)
	}
	var results []ProbeResult
	if err == nil {
		err = json.Unmarshal(f.Data, &results)
	}
	if err != nil {
		p.broken = true
		return nil, fmt.Errorf("probe runner: %w", err)
	}
	return results, nil
}

// inspect probes r against a listener on the worker's own loopback,
// which a runner must not reach, and returns the pool's Isolation.
func inspect(r *proc) (Isolation, error) {
	addr := ""
	if ln, err := net.Listen("tcp", "127.0.0.1:0"); err == nil {
		defer ln.Close()
		addr = ln.Addr().String()
	}
	results, err := r.probe(addr)
	if err != nil {
		return Isolation{}, err
	}
	return Isolation{Layers: r.layers, Probe: results}, nil
}
