package store

import (
	"context"
	"fmt"

	"github.com/tenantry/tenantry"
)

// CreatePartner inserts p, setting its id and creation time.
func (s *Store) CreatePartner(ctx context.Context, p *tenantry.Partner) error {
	p.ID = NewID("ptn")
	if p.CORSOrigins == nil {
		p.CORSOrigins = []string{}
	}
	err := s.pool.QueryRow(ctx, `INSERT INTO core.partners (id, name, cors_origins) VALUES ($1, $2, $3) RETURNING created_at`,
		p.ID, p.Name, p.CORSOrigins).Scan(&p.CreatedAt)
	return translate(err, "partner")
}

// Partner returns the partner id. ENOTFOUND if there is none.
func (s *Store) Partner(ctx context.Context, id string) (*tenantry.Partner, error) {
	p := &tenantry.Partner{}
	err := s.pool.QueryRow(ctx, `SELECT id, name, cors_origins, created_at FROM core.partners WHERE id = $1`, id).
		Scan(&p.ID, &p.Name, &p.CORSOrigins, &p.CreatedAt)
	if err != nil {
		return nil, translate(err, "partner "+id)
	}
	return p, nil
}

// CORSOrigins returns every partner's configured origins by partner id.
func (s *Store) CORSOrigins(ctx context.Context) (map[string][]string, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, cors_origins FROM core.partners WHERE cardinality(cors_origins) > 0`)
	if err != nil {
		return nil, fmt.Errorf("query cors origins: %w", err)
	}
	defer rows.Close()
	out := map[string][]string{}
	for rows.Next() {
		var id string
		var origins []string
		if err := rows.Scan(&id, &origins); err != nil {
			return nil, fmt.Errorf("scan cors origins: %w", err)
		}
		out[id] = origins
	}
	return out, rows.Err()
}
