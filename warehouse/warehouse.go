// Package warehouse runs tenant-authored SQL over a tenant's own schema,
// in a sandbox Postgres enforces. The connection logs in as the tenant's
// SQL login role (<schema>_sql), a member of the tenant's NOLOGIN role
// and of nothing else: whatever the SQL does to its role
// (set_config('role', …)), it can only be itself or its tenant. On top:
// SET LOCAL ROLE to the tenant role, a read-only transaction, the
// schema as search_path, a statement timeout, and the query wrapped as
// one subquery, so a second statement cannot even parse. (SET LOCAL
// ROLE on tenantry's own connection would not be a boundary: Postgres
// lets a query switch to any role its *login* user may become.)
package warehouse

import (
	"context"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/tenantry/tenantry"
	"github.com/tenantry/tenantry/secret"
	"github.com/tenantry/tenantry/store"
)

// Warehouse runs tenant SQL. Safe for concurrent use.
type Warehouse struct {
	store   *store.Store
	sealer  *secret.Sealer
	timeout time.Duration
	conns   connCache
}

// New returns a warehouse whose queries stop after timeout (default 5s).
func New(st *store.Store, sealer *secret.Sealer, timeout time.Duration) *Warehouse {
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	return &Warehouse{store: st, sealer: sealer, timeout: timeout}
}

// newLogin makes the credential of account accountID's SQL login role: a
// random password, sealed for tenantry (bound to the account), and the
// SCRAM-SHA-256 verifier Postgres keeps, so the password itself never
// appears in DDL or in Postgres's statement log.
func (w *Warehouse) newLogin(accountID string) (store.TenantLogin, error) {
	raw := make([]byte, 32)
	_, _ = rand.Read(raw)
	password := base64.RawURLEncoding.EncodeToString(raw)
	sealed, err := w.sealer.Seal([]byte(password), []byte("tenant_sql:"+accountID))
	if err != nil {
		return store.TenantLogin{}, err
	}
	verifier, err := scramVerifier(password)
	return store.TenantLogin{Verifier: verifier, Sealed: sealed}, err
}

// scramVerifier is Postgres's SCRAM-SHA-256 password verifier
// (RFC 5802/7677): SCRAM-SHA-256$iterations:salt$StoredKey:ServerKey.
func scramVerifier(password string) (string, error) {
	const iterations = 4096
	salt := make([]byte, 16)
	_, _ = rand.Read(salt)
	salted, err := pbkdf2.Key(sha256.New, password, salt, iterations, 32)
	if err != nil {
		return "", err
	}
	mac := func(key []byte, msg string) []byte {
		h := hmac.New(sha256.New, key)
		h.Write([]byte(msg))
		return h.Sum(nil)
	}
	clientKey := mac(salted, "Client Key")
	stored := sha256.Sum256(clientKey)
	b64 := base64.StdEncoding.EncodeToString
	return fmt.Sprintf("SCRAM-SHA-256$%d:%s$%s:%s", iterations, b64(salt), b64(stored[:]), b64(mac(salted, "Server Key"))), nil
}

// Query runs query for account accountID and returns at most limit rows
// (Truncated says whether there were more). Failures of the query itself
// — syntax, permissions, the timeout, an attempted write — are EINVALID
// in Postgres's words, naming the field "query"; EFORBIDDEN if the
// account has no warehouse.
func (w *Warehouse) Query(ctx context.Context, accountID, query string, limit int) (*tenantry.Rows, error) {
	out, err := w.run(ctx, accountID, query, limit+1)
	if err == nil && len(out.Rows) > limit {
		out.Rows, out.Truncated = out.Rows[:limit], true
	}
	return out, err
}

// Check plans query in the sandbox without running it (LIMIT 0):
// syntax and permission errors come back as Query's would.
func (w *Warehouse) Check(ctx context.Context, accountID, query string) error {
	_, err := w.run(ctx, accountID, query, 0)
	return err
}

// wrapPrefix wraps the tenant's query; error positions are moved back by
// its length.
const wrapPrefix = "SELECT * FROM ("

func (w *Warehouse) run(ctx context.Context, accountID, query string, sqlLimit int) (*tenantry.Rows, error) {
	// Waiting for the account's turn has its own bound, so a query that
	// waited still gets its whole time.
	wait, cancel := context.WithTimeout(ctx, w.timeout)
	err := w.conns.acquire(wait, accountID)
	cancel()
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, tenantry.Errorf(tenantry.ERATELIMIT, "too many queries of this account are running; try again shortly")
	}
	defer w.conns.release(accountID)
	// The server's statement timeout is the limit; this deadline is the
	// backstop for work Postgres does not interrupt (XML parsing).
	ctx, cancel = context.WithTimeout(ctx, w.timeout+2*time.Second)
	defer cancel()
	conn, schema, cached, err := w.connect(ctx, accountID)
	if err != nil {
		return nil, err
	}
	out, err := w.read(ctx, conn, schema, query, sqlLimit)
	if err != nil && cached && (pgconn.SafeToRetry(err) || conn.IsClosed()) {
		// The idle connection had died (a restart, a terminated backend):
		// once more on a new one. Tenant SQL never commits, so running it
		// again is harmless.
		_ = conn.Close(ctx)
		if conn, schema, err = w.login(ctx, accountID); err != nil {
			return nil, err
		}
		out, err = w.read(ctx, conn, schema, query, sqlLimit)
	}
	w.conns.put(accountID, schema, conn)
	if err != nil {
		return nil, queryError(err)
	}
	return out, nil
}

// maxResultBytes bounds what one query may return.
const maxResultBytes = 16 << 20

