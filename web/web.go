// Package web holds the pages and scripts tenantry serves to browsers:
// the OAuth callback page that closes the popup, embed.js and the demo.
package web

import (
	"embed"
	"html/template"
	"io"
)

//go:embed callback.html
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
