package sqlstore_test

import (
	"errors"
	"testing"
	"time"

	"github.com/facetid/facet/storage"
	"github.com/facetid/facet/storage/sqltest"
)

// TestUnavailable: a store that cannot reach its database answers storage.ErrUnavailable,
// never ErrNotFound — callers would otherwise call a valid client or token unknown — and the
// write probe works on a writable database again and again (one upserted row).
func TestUnavailable(t *testing.T) {
	for _, be := range sqltest.Backends(t) {
		t.Run(be.Name, func(t *testing.T) {
			s := be.Open(t)
			for range 2 {
				if err := s.ProbeWrite(t.Context(), time.Now()); err != nil {
					t.Fatalf("probe write: %v", err)
				}
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			_, errClient := s.GetClient(t.Context(), "app")
			_, errToken := s.GetToken(t.Context(), storage.KindAccessToken, "sig")
			_, errUser := s.GetUser(t.Context(), "u1")
			errProbe := s.ProbeWrite(t.Context(), time.Now())
			for name, err := range map[string]error{"GetClient": errClient, "GetToken": errToken, "GetUser": errUser, "ProbeWrite": errProbe} {
				if !errors.Is(err, storage.ErrUnavailable) || errors.Is(err, storage.ErrNotFound) {
					t.Errorf("%s on a closed store: %v, want ErrUnavailable", name, err)
				}
			}
		})
	}
}
