package auth

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"go.uber.org/zap"

	"github.com/tenantry/tenantry"
	"github.com/tenantry/tenantry/secret"
	"github.com/tenantry/tenantry/store"
)

// Config names the issuer and audience every token must carry, and how
// signing keys rotate.
type Config struct {
	Issuer   string        // default "tenantry"
	Audience string        // default "tenantry-api"
	Leeway   time.Duration // clock skew tolerated on exp/iat; default 30s, at most 60s

	// KeyRefresh is how often Start reloads the signing keys, rotating and
	// retiring them when due; default 1m.
	KeyRefresh time.Duration
	// PublishAhead is how long a rotated-in key is published (JWKS, every
	// replica) before it signs; default 10m, at least 2×KeyRefresh.
	PublishAhead time.Duration
	// RotateEvery is the age at which a new signing key is made; default
	// 30 days.
	RotateEvery time.Duration
	// RetireAfter is how long a superseded key keeps verifying; it must
	// outlast the longest-lived expiring token (MaxTokenTTL) and the
	// leeway. Default 72h. Keys that signed live recorded tokens are
	// never retired.
	RetireAfter time.Duration
	// MaxTokenTTL bounds the lifetime of every expiring token Issue signs
	// (exchanged and account tokens, 1h by default; OAuth access tokens,
	// 48h): Issue refuses a longer one rather than sign a token its key
	// may be retired before. Default 48h.
	MaxTokenTTL time.Duration
}

// Validate fills defaults and checks bounds.
func (c *Config) Validate() error {
	if c.Issuer == "" {
		c.Issuer = "tenantry"
	}
	if c.Audience == "" {
		c.Audience = "tenantry-api"
	}
	if c.Leeway == 0 {
		c.Leeway = 30 * time.Second
	}
	if c.KeyRefresh <= 0 {
		c.KeyRefresh = time.Minute
	}
	if c.RotateEvery <= 0 {
		c.RotateEvery = 30 * 24 * time.Hour
	}
	if c.RetireAfter == 0 {
		c.RetireAfter = 72 * time.Hour
	}
	if c.PublishAhead == 0 {
		c.PublishAhead = max(10*time.Minute, 2*c.KeyRefresh)
	}
	if c.MaxTokenTTL <= 0 {
		c.MaxTokenTTL = 48 * time.Hour
	}
	switch {
	case c.PublishAhead < 2*c.KeyRefresh:
		return fmt.Errorf("auth: PublishAhead %s must be at least twice KeyRefresh (%s)", c.PublishAhead, c.KeyRefresh)
	case c.Leeway < 0 || c.Leeway > time.Minute:
		return fmt.Errorf("auth: leeway %s must be between 0 and 60s", c.Leeway)
	case c.RetireAfter < c.MaxTokenTTL+c.Leeway:
		return fmt.Errorf("auth: RetireAfter %s must outlast the longest-lived token (MaxTokenTTL %s) and the leeway (%s)",
			c.RetireAfter, c.MaxTokenTTL, c.Leeway)
	}
	return nil
}

// Issuer issues and verifies tokens. It is safe for concurrent use.
// Start keeps its signing keys fresh; without it (the CLI) keys are
// loaded once and reloaded only when a token names an unknown kid.
type Issuer struct {
	cfg    Config
	store  *store.Store
	sealer *secret.Sealer
	now    func() time.Time

	reloadMu sync.Mutex
	reloaded time.Time

	mu      sync.RWMutex
	signers []signer // latest activation first
	public  map[string]ed25519.PublicKey
	newest  time.Time // creation of the newest key

	log  *zap.Logger
	stop chan struct{}
	done chan struct{}
	once sync.Once
}

// signer is a key that signs from activates on.
type signer struct {
	kid       string
	private   ed25519.PrivateKey
	activates time.Time
}

// NewIssuer loads the signing keys (creating the first if needed). now
// is the clock (nil: time.Now).
func NewIssuer(ctx context.Context, cfg Config, st *store.Store, sealer *secret.Sealer, now func() time.Time) (*Issuer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if now == nil {
		now = time.Now
	}
	i := &Issuer{cfg: cfg, store: st, sealer: sealer, now: now}
	if err := i.loadKeys(ctx); err != nil {
		return nil, err
	}
	return i, nil
}

// Issue signs a token for c, records it if its kind is recorded (see
// Sign), and returns it with its expiry (nil if it never expires).
// EUNAUTHORIZED if c names an API key that is revoked.
func (i *Issuer) Issue(ctx context.Context, c tenantry.Caller, ttl time.Duration) (token string, expiresAt *time.Time, err error) {
	t, err := i.Sign(c, ttl)
	if err != nil {
		return "", nil, err
	}
	if t.Record != nil {
		if err := i.store.RecordToken(ctx, *t.Record); err != nil {
			return "", nil, err
		}
	}
	return t.Token, t.ExpiresAt, nil
}

