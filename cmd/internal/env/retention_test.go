package env

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tenantry/tenantry/node"
	"github.com/tenantry/tenantry/scheduler"
)

const day = 24 * time.Hour

func TestRetention(t *testing.T) {
	keep := func(runs, webhooks, notifications, logs, jobs time.Duration) scheduler.Config {
		return scheduler.Config{KeepRuns: runs, KeepWebhooks: webhooks, KeepNotifications: notifications, KeepLogs: logs, KeepJobs: jobs}
	}
	for v, want := range map[string]scheduler.Config{
		"":                           {}, // the scheduler's defaults
		"90d":                        keep(90*day, 90*day, 90*day, 90*day, 90*day),
		"720h":                       keep(30*day, 30*day, 30*day, 30*day, 30*day),
		"60d,logs=14d":               keep(60*day, 60*day, 60*day, 14*day, 60*day),
		"logs=14d, 60d":              keep(60*day, 60*day, 60*day, 14*day, 60*day),
		"webhooks=off":               keep(0, -1, 0, 0, 0),
		"off,jobs=365d":              keep(-1, -1, -1, -1, 365*day),
		"runs=8d,notifications=192h": keep(8*day, 0, 8*day, 0, 0),
	} {
		t.Run(v, func(t *testing.T) {
			var got scheduler.Config
			require.NoError(t, retention(&got, v))
			require.Equal(t, want, got)
		})
	}
}

func TestRetentionInvalid(t *testing.T) {
	for _, v := range []string{
		"1h", "6d", "7d", "191h", // not longer than the streams keep messages
		"30", "thirty days", "-30d", "0d", "30d5h", "99999999999d", "off=30d", ",", "logs=", "logs",
		"traces=30d", "30d,40d", "logs=8d,logs=9d",
	} {
		t.Run(v, func(t *testing.T) {
			cfg := scheduler.Config{}
			err := retention(&cfg, v)
			require.Error(t, err)
			require.Contains(t, err.Error(), "TENANTRY_RETENTION=")
			require.Equal(t, scheduler.Config{}, cfg, "nothing is half-applied")
		})
	}
}

// TestSettingsRetention: the variable reaches the scheduler's config, and
// a bad one stops the process at start, naming it.
func TestSettingsRetention(t *testing.T) {
	t.Setenv("TENANTRY_RETENTION", "logs=14d")
	cfg, err := Settings(node.Config{})
	require.NoError(t, err)
	require.Equal(t, 14*day, cfg.Schedule.KeepLogs)

	t.Setenv("TENANTRY_RETENTION", "logs=1d")
	_, err = Settings(node.Config{})
	require.ErrorContains(t, err, `TENANTRY_RETENTION="logs=1d"`)
}
