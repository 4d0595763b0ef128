package script

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/tenantry/tenantry"
	"github.com/tenantry/tenantry/connectors/egress"
	"github.com/tenantry/tenantry/secret"
	"github.com/tenantry/tenantry/store"
	"github.com/tenantry/tenantry/warehouse"
)

// Platform performs scripts' host calls against tenantry's own
// services. Safe for concurrent use.
type Platform struct {
	store  *store.Store
	wh     *warehouse.Warehouse
	sealer *secret.Sealer
	http   *egress.Client
}

// NewPlatform returns the platform: reads go through the warehouse
// sandbox, secrets are opened with sealer, HTTP goes through the egress
// guard.
func NewPlatform(st *store.Store, wh *warehouse.Warehouse, sealer *secret.Sealer, http *egress.Client) *Platform {
	return &Platform{store: st, wh: wh, sealer: sealer, http: http}
}

// For returns the Host for runs of account accountID: everything it does
// is the account's — its warehouse, its secrets.
func (p *Platform) For(accountID string) Host { return &tenantHost{p: p, account: accountID} }

type tenantHost struct {
	p       *Platform
	account string
}

// Limits of host calls.
const (
	defaultFetchLimit = 1000
	maxFetchLimit     = 10000
	maxRecordBytes    = 1 << 20
	maxResponseBytes  = 5 << 20
)

