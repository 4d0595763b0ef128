// Package egress is the one outbound HTTP client of tenantry. Every call to
// a third-party provider — OAuth token endpoints, provider REST APIs, and
// later webhook deliveries to partners — goes through a *Client, so that
// timeouts, retries and, above all, the egress guard are decided once.
//
// Many of the URLs tenantry calls are chosen by its users: the instance URL
// of a self-hosted provider, an OAuth token URL, a partner's webhook URL.
// Without a guard, anyone able to save such a URL could point a worker at
// the cloud metadata service (169.254.169.254), at Postgres, NATS or the
// admin port of a neighbour on the private network, and read the answer back
// through connection logs (server-side request forgery).
//
// The guard refuses connections to loopback, private, link-local, CGNAT,
// unspecified, multicast and broadcast addresses (and their IPv4-mapped IPv6
// forms) unless Config.Allow exempts them. It runs after DNS resolution, in
// the dialer's ControlContext hook, on the exact IP the socket is about to
// connect to. Checking the URL's host name before the request is not
// enough: a name can resolve to 10.0.0.1, and with DNS rebinding it can
// resolve to a public address when checked and a private one when dialled.
// Checking the socket closes both holes, and it also covers every redirect
// hop and every address tried by Happy Eyeballs, because each of them dials
// anew. For the same reason the client ignores HTTP_PROXY and friends: with
// a proxy the socket would connect to the proxy, and the guard would never
// see the real destination.
package egress
