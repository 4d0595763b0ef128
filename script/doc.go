// Package script runs tenant scripts: Starlark programs (go.starlark.net)
// that sync data on a schedule or answer published HTTP endpoints.
//
// A script is compiled once, in the host process (the worker), and cached
// by the SHA-256 of its source. It runs in a runner: a subprocess of the
// worker — the same executable re-executed, see the init hook in
// runner.go — started with an empty environment, in "/", with rlimits on
// its address space, CPU time, file size and core dumps. The kernel
// enforces its boundary in layers (isolation.go): its own network, IPC
// and UTS namespaces (namespaces.go); once started, no privileges,
// no_new_privs, Landlock with no rule — no file, no TCP, no signal out —
// and a seccomp filter refusing sockets, opening or changing files, exec,
// and signals to any process but the runner (lockdown.go, seccomp.go). Each layer is best-effort; the pool probes its first
// runner from inside (probe.go), logs what holds, and with
// Config.RequireIsolation refuses to start short of all. A pool keeps
// runners warm; one runner runs one script at a time, and a runner that
// dies (a script that ran out of memory or CPU, or was killed at its
// wall-clock limit) is replaced. Inside a run, Starlark's step limit and
// cancellation bound the computation, and the output (print, pq.log and
// the return value) is capped.
//
// The runner holds no credentials and opens nothing: everything a script
// reaches beyond itself — the tenant's warehouse, its secrets, HTTP —
// is a host call that travels back to the worker over the runner's
// stdin/stdout (length-prefixed JSON frames, protocol.go), where a Host
// bound to the run's tenant performs it (host.go).
package script
