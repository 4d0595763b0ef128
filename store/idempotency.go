package store

import (
	"bytes"
	"context"
	"time"

	"github.com/tenantry/tenantry"
)

// StoredResponse is a response kept for an Idempotency-Key.
type StoredResponse struct {
	Status int
	Body   []byte
}

// idempotencyLease is how long an unfinished request holds its key before
// a retry may take it over (the first attempt crashed).
const idempotencyLease = time.Minute

// BeginIdempotent claims key for scope and a request whose body hashes to
// hash. claimed is true when the caller should run the request; otherwise
// it returns the stored response of the same request, EMISMATCH when the
// key was used with another request, or ECONFLICT while the first request
// is in flight.
func (s *Store) BeginIdempotent(ctx context.Context, scope, key string, hash []byte) (stored StoredResponse, claimed bool, err error) {
	tag, err := s.pool.Exec(ctx, `INSERT INTO core.idempotency_keys (scope, key, request_hash) VALUES ($1, $2, $3)
		ON CONFLICT (scope, key) DO UPDATE SET created_at = now()
		WHERE idempotency_keys.status IS NULL AND idempotency_keys.request_hash = $3
		  AND idempotency_keys.created_at < now() - $4::interval`, scope, key, hash, idempotencyLease)
	if err != nil {
		return stored, false, translate(err, "claim idempotency key")
	}
	if tag.RowsAffected() == 1 {
		return stored, true, nil
	}
	var storedHash []byte
	var status *int
	err = s.pool.QueryRow(ctx, `SELECT request_hash, status, body FROM core.idempotency_keys WHERE scope = $1 AND key = $2`,
		scope, key).Scan(&storedHash, &status, &stored.Body)
	switch {
	case err != nil:
		return stored, false, translate(err, "idempotency key")
	case !bytes.Equal(storedHash, hash):
		return stored, false, tenantry.Errorf(tenantry.EMISMATCH, "Idempotency-Key %q was already used with a different request", key)
	case status == nil:
		return stored, false, tenantry.Errorf(tenantry.ECONFLICT, "a request with Idempotency-Key %q is still in progress", key)
	}
	stored.Status = *status
	return stored, false, nil
}

// CompleteIdempotent stores the response for a claimed key.
func (s *Store) CompleteIdempotent(ctx context.Context, scope, key string, resp StoredResponse) error {
	_, err := s.pool.Exec(ctx, `UPDATE core.idempotency_keys SET status = $3, body = $4 WHERE scope = $1 AND key = $2`,
		scope, key, resp.Status, resp.Body)
	if err != nil {
		return translate(err, "complete idempotency key")
	}
	return nil
}

// ReleaseIdempotent frees a claimed key whose request failed in a way
// worth retrying (a 5xx), so the retry runs again.
func (s *Store) ReleaseIdempotent(ctx context.Context, scope, key string) error {
	_, err := s.pool.Exec(ctx, `DELETE FROM core.idempotency_keys WHERE scope = $1 AND key = $2 AND status IS NULL`, scope, key)
	if err != nil {
		return translate(err, "release idempotency key")
	}
	return nil
}
