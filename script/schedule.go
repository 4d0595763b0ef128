package script

import (
	"strconv"
	"strings"
	"time"

	"github.com/adhocore/gronx"

	"github.com/tenantry/tenantry"
)

// Interval bounds of a schedule given in seconds.
const (
	MinInterval = time.Minute
	MaxInterval = 366 * 24 * time.Hour
)

// Schedule is when an interface runs by itself: every so many seconds,
// in slots aligned to the Unix epoch (3600 runs on the hour), or at the
// times of a cron expression, in UTC.
type Schedule struct {
	every time.Duration
	cron  string
}

// ParseSchedule parses seconds ("3600") or a five-field cron expression
// ("*/15 * * * *", or a tag such as "@hourly"). EINVALID naming
// "schedule" if it is neither.
func ParseSchedule(s string) (*Schedule, error) {
	s = strings.TrimSpace(s)
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		d := time.Duration(n) * time.Second
		if d < MinInterval || d > MaxInterval {
			return nil, tenantry.Invalid(tenantry.FieldError{Field: "schedule",
				Message: "an interval must be from 60 to 31622400 seconds"})
		}
		return &Schedule{every: d}, nil
	}
	if (strings.HasPrefix(s, "@") || len(strings.Fields(s)) == 5) && gronx.IsValid(s) {
		if _, err := gronx.NextTickAfter(s, time.Now().UTC(), false); err == nil {
			return &Schedule{cron: s}, nil
		}
	}
	return nil, tenantry.Invalid(tenantry.FieldError{Field: "schedule",
		Message: `must be seconds such as 3600, or a cron expression such as "0 * * * *"`})
}

// Next is the first slot strictly after t.
func (s *Schedule) Next(t time.Time) time.Time {
	t = t.UTC()
	if s.every > 0 {
		every := int64(s.every / time.Second)
		return time.Unix((t.Unix()/every+1)*every, 0).UTC()
	}
	next, err := gronx.NextTickAfter(s.cron, t.Truncate(time.Second), false)
	if err != nil { // checked by ParseSchedule: only an expression with no future tick gets here
		return t.Add(MaxInterval)
	}
	return next.UTC()
}
