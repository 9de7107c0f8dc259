package storagetest

import (
	"testing"
	"time"

	"github.com/facetid/facet/storage"
)

// catalogIDs are the client ids of list, in order, with a "*" after each favorite.
func catalogIDs(t testing.TB) func(list []storage.CatalogApp, err error) []string {
	return func(list []storage.CatalogApp, err error) []string {
		t.Helper()
		must(t, err)
		var out []string
		for _, a := range list {
			id := a.ClientID
			if a.Favorite {
				id += "*"
			}
			out = append(out, id)
		}
		return out
	}
}

// catalogClient is a client listed in the catalog (or not), closed (or not), of type typ.
func catalogClient(id, typ string, listed, closed bool) storage.Client {
	c := newClient(id)
	c.Type, c.InCatalog, c.Closed = typ, listed, closed
	return c
}

// testCatalog: a user's catalog holds the listed apps that are open, or closed with the
// user's access, by id, with what the catalog shows of each; an app leaves it as soon as it
// is unlisted or the access is revoked.
func testCatalog(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	createUser(t, s, "ann")
	createUser(t, s, "bob")
	must(t, s.CreateClient(ctx, catalogClient("notes", "Productivity", true, false)))
	must(t, s.CreateClient(ctx, catalogClient("books", "", true, false)))
	must(t, s.CreateClient(ctx, catalogClient("vault", "Security", true, true)))
	must(t, s.CreateClient(ctx, catalogClient("hidden", "Productivity", false, false)))
	must(t, s.CreateClient(ctx, catalogClient("secret", "Security", false, true)))
	must(t, s.GrantClientAccess(ctx, "vault", "ann", base))
	must(t, s.GrantClientAccess(ctx, "secret", "ann", base))

	diff(t, "ann's catalog", []string{"books", "notes", "vault"}, catalogIDs(t)(s.CatalogApps(ctx, "ann")))
	diff(t, "bob's catalog (no access to the closed app)", []string{"books", "notes"}, catalogIDs(t)(s.CatalogApps(ctx, "bob")))
	diff(t, "catalog of an unknown user", []string{"books", "notes"}, catalogIDs(t)(s.CatalogApps(ctx, "nobody")))

	got, err := s.CatalogApp(ctx, "ann", "vault")
	must(t, err)
	diff(t, "CatalogApp", storage.CatalogApp{ClientID: "vault", Name: "App vault", Description: "An app",
		LogoURI: "https://app.example/logo.png", HomeURI: "https://app.example/", Type: "Security"}, got)
	for _, c := range []struct{ user, client string }{
		{"bob", "vault"}, {"ann", "hidden"}, {"ann", "secret"}, {"ann", "nope"},
	} {
		_, err := s.CatalogApp(ctx, c.user, c.client)
		wantErr(t, err, storage.ErrNotFound, "CatalogApp "+c.client+" for "+c.user)
	}

	// Unlisting and revoking apply to the next read.
	c := catalogClient("notes", "Productivity", false, false)
	must(t, s.UpdateClient(ctx, c))
	_, err = s.RevokeClientAccess(ctx, "vault", "ann")
	must(t, err)
	diff(t, "ann's catalog after unlisting and revoking", []string{"books"}, catalogIDs(t)(s.CatalogApps(ctx, "ann")))
	_, err = s.CatalogApp(ctx, "ann", "vault")
	wantErr(t, err, storage.ErrNotFound, "CatalogApp after the access was revoked")
}

