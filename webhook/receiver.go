package webhook

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/tenantry/tenantry"
	"github.com/tenantry/tenantry/connectors"
	"github.com/tenantry/tenantry/secret"
	"github.com/tenantry/tenantry/store"
)

// ReceiverConfig configures a Receiver. Zero values take the defaults.
type ReceiverConfig struct {
	// PublicURL is where producers reach the API; the URLs the API shows
	// start with it.
	PublicURL string
	// MaxBodyBytes bounds a webhook body; default 512 KiB. With its
	// headers a message must stay under NATS's max_payload (1 MiB by
	// default): raise both together.
	MaxBodyBytes int64
	// RetryAfter is what producers are told to wait when JetStream is
	// unreachable; default 5s.
	RetryAfter time.Duration
	// CacheTTL is how long a resolved URL (the account a token names, a
	// connection and its signing secret) is reused by this replica;
	// default 5s, negative: never. It bounds how long another replica's
	// change (a rotated URL, a new signing secret, a deleted connection)
	// takes to apply here; this replica's own rotations apply at once.
	CacheTTL time.Duration
}

func (c *ReceiverConfig) defaults() {
	if c.MaxBodyBytes <= 0 {
		c.MaxBodyBytes = 512 << 10
	}
	if c.RetryAfter <= 0 {
		c.RetryAfter = 5 * time.Second
	}
	if c.CacheTTL == 0 {
		c.CacheTTL = 5 * time.Second
	}
	c.PublicURL = strings.TrimSuffix(c.PublicURL, "/")
}

// Paths of the webhook URLs, below PublicURL.
const (
	AccountPath    = "/hooks/account/"
	ConnectionPath = "/hooks/server/"
)

// Receiver authenticates inbound webhooks and publishes them to the
// WEBHOOKS stream, returning only once JetStream has acknowledged them.
// It also keeps each account's own webhook URL. Safe for concurrent use.
type Receiver struct {
	cfg       ReceiverConfig
	store     *store.Store
	catalog   *connectors.Catalog
	sealer    *secret.Sealer
	pub       tenantry.Publisher
	connected func() bool
	log       *zap.Logger
	now       func() time.Time
	accounts  targetCache // by token hash
	conns     targetCache // by connection id
}

// NewReceiver returns a Receiver publishing with pub. connected reports
// whether the NATS connection is up (nil: assume it is); while it is
// down, requests are refused at once instead of waiting out the publish
// timeout.
func NewReceiver(cfg ReceiverConfig, st *store.Store, cat *connectors.Catalog, sealer *secret.Sealer, pub tenantry.Publisher,
	connected func() bool, log *zap.Logger) *Receiver {
	cfg.defaults()
	return &Receiver{cfg: cfg, store: st, catalog: cat, sealer: sealer, pub: pub, connected: connected, log: log, now: time.Now,
		accounts: targetCache{ttl: cfg.CacheTTL}, conns: targetCache{ttl: cfg.CacheTTL}}
}

// Config returns the receiver's configuration, defaults filled in.
func (r *Receiver) Config() ReceiverConfig { return r.cfg }

// Target is whom an inbound webhook is for and how to check it.
type Target struct {
	PartnerID, AccountID, ConnectionID string
	verifier                           *Verifier // nil for an account URL: its token is the credential
}

// Inbound is a webhook request as received.
type Inbound struct {
	Header    http.Header
	Body      []byte
	Query     string
	RequestID string
}

// Account resolves the token of an account's URL. ENOTFOUND for an
// unknown token (or one rotated out past its grace period); EUNAVAILABLE
// when Postgres is unreachable.
func (r *Receiver) Account(ctx context.Context, token string) (*Target, error) {
	hash := tokenHash(token)
	if t, ok := r.accounts.get(string(hash), r.now()); ok {
		return t, nil
	}
	pid, aid, err := r.store.AccountByWebhookToken(ctx, hash)
	if err != nil {
		return nil, unavailable(err)
	}
	t := &Target{PartnerID: pid, AccountID: aid}
	r.accounts.put(string(hash), t, r.now())
	return t, nil
}

// Connection resolves connection id's URL with the provider's signature
// check. ENOTFOUND when there is no such connection (or it is deleted)
// or its connector declares no webhooks; EUNAUTHORIZED when the
// connection has no signing secret yet; EUNAVAILABLE when Postgres is
// unreachable.
func (r *Receiver) Connection(ctx context.Context, id string) (*Target, error) {
	if t, ok := r.conns.get(id, r.now()); ok {
		return t, nil
	}
	t, err := r.connection(ctx, id)
	if err == nil {
		r.conns.put(id, t, r.now())
	}
	return t, err
}

func (r *Receiver) connection(ctx context.Context, id string) (*Target, error) {
	st, err := r.store.ConnectionState(ctx, id)
	if err != nil {
		return nil, unavailable(err)
	}
	d, ok := r.catalog.Get(st.ServerTypeID)
	if !ok || d.Webhooks == nil {
		return nil, tenantry.Errorf(tenantry.ENOTFOUND, "connection %s takes no webhooks", id)
	}
	secret, err := r.signingSecret(st, d.Webhooks.Secret)
	if err != nil {
		return nil, err
	}
	v, err := NewVerifier(d.Webhooks, secret)
	if err != nil {
		return nil, err
	}
	return &Target{PartnerID: st.PartnerID, AccountID: st.AccountID, ConnectionID: st.ID, verifier: v}, nil
}

