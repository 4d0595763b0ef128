package egress_test

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantry/tenantry"
	"github.com/tenantry/tenantry/connectors/egress"
)

// chain redirects /hops/N to /hops/N-1 and answers /hops/0 with 200.
func chain(w http.ResponseWriter, r *http.Request, _ int32) {
	n, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/hops/"))
	if n == 0 {
		_, _ = w.Write([]byte("arrived"))
		return
	}
	http.Redirect(w, r, fmt.Sprintf("/hops/%d", n-1), http.StatusFound)
}

func TestRedirectNotFollowedByDefault(t *testing.T) {
	t.Parallel()
	p := newProvider(t, chain)

	resp, err := get(t, localClient(egress.Config{}), p.URL+"/hops/1")

	require.NoError(t, err)
	assert.Equal(t, http.StatusFound, resp.StatusCode)
	assert.Equal(t, "/hops/0", resp.Header.Get("Location"))
	assert.EqualValues(t, 1, p.hits.Load())
}

func TestRedirectFollowedUpToFiveHops(t *testing.T) {
	t.Parallel()
	p := newProvider(t, chain)
	c := localClient(egress.Config{FollowRedirects: true, BackoffBase: time.Second})

	resp, err := get(t, c, p.URL+"/hops/5")
	require.NoError(t, err)
	assert.Equal(t, "arrived", readBody(t, resp))

	_, err = get(t, c, p.URL+"/hops/6")
	require.ErrorContains(t, err, "stopped after 5 redirects")
	assert.EqualValues(t, 6+6, p.hits.Load(), "the sixth redirect is not followed, nor retried")
}

func TestRedirectToBlockedAddressRefused(t *testing.T) {
	t.Parallel()
	p := newProvider(t, func(w http.ResponseWriter, r *http.Request, _ int32) {
		http.Redirect(w, r, "http://169.254.169.254/latest/meta-data/", http.StatusFound)
	})
	c := localClient(egress.Config{FollowRedirects: true, BackoffBase: time.Second})

	resp, err := get(t, c, p.URL)

	assert.Nil(t, resp)
	var blocked *egress.BlockedError
	require.ErrorAs(t, err, &blocked)
	assert.Equal(t, "169.254.169.254", blocked.IP.String())
	assert.Equal(t, tenantry.EFORBIDDEN, tenantry.ErrorCode(err))
	assert.EqualValues(t, 1, p.hits.Load(), "a blocked hop is not retried")
}
