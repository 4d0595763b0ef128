package env

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/tenantry/tenantry/scheduler"
)

// minKeep is the shortest retention accepted: a day longer than the
// COMMANDS, EVENTS and WEBHOOKS streams keep messages (7 days). A replay
// or redelivery decides from these records what was already applied, so
// deleting one sooner could apply its message twice; the day covers
// hosts whose clocks disagree.
const minKeep = 8 * 24 * time.Hour

// retention sets cfg's Keep fields from v, the value of
// TENANTRY_RETENTION: comma-separated, a retention for every kind and/or
// kind=retention for one (runs, webhooks, notifications, logs, jobs),
// e.g. "90d", "logs=14d", "60d,webhooks=off". A retention is whole days
// ("30d") or a Go duration ("720h") of at least 8 days, or "off" (kept
// forever). Kinds left unset, and all of them when v is "", keep the
// scheduler's default (30 days). On error cfg is unchanged.
func retention(cfg *scheduler.Config, v string) error {
	if v == "" {
		return nil
	}
	kinds := map[string]*time.Duration{"runs": &cfg.KeepRuns, "webhooks": &cfg.KeepWebhooks,
		"notifications": &cfg.KeepNotifications, "logs": &cfg.KeepLogs, "jobs": &cfg.KeepJobs}
	set := map[string]time.Duration{}
	for item := range strings.SplitSeq(v, ",") {
		kind, value, perKind := strings.Cut(strings.TrimSpace(item), "=")
		if !perKind {
			kind, value = "", kind
		} else if kinds[kind] == nil {
			return fmt.Errorf("TENANTRY_RETENTION=%q: unknown kind %q (want runs, webhooks, notifications, logs or jobs)", v, kind)
		}
		if _, dup := set[kind]; dup {
			return fmt.Errorf("TENANTRY_RETENTION=%q: %s set twice", v, orAll(kind))
		}
		keep, err := parseKeep(value)
		if err != nil {
			return fmt.Errorf("TENANTRY_RETENTION=%q: %s: %w", v, orAll(kind), err)
		}
		set[kind] = keep
	}
	for kind, keep := range kinds {
		if d, ok := set[kind]; ok {
			*keep = d
		} else if d, ok := set[""]; ok {
			*keep = d
		}
	}
	return nil
}

// parseKeep reads one retention; "off" is -1 (kept forever).
func parseKeep(v string) (time.Duration, error) {
	if v == "off" {
		return -1, nil
	}
	var d time.Duration
	var err error
	if days, isDays := strings.CutSuffix(v, "d"); isDays {
		var n int
		n, err = strconv.Atoi(days)
		if int64(n) > math.MaxInt64/int64(24*time.Hour) {
			n = -1 // would overflow
		}
		d = time.Duration(n) * 24 * time.Hour
	} else {
		d, err = time.ParseDuration(v)
	}
	if err != nil || d < minKeep {
		return 0, fmt.Errorf("%q: want whole days (30d) or a Go duration (720h) of at least 8d, or off", v)
	}
	return d, nil
}

func orAll(kind string) string {
	if kind == "" {
		return "all kinds"
	}
	return kind
}
