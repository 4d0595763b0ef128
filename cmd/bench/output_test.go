package main

import (
	"os"
	"path/filepath"
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
