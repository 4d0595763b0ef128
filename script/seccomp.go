package script

import (
	"fmt"
	"os"
	"runtime"
	"slices"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// deniedSyscalls fail with EPERM in a runner once it has started. It
// needs none of them: its pipes to the host are open, its threads come
// from clone without namespace flags. A denylist, not an allowlist: the
// Go runtime's (and glibc's) needs change between versions, and what is
// listed here is the attack surface, not the runtime's daily bread.
// archDenied (seccomp_$GOARCH.go) adds the calls not every architecture
// has.
var deniedSyscalls = []uintptr{
	// Sockets: no network, no UNIX socket of the worker's machine.
	unix.SYS_SOCKET, unix.SYS_SOCKETPAIR, unix.SYS_CONNECT, unix.SYS_BIND, unix.SYS_LISTEN, unix.SYS_ACCEPT, unix.SYS_ACCEPT4,
	// Files: nothing is opened after start (Landlock says the same).
	unix.SYS_OPENAT, unix.SYS_OPENAT2, unix.SYS_OPEN_BY_HANDLE_AT, unix.SYS_NAME_TO_HANDLE_AT,
	// Files by path or by descriptor, changed without being opened: no
	// Landlock ABI covers their mode, owner, times or extended attributes,
	// and without Landlock nothing covers the rest. A runner of a worker
	// that is not root has the worker's uid, and so its files.
	unix.SYS_FCHMOD, unix.SYS_FCHMODAT, unix.SYS_FCHMODAT2, unix.SYS_FCHOWN, unix.SYS_FCHOWNAT, unix.SYS_UTIMENSAT,
	unix.SYS_SETXATTR, unix.SYS_LSETXATTR, unix.SYS_FSETXATTR, unix.SYS_SETXATTRAT,
	unix.SYS_REMOVEXATTR, unix.SYS_LREMOVEXATTR, unix.SYS_FREMOVEXATTR, unix.SYS_REMOVEXATTRAT,
	unix.SYS_GETXATTR, unix.SYS_LGETXATTR, unix.SYS_FGETXATTR, unix.SYS_GETXATTRAT,
	unix.SYS_LISTXATTR, unix.SYS_LLISTXATTR, unix.SYS_FLISTXATTR, unix.SYS_LISTXATTRAT,
	unix.SYS_UNLINKAT, unix.SYS_RENAMEAT2, unix.SYS_LINKAT, unix.SYS_SYMLINKAT, unix.SYS_MKDIRAT,
	unix.SYS_MKNODAT, unix.SYS_TRUNCATE, unix.SYS_FTRUNCATE, unix.SYS_FALLOCATE,
	// Programs.
	unix.SYS_EXECVE, unix.SYS_EXECVEAT,
	// Other processes: tracing, reading, and signals that name no pid the
	// filter could check (a thread id, a pidfd; see processRules).
	unix.SYS_PTRACE, unix.SYS_PROCESS_VM_READV, unix.SYS_PROCESS_VM_WRITEV, unix.SYS_PIDFD_GETFD,
	unix.SYS_KCMP, unix.SYS_PROCESS_MADVISE, unix.SYS_MOVE_PAGES, unix.SYS_MIGRATE_PAGES,
	unix.SYS_TKILL, unix.SYS_PIDFD_SEND_SIGNAL,
	// Scheduling of a process by pid, which the same uid may change.
	unix.SYS_SETPRIORITY, unix.SYS_IOPRIO_SET, unix.SYS_SCHED_SETAFFINITY, unix.SYS_SCHED_SETSCHEDULER,
	unix.SYS_SCHED_SETPARAM, unix.SYS_SCHED_SETATTR,
	// Namespaces and mounts.
	unix.SYS_UNSHARE, unix.SYS_SETNS, unix.SYS_MOUNT, unix.SYS_UMOUNT2, unix.SYS_PIVOT_ROOT, unix.SYS_CHROOT,
	unix.SYS_FSOPEN, unix.SYS_FSMOUNT, unix.SYS_FSPICK, unix.SYS_MOVE_MOUNT, unix.SYS_OPEN_TREE, unix.SYS_MOUNT_SETATTR,
	// Kernel interfaces that bypass the above or widen the attack surface:
	// io_uring performs opens and connects without these system calls.
	unix.SYS_IO_URING_SETUP, unix.SYS_IO_URING_ENTER, unix.SYS_IO_URING_REGISTER, unix.SYS_BPF,
	unix.SYS_PERF_EVENT_OPEN, unix.SYS_USERFAULTFD, unix.SYS_KEYCTL, unix.SYS_ADD_KEY, unix.SYS_REQUEST_KEY,
	unix.SYS_FANOTIFY_INIT, unix.SYS_INIT_MODULE, unix.SYS_FINIT_MODULE, unix.SYS_DELETE_MODULE,
	unix.SYS_KEXEC_LOAD, unix.SYS_KEXEC_FILE_LOAD, unix.SYS_REBOOT, unix.SYS_SWAPON, unix.SYS_SWAPOFF, unix.SYS_ACCT,
}

// cloneNamespaces are the clone flags that create namespaces, refused
// too (a user namespace hands out capabilities over new ones). clone3
// hides its flags in memory a filter cannot read, so it fails with
// ENOSYS, on which glibc's pthread_create falls back to clone.
const cloneNamespaces = unix.CLONE_NEWNS | unix.CLONE_NEWUTS | unix.CLONE_NEWIPC | unix.CLONE_NEWUSER |
	unix.CLONE_NEWPID | unix.CLONE_NEWNET | unix.CLONE_NEWCGROUP

// filterSyscalls installs the filter on every thread at once (TSYNC).
func filterSyscalls(skip string) Layer {
	l := Layer{Name: LayerSeccomp}
	switch {
	case skipped(skip, l.Name):
		l.Detail = "skipped"
	case auditArch == 0:
		l.Detail = "no filter for " + runtime.GOARCH
	default:
		if err := installFilter(denyFilter(os.Getpid())); err != nil {
			l.Detail = err.Error()
			break
		}
		l.On = true
	}
	return l
}

func installFilter(prog []unix.SockFilter) error {
	// The kernel wants no_new_privs on the calling thread, and TSYNC
	// then sets it on the others too.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("prctl(PR_SET_NO_NEW_PRIVS): %w", err)
	}
	fprog := unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]}
	tid, _, errno := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, unix.SECCOMP_FILTER_FLAG_TSYNC,
		uintptr(unsafe.Pointer(&fprog)))
	switch {
	case errno != 0:
		return fmt.Errorf("seccomp: %w", errno)
	case tid != 0:
		return fmt.Errorf("seccomp: thread %d could not take the filter", tid)
	}
	// The runtime preempts goroutines with tgkill(getpid(), tid, SIGURG)
	// and dies with kill(getpid(), sig): a filter that refused them would
	// break the runner in ways no probe sees. Signal 0 only checks.
	if err := unix.Tgkill(os.Getpid(), unix.Gettid(), 0); err != nil {
		return fmt.Errorf("seccomp: the filter refuses the runtime's tgkill: %w", err)
	}
	if err := unix.Kill(os.Getpid(), 0); err != nil {
		return fmt.Errorf("seccomp: the filter refuses the runtime's kill: %w", err)
	}
	return nil
}

