// Package tenantry holds the domain types shared by every role: partners,
// their subaccounts (tenants), jobs and the commands that carry them, and
// the caller a request or command acts for. Adapter packages (store,
// events, auth, handlers, worker, scheduler) implement and use them; only
// cmd/* wires concrete types together.
package tenantry

import (
	"context"
	"encoding/json"
	"time"
)

// Partner is a SaaS company embedding tenantry; it owns subaccounts.
type Partner struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	CORSOrigins []string  `json:"cors_origins"`
	CreatedAt   time.Time `json:"created_at"`
}

// Subaccount statuses.
const (
	SubaccountProvisioning   = "provisioning"
	SubaccountActive         = "active"
	SubaccountFailed         = "failed"
	SubaccountDeprovisioning = "deprovisioning"
	SubaccountDeleted        = "deleted"
)

// Subaccount is one end-customer (tenant) of a partner. Its warehouse is
// the Postgres schema and NOLOGIN role named Schema.
type Subaccount struct {
	ID           string    `json:"id"`
	PartnerID    string    `json:"-"`
	ExternalID   string    `json:"external_id"`
	FirstName    string    `json:"first_name"`
	LastName     string    `json:"last_name"`
	Email        string    `json:"email"`
	Language     string    `json:"language"`
	CompanyName  string    `json:"company_name"`
	Status       string    `json:"status"`
	StatusReason string    `json:"status_reason"`
	Schema       string    `json:"-"`
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`
}

// SubaccountFields are the partner-editable fields of a subaccount; nil
// means "not given".
type SubaccountFields struct {
	ExternalID  *string `json:"external_id"`
	FirstName   *string `json:"first_name"`
	LastName    *string `json:"last_name"`
	Email       *string `json:"email"`
	Language    *string `json:"language"`
	CompanyName *string `json:"company_name"`
}

// SubaccountFilter narrows a subaccount listing.
type SubaccountFilter struct {
	ExternalID string
	Page
}

// Page is a keyset page request: up to Limit items after Cursor.
type Page struct {
	Limit  int
	Cursor string
}

// Job statuses.
const (
	JobQueued    = "queued"
	JobRunning   = "running"
	JobSucceeded = "succeeded"
	JobFailed    = "failed"
)

// Command kinds: what a job asks a worker to do.
const (
	KindProvision   = "subaccount.provision"
	KindDeprovision = "subaccount.deprovision"
)

// Job is the durable record of one accepted command and its outcome.
type Job struct {
	ID         string     `json:"id"`
	PartnerID  string     `json:"-"`
	AccountID  string     `json:"-"`
	Kind       string     `json:"kind"`
	Status     string     `json:"status"`
	Attempts   int        `json:"attempts"`
	Error      string     `json:"error"`
	CreatedAt  time.Time  `json:"created_at"`
	StartedAt  *time.Time `json:"started_at"`
	FinishedAt *time.Time `json:"finished_at"`
}

// Command is what travels on the COMMANDS stream: the job to run, for
// whom. Its id is the job id and its Nats-Msg-Id.
type Command struct {
	JobID     string          `json:"job_id"`
	Kind      string          `json:"kind"`
	PartnerID string          `json:"partner_id"`
	AccountID string          `json:"account_id,omitempty"`
	RequestID string          `json:"request_id,omitempty"`
	Payload   json.RawMessage `json:"payload,omitempty"`
}

// Subject is the command's JetStream subject, cmd.<kind>.<tenant>; the
// tenant is the account, or the partner for partner-wide work.
func (c Command) Subject() string { return "cmd." + c.Kind + "." + tenant(c.AccountID, c.PartnerID) }

// tenant is whom something belongs to: the account, or the partner for
// partner-wide things.
func tenant(account, partner string) string {
	if account != "" {
		return account
	}
	return partner
}

// Token kinds. A token of one kind is never accepted where another is
// expected. A caller authenticated by an API key, or by a token exchanged
// for one, is a partner caller (KeyID set); a single-use token is accepted
// only by the routes that require one.
const (
	KindPartnerToken   = "partner"
	KindAccountToken   = "account"
	KindSingleUseToken = "single_use"
)

// Roles, of partner credentials and of account users. A partner token is
// its partner's owner; an API key is an admin or a member; only owners
// and admins manage API keys.
const (
	RoleOwner  = "owner"
	RoleAdmin  = "admin"
	RoleMember = "member"
)

// Caller is who a request acts for, established by authentication.
// AccountID is set only for account (end-customer) and single-use tokens.
// KeyID names the API key the credential is (APIKey true) or was
// exchanged for; Role is the partner credential's role. GrantID names the
// OAuth grant an account caller's access token was issued under.
type Caller struct {
	Kind      string
	PartnerID string
	AccountID string
	TokenID   string
	KeyID     string
	APIKey    bool
	Role      string
	GrantID   string
}

// CanManageKeys reports whether the caller may create, revoke, reactivate
// and delete its partner's API keys: an owner or admin partner credential.
func (c Caller) CanManageKeys() bool {
	return c.IsPartner() && (c.Role == RoleOwner || c.Role == RoleAdmin)
}

// Credential is the id rate limits are counted against: the API key for
// a key or a token exchanged for one, the OAuth grant for its access
// tokens (getting a new token does not reset the count), else the token.
func (c Caller) Credential() string {
	switch {
	case c.KeyID != "":
		return c.KeyID
	case c.GrantID != "":
		return c.GrantID
	}
	return c.TokenID
}

// IsPartner reports whether the caller holds a partner token.
func (c Caller) IsPartner() bool { return c.Kind == KindPartnerToken }

// Scope is the id whose resources the caller owns: idempotency keys and
// rate limits are kept per scope.
func (c Caller) Scope() string { return tenant(c.AccountID, c.PartnerID) }

type callerKey struct{}

// WithCaller returns ctx carrying c.
func WithCaller(ctx context.Context, c Caller) context.Context {
	return context.WithValue(ctx, callerKey{}, c)
}

// CallerFrom returns the caller carried by ctx, if any.
func CallerFrom(ctx context.Context) (Caller, bool) {
	c, ok := ctx.Value(callerKey{}).(Caller)
	return c, ok
}

// Publisher publishes messages to JetStream; a publish of the same
// message id twice is applied once.
type Publisher interface {
	Publish(ctx context.Context, m Message) error
}

// API key statuses.
const (
	KeyActive  = "active"
	KeyRevoked = "revoked"
)

// APIKey is a partner's API key as it is listed. The key itself is shown
// once, when it is created, and stored only as a hash.
type APIKey struct {
	ID         string     `json:"id"`
	PartnerID  string     `json:"-"`
	Name       string     `json:"name"`
	Role       string     `json:"role"`
	Prefix     string     `json:"prefix"`
	Status     string     `json:"status"`
	CreatedAt  time.Time  `json:"created_at"`
	RevokedAt  *time.Time `json:"revoked_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
}

