package storagetest

import (
	"errors"
	"testing"
	"time"

	"github.com/facetid/facet/storage"
)

// testDeletion: MarkDeletion moves only an active account to pending deletion, GetDeletion
// and DueDeletions read the window back, RestoreUser ends it; each refuses an account in the
// wrong state with ErrNotFound and changes nothing.
func testDeletion(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	for _, id := range []string{"u1", "u2", "u3", "active"} {
		createUser(t, s, id)
	}
	wantErr(t, s.MarkDeletion(ctx, storage.Deletion{UserID: "nobody", RequestedAt: base, PurgeAfter: base}), storage.ErrNotFound, "MarkDeletion(nobody)")
	must(t, s.MarkDeletion(ctx, storage.Deletion{UserID: "u1", RequestedAt: base, PurgeAfter: base.Add(2 * time.Hour)}))
	must(t, s.MarkDeletion(ctx, storage.Deletion{UserID: "u2", RequestedAt: base, PurgeAfter: base.Add(time.Hour)}))
	must(t, s.MarkDeletion(ctx, storage.Deletion{UserID: "u3", RequestedAt: base, PurgeAfter: base.Add(time.Hour)}))
	// A second deletion keeps the first window.
	wantErr(t, s.MarkDeletion(ctx, storage.Deletion{UserID: "u1", RequestedAt: base.Add(time.Hour), PurgeAfter: base.Add(9 * time.Hour)}),
		storage.ErrNotFound, "MarkDeletion of a pending account")

	u, err := s.GetUser(ctx, "u1")
	must(t, err)
	if u.Status != storage.UserPendingDeletion {
		t.Errorf("status after MarkDeletion = %q, want %q", u.Status, storage.UserPendingDeletion)
	}
	d, err := s.GetDeletion(ctx, "u1")
	must(t, err)
	diff(t, "GetDeletion(u1)", storage.Deletion{UserID: "u1", RequestedAt: at(0), PurgeAfter: at(2 * time.Hour)}, d)
	_, err = s.GetDeletion(ctx, "active")
	wantErr(t, err, storage.ErrNotFound, "GetDeletion(active)")

	due, err := s.DueDeletions(ctx, base.Add(time.Hour-time.Microsecond), 10)
	must(t, err)
	if len(due) != 0 {
		t.Errorf("DueDeletions before any is due = %+v", due)
	}
	due, err = s.DueDeletions(ctx, base.Add(time.Hour), 10)
	must(t, err)
	diff(t, "DueDeletions at +1h", []storage.Deletion{
		{UserID: "u2", RequestedAt: at(0), PurgeAfter: at(time.Hour)},
		{UserID: "u3", RequestedAt: at(0), PurgeAfter: at(time.Hour)},
	}, due)
	due, err = s.DueDeletions(ctx, base.Add(3*time.Hour), 2)
	must(t, err)
	if len(due) != 2 || due[0].UserID != "u2" || due[1].UserID != "u3" {
		t.Errorf("DueDeletions limit 2 = %+v, want u2, u3 (the longest due first)", due)
	}

	must(t, s.RestoreUser(ctx, "u2", base.Add(time.Minute)))
	wantErr(t, s.RestoreUser(ctx, "u2", base.Add(time.Minute)), storage.ErrNotFound, "RestoreUser twice")
	wantErr(t, s.RestoreUser(ctx, "active", base), storage.ErrNotFound, "RestoreUser(active)")
	u, err = s.GetUser(ctx, "u2")
	must(t, err)
	if u.Status != storage.UserActive || !u.UpdatedAt.Equal(at(time.Minute)) {
		t.Errorf("after RestoreUser: status %q, updated %v", u.Status, u.UpdatedAt)
	}
	_, err = s.GetDeletion(ctx, "u2")
	wantErr(t, err, storage.ErrNotFound, "GetDeletion after restore")
	due, err = s.DueDeletions(ctx, base.Add(3*time.Hour), 10)
	must(t, err)
	if len(due) != 2 || due[0].UserID != "u3" || due[1].UserID != "u1" {
		t.Errorf("DueDeletions after a restore = %+v, want u3, u1", due)
	}
	// A restored account can be deleted again, with a new window.
	must(t, s.MarkDeletion(ctx, storage.Deletion{UserID: "u2", RequestedAt: base.Add(time.Hour), PurgeAfter: base.Add(5 * time.Hour)}))
	d, err = s.GetDeletion(ctx, "u2")
	must(t, err)
	diff(t, "GetDeletion after a second deletion", storage.Deletion{UserID: "u2", RequestedAt: at(time.Hour), PurgeAfter: at(5 * time.Hour)}, d)
}

