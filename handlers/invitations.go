package handlers

import (
	"encoding/hex"
	"net/http"
	"net/url"
	"time"
	"unicode/utf8"

	"github.com/go-chi/chi/v5"

	"github.com/tenantry/tenantry"
	"github.com/tenantry/tenantry/auth"
)

type invitationRequest struct {
	Email string `json:"email"`
	Role  string `json:"role"`
}

// createdInvitation is an invitation as created: the only response that
// carries its accept link.
type createdInvitation struct {
	*tenantry.Invitation
	AcceptURL string `json:"accept_url"`
}

// createInvitation invites a user to the account of the single-use token
// that authenticated the request, and consumes the token: 201 with the
// accept link (shown once; deliver it to the user). The same token again,
// even concurrently, is 401; a body that fails validation does not use it
// up. 404 if the token is for another account.
func (s *Server) createInvitation(w http.ResponseWriter, r *http.Request) error {
	c := caller(r)
	if chi.URLParam(r, "id") != c.AccountID {
		return tenantry.Errorf(tenantry.ENOTFOUND, "subaccount %s not found", chi.URLParam(r, "id"))
	}
	var in invitationRequest
	if err := decodeJSON(w, r, s.cfg.MaxBodyBytes, &in); err != nil {
		return err
	}
	if err := validateInvitation(in); err != nil {
		return err
	}
	link := newSecret()
	inv := &tenantry.Invitation{Email: in.Email, Role: in.Role, ExpiresAt: time.Now().Add(s.cfg.InvitationTTL)}
	consumedUntil := time.Now().Add(s.cfg.SingleUseTTL + time.Minute)
	if err := s.store.CreateInvitation(r.Context(), c, inv, secretHash(link), consumedUntil); err != nil {
		return err
	}
	base := s.cfg.PublicURL
	if base == "" {
		base = "http://" + r.Host
	}
	w.Header().Set("Cache-Control", "no-store")
	return writeJSON(w, http.StatusCreated, createdInvitation{Invitation: inv,
		AcceptURL: base + acceptPath + "?" + url.Values{"token": {link}}.Encode()})
}

func validateInvitation(in invitationRequest) error {
	var errs []tenantry.FieldError
	if !validEmail(in.Email) {
		errs = append(errs, tenantry.FieldError{Field: "email", Message: "must be an email address such as ada@example.com"})
	}
	switch in.Role {
	case tenantry.RoleOwner, tenantry.RoleAdmin, tenantry.RoleMember:
	default:
		errs = append(errs, tenantry.FieldError{Field: "role", Message: "must be owner, admin or member"})
	}
	if len(errs) > 0 {
		return tenantry.Invalid(errs...)
	}
	return nil
}

type acceptRequest struct {
	Token    string `json:"token"`
	Password string `json:"password"`
}

// Password bounds: long enough to resist guessing, short enough that
// hashing an attacker's megabyte costs nothing.
const (
	minPassword = 10
	maxPassword = 256
)

// acceptInvitationAPI accepts an invitation with its link's token and
// the user's password: 201 with the user. The link works once (409
// after), until it expires (409); 404 for a token that is no link.
func (s *Server) acceptInvitationAPI(w http.ResponseWriter, r *http.Request) error {
	var in acceptRequest
	if err := decodeJSON(w, r, s.cfg.MaxBodyBytes, &in); err != nil {
		return err
	}
	u, err := s.acceptInvitation(w, r, in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, u)
}

// acceptInvitation validates in and accepts the invitation. Attempts are
// counted against the auth quota per client address and per link, and a
// link that cannot be accepted is refused before the password is hashed
// (argon2id is slow on purpose; unauthenticated callers must not get to
// spend it freely).
func (s *Server) acceptInvitation(w http.ResponseWriter, r *http.Request, in acceptRequest) (*tenantry.User, error) {
	if err := s.limitAddress(w, r); err != nil {
		return nil, err
	}
	var errs []tenantry.FieldError
	if in.Token == "" {
		errs = append(errs, tenantry.FieldError{Field: "token", Message: "is required"})
	}
	if n := utf8.RuneCountInString(in.Password); n < minPassword || len(in.Password) > maxPassword || !utf8.ValidString(in.Password) {
		errs = append(errs, tenantry.FieldError{Field: "password", Message: "must be at least 10 characters (and at most 256 bytes)"})
	}
	if len(errs) > 0 {
		return nil, tenantry.Invalid(errs...)
	}
	hash := secretHash(in.Token)
	if err := s.limit(w, r, classAuth, "invite:"+hex.EncodeToString(hash)); err != nil {
		return nil, err
	}
	if err := s.store.CheckInvitation(r.Context(), hash); err != nil {
		return nil, err
	}
	return s.store.AcceptInvitation(r.Context(), hash, auth.HashPassword(in.Password))
}

// listUsers lists the users of a subaccount.
func (s *Server) listUsers(w http.ResponseWriter, r *http.Request) error {
	page, err := parsePage(r)
	if err != nil {
		return err
	}
	items, next, err := s.store.Users(r.Context(), caller(r), chi.URLParam(r, "id"), page)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, newList(items, next))
}
