package webhook_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tenantry/tenantry"
	"github.com/tenantry/tenantry/webhook"
)

// The Standard Webhooks reference vector (from the specification's
// libraries' tests).
const (
	vectorSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	vectorID     = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	vectorBody   = `{"test": 2432232314}`
	vectorSig    = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
)

var vectorAt = time.Unix(1614265330, 0)

func TestSignMatchesReferenceVector(t *testing.T) {
	t.Parallel()
	key, err := webhook.DecodeSecret(vectorSecret)
	require.NoError(t, err)
	require.Equal(t, vectorSig, webhook.Sign(key, vectorID, vectorAt, []byte(vectorBody)))
}

func standardRequest(keys [][]byte, id string, at time.Time, body string) http.Header {
	h := http.Header{}
	webhook.SignHeaders(h, keys, id, at, []byte(body))
	return h
}

func TestVerifyStandard(t *testing.T) {
	t.Parallel()
	key, _ := webhook.DecodeSecret(vectorSecret)
	other, _ := webhook.DecodeSecret(webhook.NewSecret())
	now := vectorAt.Add(time.Minute)
	verify := func(keys [][]byte, h http.Header, body string, now time.Time) (string, error) {
		return webhook.VerifyStandard(keys, h, []byte(body), now, webhook.DefaultTolerance)
	}
	t.Run("OK", func(t *testing.T) {
		id, err := verify([][]byte{key}, standardRequest([][]byte{key}, vectorID, vectorAt, vectorBody), vectorBody, now)
		require.NoError(t, err)
		require.Equal(t, vectorID, id)
	})
	t.Run("OneOfSeveralSignatures", func(t *testing.T) {
		h := standardRequest([][]byte{other, key}, vectorID, vectorAt, vectorBody)
		h.Set(webhook.HeaderSignature, "v1a,c29tZXRoaW5n "+h.Get(webhook.HeaderSignature)) // an unknown version is skipped
		_, err := verify([][]byte{key}, h, vectorBody, now)
		require.NoError(t, err)
	})
	t.Run("OneOfSeveralSecrets", func(t *testing.T) {
		_, err := verify([][]byte{other, key}, standardRequest([][]byte{key}, vectorID, vectorAt, vectorBody), vectorBody, now)
		require.NoError(t, err)
	})
	for name, tc := range map[string]struct {
		h    http.Header
		body string
		now  time.Time
		code string
	}{
		"ErrBodyChanged":      {standardRequest([][]byte{key}, vectorID, vectorAt, vectorBody), vectorBody + " ", now, tenantry.EUNAUTHORIZED},
		"ErrWrongSecret":      {standardRequest([][]byte{other}, vectorID, vectorAt, vectorBody), vectorBody, now, tenantry.EUNAUTHORIZED},
		"ErrIDChanged":        {withHeader(standardRequest([][]byte{key}, vectorID, vectorAt, vectorBody), webhook.HeaderID, "msg_other"), vectorBody, now, tenantry.EUNAUTHORIZED},
		"ErrStale":            {standardRequest([][]byte{key}, vectorID, vectorAt, vectorBody), vectorBody, vectorAt.Add(5*time.Minute + time.Second), tenantry.EUNAUTHORIZED},
		"ErrFuture":           {standardRequest([][]byte{key}, vectorID, vectorAt, vectorBody), vectorBody, vectorAt.Add(-5*time.Minute - time.Second), tenantry.EUNAUTHORIZED},
		"ErrNoSignature":      {withHeader(standardRequest([][]byte{key}, vectorID, vectorAt, vectorBody), webhook.HeaderSignature, ""), vectorBody, now, tenantry.EUNAUTHORIZED},
		"ErrNoID":             {withHeader(standardRequest([][]byte{key}, vectorID, vectorAt, vectorBody), webhook.HeaderID, ""), vectorBody, now, tenantry.EINVALID},
		"ErrBadTimestamp":     {withHeader(standardRequest([][]byte{key}, vectorID, vectorAt, vectorBody), webhook.HeaderTimestamp, "soon"), vectorBody, now, tenantry.EINVALID},
		"ErrTruncatedSig":     {withHeader(standardRequest([][]byte{key}, vectorID, vectorAt, vectorBody), webhook.HeaderSignature, vectorSig[:20]), vectorBody, now, tenantry.EUNAUTHORIZED},
		"ErrIDWithWhitespace": {withHeader(standardRequest([][]byte{key}, "a b", vectorAt, vectorBody), webhook.HeaderID, "a b"), vectorBody, now, tenantry.EINVALID},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := verify([][]byte{key}, tc.h, tc.body, tc.now)
			require.Equal(t, tc.code, tenantry.ErrorCode(err), "%v", err)
		})
	}
	t.Run("StaleNamesTolerance", func(t *testing.T) {
		_, err := verify([][]byte{key}, standardRequest([][]byte{key}, vectorID, vectorAt, vectorBody), vectorBody, vectorAt.Add(time.Hour))
		require.Contains(t, tenantry.ErrorMessage(err), "5m0s tolerance")
	})
}

func withHeader(h http.Header, k, v string) http.Header {
	h.Set(k, v)
	return h
}

func TestDecodeSecret(t *testing.T) {
	t.Parallel()
	for _, bad := range []string{"", "whsec_", "whsec_not base64!", "whsec_c2hvcnQ="} {
		_, err := webhook.DecodeSecret(bad)
		require.Equal(t, tenantry.EINVALID, tenantry.ErrorCode(err), bad)
	}
	key, err := webhook.DecodeSecret(webhook.NewSecret())
	require.NoError(t, err)
	require.Len(t, key, 24)
}

func TestParseSignatures(t *testing.T) {
	t.Parallel()
	key, _ := webhook.DecodeSecret(vectorSecret)
	sig := webhook.Sign(key, vectorID, vectorAt, []byte(vectorBody))
	require.Len(t, webhook.ParseSignatures(sig+" "+sig+"  v2,abc v1,!!! v1"), 2)
	require.Empty(t, webhook.ParseSignatures(""))
}
