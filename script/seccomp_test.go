package script

import (
	"encoding/binary"
	"runtime"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// TestDenyFilter runs the seccomp program as the kernel would, for every
// system call it must decide; TestSandboxLayers proves in a real runner
// what the probe tries.
func TestDenyFilter(t *testing.T) {
	t.Parallel()
	if auditArch == 0 {
		t.Fatalf("no seccomp filter for %s", runtime.GOARCH)
	}
	const pid, other = 4242, 4243
	prog := denyFilter(pid)
	require.Less(t, len(prog), 4096, "the kernel's limit")
	eperm, allow := unix.SECCOMP_RET_ERRNO|uint32(syscall.EPERM), uint32(unix.SECCOMP_RET_ALLOW)

	for name, nr := range fileCalls() {
		require.Equal(t, eperm, evalFilter(t, prog, auditArch, nr), name)
	}
	cases := []struct {
		name string
		nr   uintptr
		args []uint64
		want uint32
	}{
		{"read", unix.SYS_READ, []uint64{0}, allow},
		{"write", unix.SYS_WRITE, []uint64{1}, allow},
		{"futex", unix.SYS_FUTEX, nil, allow},
		{"mmap", unix.SYS_MMAP, nil, allow},
		{"thread", unix.SYS_CLONE, []uint64{unix.CLONE_VM | unix.CLONE_FS | unix.CLONE_FILES | unix.CLONE_SIGHAND |
			unix.CLONE_THREAD | unix.CLONE_SYSVSEM}, allow},
		{"clone(CLONE_NEWUSER)", unix.SYS_CLONE, []uint64{unix.CLONE_NEWUSER}, eperm},
		{"clone3", unix.SYS_CLONE3, nil, unix.SECCOMP_RET_ERRNO | uint32(syscall.ENOSYS)},
		{"openat", unix.SYS_OPENAT, nil, eperm},

		// The runtime's preemption, tgkill(getpid(), tid, SIGURG), and
		// its death, kill(getpid(), sig).
		{"tgkill(self)", unix.SYS_TGKILL, []uint64{pid, 4250, uint64(unix.SIGURG)}, allow},
		{"kill(self)", unix.SYS_KILL, []uint64{pid, uint64(unix.SIGABRT)}, allow},
		{"rt_sigqueueinfo(self)", unix.SYS_RT_SIGQUEUEINFO, []uint64{pid}, allow},
		{"rt_tgsigqueueinfo(self)", unix.SYS_RT_TGSIGQUEUEINFO, []uint64{pid, pid}, allow},
		{"tgkill(other)", unix.SYS_TGKILL, []uint64{other, other}, eperm},
		{"kill(other)", unix.SYS_KILL, []uint64{other}, eperm},
		{"kill(process group)", unix.SYS_KILL, []uint64{0}, eperm},
		{"kill(-1)", unix.SYS_KILL, []uint64{0xffff_ffff}, eperm},
		{"kill(other), pid in the high half", unix.SYS_KILL, []uint64{pid<<32 | other}, eperm},
		{"kill(self), junk in the high half", unix.SYS_KILL, []uint64{other<<32 | pid}, allow}, // the kernel reads an int
		{"rt_sigqueueinfo(other)", unix.SYS_RT_SIGQUEUEINFO, []uint64{other}, eperm},
		{"rt_tgsigqueueinfo(other)", unix.SYS_RT_TGSIGQUEUEINFO, []uint64{other, other}, eperm},
		{"tkill", unix.SYS_TKILL, []uint64{pid}, eperm},
		{"pidfd_send_signal", unix.SYS_PIDFD_SEND_SIGNAL, nil, eperm},
		{"fcntl(F_SETOWN)", unix.SYS_FCNTL, []uint64{0, unix.F_SETOWN, pid}, eperm},
		{"fcntl(F_SETOWN_EX)", unix.SYS_FCNTL, []uint64{0, unix.F_SETOWN_EX}, eperm},
		{"fcntl(F_SETFL)", unix.SYS_FCNTL, []uint64{0, unix.F_SETFL, unix.O_NONBLOCK}, allow},
		{"fcntl(F_DUPFD_CLOEXEC)", unix.SYS_FCNTL, []uint64{0, unix.F_DUPFD_CLOEXEC}, allow},
		{"setrlimit", unix.SYS_PRLIMIT64, []uint64{0, unix.RLIMIT_CPU}, allow},
		{"prlimit64(self)", unix.SYS_PRLIMIT64, []uint64{pid, unix.RLIMIT_CPU}, allow},
		{"prlimit64(other)", unix.SYS_PRLIMIT64, []uint64{other, unix.RLIMIT_NOFILE}, eperm},
		{"sched_setaffinity", unix.SYS_SCHED_SETAFFINITY, []uint64{other}, eperm},
		{"setpriority", unix.SYS_SETPRIORITY, []uint64{unix.PRIO_PROCESS, other}, eperm},
	}
	for _, c := range cases {
		require.Equal(t, c.want, evalFilter(t, prog, auditArch, c.nr, c.args...), c.name)
	}
	require.Equal(t, eperm, evalFilter(t, prog, auditArch^1, unix.SYS_READ), "another architecture")
	if abiBit != 0 {
		require.Equal(t, eperm, evalFilter(t, prog, auditArch, abiBit|unix.SYS_READ), "x32")
	}
}

// fileCalls are the system calls that change a file without opening it
// (or read its extended attributes), by name.
func fileCalls() map[string]uintptr {
	calls := map[string]uintptr{
		"fchmod": unix.SYS_FCHMOD, "fchmodat": unix.SYS_FCHMODAT, "fchmodat2": unix.SYS_FCHMODAT2,
		"fchown": unix.SYS_FCHOWN, "fchownat": unix.SYS_FCHOWNAT, "utimensat": unix.SYS_UTIMENSAT,
		"setxattr": unix.SYS_SETXATTR, "lsetxattr": unix.SYS_LSETXATTR, "fsetxattr": unix.SYS_FSETXATTR,
		"setxattrat": unix.SYS_SETXATTRAT, "getxattr": unix.SYS_GETXATTR, "lgetxattr": unix.SYS_LGETXATTR,
		"fgetxattr": unix.SYS_FGETXATTR, "getxattrat": unix.SYS_GETXATTRAT, "listxattr": unix.SYS_LISTXATTR,
		"llistxattr": unix.SYS_LLISTXATTR, "flistxattr": unix.SYS_FLISTXATTR, "listxattrat": unix.SYS_LISTXATTRAT,
		"removexattr": unix.SYS_REMOVEXATTR, "lremovexattr": unix.SYS_LREMOVEXATTR,
		"fremovexattr": unix.SYS_FREMOVEXATTR, "removexattrat": unix.SYS_REMOVEXATTRAT,
		"unlinkat": unix.SYS_UNLINKAT, "renameat2": unix.SYS_RENAMEAT2, "linkat": unix.SYS_LINKAT,
		"symlinkat": unix.SYS_SYMLINKAT, "mkdirat": unix.SYS_MKDIRAT, "mknodat": unix.SYS_MKNODAT,
		"truncate": unix.SYS_TRUNCATE, "ftruncate": unix.SYS_FTRUNCATE, "fallocate": unix.SYS_FALLOCATE,
	}
	// The calls not every architecture has, numbered from the kernel's
	// tables (arch/x86/entry/syscalls/syscall_64.tbl,
	// include/uapi/asm-generic/unistd.h), not from the constants the
	// filter uses.
	arch := map[string]map[string]uintptr{
		"amd64": {"renameat": 264, "chmod": 90, "chown": 92, "lchown": 94, "utime": 132, "utimes": 235,
			"futimesat": 261, "unlink": 87, "rmdir": 84, "rename": 82, "link": 86, "symlink": 88, "mkdir": 83,
			"mknod": 133, "open": 2, "creat": 85},
		"arm64": {"renameat": 38},
	}
	for name, nr := range arch[runtime.GOARCH] {
		calls[name] = nr
	}
	return calls
}

// evalFilter runs prog, a classic BPF seccomp program, on the system
// call nr with args, as the kernel would, and returns its verdict. It
// knows the instructions denyFilter uses.
func evalFilter(t *testing.T, prog []unix.SockFilter, arch uint32, nr uintptr, args ...uint64) uint32 {
	t.Helper()
	data := make([]byte, 64) // struct seccomp_data
	binary.NativeEndian.PutUint32(data[offNr:], uint32(nr))
	binary.NativeEndian.PutUint32(data[offArch:], arch)
	for i, a := range args {
		binary.NativeEndian.PutUint64(data[16+8*i:], a)
	}
	var acc uint32
	for pc := 0; pc < len(prog); pc++ {
		in := prog[pc]
		var cond bool
		switch in.Code {
		case unix.BPF_LD | unix.BPF_W | unix.BPF_ABS:
			acc = binary.NativeEndian.Uint32(data[in.K:])
			continue
		case unix.BPF_RET | unix.BPF_K:
			return in.K
		case unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K:
			cond = acc == in.K
		case unix.BPF_JMP | unix.BPF_JGE | unix.BPF_K:
			cond = acc >= in.K
		case unix.BPF_JMP | unix.BPF_JSET | unix.BPF_K:
			cond = acc&in.K != 0
		default:
			t.Fatalf("instruction %d: unknown code %#x", pc, in.Code)
		}
		if cond {
			pc += int(in.Jt)
		} else {
			pc += int(in.Jf)
		}
	}
	t.Fatal("the program ends without a verdict")
	return 0
}
