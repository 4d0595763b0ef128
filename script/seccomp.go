package script

import (
	"fmt"
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
// archDenied (seccomp_$GOARCH.go) adds the calls only some
// architectures have.
var deniedSyscalls = []uintptr{
	// Sockets: no network, no UNIX socket of the worker's machine.
	unix.SYS_SOCKET, unix.SYS_SOCKETPAIR, unix.SYS_CONNECT, unix.SYS_BIND, unix.SYS_LISTEN, unix.SYS_ACCEPT, unix.SYS_ACCEPT4,
	// Files: nothing is opened after start (Landlock says the same).
	unix.SYS_OPENAT, unix.SYS_OPENAT2, unix.SYS_OPEN_BY_HANDLE_AT, unix.SYS_NAME_TO_HANDLE_AT,
	// Programs.
	unix.SYS_EXECVE, unix.SYS_EXECVEAT,
	// Other processes.
	unix.SYS_PTRACE, unix.SYS_PROCESS_VM_READV, unix.SYS_PROCESS_VM_WRITEV, unix.SYS_PIDFD_GETFD,
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
		if err := installFilter(denyFilter()); err != nil {
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
	return nil
}

// denyFilter is the classic BPF program: a foreign architecture (or
// x86-64's x32 ABI) gets EPERM for everything, the denied calls EPERM,
// clone3 ENOSYS, clone with namespace flags EPERM; the rest is allowed.
func denyFilter() []unix.SockFilter {
	const offNr, offArch, offArg0 = 0, 4, 16 // in struct seccomp_data; arg0's low half on little-endian
	eperm := ret(unix.SECCOMP_RET_ERRNO | uint32(syscall.EPERM))
	prog := []unix.SockFilter{bpfLoad(offArch), jeq(auditArch, 1, 0), eperm, bpfLoad(offNr)}
	if abiBit != 0 {
		prog = append(prog, jump(unix.BPF_JGE, abiBit, 0, 1), eperm)
	}
	prog = append(prog, jeq(unix.SYS_CLONE3, 0, 1), ret(unix.SECCOMP_RET_ERRNO|uint32(syscall.ENOSYS)))
	for _, nr := range slices.Concat(deniedSyscalls, archDenied) {
		prog = append(prog, jeq(uint32(nr), 0, 1), eperm)
	}
	return append(prog,
		jeq(unix.SYS_CLONE, 0, 3), bpfLoad(offArg0), jump(unix.BPF_JSET, cloneNamespaces, 0, 1), eperm,
		ret(unix.SECCOMP_RET_ALLOW))
}

func bpfLoad(off uint32) unix.SockFilter {
	return unix.SockFilter{Code: unix.BPF_LD | unix.BPF_W | unix.BPF_ABS, K: off}
}

func jeq(k uint32, jt, jf uint8) unix.SockFilter { return jump(unix.BPF_JEQ, k, jt, jf) }

func jump(op uint16, k uint32, jt, jf uint8) unix.SockFilter {
	return unix.SockFilter{Code: unix.BPF_JMP | op | unix.BPF_K, Jt: jt, Jf: jf, K: k}
}

func ret(k uint32) unix.SockFilter { return unix.SockFilter{Code: unix.BPF_RET | unix.BPF_K, K: k} }
