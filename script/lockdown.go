package script

import (
	"fmt"
	"os"
	"syscall"
	"time"

	// Scripts' time zones come from the binary: a locked-down runner
	// cannot read /usr/share/zoneinfo.
	_ "time/tzdata"

	"github.com/landlock-lsm/go-landlock/landlock"
	llsys "github.com/landlock-lsm/go-landlock/landlock/syscall"
	"golang.org/x/sys/unix"
)

// nobody is the uid and gid a root worker's runners switch to.
const nobody = 65534

// skipEnv, in a runner's environment, names layers it must not apply:
// tests use it to prove each layer on its own. Production runners never
// have it (see Config.skipLayers).
const skipEnv = "TENANTRY_SCRIPT_SKIP"

// lockdown confines the runner, once started and limited, before it
// reads anything from the host: it gives up privileges, then the file
// system, TCP and signals (Landlock), then the system calls it never
// needs (seccomp). Every layer applies to every thread of the process,
// and each is best-effort: what could not be applied is reported to the
// host in the hello frame, which decides (Config.RequireIsolation).
func lockdown(skip string) []Layer {
	// The local time zone is read once, lazily; read it while there is
	// a file system, so time.now() in a script keeps the worker's zone.
	_ = time.Local.String()
	return []Layer{
		{Name: LayerRlimits, On: true},
		dropPrivileges(skip),
		noNewPrivs(),
		applyLandlock(skip),
		filterSyscalls(skip),
	}
}

// dropPrivileges switches a root runner to nobody (setuid and setgid
// apply to all threads, Go and cgo alike), which also drops its
// capabilities. A runner that is not root has none: it runs as the
// worker's own uid, in a user namespace when the worker is not root.
func dropPrivileges(skip string) Layer {
	l := Layer{Name: LayerUnprivileged}
	switch {
	case skipped(skip, l.Name):
		l.Detail = "skipped"
		return l
	case os.Geteuid() == 0:
		if err := becomeNobody(); err != nil {
			l.Detail = err.Error()
			return l
		}
	}
	l.On, l.Detail = true, fmt.Sprintf("uid %d", os.Geteuid())
	return l
}

func becomeNobody() error {
	if err := syscall.Setgroups(nil); err != nil {
		return fmt.Errorf("setgroups: %w", err)
	}
	if err := syscall.Setgid(nobody); err != nil {
		return fmt.Errorf("setgid: %w", err)
	}
	if err := syscall.Setuid(nobody); err != nil {
		return fmt.Errorf("setuid: %w", err)
	}
	return nil
}

// noNewPrivs sets PR_SET_NO_NEW_PRIVS on every thread (psx signals each
// one to make the call): nothing the runner could exec would gain
// privileges, and Landlock and seccomp may be applied without them.
func noNewPrivs() Layer {
	l := Layer{Name: LayerNoNewPrivs, On: true}
	if err := llsys.AllThreadsPrctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		l.On, l.Detail = false, err.Error()
	}
	return l
}

// applyLandlock applies a Landlock ruleset with no rule: every access
// right the kernel's ABI knows is denied everywhere — no file opened,
// created or executed, no TCP port bound or connected to (ABI 4), no
// signal or abstract socket outside the runner (ABI 6). The pipes to the
// host were opened before and stay usable.
func applyLandlock(skip string) Layer {
	l := Layer{Name: LayerLandlock}
	abi, err := llsys.LandlockGetABIVersion()
	switch {
	case skipped(skip, l.Name):
		l.Detail = "skipped"
	case err != nil:
		l.Detail = "unavailable: " + err.Error()
	case abi < 1:
		l.Detail = "unavailable"
	default:
		if err := landlock.V11.BestEffort().Restrict(); err != nil {
			l.Detail = err.Error()
			break
		}
		l.On, l.Detail = true, fmt.Sprintf("abi %d", abi)
	}
	return l
}
