package storagetest

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/facetid/facet/storage"
)

func newLoginMethod(id, name string) storage.LoginMethod {
	return storage.LoginMethod{
		ID: id, Name: name, Type: storage.MethodOAuth2, Preset: "github",
		AuthURL: "https://github.com/login/oauth/authorize", TokenURL: "https://github.com/login/oauth/access_token",
		UserinfoURL: "https://api.github.com/user", ClientID: "cid", ClientSecret: []byte{0, 1, 2, 255},
		Scopes: []string{"read:user", "user:email"}, ClaimMap: map[string]string{"sub": "id", "email": "email"},
		IconURL: "https://example.com/gh.svg", Public: true, LoginPage: true, CreatedAt: base, UpdatedAt: base,
	}
}

// testLoginMethods: login methods round-trip every field (the encrypted secret as bytes),
// list by name, update and delete; deleting one deletes its identifiers.
func testLoginMethods(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	gh := newLoginMethod("m-gh", "GitHub")
	must(t, s.CreateLoginMethod(ctx, gh))
	wantErr(t, s.CreateLoginMethod(ctx, gh), storage.ErrAlreadyExists, "CreateLoginMethod same id")
	oidc := storage.LoginMethod{ID: "m-a", Name: "Acme", Type: storage.MethodOIDC, Issuer: "https://id.acme.example",
		ClientID: "x", ClientSecret: []byte("sealed"), CreatedAt: base, UpdatedAt: base}
	must(t, s.CreateLoginMethod(ctx, oidc))

	got, err := s.GetLoginMethod(ctx, "m-gh")
	must(t, err)
	gh.CreatedAt, gh.UpdatedAt = at(0), at(0)
	diff(t, "GetLoginMethod", gh, got)
	_, err = s.GetLoginMethod(ctx, "nope")
	wantErr(t, err, storage.ErrNotFound, "GetLoginMethod unknown")

	list, err := s.ListLoginMethods(ctx)
	must(t, err)
	if len(list) != 2 || list[0].ID != "m-a" || list[1].ID != "m-gh" {
		t.Fatalf("ListLoginMethods = %+v, want Acme then GitHub", list)
	}
	if list[0].Scopes != nil || list[0].ClaimMap != nil || list[0].Public || list[0].LoginPage {
		t.Errorf("empty lists, maps and switches = %+v, want nil and false", list[0])
	}

	gh.Name, gh.Public, gh.LoginPage, gh.Scopes, gh.ClaimMap = "GitHub.com", false, false, nil, nil
	gh.ClientSecret, gh.UpdatedAt = []byte("new"), base.Add(time.Hour)
	must(t, s.UpdateLoginMethod(ctx, gh))
	got, err = s.GetLoginMethod(ctx, "m-gh")
	must(t, err)
	gh.UpdatedAt = at(time.Hour)
	diff(t, "after UpdateLoginMethod", gh, got)
	wantErr(t, s.UpdateLoginMethod(ctx, newLoginMethod("nope", "x")), storage.ErrNotFound, "UpdateLoginMethod unknown")

	createUser(t, s, "u1")
	must(t, s.CreateIdentifier(ctx, storage.Identifier{ID: "i1", UserID: "u1", MethodID: "m-gh", Subject: "42", LinkedAt: base, LastUsedAt: base}))
	must(t, s.DeleteLoginMethod(ctx, "m-gh"))
	wantErr(t, s.DeleteLoginMethod(ctx, "m-gh"), storage.ErrNotFound, "DeleteLoginMethod twice")
	ids, err := s.ListIdentifiers(ctx, "u1")
	must(t, err)
	if len(ids) != 0 {
		t.Errorf("identifiers after their method was deleted = %+v, want none", ids)
	}
}

