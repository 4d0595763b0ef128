package script

import "golang.org/x/sys/unix"

// auditArch is the architecture the seccomp filter lets through; abiBit
// marks x32 system calls, refused.
const (
	auditArch = unix.AUDIT_ARCH_X86_64
	abiBit    = 0x40000000
)

// archDenied are denied system calls only x86-64 has (see deniedSyscalls).
var archDenied = []uintptr{unix.SYS_OPEN, unix.SYS_CREAT, unix.SYS_USELIB}
