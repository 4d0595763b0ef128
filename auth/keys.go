package auth

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"time"

	"github.com/tenantry/tenantry/store"
)

// loadKeys reads every live signing key, creating the first one if there
// is none. Replicas racing at first start each insert one; both are valid.
func (i *Issuer) loadKeys(ctx context.Context) error {
	stored, err := i.store.SigningKeys(ctx)
	if err != nil {
		return err
	}
	if len(stored) == 0 {
		k, err := i.newKey(ctx, time.Time{})
		if err != nil {
			return err
		}
		stored = []store.SigningKey{k}
	}
	public := map[string]ed25519.PublicKey{}
	signers := make([]signer, 0, len(stored))
	var newest time.Time
	for _, k := range stored {
		public[k.KID] = ed25519.PublicKey(k.Public)
		if k.CreatedAt.After(newest) {
			newest = k.CreatedAt
		}
		seed, err := i.sealer.Open(k.Private, []byte("signing_key:"+k.KID))
		if err != nil {
			return fmt.Errorf("open signing key %s: %w (is TENANTRY_MASTER_KEY the key this database was set up with?)", k.KID, err)
		}
		signers = append(signers, signer{kid: k.KID, private: ed25519.NewKeyFromSeed(seed), activates: k.ActivatesAt})
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	i.public, i.signers, i.newest = public, signers, newest
	return nil
}

// newKey makes, seals and stores a signing key that signs from activates
// on (now if zero).
func (i *Issuer) newKey(ctx context.Context, activates time.Time) (store.SigningKey, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return store.SigningKey{}, fmt.Errorf("generate signing key: %w", err)
	}
	kid := store.NewID("kid")
	sealed, err := i.sealer.Seal(priv.Seed(), []byte("signing_key:"+kid))
	if err != nil {
		return store.SigningKey{}, fmt.Errorf("seal signing key: %w", err)
	}
	k := store.SigningKey{KID: kid, Private: sealed, Public: pub, ActivatesAt: activates}
	if err := i.store.InsertSigningKey(ctx, k); err != nil {
		return store.SigningKey{}, err
	}
	k.CreatedAt = i.now()
	if k.ActivatesAt.IsZero() {
		k.ActivatesAt = k.CreatedAt
	}
	return k, nil
}

// signer returns the key that signs at now: the latest to have activated.
// Keys not yet active are published (JWKS, other replicas) but do not sign.
func (i *Issuer) signer(now time.Time) signer {
	i.mu.RLock()
	defer i.mu.RUnlock()
	for _, s := range i.signers {
		if !s.activates.After(now) {
			return s
		}
	}
	return i.signers[len(i.signers)-1]
}

// reloadEvery bounds how often an unknown kid reloads the keys, so forged
// kids cannot turn every request into a database query.
const reloadEvery = 10 * time.Second

// publicKey returns the key kid, reloading the keys if it is unknown
// (another replica may have created it) at most every reloadEvery.
func (i *Issuer) publicKey(ctx context.Context, kid string) (ed25519.PublicKey, bool) {
	i.mu.RLock()
	k, ok := i.public[kid]
	i.mu.RUnlock()
	if ok {
		return k, true
	}
	i.reloadMu.Lock()
	due := time.Since(i.reloaded) >= reloadEvery
	if due {
		i.reloaded = time.Now()
	}
	i.reloadMu.Unlock()
	if !due {
		return nil, false
	}
	if err := i.loadKeys(ctx); err != nil {
		return nil, false
	}
	i.mu.RLock()
	defer i.mu.RUnlock()
	k, ok = i.public[kid]
	return k, ok
}