// User is a person who signs in to an end-customer account, with a role
// there (owner, admin or member). The password is stored only as an
// argon2id hash and never returned.
type User struct {
	ID        string    `json:"id"`
	AccountID string    `json:"-"`
	Email     string    `json:"email"`
	Role      string    `json:"role"`
	CreatedAt time.Time `json:"created_at"`
}

// Invitation statuses.
const (
	InvitationPending  = "pending"
	InvitationAccepted = "accepted"
	InvitationExpired  = "expired"
)

// Invitation asks Email to join an account with Role. Its accept link
// works once, until ExpiresAt.
type Invitation struct {
	ID         string     `json:"id"`
	AccountID  string     `json:"-"`
	Email      string     `json:"email"`
	Role       string     `json:"role"`
	Status     string     `json:"status"`
	CreatedAt  time.Time  `json:"created_at"`
	ExpiresAt  time.Time  `json:"expires_at"`
	AcceptedAt *time.Time `json:"accepted_at"`
}

// OAuthClient is a third-party application a partner registered with
// tenantry's OAuth2 authorization server: an account's users may grant it
// access to their account. Its ID is the OAuth client_id; its secret is
// shown once, when it is registered, and stored only as a hash.
type OAuthClient struct {
	ID           string    `json:"client_id"`
	PartnerID    string    `json:"-"`
	Name         string    `json:"name"`
	RedirectURIs []string  `json:"redirect_uris"`
	CreatedAt    time.Time `json:"created_at"`
}
