package fakeprovider

import (
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
)

// Approve plays a user who opens authorizeURL and clicks Allow: it loads
// the consent page and submits its form, as a browser would, without
// following the final redirect. It returns that redirect's Location: the
// client's callback URL with code and state (or, if the authorization
// request was refused without a consent page, with error and state). It
// returns an error when the provider shows an error page instead of
// redirecting (unknown client, bad redirect_uri) or cannot be reached.
func (p *Provider) Approve(authorizeURL string) (callbackURL string, err error) {
	return p.consent(authorizeURL, "approve")
}

// Deny is Approve with the user clicking Deny: the callback URL carries
// error=access_denied, an error_description, and the state.
func (p *Provider) Deny(authorizeURL string) (callbackURL string, err error) {
	return p.consent(authorizeURL, "deny")
}

func (p *Provider) consent(authorizeURL, decision string) (string, error) {
	page, err := url.Parse(authorizeURL)
	if err != nil {
		return "", fmt.Errorf("parse authorize URL: %w", err)
	}
	status, location, body, err := p.fetch(p.client.Get(authorizeURL))
	switch {
	case err != nil:
		return "", fmt.Errorf("load consent page: %w", err)
	case status == http.StatusFound:
		return location, nil
	case status != http.StatusOK:
		return "", fmt.Errorf("load consent page: %d: %s", status, body)
	}
	form := formFields(body)
	form.Set("decision", decision)
	action := page.ResolveReference(&url.URL{Path: "/oauth/decide"}).String()
	status, location, body, err = p.fetch(p.client.PostForm(action, form))
	switch {
	case err != nil:
		return "", fmt.Errorf("submit consent: %w", err)
	case status != http.StatusFound:
		return "", fmt.Errorf("submit consent: %d: %s", status, body)
	}
	return location, nil
}

func (p *Provider) fetch(resp *http.Response, err error) (status int, location, body string, _ error) {
	if err != nil {
		return 0, "", "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Location"), strings.TrimSpace(string(b)), err
}

var hiddenInput = regexp.MustCompile(`<input type="hidden" name="([^"]*)" value="([^"]*)">`)

// formFields reads the hidden fields of the consent page, which this
// package renders, so a pattern suffices where a browser needs a parser.
func formFields(page string) url.Values {
	v := url.Values{}
	for _, m := range hiddenInput.FindAllStringSubmatch(page, -1) {
		v.Set(html.UnescapeString(m[1]), html.UnescapeString(m[2]))
	}
	return v
}
