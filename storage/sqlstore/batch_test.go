package sqlstore_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/facetid/facet/storage"
	"github.com/facetid/facet/storage/sqlstore"
	"github.com/facetid/facet/storage/storagetest"
)

// TestSQLiteGroupCommit runs many concurrent writes through SQLite's group commit: every
// insert lands, a taken key fails alone with ErrAlreadyExists (the rest of its batch
// commits), and of concurrent deactivations of one token exactly one succeeds.
func TestSQLiteGroupCommit(t *testing.T) {
	s := storagetest.Backend{Name: sqlstore.DialectSQLite}.Open(t)
	ctx := t.Context()
	const n = 200
	if err := s.CreateToken(ctx, benchToken(-1)); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			tok := benchToken(i)
			if i%10 == 0 {
				tok = benchToken(-1) // taken
			}
			errs[i] = s.CreateToken(ctx, tok)
		})
	}
	wg.Wait()
	for i, err := range errs {
		switch {
		case i%10 == 0 && !errors.Is(err, storage.ErrAlreadyExists):
			t.Errorf("duplicate %d: %v, want ErrAlreadyExists", i, err)
		case i%10 != 0 && err != nil:
			t.Errorf("insert %d: %v", i, err)
		}
	}
	for i := range n {
		if i%10 == 0 {
			continue
		}
		if _, err := s.GetToken(ctx, storage.KindAccessToken, benchToken(i).Signature); err != nil {
			t.Fatalf("token %d after the batch: %v", i, err)
		}
	}

	var ok, conflict int
	var mu sync.Mutex
	for range 16 {
		wg.Go(func() {
			err := s.DeactivateToken(ctx, storage.KindAccessToken, benchToken(1).Signature)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				ok++
			case errors.Is(err, storage.ErrConflict):
				conflict++
			default:
				t.Error(fmt.Errorf("deactivate: %w", err))
			}
		})
	}
	wg.Wait()
	if ok != 1 || conflict != 15 {
		t.Errorf("deactivations: %d ok, %d conflicts; want 1 and 15", ok, conflict)
	}
}