var tableName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,62}$`)

// Call dispatches one host call; see the Fn* names for the shapes.
func (h *tenantHost) Call(ctx context.Context, fn string, args json.RawMessage) (json.RawMessage, error) {
	var out any
	var err error
	switch fn {
	case FnFetch:
		out, err = h.fetch(ctx, args)
	case FnInsert, FnUpsert:
		out, err = h.write(ctx, fn, args)
	case FnGetSecret:
		out, err = h.secret(ctx, args)
	case FnHTTP:
		out, err = h.request(ctx, args)
	default:
		return nil, tenantry.Errorf(tenantry.EINVALID, "unknown host call %q", fn)
	}
	if err != nil {
		return nil, err
	}
	return json.Marshal(out)
}

// tableArgs are the arguments every warehouse call has.
type tableArgs struct {
	DB     string `json:"db"`
	Schema string `json:"schema"`
	Table  string `json:"table"`
}

// check refuses tables that are not a plain name in the account's one
// schema.
func (a tableArgs) check() error {
	if a.Schema != "" {
		return tenantry.Errorf(tenantry.EINVALID, "schema must be None: your warehouse has one schema, and tables are named without it")
	}
	if !tableName.MatchString(a.Table) {
		return tenantry.Errorf(tenantry.EINVALID, "table %q is not a table name (letters, digits and _, at most 63)", a.Table)
	}
	return nil
}

// fetch reads rows from a table of the account's warehouse, in the
// warehouse sandbox: the where clause is tenant SQL, run as the tenant's
// own login role in a read-only transaction.
func (h *tenantHost) fetch(ctx context.Context, raw json.RawMessage) (any, error) {
	var in struct {
		tableArgs
		Where string `json:"where"`
		Limit int    `json:"limit"`
	}
	if err := json.Unmarshal(raw, &in); err != nil {
		return nil, tenantry.Errorf(tenantry.EINVALID, "bad arguments")
	}
	if err := in.check(); err != nil {
		return nil, err
	}
	switch {
	case in.Limit == 0:
		in.Limit = defaultFetchLimit
	case in.Limit < 0 || in.Limit > maxFetchLimit:
		return nil, tenantry.Errorf(tenantry.EINVALID, "limit must be from 1 to %d", maxFetchLimit)
	}
	schema, err := h.p.store.AccountSchema(ctx, h.account)
	if err != nil {
		return nil, err
	}
	q := `SELECT * FROM ` + pgx.Identifier{schema, in.Table}.Sanitize()
	if strings.TrimSpace(in.Where) != "" {
		q += ` WHERE ` + in.Where
	}
	rows, err := h.p.wh.Query(ctx, h.account, q, in.Limit)
	if err != nil {
		return nil, err
	}
	out := make([]map[string]any, len(rows.Rows))
	for i, row := range rows.Rows {
		rec := make(map[string]any, len(row))
		for j, v := range row {
			rec[rows.Columns[j]] = v
		}
		out[i] = rec
	}
	return map[string]any{"rows": out}, nil
}

// write inserts or upserts one record into a table of the account's
// warehouse, made like a synced table (key, data jsonb…) when new.
// Tenant text only ever travels as a parameter or a quoted identifier.
func (h *tenantHost) write(ctx context.Context, fn string, raw json.RawMessage) (any, error) {
	var in struct {
		tableArgs
		Key    string          `json:"key"`
		Record json.RawMessage `json:"record"`
	}
	if err := json.Unmarshal(raw, &in); err != nil {
		return nil, tenantry.Errorf(tenantry.EINVALID, "bad arguments")
	}
	if err := in.check(); err != nil {
		return nil, err
	}
	switch {
	case fn == FnInsert:
		in.Key = uuid.Must(uuid.NewV7()).String()
	case in.Key == "" || len(in.Key) > 255:
		return nil, tenantry.Errorf(tenantry.EINVALID, "key must be 1 to 255 characters")
	}
	if len(in.Record) > maxRecordBytes || len(in.Record) == 0 || in.Record[0] != '{' {
		return nil, tenantry.Errorf(tenantry.EINVALID, "record must be a dict of at most %d KiB as JSON", maxRecordBytes>>10)
	}
	schema, err := h.p.store.AccountSchema(ctx, h.account)
	if err != nil {
		return nil, err
	}
	recs := []store.SyncedRecord{{Key: in.Key, Data: in.Record}}
	if _, _, err := h.p.store.WriteRecords(ctx, schema, in.Table, "script", recs); err != nil {
		return nil, fmt.Errorf("%s %s: %w", fn, in.Table, err)
	}
	return map[string]string{"key": in.Key}, nil
}

// secret opens the value of the account's Secret Store connection named
// name.
func (h *tenantHost) secret(ctx context.Context, raw json.RawMessage) (any, error) {
	var in struct {
		Name string `json:"name"`
	}
	if err := json.Unmarshal(raw, &in); err != nil {
		return nil, tenantry.Errorf(tenantry.EINVALID, "bad arguments")
	}
	id, sealed, err := h.p.store.ScriptSecret(ctx, h.account, in.Name)
	if err != nil {
		return nil, err
	}
	plain, err := h.p.sealer.Open(sealed, []byte("connection:"+id))
	if err != nil {
		return nil, fmt.Errorf("open secret %s: %w", id, err)
	}
	var values map[string]string
	if err := json.Unmarshal(plain, &values); err != nil {
		return nil, fmt.Errorf("decode secret %s: %w", id, err)
	}
	return map[string]string{"value": values["secret"]}, nil
}

// request sends one HTTP request through the egress guard.
func (h *tenantHost) request(ctx context.Context, raw json.RawMessage) (any, error) {
	var in struct {
		Method  string            `json:"method"`
		URL     string            `json:"url"`
		Headers map[string]string `json:"headers"`
		Body    string            `json:"body"`
	}
	if err := json.Unmarshal(raw, &in); err != nil {
		return nil, tenantry.Errorf(tenantry.EINVALID, "bad arguments")
	}
	req, err := http.NewRequestWithContext(ctx, in.Method, in.URL, strings.NewReader(in.Body))
	if err != nil {
		return nil, tenantry.Errorf(tenantry.EINVALID, "bad request: %v", err)
	}
	for k, v := range in.Headers {
		req.Header.Set(k, v)
	}
	resp, err := h.p.http.Do(ctx, req)
	if err != nil {
		return nil, requestError(req, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	if err != nil {
		return nil, tenantry.Errorf(tenantry.EINVALID, "reading the response from %s failed", req.URL.Host)
	}
	if len(body) > maxResponseBytes {
		return nil, tenantry.Errorf(tenantry.EINVALID, "the response from %s is larger than %d MiB", req.URL.Host, maxResponseBytes>>20)
	}
	headers := map[string]string{}
	for k := range resp.Header {
		headers[k] = resp.Header.Get(k)
	}
	return map[string]any{"status": resp.StatusCode, "headers": headers, "body": string(body)}, nil
}

// requestError explains a request that got no response, without its URL
// (whose query may hold a secret).
func requestError(req *http.Request, err error) error {
	if code := tenantry.ErrorCode(err); code != tenantry.EINTERNAL {
		return err // the guard's refusal: EFORBIDDEN, naming the host
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return tenantry.Errorf(tenantry.EINVALID, "%s %s failed: %v", req.Method, req.URL.Host, err)
}
