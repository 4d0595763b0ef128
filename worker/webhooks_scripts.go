package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/tenantry/tenantry"
	"github.com/tenantry/tenantry/events"
	"github.com/tenantry/tenantry/script"
	"github.com/tenantry/tenantry/store"
	"github.com/tenantry/tenantry/webhook"
)

// Request headers a webhook handler script gets besides the producer's:
// the event's id and its delivery id, which stay the same when the
// handler runs again for the event.
const (
	HeaderWebhookEvent = "X-Tenantry-Webhook-Event"
	HeaderWebhookID    = "X-Tenantry-Webhook-Id"
)

// WebhookScripts runs accounts' webhook handler scripts: for each event,
// the handler(request) of the interface the account configured, in the
// script pool, with request built from the stored webhook as a published
// endpoint's is from its call. Every run is recorded as a script run with
// trigger "webhook", linked to the event.
//
// A script that fails — raises, exceeds a limit, no longer compiles or
// defines handler — is the script's doing: the error is permanent, so the
// event fails at once with the run's id rather than being retried (as
// scheduled runs are not retried either). A body that cannot be a
// request (malformed JSON, not UTF-8) fails the event without a run.
// What kept a script from running — no runner, the worker stopping — is
// an ordinary error, retried with the consumer's backoff. Safe for
// concurrent use.
type WebhookScripts struct {
	store      *store.Store
	scripts    Scripts
	publicURL  string
	outageWait time.Duration
	log        *zap.Logger
}

var _ tenantry.WebhookHandler = (*WebhookScripts)(nil)

// NewWebhookScripts returns the script handler. publicURL starts the
// request["url"] scripts see ("" leaves the path alone); s.Pool is
// started and stopped by the caller. A Postgres outage is waited out for
// up to cfg.OutageWait, as the webhook processor does.
func NewWebhookScripts(cfg WebhookConfig, st *store.Store, s Scripts, publicURL string, log *zap.Logger) *WebhookScripts {
	setDefault(&cfg.OutageWait, defaultOutageWait)
	return &WebhookScripts{store: st, scripts: s, publicURL: strings.TrimSuffix(publicURL, "/"),
		outageWait: cfg.OutageWait, log: log}
}

// HandlerAccounts returns which of accountIDs have a handler to run.
func (h *WebhookScripts) HandlerAccounts(ctx context.Context, accountIDs []string) (map[string]bool, error) {
	return h.store.WebhookHandlerAccounts(ctx, accountIDs)
}

// HandleWebhook runs the account's handler on ev and records the run
// with ev's outcome, in one transaction; nil at once when the account
// has no handler, or a run of ev succeeded already. Webhooks does not
// call it: it records the run itself, to publish a webhook.failed event
// at once, where HandleWebhook leaves that to the outbox relay.
func (h *WebhookScripts) HandleWebhook(ctx context.Context, ev *tenantry.WebhookEvent) error {
	run, err := h.runWebhook(ctx, ev)
	if run == nil {
		return err
	}
	status, reason := tenantry.WebhookProcessed, ""
	if err != nil {
		status, reason = tenantry.WebhookFailed, failureReason(err, ev.ID)
	}
	if ferr := h.await(ctx, func() error { _, err := h.store.FinishWebhook(ctx, ev, run, status, reason); return err }); ferr != nil {
		return ferr
	}
	return err
}

