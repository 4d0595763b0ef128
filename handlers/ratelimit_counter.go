package handlers

import (
	"context"
	"math"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/tenantry/tenantry/store"
)

// limiter counts requests per key in sliding windows: the estimate at a
// moment is the previous window's count, weighted by how much of it the
// sliding window still covers, plus the current window's. Decisions are
// local (a map lookup under a mutex); every share interval, in one round
// trip, the counts admitted here are added to the shared counters in
// Postgres and every replica's totals are read back for every key this
// replica has counted in the last two windows. So with N replicas a key
// can exceed its quota by what the other replicas admitted for it during
// one share interval; a replica that had not seen the key for two
// windows starts from zero, and can admit up to a quota in its first
// interval (never more than N×quota in all).
//
// A replica counts at most maxKeys keys at once: some keys are made of
// what unauthenticated clients send (an address, a sign-in's email, an
// invitation link), so their number must not grow memory, or the share
// round trip, without bound. A key beyond the cap evicts the least
// recently seen of a few counters sampled at random; an evicted key that
// comes back relearns its count from the shared counters at the next
// share, so it stays limited (to within one share interval's worth).
type limiter struct {
	store   *store.Store
	share   time.Duration
	log     *zap.Logger
	now     func() time.Time
	maxKeys int

	mu       sync.Mutex
	counters map[string]*counter
	pending  map[pendingKey]int64 // admitted here, not yet shared

	stop chan struct{}
	done chan struct{}
	once sync.Once
}

type pendingKey struct {
	key    string
	win    int64
	window time.Duration
}

// counter is what this replica knows of one key: the counts of window
// win and the one before, every replica's as of the last share plus what
// was admitted here since.
type counter struct {
	window    time.Duration
	win       int64
	cur, prev int64
	seen      int64 // when last asked about, in Unix nanoseconds
}

// Bounds of the keys a replica counts: maxRateKeys at once (about 20 MB),
// evicting the least recently seen of evictSample counters beyond it.
const (
	maxRateKeys = 100_000
	evictSample = 8
)

// decision is the outcome of one request against its quota.
type decision struct {
	allowed    bool
	remaining  int           // requests left now
	reset      time.Duration // until the current window ends
	retryAfter time.Duration // when denied: until a request would be allowed
}

func newLimiter(st *store.Store, share time.Duration, log *zap.Logger) *limiter {
	return &limiter{store: st, share: share, log: log, now: time.Now, maxKeys: maxRateKeys,
		counters: map[string]*counter{}, pending: map[pendingKey]int64{}}
}

// allow counts one request for key against q, if q allows it.
func (l *limiter) allow(key string, q RateLimit) decision {
	now := l.now()
	win, into := windowOf(now, q.Window)
	l.mu.Lock()
	defer l.mu.Unlock()
	c := l.counters[key]
	if c == nil {
		if len(l.counters) >= l.maxKeys {
			l.evictOne()
		}
		c = &counter{window: q.Window, win: win}
		l.counters[key] = c
	}
	c.seen = now.UnixNano()
	c.roll(win)
	weight := 1 - float64(into)/float64(q.Window)
	estimate := float64(c.prev)*weight + float64(c.cur)
	d := decision{reset: q.Window - into}
	if estimate+1 > float64(q.Limit) {
		d.retryAfter = c.retryAfter(q, into, weight)
		return d
	}
	c.cur++
	l.pending[pendingKey{key, win, q.Window}]++
	d.allowed, d.remaining = true, int(math.Floor(float64(q.Limit)-estimate-1))
	return d
}

// windowOf returns the index of the window holding t and how far into
// it t is.
func windowOf(t time.Time, window time.Duration) (win int64, into time.Duration) {
	ns := t.UnixNano()
	return ns / int64(window), time.Duration(ns % int64(window))
}

// roll moves the counter to window win.
func (c *counter) roll(win int64) {
	switch {
	case win == c.win:
	case win == c.win+1:
		c.prev, c.cur = c.cur, 0
	default:
		c.prev, c.cur = 0, 0
	}
	c.win = win
}

