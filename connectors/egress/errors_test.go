package egress_test

import (
	"crypto/tls"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantry/tenantry/connectors/egress"
)

// A one-second backoff shows, in the elapsed time, any retry that should
// not have happened.
func TestPermanentErrorsNotRetried(t *testing.T) {
	t.Parallel()
	t.Run("UntrustedCertificate", func(t *testing.T) {
		t.Parallel()
		p := startProvider(t, status(http.StatusOK), true)
		start := time.Now()

		_, err := get(t, localClient(egress.Config{BackoffBase: time.Second}), p.URL)

		var certErr *tls.CertificateVerificationError
		require.ErrorAs(t, err, &certErr)
		assert.EqualValues(t, 1, p.conns.Load())
		assert.Less(t, time.Since(start), 400*time.Millisecond)
	})
	t.Run("UnsupportedScheme", func(t *testing.T) {
		t.Parallel()
		p := newProvider(t, status(http.StatusOK))
		start := time.Now()

		_, err := get(t, localClient(egress.Config{BackoffBase: time.Second}), strings.Replace(p.URL, "http", "ftp", 1))

		require.ErrorContains(t, err, "unsupported protocol scheme")
		assert.Less(t, time.Since(start), 400*time.Millisecond)
	})
}