// fillAccount gives user id a bit of every kind of data that refers to an account.
func fillAccount(t *testing.T, s storage.Storage, id, phone, username string) {
	t.Helper()
	ctx := t.Context()
	must(t, s.PutProfileFields(ctx, []storage.ProfileField{
		{UserID: id, Field: "given_name", Value: "Name of " + id, Privacy: "public", UpdatedAt: base},
		{UserID: id, Field: "phone_number", Value: phone, Privacy: "private", UpdatedAt: base},
		{UserID: id, Field: "preferred_username", Value: username, Privacy: "public", UpdatedAt: base},
	}))
	must(t, s.SetPrivateProfile(ctx, id, true, base))
	if _, err := s.PutVerification(ctx, newVerification(id, storage.ContactEmail, "new-"+id+"@example.com", 1, nil), base); err != nil {
		t.Fatal(err)
	}
	must(t, s.CreatePhoto(ctx, storage.Photo{ID: "photo-" + id, UserID: id, ContentType: "image/png", Data: []byte("png"), CreatedAt: base}))
	must(t, s.PutGrant(ctx, storage.Grant{UserID: id, ClientID: "app", Scopes: []string{"openid"}, Claims: []string{"email"}, CreatedAt: base, UpdatedAt: base}))
	must(t, s.PutClaimDeclines(ctx, id, "app", []string{"phone_number"}, base))
	must(t, s.RecordDisclosures(ctx, []storage.Disclosure{{UserID: id, ClientID: "app", Claims: []string{"email"}, FirstAt: base, LastAt: base, Count: 1}}))
	must(t, s.CreateSession(ctx, newSession("session-"+id, id)))
	must(t, s.PutSessionClient(ctx, storage.SessionClient{SessionID: "session-" + id, ClientID: "app", SID: "sid-" + id, CreatedAt: base}))
	must(t, s.AddEvent(ctx, newEvent("event-"+id, id, "login", base, "")))
	createToken(t, s, newToken(storage.KindAccessToken, "access-"+id, "req-"+id, id, "app"))
	createToken(t, s, newToken(storage.KindRefreshToken, "refresh-"+id, "req-"+id, id, "app"))
}

// fillLinked gives user id an identifier at login method "m", a business card, access to the
// closed app "app", an invitation it accepted and one waiting at email, and the catalog app
// "listed" as a favorite.
func fillLinked(t *testing.T, s storage.Storage, id, email string) {
	t.Helper()
	ctx := t.Context()
	must(t, s.CreateIdentifier(ctx, storage.Identifier{ID: "ident-" + id, UserID: id, MethodID: "m", Subject: "sub-" + id,
		Email: email, Name: "Upstream " + id, LinkedAt: base, LastUsedAt: base}))
	must(t, s.SetFieldPrivacy(ctx, id, "identifier:ident-"+id, "public", base))
	if _, err := s.CreateCardIfAbsent(ctx, storage.Card{UserID: id, Identifier: "card-" + id, Active: true, CreatedAt: base, UpdatedAt: base}); err != nil {
		t.Fatal(err)
	}
	must(t, s.GrantClientAccess(ctx, "app", id, base))
	must(t, s.CreateInvitation(ctx, storage.Invitation{ID: "accepted-" + id, ClientID: "app", Email: "old-" + email,
		TokenHash: "accepted-" + id, CreatedAt: base, ExpiresAt: base.Add(time.Hour)}))
	must(t, s.AnswerInvitation(ctx, "accepted-"+id, storage.InvitationAccepted, id, base))
	must(t, s.CreateInvitation(ctx, storage.Invitation{ID: "waiting-" + id, ClientID: "app", Email: email,
		TokenHash: "waiting-" + id, CreatedAt: base, ExpiresAt: base.Add(time.Hour)}))
	must(t, s.AddFavorite(ctx, id, "listed", base))
}

