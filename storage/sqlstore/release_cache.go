package sqlstore

import (
	"sync"

	"github.com/facetid/facet/storage"
)

// releaseCacheSize bounds the per-node cache of release data (releaseCache). One entry is a
// user's release data for one app: about 20 profile fields, ≈ 2–3 KB, so the cache holds at
// most ≈ 10 MB. An entry is only worth keeping while its user keeps calling userinfo or
// refreshing ID tokens; 4096 covers the active users of a busy node, and a miss costs no more
// than a read without the cache.
const releaseCacheSize = 4096

// releaseCache keeps, per (user, client), the release data read from the database and the
// user's release_version it was read at (migration 0007). It is only ever trusted after a
// fresh read of that version: triggers bump the version in the same transaction as every
// change of the data, on whichever node, so an entry at the current version is the current
// data (TestReleaseTriggers fails for a table the release reads without such a trigger). Nothing else invalidates entries, and nothing needs to: a stale entry is simply
// replaced at the next read. The zero value is an empty cache, so every Store starts with one
// of its own.
//
// Entries are shared with callers and never modified: storage.PrivacyStore's
// GetReleaseData tells callers not to modify what it returns.
type releaseCache struct {
	mu sync.Mutex
	m  map[releaseKey]releaseEntry
}

type releaseKey struct {
	userID, clientID string
}

type releaseEntry struct {
	version int64
	data    storage.ReleaseData
}

// get returns the entry of k, if any.
func (c *releaseCache) get(k releaseKey) (releaseEntry, bool) {
	c.mu.Lock()
	e, ok := c.m[k]
	c.mu.Unlock()
	return e, ok
}

// put stores e under k. When the cache is full it first drops one arbitrary entry (Go's map
// iteration starts at a random place), which keeps put O(1) without tracking recency.
func (c *releaseCache) put(k releaseKey, e releaseEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = make(map[releaseKey]releaseEntry)
	}
	if _, ok := c.m[k]; !ok && len(c.m) >= releaseCacheSize {
		for old := range c.m {
			delete(c.m, old)
			break
		}
	}
	c.m[k] = e
}

// drop removes the entry of k (its user is gone).
func (c *releaseCache) drop(k releaseKey) {
	c.mu.Lock()
	delete(c.m, k)
	c.mu.Unlock()
}
