package auth

import (
	"fmt"

	"github.com/golang-jwt/jwt/v5"

	"github.com/tenantry/tenantry"
)

// Token kinds, each in both the "typ" header (kind+"+jwt") and the "knd"
// claim. Each kind has its own required and forbidden claims, so a token
// of one kind never passes as another.
const (
	kindPartner   = tenantry.KindPartnerToken   // a partner's owner credential; never expires
	kindAccount   = tenantry.KindAccountToken   // an end-customer's; 1 h or non-expiring
	kindKey       = "key"                       // exchanged for an API key; 1 h, recorded
	kindSingleUse = tenantry.KindSingleUseToken // one request on one account; minutes
	kindOAuth     = "oauth"                     // an OAuth access token for one account; recorded
)

type claims struct {
	jwt.RegisteredClaims
	Kind    string `json:"knd"`
	Partner string `json:"pid"`
	Account string `json:"aid,omitempty"`
	Key     string `json:"key,omitempty"`
	Role    string `json:"rol,omitempty"`
	Grant   string `json:"gid,omitempty"`
}

// kindOf is the kind of token that carries c, and whether it must expire.
// An account or single-use caller may name the API key that mints it
// (KeyID): the token is then revoked with that key.
func kindOf(c tenantry.Caller) (kind string, mustExpire bool, err error) {
	partner, account := c.Kind == tenantry.KindPartnerToken && c.AccountID == "", c.AccountID != ""
	customer := account && c.Role == "" // an account's token never carries a partner role
	switch {
	case c.PartnerID == "" || c.KeyID != "" && c.GrantID != "":
	case partner && c.KeyID != "" && (c.Role == tenantry.RoleAdmin || c.Role == tenantry.RoleMember):
		return kindKey, true, nil
	case partner && c.KeyID == "" && c.GrantID == "":
		return kindPartner, false, nil
	case c.Kind == tenantry.KindAccountToken && customer && c.GrantID != "":
		return kindOAuth, true, nil
	case c.Kind == tenantry.KindAccountToken && customer:
		return kindAccount, false, nil
	case c.Kind == tenantry.KindSingleUseToken && customer && c.GrantID == "":
		return kindSingleUse, true, nil
	}
	return "", false, fmt.Errorf("auth: no token kind for caller %+v", c)
}

// newClaims are the claims of a token of kind for c.
func newClaims(kind string, c tenantry.Caller) claims {
	cl := claims{Kind: kind, Partner: c.PartnerID, Account: c.AccountID, Grant: c.GrantID, Key: c.KeyID}
	if kind == kindKey {
		cl.Role = c.Role
	}
	return cl
}

// recorded reports whether a token of kind, minted by key (or not: "")
// is recorded and checked on every use even when it expires: the tokens
// that a revocation of something longer-lived (an API key, an OAuth
// grant) must stop at once.
func recorded(kind, key string) bool { return kind == kindKey || kind == kindOAuth || key != "" }

// caller checks that cl has exactly the claims its kind requires and
// returns the caller it stands for; ok is false for anything else. An
// account or single-use token may name the API key that minted it (and
// revokes it); that key is not the caller's credential, so it is not in
// c (rate limits count such a token on its own).
func (cl claims) caller() (c tenantry.Caller, ok bool) {
	if cl.Partner == "" || cl.ID == "" {
		return c, false
	}
	c = tenantry.Caller{Kind: cl.Kind, PartnerID: cl.Partner, AccountID: cl.Account, TokenID: cl.ID}
	expires, account := cl.ExpiresAt != nil, cl.Account != ""
	customer := account && cl.Role == "" // of an account, minted by the partner or a key
	switch cl.Kind {
	case kindPartner:
		c.Role = tenantry.RoleOwner
		return c, !account && cl.Key == "" && cl.Role == "" && cl.Grant == ""
	case kindAccount:
		return c, customer && cl.Grant == ""
	case kindKey:
		c.Kind, c.KeyID, c.Role = tenantry.KindPartnerToken, cl.Key, cl.Role
		return c, expires && !account && cl.Key != "" && cl.Grant == "" &&
			(cl.Role == tenantry.RoleAdmin || cl.Role == tenantry.RoleMember)
	case kindSingleUse:
		return c, expires && customer && cl.Grant == ""
	case kindOAuth:
		c.Kind, c.GrantID = tenantry.KindAccountToken, cl.Grant
		return c, expires && customer && cl.Grant != "" && cl.Key == ""
	}
	return c, false
}
