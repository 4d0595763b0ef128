package auth

import (
	"context"
	"time"

	"go.uber.org/zap"
)

// Start keeps the signing keys fresh until Stop: every KeyRefresh it
// makes a new key once the newest is RotateEvery old, retires keys
// superseded more than RetireAfter ago, purges the records of expired
// tokens, and reloads the keys (so keys
// made or retired by other replicas are seen within KeyRefresh). The first
// pass runs before Start returns and its error is returned; later errors
// are logged and retried at the next tick.
func (i *Issuer) Start(ctx context.Context, log *zap.Logger) error {
	if err := i.maintain(ctx); err != nil {
		return err
	}
	i.log, i.stop, i.done = log, make(chan struct{}), make(chan struct{})
	go i.run(context.WithoutCancel(ctx))
	return nil
}

// Stop ends what Start began and waits for it. Safe to call twice, and
// without Start.
func (i *Issuer) Stop() {
	i.once.Do(func() {
		if i.stop != nil {
			close(i.stop)
			<-i.done
		}
	})
}

func (i *Issuer) run(ctx context.Context) {
	defer close(i.done)
	t := time.NewTicker(i.cfg.KeyRefresh)
	defer t.Stop()
	for {
		select {
		case <-i.stop:
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(ctx, i.cfg.KeyRefresh)
			if err := i.maintain(ctx); err != nil {
				i.log.Warn("signing key maintenance failed; retrying at the next refresh", zap.Error(err))
			}
			cancel()
		}
	}
}

// maintain rotates if due, retires what may be retired, and reloads.
func (i *Issuer) maintain(ctx context.Context) error {
	now := i.now()
	i.mu.RLock()
	due := now.Sub(i.newest) >= i.cfg.RotateEvery
	i.mu.RUnlock()
	if due {
		if _, err := i.Rotate(ctx); err != nil {
			return err
		}
	}
	if _, err := i.store.RetireSigningKeys(ctx, now.Add(-i.cfg.RetireAfter)); err != nil {
		return err
	}
	if err := i.store.PurgeExpiredTokens(ctx, now.Add(-time.Minute)); err != nil {
		return err
	}
	return i.loadKeys(ctx)
}

// Rotate makes a new signing key and returns its kid. The key is
// published at once (JWKS, and every replica within KeyRefresh) and signs
// from PublishAhead on, so no replica, and no verifier refreshing the
// JWKS in time, meets a token signed with a key it does not know. Older
// keys keep verifying until retired. Replicas rotating at the same moment
// each make a key; all are valid.
func (i *Issuer) Rotate(ctx context.Context) (string, error) {
	k, err := i.newKey(ctx, i.now().Add(i.cfg.PublishAhead))
	if err != nil {
		return "", err
	}
	return k.KID, i.loadKeys(ctx)
}
