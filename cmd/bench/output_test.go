package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestWriteResults(t *testing.T) {
	t.Parallel()
	write := func(t *testing.T, old *string) string {
		path := filepath.Join(t.TempDir(), "BENCHMARKS.md")
		if old != nil {
			require.NoError(t, os.WriteFile(path, []byte(*old), 0o644))
		}
		require.NoError(t, writeResults(path, "new results\n"))
		b, err := os.ReadFile(path)
		require.NoError(t, err)
		return string(b)
	}
	t.Run("KeepsProseAboveMarker", func(t *testing.T) {
		old := "# Benchmarks\n\nprose\n\n" + marker + "\n\nold results\n"
		require.Equal(t, "# Benchmarks\n\nprose\n\n"+marker+"\n\nnew results\n", write(t, &old))
	})
	t.Run("AppendsMarkerToFileWithout", func(t *testing.T) {
		old := "# Hand written\n"
		require.Equal(t, "# Hand written\n\n"+marker+"\n\nnew results\n", write(t, &old))
	})
	t.Run("CreatesMissingFile", func(t *testing.T) {
		require.Equal(t, defaultHead+marker+"\n\nnew results\n", write(t, nil))
	})
}

func TestPercentile(t *testing.T) {
	t.Parallel()
	lat := make([]time.Duration, 100)
	for i := range lat {
		lat[i] = time.Duration(i+1) * time.Millisecond
	}
	require.Equal(t, 50*time.Millisecond, percentile(lat, 50))
	require.Equal(t, 99*time.Millisecond, percentile(lat, 99))
	require.Equal(t, time.Duration(0), percentile(nil, 50))
	require.Equal(t, 2.5, median([]float64{4, 1, 3, 2}))
}

func TestWriteTarget(t *testing.T) {
	t.Parallel()
	r := round{PacedRate: 100, ConnPacedRate: 400,
		PacedE2E:      stat{P50: 4 * time.Millisecond, P99: 30 * time.Millisecond},
		ConnPacedE2E:  stat{P50: 3 * time.Millisecond, P99: 17 * time.Millisecond},
		ConnAtSubRate: stat{P50: 3 * time.Millisecond, P99: 8 * time.Millisecond}}
	var w strings.Builder
	writeTarget(&w, config{Concurrency: 16}, []round{r})
	out := w.String()
	require.Contains(t, out, "**Subaccount, DDL included** (POST /api/subaccount → job succeeded), at 100/s (half its max): p50 4.00 ms — met; p99 30.0 ms — **not met**.")
	require.Contains(t, out, "**Pipeline without DDL** (POST /api/servers, secret_store → job succeeded), at 400/s (half its max): p50 3.00 ms — met; p99 17.0 ms — met.")
	require.Contains(t, out, "The target is **met by the pipeline without DDL** and not by the subaccount path with its DDL included.")
}
