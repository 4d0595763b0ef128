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
// the runner's stdin, which nothing of a script's reaches); its inputs
// are targets the host set up: a TCP listener, a file of the worker's,
// another runner. The pool probes its first runner at Start
// (Pool.Isolation).

// probeRequest is a probe frame's Data. A target left out leaves its
// operation untested.
type probeRequest struct {
	TCP    string `json:"tcp,omitempty"`    // host:port to connect to
	File   string `json:"file,omitempty"`   // a file of the worker's to chmod
	Runner int    `json:"runner,omitempty"` // another runner's pid, to signal
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
		try(ProbeChmod, func() error { return chmod(req.File) }),
		trySignal(ProbeSignal, os.Getppid()),
		trySignal(ProbeSignalRunner, req.Runner),
	}
}

func try(op string, f func() error) ProbeResult {
	err := f()
	switch {
	case err == nil:
		return ProbeResult{Op: op, Outcome: Allowed}
	case errors.Is(err, errUntested) || !refused(err):
		// Something else went wrong (no such file, nothing listening):
		// that proves nothing about the sandbox.
		return ProbeResult{Op: op, Outcome: Untested, Detail: err.Error()}
	}
	return ProbeResult{Op: op, Outcome: Denied, Detail: err.Error()}
}

// refused reports whether err is how a sandbox layer says no: a
// permission refusal (Landlock, the uid), a filtered syscall (seccomp),
// or no route at all (an empty network namespace).
func refused(err error) bool {
	for _, errno := range []syscall.Errno{syscall.EACCES, syscall.EPERM, syscall.ENOSYS, syscall.ENETUNREACH, syscall.EHOSTUNREACH} {
		if errors.Is(err, errno) {
			return true
		}
	}
	return false
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

// chmod gives path the mode the worker created it with (0600): allowed,
// it changes nothing but the file's ctime.
func chmod(path string) error {
	if path == "" {
		return fmt.Errorf("%w: no file", errUntested)
	}
	return os.Chmod(path, 0o600)
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

// probe asks the runner to probe itself against req's targets.
func (p *proc) probe(req probeRequest) ([]ProbeResult, error) {
	data, _ := json.Marshal(req)
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

// inspect probes r and returns the pool's Isolation. The targets are
// what a runner must not reach: a listener on the worker's own loopback,
// a file the worker creates for the purpose, and a second runner, started
// with the same sandbox for the purpose and ended after.
func (p *Pool) inspect(r *proc) (Isolation, error) {
	other, err := p.spawn()
	if err != nil {
		return Isolation{}, fmt.Errorf("start a runner for the probe to signal: %w", err)
	}
	defer other.close()
	req := probeRequest{Runner: other.cmd.Process.Pid}
	if ln, err := net.Listen("tcp", "127.0.0.1:0"); err == nil {
		defer ln.Close()
		req.TCP = ln.Addr().String()
	}
	if f, err := os.CreateTemp("", ".tenantry-probe-*"); err == nil {
		f.Close()
		defer os.Remove(f.Name())
		req.File = f.Name()
	}
	results, err := r.probe(req)
	if err != nil {
		return Isolation{}, err
	}
	return Isolation{Layers: r.layers, Probe: results}, nil
}
