package connections

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"

	"github.com/tenantry/tenantry"
	"github.com/tenantry/tenantry/connectors"
	"github.com/tenantry/tenantry/connectors/egress"
	"github.com/tenantry/tenantry/store"
)

// connection returns connection id's state and connector. ENOTFOUND
// once the connection is deleted.
func (s *Service) connection(ctx context.Context, id string) (*store.ConnectionState, *connectors.Definition, error) {
	st, err := s.store.ConnectionState(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	d, ok := s.catalog.Get(st.ServerTypeID)
	if !ok {
		return nil, nil, tenantry.Errorf(tenantry.EINVALID, "connector %q is no longer in the catalog", st.ServerTypeID)
	}
	return st, d, nil
}

// Check runs the connector's credential check for a check job and
// returns the connection's new state: active when the provider accepts
// the credentials; error (needs_reauth for OAuth) when it rejects them.
// A provider that is down or rate-limiting is an ordinary (retryable)
// error; the caller decides when to give up.
func (s *Service) Check(ctx context.Context, cmd tenantry.Command) (connID string, o store.ConnectionOutcome, err error) {
	p, err := payload(cmd)
	if err != nil {
		return "", o, err
	}
	st, d, err := s.connection(ctx, p["connection_id"])
	if err != nil {
		return "", o, err
	}
	if d.Check == nil {
		return st.ID, store.ConnectionOutcome{Status: tenantry.ConnActive, Checked: true, Log: "stored; nothing to check"}, nil
	}
	values, err := s.values(st)
	if err != nil {
		return st.ID, o, err
	}
	if d.Auth.Type != connectors.AuthOAuth2 {
		o, err = s.check(ctx, d, values)
		return st.ID, o, err
	}
	if values["access_token"], err = s.AccessToken(ctx, st.ID, ""); err != nil {
		return st.ID, o, err
	}
	o, err = s.check(ctx, d, values)
	if o.Status == tenantry.ConnNeedsReauth { // the token was refused: refresh once and try again
		if values["access_token"], err = s.AccessToken(ctx, st.ID, values["access_token"]); err != nil {
			return st.ID, o, err
		}
		o, err = s.check(ctx, d, values)
	}
	return st.ID, o, err
}

func (s *Service) check(ctx context.Context, d *connectors.Definition, values map[string]string) (store.ConnectionOutcome, error) {
	req, err := d.CheckRequest(ctx, values)
	if err != nil {
		return failed(tenantry.ConnError, "cannot build the check request: "+tenantry.ErrorMessage(err)), nil
	}
	resp, err := s.http.Do(ctx, req)
	var blocked *egress.BlockedError
	if errors.As(err, &blocked) {
		return failed(tenantry.ConnError, tenantry.ErrorMessage(blocked)), nil
	}
	if err != nil {
		return store.ConnectionOutcome{}, tenantry.Errorf(tenantry.EUNAVAILABLE, "the provider could not be reached: %v", redact(err))
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	_ = resp.Body.Close()
	code := resp.StatusCode
	expect := d.Check.ExpectStatus
	switch {
	case slices.Contains(expect, code) || len(expect) == 0 && code/100 == 2:
		return store.ConnectionOutcome{Status: tenantry.ConnActive, Checked: true, Log: fmt.Sprintf("credential check passed (HTTP %d)", code)}, nil
	case code == http.StatusUnauthorized || code == http.StatusForbidden:
		status := tenantry.ConnError
		if d.Auth.Type == connectors.AuthOAuth2 {
			status = tenantry.ConnNeedsReauth
		}
		return failed(status, fmt.Sprintf("the provider rejected the credentials (HTTP %d)", code)), nil
	case code == http.StatusTooManyRequests || code >= 500:
		return store.ConnectionOutcome{}, tenantry.Errorf(tenantry.EUNAVAILABLE, "the provider answered HTTP %d to the credential check", code)
	}
	return failed(tenantry.ConnError, fmt.Sprintf("credential check failed (HTTP %d)", code)), nil
}

// redact drops the query and user info from any URL in err: a query may
// carry credentials (api_token=…), and errors are logged.
func redact(err error) error {
	var ue *url.Error
	if !errors.As(err, &ue) {
		return err
	}
	where := "(unparseable URL)"
	if u, perr := url.Parse(ue.URL); perr == nil {
		u.RawQuery, u.User, u.Fragment = "", nil, ""
		where = u.String()
	}
	return fmt.Errorf("%s %s: %v", ue.Op, where, ue.Err)
}
