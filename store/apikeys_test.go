package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tenantry/tenantry"
	"github.com/tenantry/tenantry/store"
	"github.com/tenantry/tenantry/tenantrytest"
)

// keyToken is the record of an account token minted by key k.
func keyToken(k *tenantry.APIKey, accountID string) store.TokenRecord {
	exp := time.Now().Add(time.Hour)
	return store.TokenRecord{Kind: tenantry.KindAccountToken, KID: "kid_test", ExpiresAt: &exp,
		Caller: tenantry.Caller{Kind: tenantry.KindAccountToken, PartnerID: k.PartnerID, AccountID: accountID,
			KeyID: k.ID, TokenID: store.NewID("tok")}}
}

func setupKey(t *testing.T) (*store.Store, *tenantry.APIKey) {
	t.Helper()
	ctx := context.Background()
	st := tenantrytest.Store(t)
	p := &tenantry.Partner{Name: "keys"}
	require.NoError(t, st.CreatePartner(ctx, p))
	k := &tenantry.APIKey{PartnerID: p.ID, Name: "k", Role: tenantry.RoleMember, Prefix: "tk_live_abcdef"}
	require.NoError(t, st.CreateAPIKey(ctx, k, hash(store.NewID("key"))))
	return st, k
}

// liveTokens counts key k's tokens that still authenticate.
func liveTokens(t *testing.T, st *store.Store, k *tenantry.APIKey) int {
	t.Helper()
	var n int
	require.NoError(t, st.Pool().QueryRow(context.Background(),
		`SELECT count(*) FROM core.tokens WHERE key_id = $1 AND revoked_at IS NULL`, k.ID).Scan(&n))
	return n
}

// TestRecordTokenOfRevokedKey: once a key's revocation has committed, no
// token minted with it is recorded live — not after, and not by a request
// that authenticated with the key just before and records while the
// revocation runs.
func TestRecordTokenOfRevokedKey(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("After", func(t *testing.T) {
		st, k := setupKey(t)
		_, err := st.RevokeAPIKey(ctx, k.PartnerID, k.ID)
		require.NoError(t, err)
		err = st.RecordToken(ctx, keyToken(k, ""))
		require.Equal(t, tenantry.EUNAUTHORIZED, tenantry.ErrorCode(err), "%v", err)
		_, err = st.ReactivateAPIKey(ctx, k.PartnerID, k.ID)
		require.NoError(t, err)
		require.NoError(t, st.RecordToken(ctx, keyToken(k, "")), "a reactivated key mints again")
	})
	t.Run("During", func(t *testing.T) {
		st, k := setupKey(t)
		revoking, err := st.Pool().Begin(ctx) // RevokeAPIKey, caught half-way
		require.NoError(t, err)
		defer func() { _ = revoking.Rollback(ctx) }()
		_, err = revoking.Exec(ctx, `UPDATE core.api_keys SET revoked_at = now() WHERE id = $1`, k.ID)
		require.NoError(t, err)
		recorded := make(chan error, 1)
		go func() { recorded <- st.RecordToken(ctx, keyToken(k, "")) }()
		waitForLock(t, st, "%INSERT INTO core.tokens%FOR SHARE%")
		_, err = revoking.Exec(ctx, `UPDATE core.tokens SET revoked_at = now() WHERE key_id = $1 AND revoked_at IS NULL`, k.ID)
		require.NoError(t, err)
		require.NoError(t, revoking.Commit(ctx))

		require.Equal(t, tenantry.EUNAUTHORIZED, tenantry.ErrorCode(<-recorded))
		require.Zero(t, liveTokens(t, st, k))
	})
}