// testPurgeUser: PurgeUser erases only a due pending account, everything that refers to it
// with it, and leaves its id as a tombstone no new account can take, while its email, phone
// number and username are free for anyone. Another account's data stays.
func testPurgeUser(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	must(t, s.CreateClient(ctx, newClient("app")))
	for _, u := range []storage.User{newUser("gone", "gone@example.com"), newUser("kept", "kept@example.com")} {
		u.EmailVerified = true
		must(t, s.CreateUser(ctx, u))
	}
	fillAccount(t, s, "gone", "+15550100001", "gone_name")
	fillAccount(t, s, "kept", "+15550100002", "kept_name")
	must(t, s.CreateLoginMethod(ctx, newLoginMethod("m", "M")))
	must(t, s.CreateClient(ctx, catalogClient("listed", "", true, false)))
	fillLinked(t, s, "gone", "gone@example.com")
	fillLinked(t, s, "kept", "kept@example.com")

	wantErr(t, s.PurgeUser(ctx, "gone", base), storage.ErrNotFound, "PurgeUser of an active account")
	must(t, s.MarkDeletion(ctx, storage.Deletion{UserID: "gone", RequestedAt: base, PurgeAfter: base.Add(time.Hour)}))
	wantErr(t, s.PurgeUser(ctx, "gone", base.Add(time.Hour-time.Microsecond)), storage.ErrNotFound, "PurgeUser before the window ends")
	if _, err := s.GetUser(ctx, "gone"); err != nil {
		t.Fatalf("an account refused for the purge is gone: %v", err)
	}
	// Interrupted: a purge rolled back leaves everything.
	txCtx, err := s.BeginTx(ctx)
	must(t, err)
	must(t, s.PurgeUser(txCtx, "gone", base.Add(time.Hour)))
	must(t, s.Rollback(txCtx))
	if f, err := s.GetProfileFields(ctx, "gone"); err != nil || len(f) != 4 {
		t.Fatalf("fields after a rolled-back purge = %v, %v", f, err)
	}
	if _, ok := tokenExists(t, s, storage.KindAccessToken, "access-gone"); !ok {
		t.Fatal("token gone after a rolled-back purge")
	}

	must(t, s.PurgeUser(ctx, "gone", base.Add(time.Hour)))
	wantErr(t, s.PurgeUser(ctx, "gone", base.Add(time.Hour)), storage.ErrNotFound, "PurgeUser twice")

	_, err = s.GetUser(ctx, "gone")
	wantErr(t, err, storage.ErrNotFound, "GetUser after purge")
	if f, err := s.GetProfileFields(ctx, "gone"); err != nil || len(f) != 0 {
		t.Errorf("profile fields after purge = %v, %v", f, err)
	}
	_, err = s.GetVerification(ctx, "gone", storage.ContactEmail)
	wantErr(t, err, storage.ErrNotFound, "verification after purge")
	_, err = s.GetPhoto(ctx, "photo-gone")
	wantErr(t, err, storage.ErrNotFound, "photo after purge")
	if g, err := s.ListGrants(ctx, "gone"); err != nil || len(g) != 0 {
		t.Errorf("grants after purge = %v, %v", g, err)
	}
	if d, err := s.ListClaimDeclines(ctx, "gone"); err != nil || len(d) != 0 {
		t.Errorf("declines after purge = %v, %v", d, err)
	}
	if d, err := s.ListDisclosures(ctx, "gone"); err != nil || len(d) != 0 {
		t.Errorf("disclosures after purge = %v, %v", d, err)
	}
	_, err = s.GetSession(ctx, "session-gone")
	wantErr(t, err, storage.ErrNotFound, "session after purge")
	if c, err := s.UserSessionClients(ctx, "gone"); err != nil || len(c) != 0 {
		t.Errorf("session clients after purge = %v, %v", c, err)
	}
	if e, err := s.ListEvents(ctx, "gone", storage.EventFilter{}); err != nil || len(e) != 0 {
		t.Errorf("events after purge = %v, %v", e, err)
	}
	for _, sig := range []string{"access-gone", "refresh-gone"} {
		if _, ok := tokenExists(t, s, storage.KindAccessToken, sig); ok {
			t.Errorf("token %s after purge", sig)
		}
		if _, ok := tokenExists(t, s, storage.KindRefreshToken, sig); ok {
			t.Errorf("token %s after purge", sig)
		}
	}

	// What the account linked or was granted goes with it: identifiers (and their levels),
	// the business card (its identifier free again), access to closed apps, the invitations
	// it answered or that wait at its confirmed address, its favorites.
	if ids, err := s.ListIdentifiers(ctx, "gone"); err != nil || len(ids) != 0 {
		t.Errorf("identifiers after purge = %v, %v", ids, err)
	}
	_, err = s.GetIdentifierBySubject(ctx, "m", "sub-gone")
	wantErr(t, err, storage.ErrNotFound, "identifier by subject after purge")
	_, err = s.GetCard(ctx, "gone")
	wantErr(t, err, storage.ErrNotFound, "card after purge")
	_, err = s.GetCardByIdentifier(ctx, "card-gone")
	wantErr(t, err, storage.ErrNotFound, "card by identifier after purge")
	if a, err := s.ListClientAccess(ctx, "gone"); err != nil || len(a) != 0 {
		t.Errorf("client access after purge = %v, %v", a, err)
	}
	for _, id := range []string{"accepted-gone", "waiting-gone"} {
		_, err = s.GetInvitation(ctx, id)
		wantErr(t, err, storage.ErrNotFound, "invitation "+id+" after purge")
	}
	if f, err := s.ListFavorites(ctx, "gone"); err != nil || len(f) != 0 {
		t.Errorf("favorites after purge = %v, %v", f, err)
	}

	// The tombstone: the id is never another account's.
	if ok, err := s.IsTombstone(ctx, "gone"); err != nil || !ok {
		t.Errorf("IsTombstone(gone) = %v, %v; want true", ok, err)
	}
	if ok, err := s.IsTombstone(ctx, "kept"); err != nil || ok {
		t.Errorf("IsTombstone(kept) = %v, %v; want false", ok, err)
	}
	wantErr(t, s.CreateUser(ctx, newUser("gone", "someone@example.com")), storage.ErrAlreadyExists, "CreateUser under a purged id")
	// The identifiers are free.
	fresh := newUser("fresh", "gone@example.com")
	fresh.EmailVerified = true
	must(t, s.CreateUser(ctx, fresh))
	if _, err := s.PhoneOwner(ctx, "+15550100001"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("PhoneOwner of the purged number: %v, want ErrNotFound", err)
	}
	must(t, s.PutProfileFields(ctx, []storage.ProfileField{
		{UserID: "fresh", Field: "phone_number", Value: "+15550100001", UpdatedAt: base},
		{UserID: "fresh", Field: "preferred_username", Value: "gone_name", UpdatedAt: base},
	}))

	// The other account is whole.
	if f, err := s.GetProfileFields(ctx, "kept"); err != nil || len(f) != 4 {
		t.Errorf("kept's fields = %v, %v", f, err)
	}
	if ids, err := s.ListIdentifiers(ctx, "kept"); err != nil || len(ids) != 1 {
		t.Errorf("kept's identifiers = %v, %v", ids, err)
	}
	if _, err := s.GetCard(ctx, "kept"); err != nil {
		t.Errorf("kept's card: %v", err)
	}
	if a, err := s.ListClientAccess(ctx, "kept"); err != nil || len(a) != 1 {
		t.Errorf("kept's client access = %v, %v", a, err)
	}
	if f, err := s.ListFavorites(ctx, "kept"); err != nil || len(f) != 1 {
		t.Errorf("kept's favorites = %v, %v", f, err)
	}
	for _, id := range []string{"accepted-kept", "waiting-kept"} {
		if _, err := s.GetInvitation(ctx, id); err != nil {
			t.Errorf("kept's invitation %s: %v", id, err)
		}
	}
	if _, ok := tokenExists(t, s, storage.KindAccessToken, "access-kept"); !ok {
		t.Error("kept's token is gone")
	}
	if c, err := s.UserSessionClients(ctx, "kept"); err != nil || len(c) != 1 {
		t.Errorf("kept's session clients = %v, %v", c, err)
	}
	if e, err := s.ListEvents(ctx, "kept", storage.EventFilter{}); err != nil || len(e) != 1 {
		t.Errorf("kept's events = %v, %v", e, err)
	}
}