// denyFilter is the classic BPF program for the runner whose pid is
// pid: a foreign architecture (or x86-64's x32 ABI) gets EPERM for
// everything, the denied calls EPERM, clone3 ENOSYS, clone with
// namespace flags EPERM, a call naming another process EPERM; the rest
// is allowed.
func denyFilter(pid int) []unix.SockFilter {
	eperm := ret(unix.SECCOMP_RET_ERRNO | uint32(syscall.EPERM))
	prog := []unix.SockFilter{bpfLoad(offArch), jeq(auditArch, 1, 0), eperm, bpfLoad(offNr)}
	if abiBit != 0 {
		prog = append(prog, jump(unix.BPF_JGE, abiBit, 0, 1), eperm)
	}
	prog = append(prog, jeq(unix.SYS_CLONE3, 0, 1), ret(unix.SECCOMP_RET_ERRNO|uint32(syscall.ENOSYS)))
	for _, nr := range slices.Concat(deniedSyscalls, archDenied) {
		prog = append(prog, jeq(uint32(nr), 0, 1), eperm)
	}
	for _, r := range processRules(uint32(pid)) {
		prog = append(prog, r.program()...)
	}
	return append(prog,
		jeq(unix.SYS_CLONE, 0, 3), bpfLoad(offArg(0)), jump(unix.BPF_JSET, cloneNamespaces, 0, 1), eperm,
		ret(unix.SECCOMP_RET_ALLOW))
}

