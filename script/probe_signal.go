package script

import (
	"fmt"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"
)

// trySignal sends signal 0 — the kernel's permission check, nothing
// delivered — to pid every way the kernel offers: allowed if one of them
// succeeds, naming which.
func trySignal(op string, pid int) ProbeResult {
	if pid <= 0 {
		return ProbeResult{Op: op, Outcome: Untested, Detail: "no process to signal"}
	}
	var allowed, denied []string
	for _, s := range signallers(pid) {
		if err := s.send(); err != nil {
			denied = append(denied, fmt.Sprintf("%s: %v", s.name, err))
		} else {
			allowed = append(allowed, s.name)
		}
	}
	if len(allowed) > 0 {
		return ProbeResult{Op: op, Outcome: Allowed, Detail: "by " + strings.Join(allowed, ", ")}
	}
	return ProbeResult{Op: op, Outcome: Denied, Detail: strings.Join(denied, "; ")}
}

type signaller struct {
	name string
	send func() error
}

func signallers(pid int) []signaller {
	// rt_sigqueueinfo takes a siginfo, which must claim to come from
	// sigqueue (SI_QUEUE) unless the target is the caller.
	info := &unix.Siginfo{Code: -1}
	return []signaller{
		{"kill", func() error { return unix.Kill(pid, 0) }},
		{"tkill", func() error { return errnoErr(unix.Syscall(unix.SYS_TKILL, uintptr(pid), 0, 0)) }},
		{"tgkill", func() error { return unix.Tgkill(pid, pid, 0) }},
		{"rt_sigqueueinfo", func() error {
			return errnoErr(unix.Syscall(unix.SYS_RT_SIGQUEUEINFO, uintptr(pid), 0, uintptr(unsafe.Pointer(info))))
		}},
		{"rt_tgsigqueueinfo", func() error {
			return errnoErr(unix.Syscall6(unix.SYS_RT_TGSIGQUEUEINFO, uintptr(pid), uintptr(pid), 0,
				uintptr(unsafe.Pointer(info)), 0, 0))
		}},
		{"pidfd_send_signal", func() error { return pidfdSignal(pid) }},
	}
}

func pidfdSignal(pid int) error {
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return fmt.Errorf("pidfd_open: %w", err)
	}
	defer unix.Close(fd)
	return unix.PidfdSendSignal(fd, 0, nil, 0)
}

func errnoErr(_, _ uintptr, errno unix.Errno) error {
	if errno != 0 {
		return errno
	}
	return nil
}