// retryAfter is how long until the estimate leaves room for one request,
// if nothing else is counted meanwhile.
func (c *counter) retryAfter(q RateLimit, into time.Duration, weight float64) time.Duration {
	room := float64(q.Limit - 1)
	w := float64(q.Window)
	if float64(c.cur) <= room && c.prev > 0 {
		// Within this window, once enough of the previous one slides out.
		return time.Duration(w * (weight - (room-float64(c.cur))/float64(c.prev)))
	}
	// In the next window, once enough of this one slides out.
	return q.Window - into + time.Duration(w*(1-room/float64(c.cur)))
}

// Start shares the counts every share interval until Stop, and purges
// expired shared counters every minute.
func (l *limiter) Start() {
	l.stop, l.done = make(chan struct{}), make(chan struct{})
	go l.run()
}

// Stop shares what is pending one last time and stops. Safe to call
// twice, and without Start.
func (l *limiter) Stop() {
	l.once.Do(func() {
		if l.stop != nil {
			close(l.stop)
			<-l.done
		}
	})
}

func (l *limiter) run() {
	defer close(l.done)
	share, purge := time.NewTicker(l.share), time.NewTicker(time.Minute)
	defer share.Stop()
	defer purge.Stop()
	for {
		select {
		case <-l.stop:
			l.shareCounts(context.Background())
			return
		case <-share.C:
			l.shareCounts(context.Background())
		case <-purge.C:
			if err := l.store.PurgeRateCounts(context.Background()); err != nil {
				l.log.Warn("purge rate counters", zap.Error(err))
			}
		}
	}
}

// shareCounts adds what was admitted here to the shared counters and
// learns every replica's totals for every key this replica counts. If
// Postgres cannot be reached the counts stay pending for the next try and
// decisions go on locally.
func (l *limiter) shareCounts(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	l.mu.Lock()
	l.evict()
	batch := l.pending
	l.pending = map[pendingKey]int64{}
	add := make([]store.RateCount, 0, len(batch))
	for k, n := range batch {
		add = append(add, store.RateCount{Key: k.key, Win: k.win, Count: n, Expires: time.Unix(0, (k.win+2)*int64(k.window))})
	}
	read := make([]store.RateCount, 0, 2*len(l.counters))
	for key, c := range l.counters {
		read = append(read, store.RateCount{Key: key, Win: c.win}, store.RateCount{Key: key, Win: c.win - 1})
	}
	l.mu.Unlock()
	if len(read) == 0 && len(add) == 0 {
		return
	}
	totals, err := l.store.ShareRateCounts(ctx, add, read)
	l.mu.Lock()
	defer l.mu.Unlock()
	if err != nil {
		l.log.Warn("share rate-limit counts; limits are per replica until it works again", zap.Error(err))
		for k, n := range batch {
			l.pending[k] += n
		}
		return
	}
	for _, t := range totals {
		if c := l.counters[t.Key]; c != nil {
			c.learn(t.Win, t.Count+l.pending[pendingKey{t.Key, t.Win, c.window}])
		}
	}
}

// learn sets the count of window win, if it is one the counter holds.
func (c *counter) learn(win, n int64) {
	switch win {
	case c.win:
		c.cur = max(c.cur, n)
	case c.win - 1:
		c.prev = max(c.prev, n)
	}
}

// evict forgets counters whose windows have both passed; l.mu is held.
func (l *limiter) evict() {
	now := l.now()
	for key, c := range l.counters {
		if win, _ := windowOf(now, c.window); win > c.win+1 {
			delete(l.counters, key)
		}
	}
}

// evictOne forgets the least recently seen of evictSample counters (Go
// starts each map iteration at a random place); l.mu is held. A key in
// active use is seen often, so it is all but never the one evicted.
func (l *limiter) evictOne() {
	var oldest string
	seen, n := int64(math.MaxInt64), 0
	for key, c := range l.counters {
		if c.seen < seen {
			oldest, seen = key, c.seen
		}
		if n++; n == evictSample {
			break
		}
	}
	delete(l.counters, oldest)
}
