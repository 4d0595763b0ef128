// Package syncer runs sync jobs: it pulls a connection's streams page by
// page through connectors/fetch and writes each page into the tenant's
// warehouse with its checkpoint, in one transaction (store.WriteSyncPage).
//
// A run is resumable at any point: a redelivered job (a killed worker, a
// provider or database that failed for a while) starts every unfinished
// stream at its last committed checkpoint, and a page is written once.
// The run's ledger tells the truth: a stream whose provider refuses it,
// sends malformed pages or stops making progress fails with a reason,
// and the run ends partial or failed, never succeeded.
package syncer