// Signed is a token signed but not yet handed out. A recorded token
// verifies only once Record is stored: store it (store.RecordToken, or in
// the transaction that issues the token) before handing the token out.
type Signed struct {
	Token     string
	ExpiresAt *time.Time         // nil: never expires
	Record    *store.TokenRecord // nil: not recorded
}

// Sign signs a token for c without any I/O, so it can run inside a
// transaction. The kind follows from c: a partner caller with KeyID and
// Role gets an exchanged-key token, an account caller with GrantID an
// OAuth access token, others their own kind; an account or single-use
// caller with KeyID is a token minted by that API key, revoked with it.
// ttl 0 signs a non-expiring token (partner and account kinds only); a
// ttl over MaxTokenTTL is refused. Tokens that never expire, exchanged-key
// tokens, OAuth access tokens and tokens minted by a key are recorded,
// so they can be revoked. c.TokenID is ignored: every token gets a fresh
// id.
func (i *Issuer) Sign(c tenantry.Caller, ttl time.Duration) (Signed, error) {
	kind, mustExpire, err := kindOf(c)
	switch {
	case err != nil:
		return Signed{}, err
	case mustExpire && ttl <= 0:
		return Signed{}, fmt.Errorf("auth: a %s token must expire", kind)
	case ttl > i.cfg.MaxTokenTTL:
		return Signed{}, fmt.Errorf("auth: a token of %s outlives MaxTokenTTL (%s)", ttl, i.cfg.MaxTokenTTL)
	}
	now := i.now()
	c.TokenID = store.NewID("tok")
	cl := newClaims(kind, c)
	cl.RegisteredClaims = jwt.RegisteredClaims{ID: c.TokenID, Issuer: i.cfg.Issuer, Audience: jwt.ClaimStrings{i.cfg.Audience},
		Subject: c.Scope(), IssuedAt: jwt.NewNumericDate(now)}
	var out Signed
	if ttl > 0 {
		exp := now.Add(ttl).Truncate(time.Second)
		cl.ExpiresAt, out.ExpiresAt = jwt.NewNumericDate(exp), &exp
	}
	sig := i.signer(now)
	if ttl <= 0 || recorded(kind, c.KeyID) {
		out.Record = &store.TokenRecord{Kind: kind, Caller: c, KID: sig.kid, ExpiresAt: out.ExpiresAt}
	}
	t := jwt.NewWithClaims(jwt.SigningMethodEdDSA, cl)
	t.Header["kid"], t.Header["typ"] = sig.kid, kind+"+jwt"
	if out.Token, err = t.SignedString(sig.private); err != nil {
		return Signed{}, fmt.Errorf("sign token: %w", err)
	}
	return out, nil
}

// Verify checks the token's signature, algorithm, issuer, audience, time
// bounds and kind, and returns its caller. stored is true for a recorded
// token (non-expiring, exchanged for an API key, minted by one, or an
// OAuth access token), which the caller must confirm is not revoked
// (store.CheckCaller). Every failure is EUNAUTHORIZED.
func (i *Issuer) Verify(ctx context.Context, token string) (c tenantry.Caller, stored bool, err error) {
	var cl claims
	parser := jwt.NewParser(jwt.WithValidMethods([]string{jwt.SigningMethodEdDSA.Alg()}),
		jwt.WithIssuer(i.cfg.Issuer), jwt.WithAudience(i.cfg.Audience), jwt.WithLeeway(i.cfg.Leeway),
		jwt.WithIssuedAt(), jwt.WithTimeFunc(i.now))
	t, err := parser.ParseWithClaims(token, &cl, func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		k, ok := i.publicKey(ctx, kid)
		if !ok {
			return nil, errors.New("unknown key id")
		}
		return k, nil
	})
	if err != nil {
		return c, false, tenantry.Errorf(tenantry.EUNAUTHORIZED, "invalid token: %s", reason(err))
	}
	typ, _ := t.Header["typ"].(string)
	c, ok := cl.caller()
	if !ok || typ != cl.Kind+"+jwt" {
		return tenantry.Caller{}, false, tenantry.Errorf(tenantry.EUNAUTHORIZED, "invalid token: unknown token kind")
	}
	return c, cl.ExpiresAt == nil || recorded(cl.Kind, cl.Key), nil
}

// reason turns a jwt error into a short, safe explanation.
func reason(err error) string {
	switch {
	case errors.Is(err, jwt.ErrTokenExpired):
		return "expired"
	case errors.Is(err, jwt.ErrTokenInvalidIssuer), errors.Is(err, jwt.ErrTokenInvalidAudience):
		return "wrong issuer or audience"
	case errors.Is(err, jwt.ErrTokenSignatureInvalid), errors.Is(err, jwt.ErrTokenUnverifiable):
		return "bad signature"
	case errors.Is(err, jwt.ErrTokenMalformed):
		return "malformed"
	}
	return "rejected"
}
