package handlers_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/tenantry/tenantry/handlers"
	"github.com/tenantry/tenantry/secret"
	"github.com/tenantry/tenantry/webhook"
)

// notDescribed are the routes the OpenAPI document leaves out on
// purpose, each with why. Keep it short: a route that a client, a
// browser or an operator can reach belongs in the document.
var notDescribed = map[string]string{
	// Only `tenantry dev` serves the demo page (Config.Demo); it is a
	// walkthrough for developers trying tenantry, not part of a
	// deployment's surface.
	"GET /demo":    "dev only",
	"GET /demo.js": "dev only",
}

// TestOpenAPIRoutes checks that the document describes exactly the routes
// the router serves, with every part of the API turned on.
func TestOpenAPIRoutes(t *testing.T) {
	t.Parallel()
	router := fullRouter(t)
	doc := loadOpenAPI(t, serveOpenAPI(t, router))

	routes, anyMethod := walkRoutes(t, router)
	described := doc.operations()
	var undocumented, unrouted, stale []string
	for route := range routes {
		_, excluded := notDescribed[route]
		if !described[route] && !excluded && !anyMethod[pathOf(route)] {
			undocumented = append(undocumented, route)
		}
	}
	for op := range described {
		if !routes[op] {
			unrouted = append(unrouted, op)
		}
	}
	for path := range anyMethod {
		if !doc.hasPath(path) {
			undocumented = append(undocumented, "* "+path)
		}
	}
	for route := range notDescribed {
		if !routes[route] || described[route] {
			stale = append(stale, route)
		}
	}
	sort.Strings(undocumented)
	sort.Strings(unrouted)
	require.Empty(t, undocumented, "routes the OpenAPI document (web/openapi.yaml) does not describe")
	require.Empty(t, unrouted, "operations in the OpenAPI document that no route serves")
	require.Empty(t, stale, "notDescribed lists routes that are gone or described")
	require.Empty(t, doc.pathParamMismatches(), "path templates and their path parameters disagree")
	require.Empty(t, doc.operationIDProblems(), "every operation needs its own operationId")
}

// TestOpenAPIReference checks that the reference page (GET /docs) shows
// every operation and schema of the document, and runs no script.
func TestOpenAPIReference(t *testing.T) {
	t.Parallel()
	router := fullRouter(t)
	doc := loadOpenAPI(t, serveOpenAPI(t, router))
	rec := httptest.NewRecorder()
	router.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/docs", nil))
	require.Equal(t, http.StatusOK, rec.Code)
	require.Equal(t, "text/html; charset=utf-8", rec.Header().Get("Content-Type"))
	require.Contains(t, rec.Header().Get("Content-Security-Policy"), "default-src 'none'")
	page := rec.Body.String()
	require.NotContains(t, page, "<script")
	var missing []string
	for _, op := range doc.eachOperation() {
		if id, _ := op.op["operationId"].(string); !strings.Contains(page, `id="op-`+id+`"`) {
			missing = append(missing, op.method+" "+op.path)
		}
	}
	for name := range obj(obj(doc.doc["components"])["schemas"]) {
		if !strings.Contains(page, `id="schema-`+name+`"`) {
			missing = append(missing, "schema "+name)
		}
	}
	require.Empty(t, missing, "what the reference page leaves out")
}

// fullRouter is the API's router with every optional part on (webhooks,
// notifications, published endpoints, the admin API, the demo page),
// built without Postgres or NATS: nothing is called until a request
// comes.
func fullRouter(t *testing.T) http.Handler {
	t.Helper()
	api, err := handlers.New(handlers.Config{Demo: true}, nil, nil, nil, nil, nil, nil,
		prometheus.NewRegistry(), prometheus.NewRegistry(), zap.NewNop())
	require.NoError(t, err)
	api.UseWebhooks(&webhook.Receiver{})
	api.UseNotifications(&secret.Sealer{})
	api.UseEndpoints(handlers.EndpointConfig{}, nil)
	require.NoError(t, api.UseAdmin(handlers.Admin{Tokens: []string{strings.Repeat("a", handlers.MinAdminTokenLength)}}))
	return api.Router()
}

func serveOpenAPI(t *testing.T, router http.Handler) []byte {
	t.Helper()
	rec := httptest.NewRecorder()
	router.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/openapi.json", nil))
	require.Equal(t, http.StatusOK, rec.Code)
	require.Equal(t, "application/json", rec.Header().Get("Content-Type"))
	body, err := io.ReadAll(rec.Body)
	require.NoError(t, err)
	return body
}

// walkRoutes returns every "METHOD /path" the router serves, with chi
// patterns written as OpenAPI templates, and the paths served for any
// method (r.Handle), which the document describes by the methods their
// handler answers.
func walkRoutes(t *testing.T, router http.Handler) (routes map[string]bool, anyMethod map[string]bool) {
	t.Helper()
	all := chiMethods(t)
	byPath := map[string][]string{}
	err := chi.Walk(router.(chi.Routes), func(method, pattern string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		path := openAPIPath(t, pattern)
		byPath[path] = append(byPath[path], method)
		return nil
	})
	require.NoError(t, err)
	routes, anyMethod = map[string]bool{}, map[string]bool{}
	for path, methods := range byPath {
		slices.Sort(methods)
		if slices.Equal(methods, all) {
			anyMethod[path] = true
		}
		for _, m := range methods {
			routes[m+" "+path] = true
		}
	}
	return routes, anyMethod
}

// chiMethods are the methods chi registers for r.Handle.
func chiMethods(t *testing.T) []string {
	r := chi.NewRouter()
	r.Handle("/", http.NotFoundHandler())
	var methods []string
	require.NoError(t, chi.Walk(r, func(method, _ string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		methods = append(methods, method)
		return nil
	}))
	slices.Sort(methods)
	return methods
}

var chiParam = regexp.MustCompile(`\{([^}:]+)(:[^}]*)?\}`)

// openAPIPath writes a chi pattern as an OpenAPI path template: a
// mounted router's "/" is the mount point itself, a regexp parameter
// drops its regexp, and a trailing wildcard is the {path} parameter.
func openAPIPath(t *testing.T, pattern string) string {
	if len(pattern) > 1 {
		pattern = strings.TrimSuffix(pattern, "/")
	}
	if before, ok := strings.CutSuffix(pattern, "/*"); ok {
		pattern = before + "/{path}"
	}
	require.NotContains(t, pattern, "*", "a wildcard inside a pattern has no OpenAPI template")
	return chiParam.ReplaceAllString(pattern, "{$1}")
}

func pathOf(route string) string {
	_, path, _ := strings.Cut(route, " ")
	return path
}
