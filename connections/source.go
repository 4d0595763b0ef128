package connections

import (
	"context"

	"github.com/tenantry/tenantry/connectors"
	"github.com/tenantry/tenantry/connectors/fetch"
	"github.com/tenantry/tenantry/store"
)

// Source is a connection as a sync reads it: its state, its connector
// and its opened credentials.
type Source struct {
	State      *store.ConnectionState
	Definition *connectors.Definition
	svc        *Service
	values     map[string]string
}

// Source returns connection id to read streams from: ENOTFOUND once it
// is deleted, EINVALID when its connector left the catalog. For OAuth2
// it holds a fresh access token (refreshed first if it is expiring).
func (s *Service) Source(ctx context.Context, id string) (*Source, error) {
	st, d, err := s.connection(ctx, id)
	if err != nil {
		return nil, err
	}
	values, err := s.values(st)
	if err != nil {
		return nil, err
	}
	if d.Auth.Type == connectors.AuthOAuth2 {
		if values[connectors.TokenAccessToken], err = s.AccessToken(ctx, id, ""); err != nil {
			return nil, err
		}
	}
	return &Source{State: st, Definition: d, svc: s, values: values}, nil
}

// Fetcher returns a fetcher of stream through the egress client. For an
// OAuth2 connection a 401 refreshes the token once, under the same
// per-connection lock as every other refresh. ENOTFOUND for a stream the
// connector lacks.
func (src *Source) Fetcher(stream string) (*fetch.Fetcher, error) {
	cfg := fetch.Config{Definition: src.Definition, Stream: stream, Values: src.values, Doer: src.svc.http}
	if src.Definition.Auth.Type == connectors.AuthOAuth2 {
		cfg.Refresh = func(ctx context.Context, stale string) (string, error) {
			return src.svc.AccessToken(ctx, src.State.ID, stale)
		}
	}
	return fetch.New(cfg)
}
