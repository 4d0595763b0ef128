package script

import (
	"os"
	"syscall"
)

// runnerNamespaces are the namespaces a runner starts in: a network
// namespace, where the only interface is a loopback that is down, so no
// socket reaches anything; and IPC and UTS namespaces (no SysV shared
// memory or message queue of the worker's machine, such as Postgres's).
// No mount namespace: without mounts of its own, it would isolate
// nothing (Landlock takes the file system away). No PID namespace: psx,
// which applies Landlock to every thread, finds them in /proc/<pid>/task,
// and the runner would see the worker's /proc with a pid of 1.
const runnerNamespaces = syscall.CLONE_NEWNET | syscall.CLONE_NEWIPC | syscall.CLONE_NEWUTS

// netnsLayer is the namespace layer a pool starts with, unless a test
// skips it: a root worker creates the namespaces itself, any other
// inside a user namespace (where the runner keeps the worker's uid and
// gid and so has no capabilities). Pool.Start turns it off, with the
// reason, when the kernel refuses (a container without user namespaces).
func netnsLayer(skip string) Layer {
	switch {
	case skipped(skip, LayerNetNS):
		return Layer{Name: LayerNetNS, Detail: "skipped"}
	case os.Geteuid() != 0:
		return Layer{Name: LayerNetNS, On: true, Detail: "in a user namespace"}
	}
	return Layer{Name: LayerNetNS, On: true}
}

// sysProcAttr starts a runner in its own process group, killed when the
// worker dies, in the namespaces when ns is on.
func sysProcAttr(ns Layer) *syscall.SysProcAttr {
	attr := &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if !ns.On {
		return attr
	}
	attr.Cloneflags = runnerNamespaces
	if uid, gid := os.Geteuid(), os.Getegid(); uid != 0 {
		attr.Cloneflags |= syscall.CLONE_NEWUSER
		attr.UidMappings = []syscall.SysProcIDMap{{ContainerID: uid, HostID: uid, Size: 1}}
		attr.GidMappings = []syscall.SysProcIDMap{{ContainerID: gid, HostID: gid, Size: 1}}
	}
	return attr
}
