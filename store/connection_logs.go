package store

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tenantry/tenantry"
)

// queueLog queues a log line for connection c in b.
func queueLog(b *pgx.Batch, c *tenantry.Connection, level, msg, jobID string) {
	if level == "" {
		level = "info"
	}
	b.Queue(`INSERT INTO core.connection_logs (connection_id, account_id, level, message, job_id) VALUES ($1, $2, $3, $4, $5)`,
		c.ID, c.AccountID, level, msg, jobID)
}

// ConnectionLogs returns connection id's log oldest first, keyset-paged
// by (time, id), if caller may see the connection (ENOTFOUND if not).
func (s *Store) ConnectionLogs(ctx context.Context, caller tenantry.Caller, id string, f tenantry.LogFilter) ([]tenantry.LogLine, string, error) {
	if _, err := s.Connection(ctx, caller, id); err != nil {
		return nil, "", err
	}
	f.Limit = pageLimit(f.Page)
	afterAt, afterID, err := parseLogCursor(f.Cursor)
	if err != nil {
		return nil, "", err
	}
	return listPage(ctx, s, "query connection logs", f.Limit, scanLogLine, logCursor,
		`SELECT id, at, level, message, job_id FROM core.connection_logs
		WHERE connection_id = $1 AND ($2 = '' OR level = $2) AND at >= $3 AND (at, id) > ($4, $5)
		ORDER BY at, id LIMIT $6`, id, f.Level, f.Since, afterAt, afterID, f.Limit+1)
}

func scanLogLine(row pgx.Row) (tenantry.LogLine, error) {
	var l tenantry.LogLine
	var n int64
	err := row.Scan(&n, &l.At, &l.Level, &l.Message, &l.JobID)
	l.ID = strconv.FormatInt(n, 10)
	return l, err
}

// logCursor is a log line's keyset position: its time and id.
func logCursor(l tenantry.LogLine) string { return l.At.UTC().Format(time.RFC3339Nano) + "|" + l.ID }

func parseLogCursor(cursor string) (time.Time, int64, error) {
	if cursor == "" {
		return time.Time{}, 0, nil
	}
	at, id, ok := strings.Cut(cursor, "|")
	t, err1 := time.Parse(time.RFC3339Nano, at)
	n, err2 := strconv.ParseInt(id, 10, 64)
	if !ok || err1 != nil || err2 != nil {
		return time.Time{}, 0, tenantry.Invalid(tenantry.FieldError{Field: "cursor", Message: "is not a cursor this API returned"})
	}
	return t, n, nil
}
