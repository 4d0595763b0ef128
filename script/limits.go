package script

import (
	"bufio"
	"fmt"
	"os"
	"os/signal"
	"runtime/metrics"
	"strconv"
	"strings"
	"syscall"
)

// exitCPU is the runner's exit code when a run used up its CPU time.
const exitCPU = 3

// threadAllowance is address space set aside for the runtime's threads
// beyond those running at start: with cgo linked in (net does), each is a
// pthread with an 8 MiB stack. GOMAXPROCS=1 and non-blocking pipes keep
// a runner at a handful of threads.
const threadAllowance = 64 << 20

// limitProcess applies the runner's rlimits: its address space may grow
// by mem (plus threadAllowance) beyond what it had at start — a Go
// process maps gigabytes of address space it never touches — and it
// may create no files and dump no core.
func limitProcess(mem int64) error {
	base, err := vmSize()
	if err != nil {
		return err
	}
	limits := []struct {
		res int
		val uint64
	}{
		{syscall.RLIMIT_AS, uint64(base + mem + threadAllowance)},
		{syscall.RLIMIT_FSIZE, 0},
		{syscall.RLIMIT_CORE, 0},
		{syscall.RLIMIT_NOFILE, 16},
	}
	for _, l := range limits {
		if err := syscall.Setrlimit(l.res, &syscall.Rlimit{Cur: l.val, Max: l.val}); err != nil {
			return fmt.Errorf("setrlimit %d: %w", l.res, err)
		}
	}
	return nil
}

// allowCPU gives the next run secs of CPU time: RLIMIT_CPU counts the
// process's whole life, so the soft limit is moved to what was used so
// far plus secs. Past it the kernel sends SIGXCPU (see watchCPU).
func allowCPU(secs int64) error {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return err
	}
	used := ru.Utime.Sec + ru.Stime.Sec + 1
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_CPU, &lim); err != nil {
		return err
	}
	lim.Cur = uint64(used + secs)
	if lim.Max != ^uint64(0) && lim.Cur > lim.Max {
		lim.Cur = lim.Max
	}
	return syscall.Setrlimit(syscall.RLIMIT_CPU, &lim)
}

// watchCPU exits the runner on SIGXCPU, which Go ignores by default.
func watchCPU() {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGXCPU)
	go func() {
		<-ch
		fmt.Fprintln(os.Stderr, "script runner: CPU time limit exceeded")
		os.Exit(exitCPU)
	}()
}

// pipe returns fd as a non-blocking *os.File, so waiting on it parks a
// goroutine in the poller instead of holding an OS thread.
func pipe(fd int, name string) *os.File {
	_ = syscall.SetNonblock(fd, true)
	return os.NewFile(uintptr(fd), name)
}

// vmSize is this process's address space size, in bytes.
func vmSize() (int64, error) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, fmt.Errorf("read address space size: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmSize:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("read address space size: no VmSize in /proc/self/status")
}

// heapInUse is the bytes of live and unswept heap objects, read without
// stopping the world (runtime.ReadMemStats would, after every run).
func heapInUse() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}
