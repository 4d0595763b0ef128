package handlers_test

import (
	"context"
	"net/http"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/tenantry/tenantry/node"
	"github.com/tenantry/tenantry/tenantrytest"
	"github.com/tenantry/tenantry/tenantrytest/fakeprovider"
)

// TestBrowser drives the demo page (/demo, which uses /embed.js) in a real
// headless Chromium, as an end-customer would: pick an app, connect it
// (consenting in the OAuth popup the page opens), see the outcome.
func TestBrowser(t *testing.T) {
	t.Parallel()
	browser := startBrowser(t)
	sys, provider, partner, _ := connSetup(t, fakeprovider.Options{RequirePKCE: true},
		func(c *node.Config) { c.HTTP.Demo = true })

	t.Run("OAuthApprove", func(t *testing.T) {
		d := openDemo(t, browser, sys, account(t, sys, partner, "browser-approve"))
		d.choose("fake_oauth")
		popup, id := d.connectInPopup(provider.URL + "/oauth/authorize")
		require.NoError(t, chromedp.Do(popup, chromedp.Click(chromedp.ID("approve"))))
		d.requireClosed(id)

		state, text := d.outcome()
		require.Equal(t, "active", state, text)
		require.Equal(t, "active", text)
		conn := d.onlyConnection()
		require.Equal(t, "fake_oauth", conn["servertype_id"])
		require.Equal(t, "active", waitServer(t, sys, d.token, conn["id"].(string))["status"], "the API agrees")
		d.requireRow(conn["id"].(string), "active")
		require.Positive(t, provider.Requests("/oauth/token"), "the code was exchanged at the provider")
	})

	t.Run("OAuthDeny", func(t *testing.T) {
		d := openDemo(t, browser, sys, account(t, sys, partner, "browser-deny"))
		d.choose("fake_oauth")
		popup, id := d.connectInPopup(provider.URL + "/oauth/authorize")
		require.NoError(t, chromedp.Do(popup, chromedp.Click(chromedp.ID("deny"))))
		d.requireClosed(id)

		state, text := d.outcome()
		require.Equal(t, "error", state, text)
		require.Contains(t, text, "access_denied")
		conn := waitServer(t, sys, d.token, d.onlyConnection()["id"].(string))
		require.Equal(t, "error", conn["status"])
		require.Contains(t, conn["status_reason"], "access_denied")
	})

	t.Run("APIKeyForm", func(t *testing.T) {
		d := openDemo(t, browser, sys, account(t, sys, partner, "browser-key"))
		d.choose("fake_key")
		typ, err := chromedp.Run(d.ctx, chromedp.Evaluate[string](`document.querySelector("#connect-form [name=api_key]").type`))
		require.NoError(t, err)
		require.Equal(t, "password", typ, "a secret is typed into a password input")

		// Nothing typed: the API's per-field error shows next to the field.
		require.NoError(t, chromedp.Do(d.ctx, chromedp.Click(chromedp.ID("connect"))))
		fieldError, err := chromedp.Run(d.ctx, chromedp.Poll[string](
			`document.querySelector("#connect-form .tenantry-field .tenantry-error").textContent`, pollFast))
		require.NoError(t, err)
		require.Equal(t, "is required", fieldError)
		require.Empty(t, d.connections(), "a refused form creates nothing")

		require.NoError(t, chromedp.Do(d.ctx,
			chromedp.SendKeys(chromedp.CSS("#connect-form [name=api_key]"), "key-123"),
			chromedp.Click(chromedp.ID("connect"))))
		state, text := d.outcome()
		require.Equal(t, "active", state, text)
		require.Equal(t, "active", waitServer(t, sys, d.token, d.onlyConnection()["id"].(string))["status"])
	})

	t.Run("PopupBlockedOutsideAClick", func(t *testing.T) {
		d := openDemo(t, browser, sys, account(t, sys, partner, "browser-blocked"))
		// No user gesture: the browser refuses the popup, and embed.js says
		// why before it creates anything.
		d.startConnect("fake_oauth", false)
		msg := d.connectOutcome()
		require.True(t, strings.HasPrefix(msg, "popup_blocked: "), msg)
		require.Contains(t, msg, "click")
		require.Empty(t, d.connections())
	})

	t.Run("PopupClosedByUser", func(t *testing.T) {
		d := openDemo(t, browser, sys, account(t, sys, partner, "browser-closed"))
		opened := chromedp.WaitNewTarget(d.ctx, func(info *target.Info) bool {
			return strings.HasPrefix(info.URL, provider.URL+"/oauth/authorize")
		})
		d.startConnect("fake_oauth", true)
		id, ok := <-opened
		require.True(t, ok, "no consent popup")
		popup, closePopup := chromedp.NewContext(d.ctx, chromedp.WithTargetID(id))
		require.NoError(t, chromedp.Do(popup, chromedp.WaitVisible(chromedp.ID("approve"))))
		closePopup() // the user closes the window instead of answering

		msg := d.connectOutcome()
		require.True(t, strings.HasPrefix(msg, "popup_closed: "), msg)
		require.Equal(t, "oauth_pending", d.onlyConnection()["status"], "nothing was authorized")
	})

	t.Run("CallbackClosesItsPopup", func(t *testing.T) {
		// Whatever the outcome (here an unknown state), the page the
		// provider sends the popup back to closes it, with no help from
		// embed.js.
		d := openDemo(t, browser, sys, account(t, sys, partner, "browser-callback"))
		opened := chromedp.WaitNewTarget(d.ctx, func(info *target.Info) bool {
			return strings.HasPrefix(info.URL, sys.URL+"/oauth/callback")
		})
		_, err := chromedp.Run(d.ctx, chromedp.Evaluate[chromedp.Void](
			`window.open("/oauth/callback?state=unknown", "callback", "popup,width=600,height=700"), undefined`, asUser))
		require.NoError(t, err)
		id, ok := <-opened
		require.True(t, ok, "no popup")
		d.requireClosed(id)
	})
}

