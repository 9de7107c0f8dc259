package sqlstore

import (
	"fmt"
	"sync"
	"testing"

	"github.com/facetid/facet/storage"
)

// TestReleaseCacheBound: the cache never holds more than releaseCacheSize entries, keeps the
// newest one, replaces an entry in place, and is safe for concurrent use. What it holds is
// counted through get alone: of all the keys ever put, how many it still finds.
func TestReleaseCacheBound(t *testing.T) {
	var c releaseCache
	if _, ok := c.get(releaseKey{"u", "c"}); ok {
		t.Fatal("the zero cache has an entry")
	}
	const goroutines = 4
	var keys []releaseKey
	for g := range goroutines {
		for i := range releaseCacheSize {
			keys = append(keys, releaseKey{userID: fmt.Sprint("u", g), clientID: fmt.Sprint(i)})
		}
	}
	held := func() int {
		n := 0
		for _, k := range keys {
			if _, ok := c.get(k); ok {
				n++
			}
		}
		return n
	}
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i, k := range keys[g*releaseCacheSize : (g+1)*releaseCacheSize] {
				c.put(k, releaseEntry{version: int64(i)})
				c.get(k)
			}
		})
	}
	wg.Wait()
	if n := held(); n != releaseCacheSize {
		t.Errorf("cache holds %d entries after %d puts, want %d", n, len(keys), releaseCacheSize)
	}
	k := releaseKey{"new", "app"}
	c.put(k, releaseEntry{version: 1, data: storage.ReleaseData{PrivateProfile: true}})
	c.put(k, releaseEntry{version: 2})
	if e, ok := c.get(k); !ok || e.version != 2 || e.data.PrivateProfile {
		t.Errorf("entry after two puts = %+v, %v; want version 2 and the second data", e, ok)
	}
	// The new key took the place of one old entry: one fewer of the old keys is found.
	if n := held(); n != releaseCacheSize-1 {
		t.Errorf("cache holds %d of the old entries beside the new one, want %d", n, releaseCacheSize-1)
	}
	c.drop(k)
	if _, ok := c.get(k); ok {
		t.Error("entry still there after drop")
	}
}
