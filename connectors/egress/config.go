package egress

import (
	"net/netip"
	"time"

	"go.uber.org/zap"

	"github.com/tenantry/tenantry"
)

// Defaults applied by New to the zero fields of a Config.
const (
	DefaultTimeout      = 30 * time.Second
	DefaultMaxRetries   = 3
	DefaultMaxRetryWait = 60 * time.Second
	DefaultBackoffBase  = 500 * time.Millisecond
	DefaultUserAgent    = "tenantry"
)

// maxRedirects is how many redirects a Client follows when
// Config.FollowRedirects is set.
const maxRedirects = 5

// Config configures a Client. The zero value is usable: every zero field
// takes the default documented on it.
type Config struct {
	// Timeout bounds one attempt, from dialling to the end of reading the
	// response body, redirects included. Retries get a fresh Timeout each;
	// bound the whole call, waits included, with the ctx given to Do.
	// Default 30s.
	Timeout time.Duration

	// MaxRetries is how many times Do retries after the first attempt.
	// Default 3; a negative value disables retries.
	MaxRetries int

	// MaxRetryWait is the longest wait Do accepts before a retry. A
	// Retry-After asking for longer is not waited for: Do returns that 429
	// or 503 to the caller at once. It also caps the exponential backoff.
	// Default 60s.
	MaxRetryWait time.Duration

	// BackoffBase is the wait before the first retry when the response has
	// no Retry-After; it doubles with each retry, with jitter. Default 500ms.
	BackoffBase time.Duration

	// Allow lists networks exempt from the egress guard: a self-hoster's
	// provider on the private network, or 127.0.0.1/32 for tests whose
	// providers are httptest servers. See ParseAllow. Default none.
	Allow []netip.Prefix

	// FollowRedirects makes the client follow up to 5 redirects, each hop
	// guarded like the first. Default false: a 3xx is returned to the
	// caller as it is.
	FollowRedirects bool

	// UserAgent is sent when a request sets no User-Agent header.
	// Default "tenantry".
	UserAgent string

	// Logger receives a debug line for each retry. Default: no logging.
	Logger *zap.Logger
}

// Validate reports an EINVALID error if a field of c cannot be used. Zero
// fields are valid: they take their defaults.
func (c Config) Validate() error {
	switch {
	case c.Timeout < 0:
		return tenantry.Errorf(tenantry.EINVALID, "egress: Timeout must not be negative")
	case c.MaxRetryWait < 0:
		return tenantry.Errorf(tenantry.EINVALID, "egress: MaxRetryWait must not be negative")
	case c.BackoffBase < 0:
		return tenantry.Errorf(tenantry.EINVALID, "egress: BackoffBase must not be negative")
	}
	for i, p := range c.Allow {
		if !p.IsValid() {
			return tenantry.Errorf(tenantry.EINVALID, "egress: Allow[%d] is not a valid prefix", i)
		}
	}
	return nil
}

// withDefaults returns c with every zero field set to its default.
func (c Config) withDefaults() Config {
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.MaxRetries == 0 {
		c.MaxRetries = DefaultMaxRetries
	}
	c.MaxRetries = max(c.MaxRetries, 0)
	if c.MaxRetryWait == 0 {
		c.MaxRetryWait = DefaultMaxRetryWait
	}
	if c.BackoffBase == 0 {
		c.BackoffBase = DefaultBackoffBase
	}
	if c.UserAgent == "" {
		c.UserAgent = DefaultUserAgent
	}
	if c.Logger == nil {
		c.Logger = zap.NewNop()
	}
	return c
}
