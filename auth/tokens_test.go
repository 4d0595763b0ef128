package auth_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tenantry/tenantry/auth"
)

// TestConfigValidate: a signing key must keep verifying for as long as
// any token it signed can live, and must be published ahead for at least
// two refreshes.
func TestConfigValidate(t *testing.T) {
	t.Parallel()
	var c auth.Config
	require.NoError(t, c.Validate())
	require.Equal(t, 48*time.Hour, c.MaxTokenTTL)
	require.Equal(t, 72*time.Hour, c.RetireAfter)
	require.Equal(t, 10*time.Minute, c.PublishAhead)
	for name, tc := range map[string]struct {
		cfg auth.Config
		ok  bool
	}{
		"RetireBeforeDefaultTTL": {auth.Config{RetireAfter: 24 * time.Hour}, false},
		"RetireBeforeTTL":        {auth.Config{RetireAfter: 2 * time.Hour, MaxTokenTTL: 3 * time.Hour}, false},
		"RetireWithinLeeway":     {auth.Config{RetireAfter: 2 * time.Hour, MaxTokenTTL: 2 * time.Hour}, false},
		"RetireAfterTTL":         {auth.Config{RetireAfter: 2 * time.Hour, MaxTokenTTL: time.Hour}, true},
		"PublishAheadTooShort":   {auth.Config{KeyRefresh: time.Minute, PublishAhead: 90 * time.Second}, false},
		"PublishAheadTwice":      {auth.Config{KeyRefresh: time.Minute, PublishAhead: 2 * time.Minute}, true},
		"LeewayTooLong":          {auth.Config{Leeway: 2 * time.Minute}, false},
	} {
		err := tc.cfg.Validate()
		require.Equal(t, tc.ok, err == nil, "%s: %v", name, err)
	}
}
