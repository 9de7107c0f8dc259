package sqlstore_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/facetid/facet/storage"
	"github.com/facetid/facet/storage/sqltest"
)

// BenchmarkGetReleaseData reads what userinfo reads: a user with 20 profile fields, the
// private-profile switch and a grant.
//   - hit: the node keeps the data and the version is unchanged: one primary-key read.
//   - miss: the node keeps nothing for the (user, client) pair (a new client each time): the
//     reads of a store without the cache.
//   - stale: the node keeps data of an older version (a change between two reads, not timed):
//     the version read, then the reads of a miss.
func BenchmarkGetReleaseData(b *testing.B) {
	for _, be := range sqltest.Backends(b) {
		b.Run(be.Name, func(b *testing.B) {
			ctx := b.Context()
			s := openURL(b, be.NewURL(b))
			now := time.Now()
			must(b, s.CreateUser(ctx, storage.User{ID: "u1", Email: "u1@example.com", EmailVerified: true,
				PasswordHash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA", CreatedAt: now, UpdatedAt: now}))
			must(b, s.CreateClient(ctx, storage.Client{ID: "app", CreatedAt: now, UpdatedAt: now}))
			levels := []string{"public", "on_request", "private"}
			var fields []storage.ProfileField
			for i := range 20 {
				fields = append(fields, storage.ProfileField{UserID: "u1", Field: fmt.Sprintf("field_%02d", i),
					Value: fmt.Sprintf("value of field %d", i), Privacy: levels[i%3], UpdatedAt: now})
			}
			must(b, s.PutProfileFields(ctx, fields))
			must(b, s.PutGrant(ctx, storage.Grant{UserID: "u1", ClientID: "app", Scopes: []string{"openid", "profile", "email"},
				Claims: []string{"field_01", "field_04"}, CreatedAt: now, UpdatedAt: now}))
			read := func(clientID string) {
				if _, err := s.GetReleaseData(ctx, "u1", clientID); err != nil {
					b.Fatal(err)
				}
			}

			b.Run("hit", func(b *testing.B) {
				read("app")
				b.ReportAllocs()
				for b.Loop() {
					read("app")
				}
			})
			b.Run("miss", func(b *testing.B) {
				b.ReportAllocs()
				for i := 0; b.Loop(); i++ {
					read(fmt.Sprint("client-", i))
				}
			})
			b.Run("stale", func(b *testing.B) {
				b.ReportAllocs()
				for i := range b.N {
					b.StopTimer()
					read("app")
					must(b, s.SetPrivateProfile(ctx, "u1", i%2 == 0, now))
					b.StartTimer()
					read("app")
				}
			})
		})
	}
}
