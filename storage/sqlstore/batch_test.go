package sqlstore_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/facetid/facet/storage"
	"github.com/facetid/facet/storage/sqlstore"
	"github.com/facetid/facet/storage/sqltest"
)

// TestSQLiteGroupCommit runs many concurrent writes through SQLite's group commit: every
// insert lands, a taken key fails alone with ErrAlreadyExists (the rest of its batch
// commits), and of concurrent deactivations of one token exactly one succeeds.
func TestSQLiteGroupCommit(t *testing.T) {
	s := sqltest.Backend{Name: sqlstore.DialectSQLite}.Open(t)
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

// TestSQLiteGroupCommitUnits runs units concurrently with plain inserts through the group
// commit: every plain insert and every good unit lands; a unit whose code was used already,
// or whose insert takes a used signature, fails with its own error and writes nothing.
func TestSQLiteGroupCommitUnits(t *testing.T) {
	s := sqltest.Backend{Name: sqlstore.DialectSQLite}.Open(t)
	ctx := t.Context()
	const n = 200
	code := func(i int) storage.Token {
		tok := benchToken(i)
		tok.Kind, tok.Signature = storage.KindAuthorizeCode, fmt.Sprint("code-", i)
		return tok
	}
	for i := range n {
		if i%4 == 0 {
			continue
		}
		if err := s.CreateToken(ctx, code(i)); err != nil {
			t.Fatal(err)
		}
		if i%4 == 2 {
			if err := s.DeactivateToken(ctx, storage.KindAuthorizeCode, code(i).Signature); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := s.CreateToken(ctx, benchToken(-1)); err != nil {
		t.Fatal(err)
	}
	exchange := func(i int, access storage.Token) []storage.TokenWrite {
		refresh := benchToken(i)
		refresh.Kind = storage.KindRefreshToken
		return []storage.TokenWrite{
			{Op: storage.TokenDeactivate, Token: code(i)},
			{Op: storage.TokenCreate, Token: refresh},
			{Op: storage.TokenCreate, Token: access},
		}
	}
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			switch i % 4 {
			case 0: // a plain insert
				errs[i] = s.CreateToken(ctx, benchToken(i))
			case 1, 2: // an exchange; 2: of a used code
				errs[i] = s.ApplyTokenWrites(ctx, exchange(i, benchToken(i)))
			case 3: // an exchange whose access token signature is taken
				errs[i] = s.ApplyTokenWrites(ctx, exchange(i, benchToken(-1)))
			}
		})
	}
	wg.Wait()
	for i, err := range errs {
		var want error
		switch i % 4 {
		case 2:
			want = storage.ErrConflict
		case 3:
			want = storage.ErrAlreadyExists
		}
		if (want == nil) != (err == nil) || want != nil && !errors.Is(err, want) {
			t.Errorf("write %d: %v, want %v", i, err, want)
		}
	}
	for i := range n {
		_, accessErr := s.GetToken(ctx, storage.KindAccessToken, benchToken(i).Signature)
		_, refreshErr := s.GetToken(ctx, storage.KindRefreshToken, benchToken(i).Signature)
		c, codeErr := s.GetToken(ctx, storage.KindAuthorizeCode, code(i).Signature)
		switch i % 4 {
		case 0:
			if accessErr != nil {
				t.Errorf("plain insert %d: %v", i, accessErr)
			}
		case 1:
			if accessErr != nil || refreshErr != nil || codeErr != nil || c.Active {
				t.Errorf("exchange %d: access %v, refresh %v, code %v active %v; want both tokens and the code used", i, accessErr, refreshErr, codeErr, c.Active)
			}
		case 2, 3:
			if !errors.Is(accessErr, storage.ErrNotFound) || !errors.Is(refreshErr, storage.ErrNotFound) {
				t.Errorf("failed exchange %d left tokens: access %v, refresh %v", i, accessErr, refreshErr)
			}
			if i%4 == 3 && (codeErr != nil || !c.Active) {
				t.Errorf("failed exchange %d used its code: %v, active %v", i, codeErr, c.Active)
			}
		}
	}
}
