// Package connectors is tenantry's connector catalog: the definitions of
// the third-party apps an end-customer can connect (the public API's
// "servertypes"), read from YAML files embedded in the binary and from an
// optional operator directory.
//
// A Definition says how to connect: the connect form shown to the
// end-customer, how the form values (or, for OAuth2, the token) go on
// every request to the app's API, the request that proves the
// credentials work, and the streams of records it can sync.
// Definition.Validate checks a submitted form; BaseURL, Authorize,
// CheckRequest and StreamURL turn stored values into outbound requests.
// Sending them (egress), reading streams page by page (fetch) and the
// OAuth2 code exchange are other parts of this directory; the reference
// for the file format is docs/connectors.md.
package connectors