// ForgetConnection drops what this replica cached about connection id's
// URL: call it when the connection changes (new credentials, deleted),
// so the change applies here at once.
func (r *Receiver) ForgetConnection(id string) { r.conns.drop(id) }

// signingSecret opens the connection's secret form values (sealed by the
// connections service with the connection's id as AAD) and returns the
// signing secret field.
func (r *Receiver) signingSecret(st *store.ConnectionState, field string) (string, error) {
	if st.Secrets == nil {
		return "", nil
	}
	raw, err := r.sealer.Open(st.Secrets, []byte("connection:"+st.ID))
	if err != nil {
		return "", fmt.Errorf("open secrets of %s: %w", st.ID, err)
	}
	return secretField(raw, field)
}

// Accept checks in against t and publishes it to the WEBHOOKS stream,
// returning the event once JetStream has acknowledged it. EINVALID or
// EUNAUTHORIZED for a request that fails its signature check (logged,
// never published); ETOOLARGE for a message NATS refuses; EUNAVAILABLE
// when JetStream did not acknowledge (NATS unreachable): the producer
// must retry, and a retry of the same delivery id is processed once.
func (r *Receiver) Accept(ctx context.Context, t *Target, in Inbound) (*tenantry.WebhookEvent, error) {
	id, err := r.deliveryID(t, in)
	if err != nil {
		r.log.Warn("webhook rejected", zap.String("account_id", t.AccountID), zap.String("connection_id", t.ConnectionID),
			zap.String("request_id", in.RequestID), zap.String("reason", tenantry.ErrorMessage(err)))
		return nil, err
	}
	ev := &tenantry.WebhookEvent{ID: store.NewID("whk"), PartnerID: t.PartnerID, AccountID: t.AccountID,
		ConnectionID: t.ConnectionID, WebhookID: id, ContentType: in.Header.Get("Content-Type"), Header: keptHeaders(in.Header),
		Query: in.Query, Body: in.Body, Size: len(in.Body), Status: tenantry.WebhookReceived, ReceivedAt: r.now().UTC(),
		RequestID: in.RequestID}
	if r.connected != nil && !r.connected() {
		return nil, tenantry.Errorf(tenantry.EUNAVAILABLE, "the webhook could not be stored now; retry later")
	}
	err = r.pub.Publish(ctx, Message(ev))
	switch code := tenantry.ErrorCode(err); {
	case code == tenantry.EINVALID:
		return nil, tenantry.Errorf(tenantry.ETOOLARGE, "the webhook is larger than the message size limit")
	case err != nil:
		r.log.Warn("webhook not acknowledged by JetStream", zap.String("request_id", in.RequestID), zap.Error(err))
		return nil, tenantry.Errorf(tenantry.EUNAVAILABLE, "the webhook could not be stored now; retry later")
	}
	return ev, nil
}

// deliveryID verifies a connection's webhook and returns its delivery
// id. An account URL takes a webhook-id or Idempotency-Key header as
// the id; a request with neither (or a scheme without ids) gets a fresh
// one, so its retries are not recognised as duplicates.
func (r *Receiver) deliveryID(t *Target, in Inbound) (string, error) {
	var id string
	if t.verifier != nil {
		var err error
		if id, err = t.verifier.Verify(in.Header, in.Body, r.now()); err != nil {
			return "", err
		}
	} else {
		for _, h := range []string{HeaderID, "Idempotency-Key"} {
			if id = in.Header.Get(h); id != "" {
				if err := checkID(h, id); err != nil {
					return "", err
				}
				break
			}
		}
	}
	if id == "" {
		id = store.NewID("dlv")
	}
	return id, nil
}

// dropped are request headers never kept: credentials and hop-by-hop
// headers.
var dropped = map[string]bool{"Authorization": true, "Cookie": true, "Proxy-Authorization": true,
	"Connection": true, "Keep-Alive": true, "Te": true, "Trailer": true, "Transfer-Encoding": true, "Upgrade": true}

// keptHeaders are the request headers a handler sees.
func keptHeaders(h http.Header) http.Header {
	out := http.Header{}
	for k, v := range h {
		if !dropped[k] {
			out[k] = v
		}
	}
	return out
}

// tokenHash is what finds an account URL's token in the store.
func tokenHash(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// newToken is 32 random bytes, URL-safe: an account URL's path secret.
func newToken() string { return base64.RawURLEncoding.EncodeToString(randomBytes(32)) }

// unavailable turns an unreachable Postgres into EUNAVAILABLE: the
// producer must retry, as when JetStream is away.
func unavailable(err error) error {
	if store.IsUnavailable(err) {
		return tenantry.Errorf(tenantry.EUNAVAILABLE, "the webhook could not be checked now; retry later")
	}
	return err
}
