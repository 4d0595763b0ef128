package script

import "golang.org/x/sys/unix"

// auditArch is the architecture the seccomp filter lets through; abiBit
// marks x32 system calls, refused.
const (
	auditArch = unix.AUDIT_ARCH_X86_64
	abiBit    = 0x40000000
)

// archDenied are the denied system calls (see deniedSyscalls) not every
// architecture has: renameat, and the file calls by path of old that
// arm64, with only their *at forms, never had.
var archDenied = []uintptr{
	unix.SYS_RENAMEAT, unix.SYS_OPEN, unix.SYS_CREAT, unix.SYS_USELIB,
	unix.SYS_CHMOD, unix.SYS_CHOWN, unix.SYS_LCHOWN, unix.SYS_UTIME, unix.SYS_UTIMES, unix.SYS_FUTIMESAT,
	unix.SYS_UNLINK, unix.SYS_RMDIR, unix.SYS_RENAME, unix.SYS_LINK, unix.SYS_SYMLINK, unix.SYS_MKDIR, unix.SYS_MKNOD,
}
