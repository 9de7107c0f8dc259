package backchannel_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/facetid/facet/oauth/backchannel"
	"github.com/facetid/facet/storage"
	"github.com/facetid/facet/storage/sqltest"
)

// BenchmarkSID is the sid an authorization computes for its ID token.
func BenchmarkSID(b *testing.B) {
	sids, err := backchannel.NewSIDs(secret)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		_ = sids.Of("0123456789abcdef0123456789abcdef0123456789a")
	}
}

// BenchmarkPutSessionClient is the row an authorization adds in its transaction (the session
// signs a new app in each time, the costlier case: a repeat is a conflict that writes nothing).
func BenchmarkPutSessionClient(b *testing.B) {
	for _, be := range sqltest.Backends(b) {
		b.Run(be.Name, func(b *testing.B) {
			store := be.Open(b)
			ctx := context.Background()
			if err := store.CreateUser(ctx, storage.User{ID: "u1", Email: "u1@example.com", Status: storage.UserActive}); err != nil {
				b.Fatal(err)
			}
			if err := store.CreateSession(ctx, storage.Session{ID: "s1", UserID: "u1"}); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				i++
				err := store.InTx(ctx, func(ctx context.Context) error {
					return store.PutSessionClient(ctx, storage.SessionClient{SessionID: "s1", ClientID: fmt.Sprint("c", i), SID: "sid"})
				})
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
