package tenantry

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// TriggerEndpoint is the trigger of a run made for a call to a published
// endpoint.
const TriggerEndpoint = "endpoint"

// Endpoint auth modes.
const (
	EndpointJWT    = "jwt"    // callers present the account's own end-customer token
	EndpointPublic = "public" // anyone may call; the script decides
)

// Endpoint is a published endpoint: requests for Method and Path under
// the account's URL prefix (/endpoints/{account}) are answered by the
// handler(request) of interface InterfaceID.
type Endpoint struct {
	ID          string    `json:"id"`
	PartnerID   string    `json:"-"`
	AccountID   string    `json:"subaccount_id"`
	InterfaceID string    `json:"interface_id"`
	Path        string    `json:"path"`
	Method      string    `json:"method"`
	Auth        string    `json:"auth"`
	URL         string    `json:"url"` // set by the API, from its public URL
	CreatedAt   time.Time `json:"created_at"`
}

// EndpointQueue is the NATS queue group the workers answering endpoint
// calls share: each call reaches one of them.
const EndpointQueue = "workers"

// EndpointSubject is the NATS subject calls to account's endpoints are
// sent on (request/reply, core NATS: a call is answered now or not at
// all, so it is not stored in a stream).
func EndpointSubject(account string) string { return "rpc.endpoint." + account }

// EndpointCall is one call to a published endpoint, as the API sends it
// to a worker.
type EndpointCall struct {
	EndpointID  string `json:"endpoint_id"`
	InterfaceID string `json:"interface_id"`
	// Version is the interface's updated_at as the API last saw it; a
	// worker reloads the script when its copy is of another version.
	Version   time.Time `json:"version"`
	PartnerID string    `json:"partner_id"`
	AccountID string    `json:"account_id"`
	RequestID string    `json:"request_id"`
	// TimeoutMS is how long the API waits for the answer; the worker gives
	// up on the run then.
	TimeoutMS int64 `json:"timeout_ms"`
	// Request is the handler's argument: script.HTTPRequest as JSON. It
	// travels after the other fields, as it is (see Encode).
	Request json.RawMessage `json:"-"`
	// Legacy is set by Decode for a call in the form of earlier releases
	// (one JSON object): its answer goes back in that form too
	// (EncodeLegacy), so an API not yet upgraded keeps working with an
	// upgraded worker during a rolling upgrade.
	Legacy bool `json:"-"`
}

// Endpoint call outcomes other than an answer.
const (
	EndpointFailed      = "failed"      // the script failed (RunID names the run)
	EndpointTimeout     = "timeout"     // the run outlived the call
	EndpointNotFound    = "not_found"   // the endpoint's interface is gone
	EndpointUnavailable = "unavailable" // the worker could not run it now
)

// EndpointReply is a worker's answer to an EndpointCall: the HTTP
// response the handler made, or why there is none (Outcome).
type EndpointReply struct {
	RunID   string      `json:"run_id,omitempty"`
	Outcome string      `json:"outcome,omitempty"` // "" when Status, Header and Body are the answer
	Status  int         `json:"status,omitempty"`
	Header  http.Header `json:"header,omitempty"`
	Body    []byte      `json:"-"` // travels after the other fields, as it is (see Encode)
}

// Encode is c as a NATS message's data: its fields as JSON, a newline,
// then its Request as it is, so the request is neither quoted nor
// checked again on the way.
func (c *EndpointCall) Encode() ([]byte, error) { return encodeWire(c, c.Request) }

// Decode reads data, made by Encode or by an earlier release, into c;
// c.Request shares data's memory.
func (c *EndpointCall) Decode(data []byte) (err error) {
	if c.Legacy = !bytes.Contains(data, []byte{'\n'}); c.Legacy {
		type plain EndpointCall
		v := struct {
			*plain
			Request json.RawMessage `json:"request"`
		}{plain: (*plain)(c)}
		err = json.Unmarshal(data, &v)
		c.Request = v.Request
		return err
	}
	c.Request, err = decodeWire(data, c)
	return err
}

// Encode is r as a NATS message's data: its fields as JSON, a newline,
// then its Body as it is (not as base64).
func (r *EndpointReply) Encode() ([]byte, error) { return encodeWire(r, r.Body) }

// EncodeLegacy is r in the form of earlier releases: one JSON object,
// its Body as base64 in "body". It answers a Legacy call.
func (r *EndpointReply) EncodeLegacy() ([]byte, error) {
	type plain EndpointReply
	return json.Marshal(struct {
		*plain
		Body []byte `json:"body,omitempty"`
	}{(*plain)(r), r.Body})
}

// Decode reads data, made by Encode or EncodeLegacy (a worker not yet
// upgraded), into r; r.Body shares data's memory.
func (r *EndpointReply) Decode(data []byte) (err error) {
	if !bytes.Contains(data, []byte{'\n'}) {
		type plain EndpointReply
		v := struct {
			*plain
			Body []byte `json:"body,omitempty"`
		}{plain: (*plain)(r)}
		err = json.Unmarshal(data, &v)
		r.Body = v.Body
		return err
	}
	r.Body, err = decodeWire(data, r)
	return err
}

// encodeWire is head as JSON (which has no raw newline), a newline, and
// tail.
func encodeWire(head any, tail []byte) ([]byte, error) {
	b, err := json.Marshal(head)
	if err != nil {
		return nil, err
	}
	return append(append(b, '\n'), tail...), nil
}

// decodeWire decodes the JSON before data's first newline, which there
// is, into head and returns what follows it.
func decodeWire(data []byte, head any) ([]byte, error) {
	i := bytes.IndexByte(data, '\n')
	if err := json.Unmarshal(data[:i], head); err != nil {
		return nil, fmt.Errorf("decode endpoint message: %w", err)
	}
	return data[i+1:], nil
}
