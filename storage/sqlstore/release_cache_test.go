package sqlstore

import (
	"fmt"
	"sync"
	"testing"

	"github.com/facetid/facet/storage"
)

// TestReleaseCacheBound: the cache never holds more than releaseCacheSize entries, keeps the
// newest one, replaces an entry in place, and is safe for concurrent use.
func TestReleaseCacheBound(t *testing.T) {
	var c releaseCache
	if _, ok := c.get(releaseKey{"u", "c"}); ok {
		t.Fatal("the zero cache has an entry")
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range releaseCacheSize {
				k := releaseKey{userID: fmt.Sprint("u", g), clientID: fmt.Sprint(i)}
				c.put(k, releaseEntry{version: int64(i)})
				c.get(k)
			}
		})
	}
	wg.Wait()
	if n := c.len(); n != releaseCacheSize {
		t.Errorf("cache holds %d entries after %d puts, want %d", n, 4*releaseCacheSize, releaseCacheSize)
	}
	k := releaseKey{"new", "app"}
	c.put(k, releaseEntry{version: 1, data: storage.ReleaseData{PrivateProfile: true}})
	c.put(k, releaseEntry{version: 2})
	if e, ok := c.get(k); !ok || e.version != 2 || e.data.PrivateProfile {
		t.Errorf("entry after two puts = %+v, %v; want version 2 and the second data", e, ok)
	}
	if n := c.len(); n != releaseCacheSize {
		t.Errorf("cache holds %d entries, want %d", n, releaseCacheSize)
	}
	c.drop(k)
	if _, ok := c.get(k); ok {
		t.Error("entry still there after drop")
	}
}