// runWebhook runs the account's handler on ev and returns the run to
// record, with a permanent error if the script failed. It runs nothing
// (nil, nil) when the account has no handler, or when ev's latest run
// succeeded: a worker that recorded the run apart from the event's
// outcome (as earlier versions did) may have stopped in between, and the
// redelivery must not run the script again.
func (h *WebhookScripts) runWebhook(ctx context.Context, ev *tenantry.WebhookEvent) (*store.WebhookRun, error) {
	var ifc, code string
	var done bool
	err := h.await(ctx, func() (err error) {
		if done, err = h.store.WebhookRunSucceeded(ctx, ev.RunID); err != nil || done {
			return err
		}
		ifc, code, err = h.store.WebhookHandlerScript(ctx, ev.AccountID)
		return err
	})
	if done || tenantry.ErrorCode(err) == tenantry.ENOTFOUND {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	input, err := h.request(ev)
	if err != nil {
		return nil, events.Permanent(tenantry.Errorf(tenantry.EINVALID, "the handler was not run: %s", tenantry.ErrorMessage(err)))
	}
	run := &store.WebhookRun{ID: store.NewID("run"), EventID: ev.ID, InterfaceID: ifc, PartnerID: ev.PartnerID,
		AccountID: ev.AccountID, StartedAt: time.Now()}
	if run.Outcome, err = h.run(ctx, code, input, ev.AccountID); err != nil {
		return nil, fmt.Errorf("run webhook handler: %w", err)
	}
	run.FinishedAt = time.Now()
	if why := run.Outcome.Error; why != nil {
		return run, events.Permanent(&scriptFailure{runID: run.ID, why: why})
	}
	return run, nil
}

// request is handler's argument for ev: a POST to the URL the webhook
// reached. An account URL's path is shown without its secret token.
func (h *WebhookScripts) request(ev *tenantry.WebhookEvent) (json.RawMessage, error) {
	path := strings.TrimSuffix(webhook.AccountPath, "/")
	if ev.ConnectionID != "" {
		path = webhook.ConnectionPath + ev.ConnectionID
	}
	u := h.publicURL + path
	if ev.Query != "" {
		u += "?" + ev.Query
	}
	header := ev.Header.Clone()
	if header == nil {
		header = http.Header{}
	}
	header.Set(HeaderWebhookEvent, ev.ID)
	header.Set(HeaderWebhookID, ev.WebhookID)
	in, err := script.NewHTTPRequest(http.MethodPost, u, path, ev.Query, header, ev.Body)
	if err != nil {
		return nil, err
	}
	return json.Marshal(in)
}

// run compiles (through the pool's cache) and runs code's handler with
// input. An error means the script did not run to an end of its own.
func (h *WebhookScripts) run(ctx context.Context, code string, input json.RawMessage, account string) (store.RunOutcome, error) {
	prog, err := h.scripts.Pool.Compile(code)
	var ce *script.CompileError
	if errors.As(err, &ce) { // stored before a change of dialect, say
		return store.RunOutcome{Error: &tenantry.RunError{Kind: script.FailError, Message: ce.Msg, Line: ce.Line, Column: ce.Column}}, nil
	}
	if err != nil {
		return store.RunOutcome{}, err
	}
	res, err := h.scripts.Pool.Run(ctx, script.Request{Program: prog, Entry: script.EntryHandler, Input: input,
		Host: h.scripts.Platform.For(account)})
	if err == nil && ctx.Err() != nil {
		err = ctx.Err() // stopped by the worker, not by its limits
	}
	if err != nil {
		return store.RunOutcome{}, err
	}
	o := store.RunOutcome{Log: res.Log, Result: res.Value, Steps: int64(res.Steps), DurationMS: res.Duration.Milliseconds()}
	if f := res.Failure; f != nil {
		o.Result, o.Error = nil, &tenantry.RunError{Kind: f.Kind, Message: f.Message, Line: f.Line, Column: f.Column}
	}
	return o, nil
}

// await runs fn again while Postgres is unreachable (see awaitPostgres).
func (h *WebhookScripts) await(ctx context.Context, fn func() error) error {
	return awaitPostgres(ctx, h.log, h.outageWait, fn)
}

// scriptFailure is a handler script that failed, recorded as run runID.
// Its Error names the run and the kind of failure only, so it can be
// logged; reason adds the script's message, which may quote the webhook,
// for the event's error, which the account sees.
type scriptFailure struct {
	runID string
	why   *tenantry.RunError
}

func (f *scriptFailure) Error() string {
	return fmt.Sprintf("handler run %s failed (%s)", f.runID, f.why.Kind)
}

func (f *scriptFailure) reason() string {
	msg := f.why.Message
	if f.why.Line > 0 {
		msg = fmt.Sprintf("line %d: %s", f.why.Line, msg)
	}
	return f.Error() + ": " + msg
}
