package connections

import (
	"context"
	"strings"
	"unicode/utf8"

	"github.com/tenantry/tenantry"
	"github.com/tenantry/tenantry/connectors"
	"github.com/tenantry/tenantry/store"
)

// Started is the outcome of creating or re-verifying a connection: a
// check job, or an OAuth authorization URL for the end-customer's popup.
type Started struct {
	Connection *tenantry.Connection
	JobID      string
	OAuthURL   string
	// Messages were committed to the outbox; publish them.
	Messages []tenantry.Message
}

// Create validates the connect form for connector serverType and creates
// the end-customer's connection: pending with a credential check queued,
// or oauth_pending with an authorization URL. Secret fields are sealed
// before they are stored. EINVALID names the bad fields.
func (s *Service) Create(ctx context.Context, c tenantry.Caller, serverType, name string, form map[string]any, requestID string) (*Started, error) {
	d, err := s.definition(serverType)
	if err != nil {
		return nil, err
	}
	if err := checkName(&name, d); err != nil {
		return nil, err
	}
	clean, err := d.Validate(form)
	if err != nil {
		return nil, err
	}
	fields, secrets := split(d, clean)
	conn := &tenantry.Connection{ID: store.NewConnectionID(), PartnerID: c.PartnerID, AccountID: c.AccountID,
		ServerTypeID: d.ID, Name: name, Status: tenantry.ConnPending, Fields: fields}
	sealed, err := s.seal(conn.ID, secrets)
	if err != nil {
		return nil, err
	}
	started := &Started{Connection: conn}
	cmd, state, err := s.verification(ctx, c.PartnerID, d, conn.ID, requestID, started)
	if err != nil {
		return nil, err
	}
	if state != nil {
		conn.Status = tenantry.ConnOAuthPending
	}
	if err := s.store.CreateConnection(ctx, conn, sealed, cmd, state); err != nil {
		return nil, err
	}
	if cmd != nil {
		started.JobID, started.Messages = cmd.JobID, []tenantry.Message{cmd.Message()}
	}
	return started, nil
}

// Update changes connection id's name and form values (merged over the
// current ones, secrets included, then validated as a whole) and verifies
// it again, keeping its id: a new credential check, or a new OAuth
// authorization (a reconnect). A change of name alone, without reconnect,
// is only a rename. ENOTFOUND if c may not see it.
func (s *Service) Update(ctx context.Context, c tenantry.Caller, id string, name *string, form map[string]any,
	reconnect bool, requestID string) (*Started, error) {
	cur, err := s.store.Connection(ctx, c, id)
	if err != nil {
		return nil, err
	}
	if form == nil && !reconnect {
		if name == nil {
			return &Started{Connection: cur}, nil
		}
		d, err := s.definition(cur.ServerTypeID)
		if err != nil {
			return nil, err
		}
		if err := checkName(name, d); err != nil {
			return nil, err
		}
		conn, err := s.store.RenameConnection(ctx, c, id, *name)
		return &Started{Connection: conn}, err
	}
	d, err := s.definition(cur.ServerTypeID)
	if err != nil {
		return nil, err
	}
	if name != nil {
		if err := checkName(name, d); err != nil {
			return nil, err
		}
	}
	u := store.ConnectionUpdate{Name: name}
	if form != nil {
		if u.Fields, u.Secrets, err = s.merge(ctx, d, id, cur, form); err != nil {
			return nil, err
		}
	}
	started := &Started{}
	cmd, state, err := s.verification(ctx, c.PartnerID, d, id, requestID, started)
	if err != nil {
		return nil, err
	}
	if started.Connection, err = s.store.RestartConnection(ctx, c, id, u, cmd, state); err != nil {
		return nil, err
	}
	if cmd != nil {
		started.JobID, started.Messages = cmd.JobID, []tenantry.Message{cmd.Message()}
	}
	return started, nil
}

// merge lays form over the connection's current values and validates the
// result; it returns the new plain fields and sealed secrets.
func (s *Service) merge(ctx context.Context, d *connectors.Definition, id string, cur *tenantry.Connection,
	form map[string]any) (map[string]string, []byte, error) {
	st, err := s.store.ConnectionState(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	secrets, err := s.open(id, st.Secrets)
	if err != nil {
		return nil, nil, err
	}
	if err := resupplied(d, cur, form); err != nil {
		return nil, nil, err
	}
	all := map[string]any{}
	for _, f := range d.Form {
		if v, ok := cur.Fields[f.Name]; ok {
			all[f.Name] = v
		}
		if v, ok := secrets[f.Name]; ok {
			all[f.Name] = v
		}
	}
	for k, v := range form {
		all[k] = v
	}
	clean, err := d.Validate(all)
	if err != nil {
		return nil, nil, err
	}
	fields, newSecrets := split(d, clean)
	for k, v := range secrets { // OAuth tokens are not form fields: keep them
		if d.Secret(k) {
			continue
		}
		newSecrets[k] = v
	}
	sealed, err := s.seal(id, newSecrets)
	return fields, sealed, err
}

// resupplied refuses a change to a plain field (a base URL, a subdomain)
// unless every secret comes with it: stored secrets must never follow the
// connection to another host they were not typed in for.
func resupplied(d *connectors.Definition, cur *tenantry.Connection, form map[string]any) error {
	changed := false
	for k, v := range form {
		if s, ok := v.(string); !d.Secret(k) && (!ok || s != cur.Fields[k]) {
			changed = true
		}
	}
	if !changed {
		return nil
	}
	var missing []tenantry.FieldError
	for _, f := range d.Form {
		if _, given := form[f.Name]; f.Secret && !given {
			missing = append(missing, tenantry.FieldError{Field: f.Name, Message: "must be given again when other fields change"})
		}
	}
	if len(missing) > 0 {
		return tenantry.Invalid(missing...)
	}
	return nil
}

// verification returns what verifies a connection of connector d: an
// OAuth authorization (its URL put in started) or a credential check job.
// A secret store has nothing to verify: it is checked by a job that only
// confirms the value is stored.
func (s *Service) verification(ctx context.Context, partnerID string, d *connectors.Definition, connID, requestID string,
	started *Started) (*tenantry.Command, *store.OAuthState, error) {
	if d.Auth.Type == connectors.AuthOAuth2 {
		url, state, err := s.beginOAuth(ctx, partnerID, d, connID)
		started.OAuthURL = url
		return nil, state, err
	}
	return connectionCommand(tenantry.KindConnectionCheck, connID, requestID), nil, nil
}

// checkName defaults an empty name to the connector's and bounds it.
func checkName(name *string, d *connectors.Definition) error {
	*name = strings.TrimSpace(*name)
	if *name == "" {
		*name = d.Name
	}
	if !utf8.ValidString(*name) || utf8.RuneCountInString(*name) > 200 || strings.ContainsRune(*name, 0) {
		return tenantry.Invalid(tenantry.FieldError{Field: "name", Message: "must be at most 200 characters of text"})
	}
	return nil
}
