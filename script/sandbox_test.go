package script_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"

	"github.com/tenantry/tenantry/script"
)

// newPool starts a pool with cfg, stopped when t ends.
func newPool(t *testing.T, cfg script.Config) *script.Pool {
	t.Helper()
	p, err := script.NewPool(cfg, zaptest.NewLogger(t))
	require.NoError(t, err)
	require.NoError(t, p.Start(context.Background()))
	t.Cleanup(p.Stop)
	return p
}

// run compiles and runs src with no host.
func run(t *testing.T, p *script.Pool, src string) *script.Result {
	t.Helper()
	prog, err := p.Compile(src)
	require.NoError(t, err)
	res, err := p.Run(context.Background(), script.Request{Program: prog})
	require.NoError(t, err)
	return res
}

func TestRun(t *testing.T) {
	t.Parallel()
	p := newPool(t, script.Config{})

	res := run(t, p, "total = 0\nfor i in range(10):\n    total += i\nprint('total', total)\ndef main():\n    return {'total': total, 'ok': True}\n")
	require.Nil(t, res.Failure)
	require.JSONEq(t, `{"total": 45, "ok": true}`, string(res.Value))
	require.Equal(t, "total 45\n", res.Log)
	require.Positive(t, res.Steps)

	prog, err := p.Compile("def handler(request):\n    return {'echo': request['data'], 'method': request['method']}\n")
	require.NoError(t, err)
	require.True(t, prog.HasHandler)
	res, err = p.Run(context.Background(), script.Request{Program: prog, Entry: script.EntryHandler,
		Input: json.RawMessage(`{"method": "POST", "data": {"a": [1, 2]}}`)})
	require.NoError(t, err)
	require.Nil(t, res.Failure)
	require.JSONEq(t, `{"echo": {"a": [1, 2]}, "method": "POST"}`, string(res.Value))

	res = run(t, p, "x = 1\n\n\ny = {}['missing']\n")
	require.Equal(t, script.FailError, res.Failure.Kind)
	require.Equal(t, 4, res.Failure.Line, "the failure points at the line")
	require.Contains(t, res.Failure.Message, "missing")
}

// TestHostileScripts: each script that tries to exhaust the runner gets
// a clear failure within its limit, and the pool goes on running
// scripts afterwards.
func TestHostileScripts(t *testing.T) {
	t.Parallel()
	p := newPool(t, script.Config{Runners: 2, Warm: 1, Memory: 128 << 20, MaxSteps: 5_000_000,
		Timeout: 2 * time.Second, MaxOutput: 64 << 10})
	cases := []struct {
		name, src, kind, message string
	}{
		{"HugeString", `s = "x" * (1 << 30)`, script.FailError, "excessive repeat"},
		{"HugeList", `l = list(range(1 << 62))`, script.FailMemory, "memory"},
		{"HoardMemory", "s = 'x' * (1 << 26)\nl = []\nfor i in range(64):\n    l.append(s + str(i))\n", script.FailMemory, "128 MiB of memory"},
		{"DeepRecursion", "def f(n):\n    return f(n + 1)\nf(0)\n", script.FailError, "called recursively"},
		{"EndlessLoop", "while True:\n    pass\n", script.FailSteps, "more than 5000000 steps"},
		{"StuckInBuiltin", "all(range(1, 1 << 62))", script.FailTimeout, "longer than 2s"},
		{"HugePrint", "for i in range(100000):\n    print('x' * 100)\n", script.FailOutput, "exceeded 64 KiB"},
		{"HugeResult", "def main():\n    return 'x' * (1 << 20)\n", script.FailOutput, "exceeded 64 KiB"},
		{"NestedTooDeep", "x = []\nfor i in range(2000000):\n    x = [x]\nprint(x)\n", script.FailSteps, "steps"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			start := time.Now()
			res := run(t, p, c.src)
			require.NotNil(t, res.Failure, "%s must fail", c.src)
			t.Logf("%s: %+v", c.name, res.Failure)
			if c.kind != "" {
				require.Equal(t, c.kind, res.Failure.Kind, res.Failure.Message)
				require.Contains(t, res.Failure.Message, c.message)
			}
			require.Less(t, time.Since(start), 5*time.Second, "failed within the limits")
			ok := run(t, p, "def main():\n    return 1 + 1\n")
			require.Nil(t, ok.Failure, "the pool still runs scripts")
			require.Equal(t, "2", string(ok.Value))
		})
	}
}

func TestCPULimit(t *testing.T) {
	t.Parallel()
	p := newPool(t, script.Config{Runners: 1, CPU: time.Second, Timeout: 20 * time.Second})
	start := time.Now()
	res := run(t, p, "all(range(1, 1 << 62))")
	require.NotNil(t, res.Failure)
	require.Equal(t, script.FailCPU, res.Failure.Kind, res.Failure.Message)
	require.Less(t, time.Since(start), 10*time.Second)
}

// TestRunnerIsolation: a runner has none of the worker's environment and
// runs under rlimits; a killed runner is replaced.
func TestRunnerIsolation(t *testing.T) {
	t.Setenv("DATABASE_URL", "postgres://secret@db/x")
	p := newPool(t, script.Config{Warm: 1})
	var pid int
	require.Eventually(t, func() bool {
		pids := script.IdlePIDs(p)
		return len(pids) == 1 && func() bool { pid = pids[0]; return true }()
	},
		5*time.Second, 10*time.Millisecond)

	environ, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
	require.NoError(t, err)
	require.NotContains(t, string(environ), "DATABASE_URL")
	require.ElementsMatch(t, []string{"TENANTRY_SCRIPT_RUNNER=268435456", "GOMAXPROCS=1", "GOTRACEBACK=none", "MALLOC_ARENA_MAX=1"},
		strings.Split(strings.TrimRight(string(environ), "\x00"), "\x00"))
	limits, err := os.ReadFile(fmt.Sprintf("/proc/%d/limits", pid))
	require.NoError(t, err)
	require.Regexp(t, `Max file size\s+0\s+0`, string(limits))
	require.NotRegexp(t, `Max address space\s+unlimited`, string(limits))
	cwd, err := os.Readlink(fmt.Sprintf("/proc/%d/cwd", pid))
	require.NoError(t, err)
	require.Equal(t, "/", cwd)

	require.NoError(t, syscall.Kill(pid, syscall.SIGKILL))
	require.Eventually(t, func() bool { pids := script.IdlePIDs(p); return len(pids) == 1 && pids[0] != pid },
		5*time.Second, 10*time.Millisecond, "the killed runner is replaced")
	res := run(t, p, "def main():\n    return 'alive'\n")
	require.Nil(t, res.Failure)
	require.Equal(t, `"alive"`, string(res.Value))
}
