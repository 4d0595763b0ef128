package worker

// HandleDelivery runs one delivery through the per-message path, as the
// consumer would: for tests that deliver a message twice at once.
var HandleDelivery = (*Webhooks).handle
