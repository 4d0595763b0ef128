package connections

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"

	"github.com/tenantry/tenantry"
	"github.com/tenantry/tenantry/store"
)

// connectionCommand is a command about connection connID.
func connectionCommand(kind, connID, requestID string) *tenantry.Command {
	raw, _ := json.Marshal(map[string]string{"connection_id": connID}) // strings only: cannot fail
	return &tenantry.Command{Kind: kind, RequestID: requestID, Payload: raw}
}

// payload reads a connection command's payload.
func payload(cmd tenantry.Command) (map[string]string, error) {
	p := map[string]string{}
	if err := json.Unmarshal(cmd.Payload, &p); err != nil || p["connection_id"] == "" {
		return nil, tenantry.Errorf(tenantry.EINVALID, "command %s has no connection_id", cmd.JobID)
	}
	return p, nil
}

// failed is a connection's state after a definite failure: status with
// reason, logged as an error.
func failed(status, reason string) store.ConnectionOutcome {
	return store.ConnectionOutcome{Status: status, Reason: reason, Level: "error", Log: reason, Checked: true}
}

// randomToken is 32 random bytes, URL-safe: OAuth states.
func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
