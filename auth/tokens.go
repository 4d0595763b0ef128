package auth

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/tenantry/tenantry"
	"github.com/tenantry/tenantry/secret"
	"github.com/tenantry/tenantry/store"
)

// Config names the issuer and audience every token must carry.
type Config struct {
	Issuer   string        // default "tenantry"
	Audience string        // default "tenantry-api"
	Leeway   time.Duration // clock skew tolerated on exp/iat; default 30s, at most 60s
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
	if c.Leeway < 0 || c.Leeway > time.Minute {
		return fmt.Errorf("auth: leeway %s must be between 0 and 60s", c.Leeway)
	}
	return nil
}

// Issuer issues and verifies tokens. It is safe for concurrent use.
type Issuer struct {
	cfg    Config
	store  *store.Store
	sealer *secret.Sealer
	now    func() time.Time

	reloadMu sync.Mutex
	reloaded time.Time

	mu      sync.RWMutex
	kid     string
	private ed25519.PrivateKey
	public  map[string]ed25519.PublicKey
}

// NewIssuer loads the signing keys (creating the first if needed).
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

type claims struct {
	jwt.RegisteredClaims
	Kind    string `json:"knd"`
	Partner string `json:"pid"`
	Account string `json:"aid,omitempty"`
}

// Issue signs a token for c (Kind, PartnerID and, for account tokens,
// AccountID set). ttl 0 issues a non-expiring token and records it so it
// can be revoked; expiresAt is nil then. c.TokenID is ignored: every
// token gets a fresh id.
func (i *Issuer) Issue(ctx context.Context, c tenantry.Caller, ttl time.Duration) (token string, expiresAt *time.Time, err error) {
	now := i.now()
	c.TokenID = store.NewID("tok")
	cl := claims{Kind: c.Kind, Partner: c.PartnerID, Account: c.AccountID, RegisteredClaims: jwt.RegisteredClaims{
		ID: c.TokenID, Issuer: i.cfg.Issuer, Audience: jwt.ClaimStrings{i.cfg.Audience},
		Subject: c.Scope(), IssuedAt: jwt.NewNumericDate(now),
	}}
	if ttl > 0 {
		exp := now.Add(ttl).Truncate(time.Second)
		cl.ExpiresAt, expiresAt = jwt.NewNumericDate(exp), &exp
	} else if err := i.store.RecordToken(ctx, c); err != nil {
		return "", nil, err
	}
	t := jwt.NewWithClaims(jwt.SigningMethodEdDSA, cl)
	i.mu.RLock()
	t.Header["kid"], t.Header["typ"] = i.kid, c.Kind+"+jwt"
	token, err = t.SignedString(i.private)
	i.mu.RUnlock()
	if err != nil {
		return "", nil, fmt.Errorf("sign token: %w", err)
	}
	return token, expiresAt, nil
}

// Verify checks the token's signature, algorithm, issuer, audience, time
// bounds and kind, and returns its caller. stored is true for a
// non-expiring token, which the caller must confirm is not revoked
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
	validKind := cl.Kind == tenantry.KindPartnerToken && cl.Account == "" ||
		cl.Kind == tenantry.KindAccountToken && cl.Account != ""
	if !validKind || typ != cl.Kind+"+jwt" || cl.Partner == "" || cl.ID == "" {
		return c, false, tenantry.Errorf(tenantry.EUNAUTHORIZED, "invalid token: unknown token kind")
	}
	c = tenantry.Caller{Kind: cl.Kind, PartnerID: cl.Partner, AccountID: cl.Account, TokenID: cl.ID}
	return c, cl.ExpiresAt == nil, nil
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
