package script

import "golang.org/x/sys/unix"

// auditArch is the architecture the seccomp filter lets through; arm64
// has one system call ABI.
const (
	auditArch = unix.AUDIT_ARCH_AARCH64
	abiBit    = 0
)

// archDenied are the denied system calls (see deniedSyscalls) not every
// architecture has: renameat (riscv64 has only renameat2). arm64 never
// had the file calls by path of old (open, chmod, unlink…), only their
// *at forms.
var archDenied = []uintptr{unix.SYS_RENAMEAT}