// read runs the wrapped query in a read-only transaction that is always
// rolled back: nothing tenant SQL does is ever committed.
func (w *Warehouse) read(ctx context.Context, conn *pgx.Conn, schema, query string, sqlLimit int) (*tenantry.Rows, error) {
	tx, err := conn.BeginTx(ctx, pgx.TxOptions{AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, err
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	ident := pgx.Identifier{schema}.Sanitize()
	b := &pgx.Batch{}
	b.Queue(`SET LOCAL ROLE ` + ident)
	b.Queue(`SELECT set_config('search_path', $1, true)`, ident)
	b.Queue(`SELECT set_config('statement_timeout', $1, true)`, fmt.Sprintf("%dms", w.timeout.Milliseconds()))
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return nil, fmt.Errorf("enter tenant sandbox: %w", err)
	}
	// The limit is a literal, not $1: the tenant's text has no parameters
	// to refer to.
	rows, err := tx.Query(ctx, wrapPrefix+query+"\n) AS tenant_query LIMIT "+strconv.Itoa(sqlLimit))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	return collect(rows)
}

// collect reads every row, refusing results over maxResultBytes.
func collect(rows pgx.Rows) (*tenantry.Rows, error) {
	out := &tenantry.Rows{Columns: []string{}, Rows: [][]any{}}
	for _, f := range rows.FieldDescriptions() {
		out.Columns = append(out.Columns, f.Name)
	}
	size := 0
	for rows.Next() {
		for _, raw := range rows.RawValues() {
			size += len(raw)
		}
		if size > maxResultBytes {
			return nil, tenantry.Errorf(tenantry.EINVALID, "the result is larger than %d MiB; select fewer rows or columns", maxResultBytes>>20)
		}
		vals, err := rows.Values()
		if err != nil {
			return nil, err
		}
		out.Rows = append(out.Rows, vals)
	}
	return out, rows.Err()
}

// Close closes the idle tenant connections; queries still running close
// theirs when they end. The Warehouse stays usable (without reuse).
func (w *Warehouse) Close() { w.conns.close() }

// connect returns a connection logged in as the account's SQL login
// role: an idle one (cached) if there is one, else a new one.
func (w *Warehouse) connect(ctx context.Context, accountID string) (conn *pgx.Conn, schema string, cached bool, err error) {
	if conn, schema := w.conns.get(accountID); conn != nil {
		// The account may have gone since the connection logged in.
		live, err := w.store.AccountSchema(ctx, accountID)
		if err == nil && live == schema {
			return conn, schema, true, nil
		}
		_ = conn.Close(ctx)
		if err == nil {
			err = tenantry.Errorf(tenantry.ENOTFOUND, "account %s not found", accountID)
		}
		return nil, "", false, err
	}
	conn, schema, err = w.login(ctx, accountID)
	return conn, schema, false, err
}

// login logs in as the account's SQL login role, made on first use.
// Tenant queries are never prepared and cached on the connection: each
// is described and run on its own (a table a sync changed must not meet
// a stale cached plan).
func (w *Warehouse) login(ctx context.Context, accountID string) (*pgx.Conn, string, error) {
	schema, sealed, err := w.store.EnsureTenantLogin(ctx, accountID, func() (store.TenantLogin, error) { return w.newLogin(accountID) })
	if err != nil {
		return nil, "", err
	}
	password, err := w.sealer.Open(sealed, []byte("tenant_sql:"+accountID))
	if err != nil {
		return nil, "", fmt.Errorf("open sql login: %w", err)
	}
	cfg := w.store.Pool().Config().ConnConfig.Copy()
	cfg.User, cfg.Password = store.LoginRole(schema), string(password)
	cfg.DefaultQueryExecMode = pgx.QueryExecModeDescribeExec
	conn, err := pgx.ConnectConfig(ctx, cfg)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "53300" { // the login's CONNECTION LIMIT
		return nil, "", tenantry.Errorf(tenantry.ERATELIMIT, "too many queries of this account are running; try again shortly")
	}
	if err != nil {
		return nil, "", fmt.Errorf("connect as %s: %w", cfg.User, err)
	}
	return conn, schema, nil
}

// queryError explains a failed tenant query in Postgres's words; the
// server's own troubles stay internal.
func queryError(err error) error {
	var pgErr *pgconn.PgError
	switch {
	case tenantry.ErrorCode(err) != tenantry.EINTERNAL:
		return err
	case errors.Is(err, context.DeadlineExceeded):
		return tenantry.Errorf(tenantry.EINVALID, "the query ran longer than allowed and was cancelled")
	case !errors.As(err, &pgErr) && strings.Contains(err.Error(), "arguments, got"):
		return tenantry.Invalid(tenantry.FieldError{Field: "query", Message: "parameters such as $1 are not supported"})
	case !errors.As(err, &pgErr):
		return fmt.Errorf("tenant query: %w", err)
	}
	switch pgErr.Code {
	case "57014":
		return tenantry.Errorf(tenantry.EINVALID, "the query ran longer than allowed and was cancelled")
	case "25006":
		return tenantry.Errorf(tenantry.EINVALID, "tables are read-only here")
	}
	switch pgErr.Code[:2] {
	case "08", "53", "57", "58", "XX":
		return fmt.Errorf("tenant query: %w", err)
	}
	msg := pgErr.Message
	if pos := int(pgErr.Position) - len(wrapPrefix); pos > 0 {
		msg += fmt.Sprintf(" (at character %d)", pos)
	}
	return &tenantry.Error{Code: tenantry.EINVALID, Message: "the query failed: " + msg,
		Fields: []tenantry.FieldError{{Field: "query", Message: msg}}}
}
