// Package fetch reads a connector stream page by page: the first block of
// syncing a connection's data into its tenant's warehouse.
//
// A Fetcher turns a stream of a connectors.Definition (its path, params,
// pagination and incremental cursor) into requests, sends them through a
// Doer (in production the egress client, which retries 429 and 5xx and
// guards private addresses), and decodes each response into a Page of
// records plus an opaque checkpoint to resume from. It holds no state
// between pages besides the connection's values: the caller stores the
// checkpoint with the records it has written, so a sync interrupted
// anywhere resumes where its last commit left off, and a redelivered
// sync job simply fetches the same page again.
//
// The sync engine (workers writing pages into the warehouse, schedules)
// is built on top of this package in a later change.
package fetch
