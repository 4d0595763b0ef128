// Package web holds the pages and scripts tenantry serves to browsers:
// the OAuth callback page that closes the popup, embed.js (the SDK
// partners import into their app), the demo page that uses it, and the
// API's OpenAPI document with its rendered reference page.
package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"html/template"
	"io"
	"net/http"
	"time"
)

//go:embed callback.html embed.js demo.html demo.js
var files embed.FS

var callback = template.Must(template.ParseFS(files, "callback.html"))

// Callback writes the page the OAuth popup lands on: it says what
// happened and closes itself; if the browser will not let it close, it
// says so. The app learns the outcome by polling the connection.
func Callback(w io.Writer, ok bool, message string) error {
	return callback.Execute(w, struct {
		OK      bool
		Message string
	}{ok, message})
}

// demoCSP lets the demo page run only its own scripts (/demo.js, which
// imports /embed.js) and call only its own origin, the API.
const demoCSP = "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'unsafe-inline'; " +
	"img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

var (
	embedJS  = mustAsset("embed.js", "application/javascript; charset=utf-8")
	demoPage = mustAsset("demo.html", "text/html; charset=utf-8")
	demoJS   = mustAsset("demo.js", "application/javascript; charset=utf-8")
)

// Embed serves embed.js. Any origin may load it: a partner's app imports
// it as a module from its own origin, which is a CORS request.
func Embed(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Access-Control-Allow-Origin", "*")
	w.Header().Set("Cross-Origin-Resource-Policy", "cross-origin")
	embedJS.serve(w, r)
}

// Demo serves the demo page, which reads an account token from its URL
// fragment. Only `tenantry dev` serves it.
func Demo(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Security-Policy", demoCSP)
	w.Header().Set("Referrer-Policy", "no-referrer")
	demoPage.serve(w, r)
}

// DemoScript serves the demo page's script (/demo.js).
func DemoScript(w http.ResponseWriter, r *http.Request) { demoJS.serve(w, r) }

// asset is an embedded file with what it is served as.
type asset struct {
	name, contentType, etag string
	body                    []byte
}

func mustAsset(name, contentType string) asset {
	body, err := files.ReadFile(name)
	if err != nil {
		panic(err) // embedded above: cannot happen
	}
	return newAsset(name, contentType, body)
}

func newAsset(name, contentType string, body []byte) asset {
	sum := sha256.Sum256(body)
	return asset{name: name, contentType: contentType, body: body,
		etag: `"` + base64.RawURLEncoding.EncodeToString(sum[:12]) + `"`}
}

// serve sends the asset, or 304 when the browser's copy is current: it is
// revalidated on every use (no-cache), so a new binary takes effect at once.
func (a asset) serve(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", a.contentType)
	h.Set("Cache-Control", "no-cache")
	h.Set("ETag", a.etag)
	h.Set("X-Content-Type-Options", "nosniff")
	http.ServeContent(w, r, a.name, time.Time{}, bytes.NewReader(a.body))
}
