package store_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tenantry/tenantry"
	"github.com/tenantry/tenantry/store"
	"github.com/tenantry/tenantry/tenantrytest"
)

// grantFixture is a partner's account with a user, an OAuth client and a
// grant whose code is not redeemed yet.
type grantFixture struct {
	st       *store.Store
	clientID string
	grant    store.Grant
	code     []byte // the code's hash
}

func setupGrant(t *testing.T) *grantFixture {
	t.Helper()
	ctx := context.Background()
	st := tenantrytest.Store(t)
	p := &tenantry.Partner{Name: "grants"}
	require.NoError(t, st.CreatePartner(ctx, p))
	account, user := store.NewID("sub"), store.NewID("usr")
	_, err := st.Pool().Exec(ctx, `INSERT INTO core.accounts (id, partner_id, external_id, status, schema_name)
		VALUES ($1, $2, 'grants', 'active', $1)`, account, p.ID)
	require.NoError(t, err)
	_, err = st.Pool().Exec(ctx, `INSERT INTO core.users (id, account_id, email, role, password_hash)
		VALUES ($1, $2, 'ada@example.com', 'member', 'x')`, user, account)
	require.NoError(t, err)
	client := &tenantry.OAuthClient{PartnerID: p.ID, Name: "app", RedirectURIs: []string{"https://app.example/cb"}}
	require.NoError(t, st.CreateOAuthClient(ctx, client, hash("secret")))
	f := &grantFixture{st: st, clientID: client.ID, code: hash(store.NewID("code")), grant: store.Grant{
		ID: store.NewID("grt"), ClientID: client.ID, AccountID: account, UserID: user,
		RedirectURI: "https://app.example/cb", CodeChallenge: "challenge"}}
	require.NoError(t, st.CreateGrant(ctx, f.grant, f.code, time.Now().Add(time.Minute)))
	return f
}

// refresh is the hash of a refresh token named name, unique to f.
func (f *grantFixture) refresh(name string) []byte { return hash(f.grant.ID + name) }

func hash(s string) []byte {
	sum := sha256.Sum256([]byte(s))
	return sum[:]
}

// tokens issues a refresh token with the given hash and an access token
// record, or fails to sign the access token if fail is set.
func tokens(refresh []byte, fail error) store.GrantTokens {
	return store.GrantTokens{RefreshHash: refresh, RefreshExpires: time.Now().Add(time.Hour),
		Access: func(g *store.Grant) (store.TokenRecord, error) {
			exp := time.Now().Add(time.Hour)
			return store.TokenRecord{Kind: "oauth", Caller: tenantry.Caller{Kind: tenantry.KindAccountToken,
				PartnerID: g.PartnerID, AccountID: g.AccountID, GrantID: g.ID, TokenID: store.NewID("tok")},
				KID: "kid_test", ExpiresAt: &exp}, fail
		}}
}

func accept(*store.Grant) bool { return true }

// TestGrantTokensAtomic: a code or refresh token is spent in the same
// transaction that stores what it issues. When issuing fails, it is still
// unspent: the client's retry works and is not taken for reuse (which
// would revoke the grant).
func TestGrantTokensAtomic(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := setupGrant(t)
	transient := errors.New("transient")

	_, err := f.st.RedeemCode(ctx, f.clientID, f.code, accept, tokens(f.refresh("r1"), transient))
	require.ErrorIs(t, err, transient)
	g, err := f.st.RedeemCode(ctx, f.clientID, f.code, accept, tokens(f.refresh("r1"), nil))
	require.NoError(t, err, "the code was not spent by the failed redemption")
	require.Equal(t, f.grant.ID, g.ID)

	_, err = f.st.RotateRefreshToken(ctx, f.clientID, f.refresh("r1"), tokens(f.refresh("r2"), transient))
	require.ErrorIs(t, err, transient)
	_, err = f.st.RotateRefreshToken(ctx, f.clientID, f.refresh("r1"), tokens(f.refresh("r2"), nil))
	require.NoError(t, err, "the refresh token was not used by the failed rotation")

	_, err = f.st.RotateRefreshToken(ctx, f.clientID, f.refresh("r1"), tokens(f.refresh("r3"), nil))
	require.Equal(t, tenantry.EUNAUTHORIZED, tenantry.ErrorCode(err), "a real reuse is still refused")
	var live int
	require.NoError(t, f.st.Pool().QueryRow(ctx, `SELECT count(*) FROM core.tokens WHERE grant_id = $1 AND revoked_at IS NULL`,
		f.grant.ID).Scan(&live))
	require.Zero(t, live, "and revokes the family")
}

