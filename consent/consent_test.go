package consent

import (
	"testing"

	"github.com/facetid/facet/storage"
	"github.com/facetid/facet/storage/storagetest"
)

func TestServiceGrantCovers(t *testing.T) {
	for _, b := range storagetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			ctx := t.Context()
			db := b.Open(t)
			if err := db.CreateUser(ctx, storage.User{ID: "u1", Email: "a@example.com"}); err != nil {
				t.Fatal(err)
			}
			if err := db.CreateClient(ctx, storage.Client{ID: "app", Name: "App"}); err != nil {
				t.Fatal(err)
			}
			s := &Service{Store: db}
			if ok, err := s.Covers(ctx, "u1", "app", []string{"openid"}); err != nil || ok {
				t.Fatalf("no grant: %v %v", ok, err)
			}
			if err := s.Grant(ctx, "u1", "app", []string{"openid", "email"}, ClaimsForScopes([]string{"email"})); err != nil {
				t.Fatal(err)
			}
			if ok, _ := s.Covers(ctx, "u1", "app", []string{"openid", "email"}); !ok {
				t.Fatal("granted scopes not covered")
			}
			if ok, _ := s.Covers(ctx, "u1", "app", []string{"openid", "profile"}); ok {
				t.Fatal("new scope covered")
			}
			// Grants merge.
			if err := s.Grant(ctx, "u1", "app", []string{"profile"}, ClaimsForScopes([]string{"profile"})); err != nil {
				t.Fatal(err)
			}
			if ok, _ := s.Covers(ctx, "u1", "app", []string{"openid", "email", "profile"}); !ok {
				t.Fatal("merged grant not covered")
			}
		})
	}
}
