package webhook_test

import (
	"bytes"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tenantry/tenantry"
	"github.com/tenantry/tenantry/webhook"
)

// FuzzParseSignatures: no header makes the parser panic; whatever it
// returns is a SHA-256-sized signature the header carried as v1, and a
// header tenantry signs always parses back to its signatures.
func FuzzParseSignatures(f *testing.F) {
	f.Add("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", []byte("body"))
	f.Add("v1a,abc v1,=== v1,", []byte{})
	f.Add("  v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=\tv1,x ", []byte("{}"))
	key, _ := webhook.DecodeSecret(vectorSecret)
	f.Fuzz(func(t *testing.T, header string, body []byte) {
		for _, sig := range webhook.ParseSignatures(header) {
			require.Len(t, sig, 32)
		}
		signed := webhook.Sign(key, "msg_1", vectorAt, body)
		got := webhook.ParseSignatures(header + " " + signed)
		require.NotEmpty(t, got, "our own signature parses even after junk")
	})
}

// FuzzParams: no header makes the key=value parser panic, and every
// value ParamValues returns for a key is one Params has seen.
func FuzzParams(f *testing.F) {
	f.Add("t=1700000000,v1=abc,v1=def,v0=x", "v1")
	f.Add(",,=,==,t", "t")
	f.Add("a=b=c, a = d", "a")
	f.Fuzz(func(t *testing.T, header, key string) {
		m := webhook.Params(header)
		values := webhook.ParamValues(header, key)
		if len(values) > 0 {
			require.Equal(t, values[0], m[key], "the first value is the one Params keeps")
		}
	})
}

// FuzzVerifyStandard: arbitrary webhook headers never panic the
// verifier, are refused with EINVALID or EUNAUTHORIZED unless they carry
// a signature made with the key, and a request signed with the key
// always passes.
func FuzzVerifyStandard(f *testing.F) {
	f.Add("msg_1", "1614265330", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", []byte(`{"test": 2432232314}`))
	f.Add("", "", "", []byte{})
	f.Add("a b", "-1", "v1,,", []byte("x"))
	f.Add("id", "99999999999999999999", "v2,abc", []byte{0xff})
	key, _ := webhook.DecodeSecret(vectorSecret)
	f.Fuzz(func(t *testing.T, id, ts, sig string, body []byte) {
		h := http.Header{}
		h.Set(webhook.HeaderID, id)
		h.Set(webhook.HeaderTimestamp, ts)
		h.Set(webhook.HeaderSignature, sig)
		_, err := webhook.VerifyStandard([][]byte{key}, h, body, vectorAt, webhook.DefaultTolerance)
		if err != nil {
			require.Contains(t, []string{tenantry.EINVALID, tenantry.EUNAUTHORIZED}, tenantry.ErrorCode(err))
		} else {
			require.Contains(t, sig, "v1,", "only a v1 signature can pass")
		}
		if strings.ContainsAny(id, " \t\r\n") || id == "" || len(id) > webhook.MaxIDLength || !isPrintable(id) {
			return
		}
		webhook.SignHeaders(h, [][]byte{key}, id, vectorAt, body)
		got, err := webhook.VerifyStandard([][]byte{key}, h, bytes.Clone(body), vectorAt, webhook.DefaultTolerance)
		require.NoError(t, err)
		require.Equal(t, id, got)
	})
}

func isPrintable(s string) bool {
	for _, r := range s {
		if r <= ' ' || r > '~' {
			return false
		}
	}
	return true
}