// testFavorites: a favorite is per user and app, only for an app in the user's catalog,
// marked once (the first time kept), listed only while the app is in the user's catalog,
// and gone with the user or the app.
func testFavorites(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	createUser(t, s, "ann")
	createUser(t, s, "bob")
	must(t, s.CreateClient(ctx, catalogClient("notes", "Productivity", true, false)))
	must(t, s.CreateClient(ctx, catalogClient("books", "", true, false)))
	must(t, s.CreateClient(ctx, catalogClient("vault", "Security", true, true)))
	must(t, s.CreateClient(ctx, catalogClient("hidden", "Productivity", false, false)))
	must(t, s.GrantClientAccess(ctx, "vault", "ann", base))

	must(t, s.AddFavorite(ctx, "ann", "notes", base))
	must(t, s.AddFavorite(ctx, "ann", "notes", base.Add(time.Hour)))
	must(t, s.AddFavorite(ctx, "ann", "vault", base.Add(time.Minute)))
	wantErr(t, s.AddFavorite(ctx, "bob", "vault", base), storage.ErrNotFound, "AddFavorite of a closed app without access")
	wantErr(t, s.AddFavorite(ctx, "ann", "hidden", base), storage.ErrNotFound, "AddFavorite of an unlisted app")
	wantErr(t, s.AddFavorite(ctx, "ann", "nope", base), storage.ErrNotFound, "AddFavorite of an unknown app")

	favs, err := s.Favorites(ctx, "ann")
	must(t, err)
	first, later := at(0), at(time.Minute)
	diff(t, "ann's favorites", []storage.CatalogApp{
		{ClientID: "notes", Name: "App notes", Description: "An app", LogoURI: "https://app.example/logo.png",
			HomeURI: "https://app.example/", Type: "Productivity", Favorite: true, FavoriteAt: &first},
		{ClientID: "vault", Name: "App vault", Description: "An app", LogoURI: "https://app.example/logo.png",
			HomeURI: "https://app.example/", Type: "Security", Favorite: true, FavoriteAt: &later},
	}, favs)
	diff(t, "ann's catalog marks", []string{"books", "notes*", "vault*"}, catalogIDs(t)(s.CatalogApps(ctx, "ann")))
	diff(t, "bob's catalog marks", []string{"books", "notes"}, catalogIDs(t)(s.CatalogApps(ctx, "bob")))
	if got, err := s.CatalogApp(ctx, "ann", "notes"); err != nil || !got.Favorite || got.FavoriteAt == nil || !got.FavoriteAt.Equal(first) {
		t.Errorf("CatalogApp of a favorite = %+v, %v", got, err)
	}
	diff(t, "bob's favorites", []string(nil), catalogIDs(t)(s.Favorites(ctx, "bob")))

	// Revoked access and unlisting hide favorites at once; the marks stay (the export lists
	// them) and come back with the app.
	_, err = s.RevokeClientAccess(ctx, "vault", "ann")
	must(t, err)
	must(t, s.UpdateClient(ctx, catalogClient("notes", "Productivity", false, false)))
	diff(t, "favorites after revoking and unlisting", []string(nil), catalogIDs(t)(s.Favorites(ctx, "ann")))
	all, err := s.ListFavorites(ctx, "ann")
	must(t, err)
	if len(all) != 2 || all[0].ClientID != "notes" || all[1].ClientID != "vault" || all[0].Name != "App notes" ||
		all[0].FavoriteAt == nil || !all[0].FavoriteAt.Equal(first) || !all[1].Favorite {
		t.Errorf("ListFavorites of hidden favorites = %+v, want notes then vault, oldest first", all)
	}
	diff(t, "bob's ListFavorites", []string(nil), catalogIDs(t)(s.ListFavorites(ctx, "bob")))
	must(t, s.UpdateClient(ctx, catalogClient("notes", "Productivity", true, false)))
	diff(t, "favorites after listing again", []string{"notes*"}, catalogIDs(t)(s.Favorites(ctx, "ann")))

	ok, err := s.RemoveFavorite(ctx, "ann", "notes")
	must(t, err)
	if !ok {
		t.Error("RemoveFavorite of a favorite = false")
	}
	ok, err = s.RemoveFavorite(ctx, "ann", "notes")
	must(t, err)
	if ok {
		t.Error("RemoveFavorite twice = true")
	}
	diff(t, "catalog after removing", []string{"books", "notes"}, catalogIDs(t)(s.CatalogApps(ctx, "ann")))

	// Favorites go with their app and with their user.
	must(t, s.AddFavorite(ctx, "bob", "books", base))
	must(t, s.AddFavorite(ctx, "bob", "notes", base))
	must(t, s.DeleteClient(ctx, "books"))
	diff(t, "bob's favorites after the app was deleted", []string{"notes*"}, catalogIDs(t)(s.Favorites(ctx, "bob")))
	must(t, s.CreateClient(ctx, catalogClient("books", "", true, false)))
	diff(t, "a new app with the deleted one's id", []string{"notes*"}, catalogIDs(t)(s.Favorites(ctx, "bob")))
	must(t, s.MarkDeletion(ctx, storage.Deletion{UserID: "bob", RequestedAt: base, PurgeAfter: base}))
	must(t, s.PurgeUser(ctx, "bob", base.Add(time.Second)))
	if ok, err := s.RemoveFavorite(ctx, "bob", "notes"); err != nil || ok {
		t.Errorf("a purged user's favorite: RemoveFavorite = %v, %v; want it gone", ok, err)
	}
}
