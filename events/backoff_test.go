package events

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
)

func TestBackoff(t *testing.T) {
	t.Parallel()
	s := time.Second
	for _, tc := range []struct {
		name      string
		base, max time.Duration
		want      []time.Duration // by delivery, from the first
	}{
		{"Doubling", s, time.Minute, []time.Duration{s, 2 * s, 4 * s, 8 * s, 16 * s, 32 * s, time.Minute, time.Minute}},
		{"Capped", s, 10 * s, []time.Duration{s, 2 * s, 4 * s, 8 * s, 10 * s, 10 * s, 10 * s}},
		{"Defaults", 0, 0, []time.Duration{s, 2 * s, 4 * s, 8 * s, 16 * s, 32 * s, 64 * s, 128 * s, 256 * s, 5 * time.Minute, 5 * time.Minute}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := NewConsumer(nil, ConsumerConfig{BackoffBase: tc.base, BackoffMax: tc.max}, nil, zap.NewNop())
			for i, want := range tc.want {
				delivered := i + 1
				seen := map[time.Duration]bool{}
				for range 50 {
					got := c.backoff(delivered)
					require.InEpsilon(t, float64(want), float64(got), 0.2, "delivery %d: %v", delivered, got)
					seen[got] = true
				}
				require.Greater(t, len(seen), 1, "delivery %d: no jitter", delivered)
			}
			require.InEpsilon(t, float64(tc.want[len(tc.want)-1]), float64(c.backoff(1000)), 0.2, "a huge delivery count stays capped")
		})
	}
}
