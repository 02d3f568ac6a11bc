package sqlstore

import (
	"strings"
	"sync"
	"time"

	"entraide/core"
)

// loadCache holds the experts' loads (and the experts as people) that a
// process's deferring transactions read, for its other deferring
// transactions to use for loadCacheFor. On PostgreSQL every question's
// routing read the loads of the experts its batch had not read yet, about
// one statement in eight of the ask path, each counting the routings of
// the last 24 hours row by row.
//
// Using a load read by another transaction is right for the same reasons as
// using one read earlier in the same transaction (see holds): the routings
// this process took since the read are counted from its reservations,
// which outlive the read by more than loadCacheFor. What another process
// changed meanwhile (routings, availability, removal from the directory) is
// met at commit, where the experts are locked and read again
// (flushRoutings): the commit then fails with core.ErrConflict and the
// events are handled again one by one. What is left stale for at most
// loadCacheFor: an expert's quiet hours, name and language as another
// process changed them. Writes to experts, people or identities made by
// this process empty the cache, at the statement and again when its
// transaction ends.
type loadCache struct {
	mu sync.Mutex
	by map[core.PersonID]cachedLoad
}

type cachedLoad struct {
	load     expertLoad
	person   core.Person
	personAt time.Time // zero when the person was not read
}

// loadCacheFor is how long a load read is used by other transactions: at
// most holdGrace/2, as within one transaction.
const loadCacheFor = holdGrace / 2

// maxCachedLoads bounds the cache: past it, it starts again.
const maxCachedLoads = 100000

// get returns the load of expert id counted since since or earlier (at
// least the true count), if read less than loadCacheFor ago, and the
// expert as a person when read as recently.
func (c *loadCache) get(id core.PersonID, since time.Time) (expertLoad, *core.Person, bool) {
	if c == nil {
		return expertLoad{}, nil, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.by[id]
	// Counted from the same time or a little earlier (at least the true
	// count), read moments ago.
	if !ok || e.load.since.After(since) || since.Sub(e.load.since) >= loadCacheFor || time.Since(e.load.readAt) >= loadCacheFor {
		return expertLoad{}, nil, false
	}
	if e.personAt.IsZero() || time.Since(e.personAt) >= loadCacheFor {
		return e.load, nil, true
	}
	p := e.person
	return e.load, &p, true
}

// put keeps a load read at l.readAt, with the expert as a person when p
// is not nil; an older read does not replace a newer one. Without p, the
// person read before is kept.
func (c *loadCache) put(l expertLoad, p *core.Person) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	id := l.expert.Person
	e, ok := c.by[id]
	if ok && e.load.readAt.After(l.readAt) {
		return
	}
	if c.by == nil || len(c.by) >= maxCachedLoads {
		c.by = map[core.PersonID]cachedLoad{}
	}
	e.load = l
	if p != nil {
		e.person, e.personAt = *p, l.readAt
	}
	c.by[id] = e
}

func (c *loadCache) clear() {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.by = nil
}

// loadsWrite tells whether query may change what loadCache holds: a
// statement other than a SELECT that names experts, people or identities
// (topics and languages are not held) changes what it holds; one that
// names routings changes what the transaction running it counts (the
// process's other transactions count its routings from its reservations,
// or meet them at commit).
func loadsWrite(query string) (held, routings bool) {
	head := strings.TrimSpace(query)
	if len(head) >= 6 && strings.EqualFold(head[:6], "SELECT") {
		return false, false
	}
	held = strings.Contains(query, "experts") || strings.Contains(query, "people") || strings.Contains(query, "identities")
	return held, strings.Contains(query, "routings")
}