// testPurgeUserRace: a restore and a purge of one account at once: exactly one wins, and the
// account ends either active and whole or purged, never half erased.
func testPurgeUserRace(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	must(t, s.CreateClient(ctx, newClient("app")))
	createUser(t, s, "u1")
	fillAccount(t, s, "u1", "+15550100003", "racer")
	must(t, s.MarkDeletion(ctx, storage.Deletion{UserID: "u1", RequestedAt: base, PurgeAfter: base}))
	errs := concurrently(2, func(i int) error {
		if i == 0 {
			return s.PurgeUser(ctx, "u1", base)
		}
		return s.RestoreUser(ctx, "u1", base)
	})
	var won int
	for _, err := range errs {
		switch {
		case err == nil:
			won++
		case errors.Is(err, storage.ErrNotFound), errors.Is(err, storage.ErrConflict):
		default:
			t.Errorf("purge against restore: %v", err)
		}
	}
	if won != 1 {
		t.Fatalf("purge against restore: %d won (%v), want exactly one", won, errs)
	}
	u, err := s.GetUser(ctx, "u1")
	if errors.Is(err, storage.ErrNotFound) {
		if ok, err := s.IsTombstone(ctx, "u1"); err != nil || !ok {
			t.Errorf("purged without a tombstone: %v, %v", ok, err)
		}
		return
	}
	must(t, err)
	if u.Status != storage.UserActive {
		t.Errorf("restored account's status = %q", u.Status)
	}
	if f, err := s.GetProfileFields(ctx, "u1"); err != nil || len(f) != 3 {
		t.Errorf("restored account's fields = %v, %v", f, err)
	}
}