// asUser makes a script run as if the user had clicked: it may open a popup.
func asUser(p *runtime.EvaluateParams) { p.UserGesture = &[]bool{true}[0] }

// pollFast checks a page predicate every 50 ms rather than every frame.
var pollFast = chromedp.WithPollingInterval(50 * time.Millisecond)

// startBrowser starts one headless Chromium for the test. A missing
// Chromium fails the test: the suite must not pass without its browser.
func startBrowser(t *testing.T) context.Context {
	t.Helper()
	exe, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatalf("the browser tests need Chromium (%v): install it with `apt-get install -y chromium` (.ci/run does)", err)
	}
	profile := t.TempDir() // removed after the browser has stopped (cleanups run last-in first-out)
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(exe), chromedp.UserDataDir(profile),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true))
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(cancelAlloc)
	t.Cleanup(cancel)
	require.NoError(t, chromedp.Do(ctx), "start Chromium")
	return ctx
}

// demo is the demo page open in a tab of its own, as one end-customer.
type demo struct {
	t     *testing.T
	sys   *tenantrytest.System
	token string
	ctx   context.Context // the tab; times out
}

// openDemo opens /demo#token=… in a new tab and waits for the catalog.
// What the page logs (console, exceptions, CSP reports) is shown if the
// test fails.
func openDemo(t *testing.T, browser context.Context, sys *tenantrytest.System, token string) *demo {
	t.Helper()
	tab, cancelTab := chromedp.NewContext(browser)
	t.Cleanup(cancelTab)
	require.NoError(t, chromedp.Do(tab), "open a tab")
	ctx, cancel := context.WithTimeout(tab, 20*time.Second)
	logConsole(t, ctx)
	t.Cleanup(cancel) // runs before logConsole's cleanup, which waits for it
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(sys.URL+"/demo#token="+token),
		chromedp.WaitEnabled(chromedp.ID("connectors"))))
	return &demo{t: t, sys: sys, token: token, ctx: ctx}
}

func logConsole(t *testing.T, ctx context.Context) {
	var mu sync.Mutex
	var lines []string
	done := make(chan struct{})
	messages := chromedp.Console(ctx)
	go func() {
		defer close(done)
		for m, err := range messages {
			if err != nil {
				return
			}
			mu.Lock()
			lines = append(lines, m.String())
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		<-done
		if t.Failed() {
			t.Logf("browser console:\n%s", strings.Join(lines, "\n"))
		}
	})
}

