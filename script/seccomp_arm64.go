package script

import "golang.org/x/sys/unix"

// auditArch is the architecture the seccomp filter lets through; arm64
// has one system call ABI.
const (
	auditArch = unix.AUDIT_ARCH_AARCH64
	abiBit    = 0
)

// archDenied are denied system calls only arm64 has: none.
var archDenied []uintptr
