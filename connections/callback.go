package connections

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/url"
	"strings"

	"github.com/tenantry/tenantry"
	"github.com/tenantry/tenantry/store"
)

// maxCallbackValue bounds the code and state a callback may carry: real
// ones are a few hundred bytes, and they travel in a NATS message.
const maxCallbackValue = 4096

// Callback handles the provider's redirect back to us: it consumes the
// state (once) and enqueues the code exchange, or fails the connection
// with the provider's error. It returns the messages its transaction
// committed (the exchange command among them) to publish, and an error
// safe to show on the popup page.
func (s *Service) Callback(ctx context.Context, q url.Values, requestID string) ([]tenantry.Message, error) {
	state, code := q.Get("state"), q.Get("code")
	if state == "" || len(state) > maxCallbackValue || len(code) > maxCallbackValue {
		return nil, tenantry.Errorf(tenantry.EINVALID, "the provider's answer is not a valid authorization response")
	}
	hash := sha256.Sum256([]byte(state))
	var r store.OAuthResult
	switch {
	case q.Get("error") != "":
		r.Denied = oauthErrorCode(q.Get("error"))
		if desc := store.CleanText(q.Get("error_description"), 200); desc != "" {
			r.Denied += " (" + desc + ")"
		}
	case code == "":
		r.Denied = "the provider sent neither a code nor an error"
	default:
		sealed, err := s.sealer.Seal([]byte(code), []byte("oauth_code:"+hex.EncodeToString(hash[:])))
		if err != nil {
			return nil, err
		}
		r.Exchange = &tenantry.Command{Kind: tenantry.KindOAuthExchange, RequestID: requestID}
		r.Exchange.Payload, _ = json.Marshal(map[string]any{"state_hash": hex.EncodeToString(hash[:]), "code": sealed})
	}
	msgs, err := s.store.CompleteOAuth(ctx, hash[:], r)
	if err == nil && r.Denied != "" {
		err = tenantry.Errorf(tenantry.EINVALID, "the authorization was not granted: %s", r.Denied)
	}
	return msgs, err
}

// oauthErrorCode keeps an OAuth error code as RFC 6749 allows it
// (printable ASCII, no quote or backslash), at most 64 characters.
func oauthErrorCode(s string) string {
	out := strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e || r == '"' || r == '\\' {
			return -1
		}
		return r
	}, s)
	if len(out) > 64 {
		out = out[:64]
	}
	if out == "" {
		return "unspecified_error"
	}
	return out
}
