// Package webhook is tenantry's webhook ingress: the signature schemes
// (Standard Webhooks built in, and the HMAC schemes connector
// definitions declare), the encoding of an inbound webhook as a message
// on the WEBHOOKS stream, and the Receiver the API uses to authenticate a
// request and publish it durably before answering. Processing the
// stream is the worker's (worker/webhooks.go).
package webhook
