// Package connectors is tenantry's connector catalog: the definitions of
// the third-party apps an end-customer can connect (the public API's
// "servertypes"), read from YAML files embedded in the binary and from an
// optional operator directory.
//
// A Definition says how to connect: the connect form shown to the
// end-customer, how the form values (or, for OAuth2, the token) go on
// every request to the app's API, and the request that proves the
// credentials work. Definition.Validate checks a submitted form;
// BaseURL, Authorize and CheckRequest turn stored values into outbound
// requests. Sending them (egress rules, the OAuth2 code exchange) and
// syncing data are other parts of this directory; the reference for the
// file format is docs/connectors.md.
package connectors