// choose picks connector id in the page's select, as a user would.
func (d *demo) choose(id string) {
	d.t.Helper()
	require.NoError(d.t, chromedp.Do(d.ctx,
		chromedp.SetValue(chromedp.ID("connectors"), id),
		chromedp.Evaluate[chromedp.Void](`document.getElementById("connectors").dispatchEvent(new Event("change"))`),
		chromedp.WaitVisible(chromedp.ID("connect"))))
}

// connectInPopup clicks Connect and returns the popup the page opened,
// once it shows the page at prefix.
func (d *demo) connectInPopup(prefix string) (context.Context, target.ID) {
	d.t.Helper()
	opened := chromedp.WaitNewTarget(d.ctx, func(info *target.Info) bool { return strings.HasPrefix(info.URL, prefix) })
	require.NoError(d.t, chromedp.Do(d.ctx, chromedp.Click(chromedp.ID("connect"))))
	id, ok := <-opened
	require.True(d.t, ok, "no popup showed %s", prefix)
	// Detach rather than close when done: the test never closes it.
	popup, cancel := chromedp.NewContext(d.ctx, chromedp.WithTargetID(id), chromedp.WithDetachOnCancel())
	d.t.Cleanup(cancel)
	return popup, id
}

// requireClosed waits for popup id to be closed.
func (d *demo) requireClosed(id target.ID) {
	d.t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		targets, err := chromedp.Targets(d.ctx)
		require.NoError(d.t, err)
		if !slices.ContainsFunc(targets, func(info *target.Info) bool { return info.TargetID == id }) {
			return
		}
	}
	d.t.Fatal("the popup is still open: the OAuth callback page should have closed it")
}

// outcome waits for the page's #status to leave "connecting" and returns
// its state and text.
func (d *demo) outcome() (state, text string) {
	d.t.Helper()
	got, err := chromedp.Run(d.ctx, chromedp.Poll[[]string](`(s => s.dataset.state && s.dataset.state !== "connecting"
		&& [s.dataset.state, s.textContent])(document.getElementById("status"))`, pollFast))
	require.NoError(d.t, err, "the page shows an outcome")
	return got[0], got[1]
}

// requireRow waits for the page's list of connections to show id with text.
func (d *demo) requireRow(id, text string) {
	d.t.Helper()
	_, err := chromedp.Run(d.ctx, chromedp.Poll[bool](`document.querySelector('#connections tr[data-id="`+id+`"]')
		?.textContent.includes("`+text+`") || false`, pollFast, chromedp.WithPollingTimeout(5*time.Second)))
	require.NoError(d.t, err, "the page lists %s as %s", id, text)
}

// startConnect calls embed.js's connect(id) straight from a script, as a
// user's click (gesture) or not, with a short wait after the popup closes;
// connectOutcome returns how it ended: "resolved: <status>" or
// "<error code>: <message>".
func (d *demo) startConnect(id string, gesture bool) {
	d.t.Helper()
	opts := []chromedp.EvaluateOption{}
	if gesture {
		opts = append(opts, asUser)
	}
	_, err := chromedp.Run(d.ctx, chromedp.Evaluate[chromedp.Void](`window.outcome = import("/embed.js").then(async ({ Tenantry }) => {
		const t = new Tenantry({ baseUrl: location.origin, token: "`+d.token+`", closeGraceMs: 300 });
		await t.listConnectors();
		return t.connect("`+id+`").then((c) => "resolved: " + c.status, (err) => err.code + ": " + err.message);
	}), undefined`, opts...))
	require.NoError(d.t, err)
}

func (d *demo) connectOutcome() string {
	d.t.Helper()
	msg, err := chromedp.Run(d.ctx, chromedp.Evaluate[string](`window.outcome`, chromedp.EvalAwaitPromise))
	require.NoError(d.t, err)
	return msg
}

// connections is the account's connections, from the API.
func (d *demo) connections() []any {
	d.t.Helper()
	r := d.sys.For(d.t).Do("GET", "/api/servers", d.token, nil)
	require.Equal(d.t, http.StatusOK, r.Status, string(r.Body))
	return r.JSON["items"].([]any)
}

func (d *demo) onlyConnection() map[string]any {
	d.t.Helper()
	items := d.connections()
	require.Len(d.t, items, 1)
	return items[0].(map[string]any)
}