// TestRedeemCodeRefused: a code whose redirect URI or verifier is wrong
// is spent, its grant revoked, and nothing is issued.
func TestRedeemCodeRefused(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := setupGrant(t)
	refuse := func(*store.Grant) bool { return false }
	_, err := f.st.RedeemCode(ctx, f.clientID, f.code, refuse, tokens(f.refresh("r1"), nil))
	require.Equal(t, tenantry.EUNAUTHORIZED, tenantry.ErrorCode(err))
	_, err = f.st.RedeemCode(ctx, f.clientID, f.code, accept, tokens(f.refresh("r1"), nil))
	require.Equal(t, tenantry.EUNAUTHORIZED, tenantry.ErrorCode(err), "spent")
	_, err = f.st.RotateRefreshToken(ctx, f.clientID, f.refresh("r1"), tokens(f.refresh("r2"), nil))
	require.Equal(t, tenantry.EUNAUTHORIZED, tenantry.ErrorCode(err), "nothing was issued")
}

// TestGrantRevokedWhileIssuing: a rotation that runs while the grant is
// being revoked either finishes first (and its access token is revoked
// with the grant) or finds the grant revoked; it never leaves a live
// token behind.
func TestGrantRevokedWhileIssuing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := setupGrant(t)
	_, err := f.st.RedeemCode(ctx, f.clientID, f.code, accept, tokens(f.refresh("r1"), nil))
	require.NoError(t, err)

	revoking, err := f.st.Pool().Begin(ctx) // RevokeGrant, caught half-way
	require.NoError(t, err)
	defer func() { _ = revoking.Rollback(ctx) }()
	_, err = revoking.Exec(ctx, `UPDATE core.oauth_grants SET revoked_at = now() WHERE id = $1`, f.grant.ID)
	require.NoError(t, err)
	rotated := make(chan error, 1)
	go func() {
		_, err := f.st.RotateRefreshToken(ctx, f.clientID, f.refresh("r1"), tokens(f.refresh("r2"), nil))
		rotated <- err
	}()
	waitForLock(t, f.st, "%FROM core.oauth_grants%FOR SHARE%")
	_, err = revoking.Exec(ctx, `UPDATE core.tokens SET revoked_at = now() WHERE grant_id = $1 AND revoked_at IS NULL`, f.grant.ID)
	require.NoError(t, err)
	require.NoError(t, revoking.Commit(ctx))

	require.Equal(t, tenantry.EUNAUTHORIZED, tenantry.ErrorCode(<-rotated))
	var live int
	require.NoError(t, f.st.Pool().QueryRow(ctx, `SELECT count(*) FROM core.tokens WHERE grant_id = $1 AND revoked_at IS NULL`,
		f.grant.ID).Scan(&live))
	require.Zero(t, live)
}

// waitForLock waits until a statement matching pattern (LIKE) waits for a
// lock in the package database: the revocation in progress holds it off.
func waitForLock(t *testing.T, st *store.Store, pattern string) {
	t.Helper()
	require.Eventually(t, func() bool {
		var n int
		err := st.Pool().QueryRow(context.Background(), `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE $1`, pattern).Scan(&n)
		return err == nil && n > 0
	}, 10*time.Second, 10*time.Millisecond, "%s must wait for the revocation in progress", pattern)
}