// testIdentifiers: one upstream account belongs to one user; identifiers list oldest first,
// are touched on sign-in, and are deleted only by their owner and never when they are the
// last way in.
func testIdentifiers(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	must(t, s.CreateLoginMethod(ctx, newLoginMethod("gh", "GitHub")))
	must(t, s.CreateLoginMethod(ctx, newLoginMethod("gl", "GitLab")))
	createUser(t, s, "u1")
	createUser(t, s, "u2")
	i1 := storage.Identifier{ID: "i1", UserID: "u1", MethodID: "gh", Subject: "42", Email: "a@example.com", Name: "A",
		Picture: "https://example.com/a.png", LinkedAt: base, LastUsedAt: base}
	must(t, s.CreateIdentifier(ctx, i1))
	wantErr(t, s.CreateIdentifier(ctx, storage.Identifier{ID: "i2", UserID: "u2", MethodID: "gh", Subject: "42", LinkedAt: base, LastUsedAt: base}),
		storage.ErrAlreadyExists, "CreateIdentifier of an upstream account linked to another user")
	wantErr(t, s.CreateIdentifier(ctx, storage.Identifier{ID: "i3", UserID: "nobody", MethodID: "gh", Subject: "43", LinkedAt: base, LastUsedAt: base}),
		storage.ErrNotFound, "CreateIdentifier for an unknown user")
	must(t, s.CreateIdentifier(ctx, storage.Identifier{ID: "i4", UserID: "u1", MethodID: "gl", Subject: "42", LinkedAt: base.Add(time.Minute), LastUsedAt: base}))

	got, err := s.GetIdentifierBySubject(ctx, "gh", "42")
	must(t, err)
	i1.LinkedAt, i1.LastUsedAt = at(0), at(0)
	diff(t, "GetIdentifierBySubject", i1, got)
	_, err = s.GetIdentifierBySubject(ctx, "gh", "43")
	wantErr(t, err, storage.ErrNotFound, "GetIdentifierBySubject unknown subject")

	must(t, s.TouchIdentifier(ctx, "i1", "b@example.com", "B", "", base.Add(time.Hour)))
	wantErr(t, s.TouchIdentifier(ctx, "gone", "", "", "", base), storage.ErrNotFound, "TouchIdentifier unknown")
	list, err := s.ListIdentifiers(ctx, "u1")
	must(t, err)
	if len(list) != 2 || list[0].ID != "i1" || list[1].ID != "i4" {
		t.Fatalf("ListIdentifiers = %+v, want i1 then i4", list)
	}
	if l := list[0]; l.Email != "b@example.com" || l.Name != "B" || l.Picture != "" || !l.LastUsedAt.Equal(at(time.Hour)) || !l.LinkedAt.Equal(at(0)) {
		t.Errorf("after TouchIdentifier = %+v", l)
	}

	wantErr(t, s.DeleteIdentifier(ctx, "u2", "i1"), storage.ErrNotFound, "DeleteIdentifier of another user's identifier")
	wantErr(t, s.DeleteIdentifier(ctx, "u1", "gone"), storage.ErrNotFound, "DeleteIdentifier unknown")

	// u3 has no password: of two identifiers, one may go, the last may not.
	u3 := newUser("u3", "u3@example.com")
	u3.PasswordHash = ""
	must(t, s.CreateUser(ctx, u3))
	must(t, s.CreateIdentifier(ctx, storage.Identifier{ID: "j1", UserID: "u3", MethodID: "gh", Subject: "7", LinkedAt: base, LastUsedAt: base}))
	must(t, s.CreateIdentifier(ctx, storage.Identifier{ID: "j2", UserID: "u3", MethodID: "gl", Subject: "7", LinkedAt: base, LastUsedAt: base}))
	// Both deleted at once: exactly one goes.
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for n, id := range []string{"j1", "j2"} {
		wg.Go(func() { errs[n] = s.DeleteIdentifier(ctx, "u3", id) })
	}
	wg.Wait()
	ok, last := 0, 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case errors.Is(err, storage.ErrLastSignInMethod), errors.Is(err, storage.ErrConflict):
			last++
		default:
			t.Errorf("concurrent DeleteIdentifier: %v", err)
		}
	}
	left, err := s.ListIdentifiers(ctx, "u3")
	must(t, err)
	if ok != 1 || len(left) != 1 {
		t.Fatalf("two concurrent deletes of a password-less account's two identifiers: %d succeeded, %d left; want 1 and 1", ok, len(left))
	}
	wantErr(t, s.DeleteIdentifier(ctx, "u3", left[0].ID), storage.ErrLastSignInMethod, "DeleteIdentifier of the last way in")

	// With a password, the last identifier may go.
	must(t, s.DeleteIdentifier(ctx, "u1", "i1"))
	must(t, s.DeleteIdentifier(ctx, "u1", "i4"))
	// The upstream account is free again.
	must(t, s.CreateIdentifier(ctx, storage.Identifier{ID: "i5", UserID: "u2", MethodID: "gh", Subject: "42", LinkedAt: base, LastUsedAt: base}))
}
