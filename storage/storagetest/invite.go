package storagetest

import (
	"testing"
	"time"

	"github.com/facetid/facet/storage"
)

// testClientAccess: access is per (app, user), granting twice is one grant, revoking says
// whether there was one, a user's list is oldest grant first, and access goes with the app.
func testClientAccess(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	createUser(t, s, "u1")
	createUser(t, s, "u2")
	must(t, s.CreateClient(ctx, newClient("closed")))
	must(t, s.CreateClient(ctx, newClient("other")))
	has := func(client, user string) bool {
		t.Helper()
		ok, err := s.HasClientAccess(ctx, client, user)
		must(t, err)
		return ok
	}
	if has("closed", "u1") {
		t.Fatal("access before any grant")
	}
	must(t, s.GrantClientAccess(ctx, "closed", "u1", base))
	must(t, s.GrantClientAccess(ctx, "closed", "u1", base.Add(time.Hour)))
	if !has("closed", "u1") || has("closed", "u2") || has("other", "u1") {
		t.Error("access is not per app and user")
	}
	ok, err := s.RevokeClientAccess(ctx, "closed", "u1")
	must(t, err)
	if !ok || has("closed", "u1") {
		t.Error("RevokeClientAccess did not remove the grant")
	}
	ok, err = s.RevokeClientAccess(ctx, "closed", "u1")
	must(t, err)
	if ok {
		t.Error("RevokeClientAccess of no grant = true")
	}
	must(t, s.GrantClientAccess(ctx, "other", "u2", base))
	must(t, s.GrantClientAccess(ctx, "closed", "u2", base.Add(time.Minute)))
	must(t, s.GrantClientAccess(ctx, "closed", "u1", base.Add(2*time.Minute)))
	list, err := s.ListClientAccess(ctx, "u2")
	must(t, err)
	diff(t, "ListClientAccess(u2)", []storage.ClientAccess{
		{ClientID: "other", UserID: "u2", GrantedAt: at(0)},
		{ClientID: "closed", UserID: "u2", GrantedAt: at(time.Minute)},
	}, list)
	if list, err := s.ListClientAccess(ctx, "nobody"); err != nil || len(list) != 0 {
		t.Errorf("ListClientAccess(nobody) = %v, %v", list, err)
	}
	must(t, s.DeleteClient(ctx, "other"))
	if has("other", "u2") {
		t.Error("access outlived its app")
	}
}

// testInvitations: invitations round-trip, list by app and email newest first, are answered
// once only and not after they expire (revoked even then), and count for the rate limit.
func testInvitations(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	createUser(t, s, "u1")
	must(t, s.CreateClient(ctx, newClient("a")))
	must(t, s.CreateClient(ctx, newClient("b")))
	inv := storage.Invitation{ID: "i1", ClientID: "a", Email: "x@example.com", TokenHash: "h1",
		CreatedAt: base, ExpiresAt: base.Add(time.Hour)}
	must(t, s.CreateInvitation(ctx, inv))
	wantErr(t, s.CreateInvitation(ctx, storage.Invitation{ID: "i9", ClientID: "a", Email: "y@example.com",
		TokenHash: "h1", CreatedAt: base, ExpiresAt: base}), storage.ErrAlreadyExists, "CreateInvitation same token hash")
	must(t, s.CreateInvitation(ctx, storage.Invitation{ID: "i2", ClientID: "b", Email: "x@example.com",
		TokenHash: "h2", CreatedAt: base.Add(time.Minute), ExpiresAt: base.Add(2 * time.Minute)}))
	must(t, s.CreateInvitation(ctx, storage.Invitation{ID: "i3", ClientID: "a", Email: "z@example.com",
		TokenHash: "h3", CreatedAt: base.Add(2 * time.Minute), ExpiresAt: base.Add(time.Hour)}))

	got, err := s.GetInvitationByToken(ctx, "h1")
	must(t, err)
	wantInv := inv
	wantInv.State, wantInv.CreatedAt, wantInv.ExpiresAt = storage.InvitationPending, at(0), at(time.Hour)
	diff(t, "GetInvitationByToken", wantInv, got)
	_, err = s.GetInvitationByToken(ctx, "nope")
	wantErr(t, err, storage.ErrNotFound, "GetInvitationByToken missing")

	ids := func(list []storage.Invitation, err error) []string {
		t.Helper()
		must(t, err)
		var out []string
		for _, i := range list {
			out = append(out, i.ID)
		}
		return out
	}
	diff(t, "ListInvitations(all)", []string{"i3", "i2", "i1"}, ids(s.ListInvitations(ctx, "")))
	diff(t, "ListInvitations(a)", []string{"i3", "i1"}, ids(s.ListInvitations(ctx, "a")))
	diff(t, "InvitationsForEmail", []string{"i2", "i1"}, ids(s.InvitationsForEmail(ctx, "x@example.com")))

	n, err := s.CountInvitationsSince(ctx, "a", base.Add(time.Second))
	must(t, err)
	if n != 1 {
		t.Errorf("CountInvitationsSince = %d, want 1", n)
	}

	must(t, s.AnswerInvitation(ctx, "i1", storage.InvitationAccepted, "u1", base.Add(time.Minute)))
	wantErr(t, s.AnswerInvitation(ctx, "i1", storage.InvitationAccepted, "u1", base.Add(time.Minute)),
		storage.ErrConflict, "AnswerInvitation twice")
	wantErr(t, s.AnswerInvitation(ctx, "i1", storage.InvitationRevoked, "", base.Add(time.Minute)),
		storage.ErrConflict, "revoking an accepted invitation")
	got, err = s.GetInvitation(ctx, "i1")
	must(t, err)
	if got.State != storage.InvitationAccepted || got.UserID != "u1" || got.AnsweredAt == nil || !got.AnsweredAt.Equal(at(time.Minute)) {
		t.Errorf("accepted invitation = %+v", got)
	}
	// i2 expired at base+2m: it cannot be accepted, but it can be revoked.
	wantErr(t, s.AnswerInvitation(ctx, "i2", storage.InvitationAccepted, "u1", base.Add(3*time.Minute)),
		storage.ErrConflict, "accepting an expired invitation")
	must(t, s.AnswerInvitation(ctx, "i2", storage.InvitationRevoked, "", base.Add(3*time.Minute)))
	wantErr(t, s.AnswerInvitation(ctx, "nope", storage.InvitationDeclined, "u1", base),
		storage.ErrNotFound, "answering a missing invitation")
}