// processRules confine the system calls that name a process in an
// argument the filter can read to the runner itself: a signal or an
// rlimit for another runner, which has the same uid, or for a worker
// that is not root, fails with EPERM. Landlock (ABI 6) scopes signals
// too; nothing else covers rlimits.
func processRules(pid uint32) []argRule {
	self := []uint32{pid}
	return []argRule{
		// The runtime preempts its threads with tgkill(getpid(), tid, SIGURG).
		{nr: unix.SYS_TGKILL, arg: 0, values: self, allow: true},
		{nr: unix.SYS_KILL, arg: 0, values: self, allow: true},
		{nr: unix.SYS_RT_SIGQUEUEINFO, arg: 0, values: self, allow: true},
		{nr: unix.SYS_RT_TGSIGQUEUEINFO, arg: 0, values: self, allow: true},
		// setrlimit (allowCPU) is prlimit64(0, …).
		{nr: unix.SYS_PRLIMIT64, arg: 0, values: []uint32{0, pid}, allow: true},
		// fcntl(F_SETOWN) names a process the kernel signals (SIGIO, or
		// any signal: F_SETSIG) when a file is ready.
		{nr: unix.SYS_FCNTL, arg: 1, values: []uint32{unix.F_SETOWN, unix.F_SETOWN_EX}},
	}
}

// argRule decides the system call nr on its argument arg (its low 32
// bits, which is what the kernel reads of a pid or an fcntl command):
// one of values is allowed and anything else EPERM, or, with allow
// false, one of values is EPERM and anything else allowed.
type argRule struct {
	nr     uintptr
	arg    int
	values []uint32
	allow  bool
}

// program is the rule's instructions: they leave the accumulator (the
// system call number) alone for another system call, and return for nr.
func (r argRule) program() []unix.SockFilter {
	match, otherwise := ret(unix.SECCOMP_RET_ALLOW), ret(unix.SECCOMP_RET_ERRNO|uint32(syscall.EPERM))
	if !r.allow {
		match, otherwise = otherwise, match
	}
	n := len(r.values)
	prog := []unix.SockFilter{jeq(uint32(r.nr), 0, uint8(n+3)), bpfLoad(offArg(r.arg))}
	for i, v := range r.values {
		prog = append(prog, jeq(v, uint8(n-i), 0)) // to match, past the values left and otherwise
	}
	return append(prog, otherwise, match)
}

// Offsets in struct seccomp_data.
const offNr, offArch = 0, 4

// offArg is the offset of argument i's low half (amd64 and arm64 are
// little-endian).
func offArg(i int) uint32 { return 16 + 8*uint32(i) }

func bpfLoad(off uint32) unix.SockFilter {
	return unix.SockFilter{Code: unix.BPF_LD | unix.BPF_W | unix.BPF_ABS, K: off}
}

func jeq(k uint32, jt, jf uint8) unix.SockFilter { return jump(unix.BPF_JEQ, k, jt, jf) }

func jump(op uint16, k uint32, jt, jf uint8) unix.SockFilter {
	return unix.SockFilter{Code: unix.BPF_JMP | op | unix.BPF_K, Jt: jt, Jf: jf, K: k}
}

func ret(k uint32) unix.SockFilter { return unix.SockFilter{Code: unix.BPF_RET | unix.BPF_K, K: k} }
