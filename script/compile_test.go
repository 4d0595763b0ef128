package script_test

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tenantry/tenantry/script"
)

func TestCompile(t *testing.T) {
	t.Parallel()
	for name, c := range map[string]struct {
		src          string
		line, column int
		msg          string
	}{
		"Syntax":    {"def main():\n    return (1 +\n", 3, 1, "want primary expression"},
		"Undefined": {"x = 1\ny = nope\n", 2, 5, "undefined: nope"},
		"LoadOS":    {`load("os", "system")`, 1, 6, `load("os"): only these modules can be loaded: base64, hashlib, hmac, json, math, time`},
	} {
		_, err := script.Compile(c.src)
		var ce *script.CompileError
		require.True(t, errors.As(err, &ce), "%s: %v", name, err)
		require.Equal(t, c.line, ce.Line, name)
		require.Equal(t, c.column, ce.Column, name)
		require.Contains(t, ce.Msg, c.msg, name)
	}
	p, err := script.Compile(`load("json", "encode")` + "\ndef handler(request):\n    return encode(request)\n")
	require.NoError(t, err)
	require.True(t, p.HasHandler)
	require.False(t, p.HasMain)

	cc := script.NewCompiler(2)
	a, err := cc.Compile("x = 1")
	require.NoError(t, err)
	b, err := cc.Compile("x = 1")
	require.NoError(t, err)
	require.Same(t, a, b, "compiled once, by content hash")
}

func TestModules(t *testing.T) {
	t.Parallel()
	p := newPool(t, script.Config{})
	res := run(t, p, `
def main():
    return {
        "json": json.decode(json.encode({"a": [1, 2]}))["a"],
        "math": math.floor(2.7),
        "b64": base64.decode(base64.encode("hi there")),
        "b64url": base64.urlsafe_decode("aGk_"),
        "sha": hashlib.sha256("abc"),
        "hmac": hmac.sha256("key", "The quick brown fox jumps over the lazy dog"),
        "hmac64": hmac.sha256("key", "msg", encoding="base64"),
        "same": hmac.compare_digest("abc", "abc"),
        "differ": hmac.compare_digest("abc", "abd"),
        "qs": parse_qs("a=1&a=2&b=x%20y"),
        "enc": urlencode({"q": "a b", "n": ["1", "2"]}),
        "year": time.now().year > 2000,
    }
`)
	require.Nil(t, res.Failure, "%v", res.Failure)
	require.JSONEq(t, `{"json": [1, 2], "math": 2, "b64": "hi there", "b64url": "hi?",
		"sha": "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
		"hmac": "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8",
		"hmac64": "LZPLwb4We8sWN6SiPL/wGnh48MUO6DOVTqUiG7G4xig=",
		"same": true, "differ": false, "qs": {"a": ["1", "2"], "b": ["x y"]}, "enc": "n=1&n=2&q=a+b", "year": true}`,
		string(res.Value))
}

func TestSchedule(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 3, 4, 10, 17, 30, 0, time.UTC)
	hourly, err := script.ParseSchedule("3600")
	require.NoError(t, err)
	require.Equal(t, time.Date(2026, 3, 4, 11, 0, 0, 0, time.UTC), hourly.Next(at))
	cron, err := script.ParseSchedule("*/15 * * * *")
	require.NoError(t, err)
	require.Equal(t, time.Date(2026, 3, 4, 10, 30, 0, 0, time.UTC), cron.Next(at))
	for _, bad := range []string{"", "30", "every hour", "* * *", "61 * * * *", "-5"} {
		_, err := script.ParseSchedule(bad)
		require.Error(t, err, bad)
	}
}
