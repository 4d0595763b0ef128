// Package connections is what it takes to connect an end-customer's app
// and keep the connection honest: validating and sealing the connect
// form, the OAuth2 authorization-code flow (with the partner's own OAuth
// app when it has one), the credential check, and token refresh — one
// refresher per connection across every worker. The API uses it to start
// connections; the worker to verify and refresh them.
package connections

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/tenantry/tenantry"
	"github.com/tenantry/tenantry/connectors"
	"github.com/tenantry/tenantry/connectors/egress"
	"github.com/tenantry/tenantry/secret"
	"github.com/tenantry/tenantry/store"
)

// Client is an OAuth client's credentials.
type Client struct {
	ID, Secret string
}

// Config configures the service. Zero durations take the defaults.
type Config struct {
	// PublicURL is where browsers reach the API; the OAuth callback is
	// PublicURL + "/oauth/callback". Needed to start OAuth flows (the
	// api role); exchanges use the redirect URI stored with the request.
	PublicURL string
	// OAuthClients are the operator's OAuth clients by connector id
	// (TENANTRY_OAUTH_<ID>_CLIENT_ID / _CLIENT_SECRET). A partner's own
	// app, set through the API, takes precedence.
	OAuthClients map[string]Client
	// StateTTL bounds an OAuth authorization; default 10m.
	StateTTL time.Duration
	// RefreshBefore refreshes access tokens this long before they
	// expire; default 10m.
	RefreshBefore time.Duration
	// RefreshEvery refreshes expiring tokens at least this often, so a
	// dead grant is found out; default 24h.
	RefreshEvery time.Duration
}

// Validate fills defaults and checks PublicURL.
func (c *Config) Validate() error {
	if c.StateTTL <= 0 {
		c.StateTTL = 10 * time.Minute
	}
	if c.RefreshBefore <= 0 {
		c.RefreshBefore = 10 * time.Minute
	}
	if c.RefreshEvery <= 0 {
		c.RefreshEvery = 24 * time.Hour
	}
	if c.PublicURL != "" && !strings.HasPrefix(c.PublicURL, "http://") && !strings.HasPrefix(c.PublicURL, "https://") {
		return fmt.Errorf("connections: public URL %q must be an absolute http(s) URL", c.PublicURL)
	}
	c.PublicURL = strings.TrimSuffix(c.PublicURL, "/")
	return nil
}

// Service connects and verifies connections. Safe for concurrent use.
type Service struct {
	cfg     Config
	store   *store.Store
	catalog *connectors.Catalog
	sealer  *secret.Sealer
	http    *egress.Client
	pub     tenantry.Publisher
	log     *zap.Logger
	now     func() time.Time
}

// New returns the service. http is the egress-guarded client every
// provider call goes through; pub publishes what the service's own
// transactions commit (refresh outcomes). It fails only on a bad Config.
func New(cfg Config, st *store.Store, cat *connectors.Catalog, sealer *secret.Sealer, http *egress.Client,
	pub tenantry.Publisher, log *zap.Logger) (*Service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Service{cfg: cfg, store: st, catalog: cat, sealer: sealer, http: http, pub: pub, log: log, now: time.Now}, nil
}

// Catalog is the connector catalog the service uses (read-only).
func (s *Service) Catalog() *connectors.Catalog { return s.catalog }

// definition returns connector id; EINVALID naming servertype_id if
// there is none.
func (s *Service) definition(id string) (*connectors.Definition, error) {
	d, ok := s.catalog.Get(id)
	if !ok {
		return nil, tenantry.Invalid(tenantry.FieldError{Field: "servertype_id", Message: fmt.Sprintf("unknown connector %q", id)})
	}
	return d, nil
}

// seal seals a connection's secret values (secret form fields and OAuth
// tokens), bound to the connection's id.
func (s *Service) seal(connID string, secrets map[string]string) ([]byte, error) {
	raw, err := json.Marshal(secrets)
	if err != nil {
		return nil, err
	}
	return s.sealer.Seal(raw, []byte("connection:"+connID))
}

// open opens what seal sealed; nil opens to an empty map.
func (s *Service) open(connID string, sealed []byte) (map[string]string, error) {
	out := map[string]string{}
	if sealed == nil {
		return out, nil
	}
	raw, err := s.sealer.Open(sealed, []byte("connection:"+connID))
	if err != nil {
		return nil, fmt.Errorf("open secrets of %s: %w", connID, err)
	}
	return out, json.Unmarshal(raw, &out)
}

// values is everything a request to the provider may need: the form's
// plain fields and the opened secrets.
func (s *Service) values(st *store.ConnectionState) (map[string]string, error) {
	secrets, err := s.open(st.ID, st.Secrets)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for k, v := range st.Fields {
		out[k] = v
	}
	for k, v := range secrets {
		out[k] = v
	}
	return out, nil
}

// split divides validated form values into plain fields and secrets.
func split(d *connectors.Definition, clean map[string]string) (fields, secrets map[string]string) {
	fields, secrets = map[string]string{}, map[string]string{}
	for k, v := range clean {
		if d.Secret(k) {
			secrets[k] = v
		} else {
			fields[k] = v
		}
	}
	return fields, secrets
}
