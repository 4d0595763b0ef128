package script_test

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/tenantry/tenantry/script"
)

// TestStartFirst: the first runner starts without namespaces only when
// the kernel refuses to create them; any other failure to start it is
// tried again, with the namespaces.
func TestStartFirst(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		fails []syscall.Errno
		netns bool
	}{
		{"OK", nil, true},
		{"OutOfProcesses", []syscall.Errno{syscall.EAGAIN}, true},
		{"ExecutableMissing", []syscall.Errno{syscall.ENOENT, syscall.ENOENT}, true},
		{"NamespacesForbidden", []syscall.Errno{syscall.EPERM}, false},
		{"NamespacesUnsupported", []syscall.Errno{syscall.EINVAL}, false},
		{"NoNamespacesLeft", []syscall.Errno{syscall.ENOSPC}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			p, err := script.NewPool(script.Config{Runners: 1}, zap.NewNop())
			require.NoError(t, err)
			script.FailSpawns(p, c.fails...)
			require.NoError(t, p.Start(context.Background()))
			t.Cleanup(p.Stop)
			iso := p.Isolation()
			require.Equal(t, c.netns, iso.On(script.LayerNetNS), "%s", iso)
			if !c.netns {
				require.Regexp(t, `netns=off\(the kernel refused: .*`+c.fails[0].Error()+`\)`, iso.String())
			}
			require.Equal(t, `"ok"`, string(run(t, p, "def main():\n    return 'ok'\n").Value))
		})
	}

	t.Run("ErrAlwaysRefused", func(t *testing.T) {
		t.Parallel()
		p, err := script.NewPool(script.Config{Runners: 1}, zap.NewNop())
		require.NoError(t, err)
		script.FailSpawns(p, syscall.EAGAIN, syscall.EAGAIN, syscall.EAGAIN)
		require.ErrorIs(t, p.Start(context.Background()), syscall.EAGAIN)
	})
}

// TestLostLayers: a runner started after Start with a layer off that the
// pool reported on is logged as an error.
func TestLostLayers(t *testing.T) {
	t.Parallel()
	core, logs := observer.New(zap.InfoLevel)
	p, err := script.NewPool(script.Config{Runners: 2, Warm: 1}, zap.New(core))
	require.NoError(t, err)
	require.NoError(t, p.Start(context.Background()))
	t.Cleanup(p.Stop)
	require.True(t, p.Isolation().On(script.LayerSeccomp))
	const msg = "script runner started with fewer sandbox layers than the pool reported at Start"
	require.Zero(t, logs.FilterMessage(msg).Len())

	script.LeaveOff(p, script.LayerSeccomp)
	require.Eventually(t, func() bool { return len(script.IdlePIDs(p)) == 1 }, 5*time.Second, 10*time.Millisecond)
	require.NoError(t, syscall.Kill(script.IdlePIDs(p)[0], syscall.SIGKILL)) // replaced by a runner without seccomp
	require.Eventually(t, func() bool { return logs.FilterMessage(msg).Len() == 1 }, 5*time.Second, 10*time.Millisecond)
	entry := logs.FilterMessage(msg).All()[0]
	require.Equal(t, zap.ErrorLevel, entry.Level)
	require.Equal(t, []any{"seccomp (skipped)"}, entry.ContextMap()["off"])
}
