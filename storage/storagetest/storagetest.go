// Package storagetest is the conformance suite every storage.Storage backend runs: Run and
// RunNodes take an opener, so the suite knows only the storage interface and no
// implementation (a backend's own tests say how to open one). Each case states one behaviour
// callers rely on: fosite's token semantics (inactive tokens readable, exactly one winner of a
// refresh rotation), transactions carried in ctx, sentinel errors, first-writer-wins settings,
// counters and leases shared by several nodes.
package storagetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/facetid/facet/storage"
)

// base is a time off UTC with nanoseconds: a backend must return it in UTC, to the microsecond.
var base = time.Date(2031, 3, 4, 5, 6, 7, 123456789, time.FixedZone("UTC+5", 5*3600))

// at returns base+d as a backend returns it.
func at(d time.Duration) time.Time { return want(base.Add(d)) }

// want is t as a backend returns it: UTC, truncated to the microsecond.
func want(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// Run runs the conformance suite; open returns a fresh, migrated, empty store for each case
// (and closes it at the test's cleanup).
func Run(t *testing.T, open func(t *testing.T) storage.Storage) {
	cases := []struct {
		name string
		fn   func(t *testing.T, s storage.Storage)
	}{
		{"Users", testUsers},
		{"ProfileFields", testProfileFields},
		{"Clients", testClients},
		{"TokenRoundTrip", testTokenRoundTrip},
		{"DeactivateToken", testDeactivateToken},
		{"RotateRefreshToken", testRotateRefreshToken},
		{"RotateRefreshTokenRace", testRotateRefreshTokenRace},
		{"RotatedAt", testRotatedAt},
		{"ActiveRefreshToken", testActiveRefreshToken},
		{"TokenWrites", testTokenWrites},
		{"TokenWritesInTx", testTokenWritesInTx},
		{"TokenWritesRace", testTokenWritesRace},
		{"RevokeRequest", testRevokeRequest},
		{"RevokeSubject", testRevokeSubject},
		{"DeleteExpiredTokens", testDeleteExpiredTokens},
		{"Transactions", testTransactions},
		{"EveryMethodInTx", testEveryMethodInTx},
		{"SigningKeys", testSigningKeys},
		{"Sessions", testSessions},
		{"Grants", testGrants},
		{"ClaimDeclines", testClaimDeclines},
		{"Settings", testSettings},
		{"Counters", testCounters},
		{"Leases", testLeases},
		{"Events", testEvents},
		{"EventPages", testEventPages},
		{"Privacy", testPrivacy},
		{"ReleaseData", testReleaseData},
		{"AccountProfileValues", testAccountProfileValues},
		{"AccountUsernameRace", testAccountUsernameRace},
		{"AccountPasswordAndSessions", testAccountPasswordAndSessions},
		{"UnverifiedEmail", testUnverifiedEmail},
		{"VerifyEmailRace", testVerifyEmailRace},
		{"DeleteUnverifiedUsers", testDeleteUnverifiedUsers},
		{"Contacts", testContacts},
		{"UserApps", testUserApps},
		{"UserSessions", testUserSessions},
		{"Backchannel", testBackchannel},
		{"Deletion", testDeletion},
		{"PurgeUser", testPurgeUser},
		{"PurgeUserRace", testPurgeUserRace},
		{"LoginMethods", testLoginMethods},
		{"Identifiers", testIdentifiers},
		{"SessionTokens", testSessionTokens},
		{"LoginFailures", testLoginFailures},
		{"TOTP", testTOTP},
		{"LoginChallenges", testLoginChallenges},
		{"RecoveryCodes", testRecoveryCodes},
		{"Cards", testCards},
		{"CardIdentifierRace", testCardIdentifierRace},
		{"Features", testFeatures},
		{"ClientAccess", testClientAccess},
		{"Invitations", testInvitations},
		{"Catalog", testCatalog},
		{"Favorites", testFavorites},
		{"Passkeys", testPasskeys},
		{"WebAuthnChallenges", testWebAuthnChallenges},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.fn(t, open(t))
		})
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func wantErr(t testing.TB, err, target error, what string) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: got error %v, want %v", what, err, target)
	}
}

func diff(t testing.TB, what string, want, got any) {
	t.Helper()
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", what, d)
	}
}

func newUser(id, email string) storage.User {
	return storage.User{
		ID: id, Email: email, PasswordHash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA",
		Status: storage.UserActive, CreatedAt: base, UpdatedAt: base,
	}
}

func createUser(t testing.TB, s storage.Storage, id string) storage.User {
	t.Helper()
	u := newUser(id, id+"@example.com")
	must(t, s.CreateUser(t.Context(), u))
	return u
}

func testUsers(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	u := newUser("u1", "ann@example.com")
	u.EmailVerified, u.Admin = true, true
	must(t, s.CreateUser(ctx, u))

	got, err := s.GetUser(ctx, "u1")
	must(t, err)
	wantU := u
	wantU.CreatedAt, wantU.UpdatedAt = at(0), at(0)
	diff(t, "GetUser", wantU, got)
	if got.CreatedAt.Location() != time.UTC {
		t.Errorf("CreatedAt location = %v, want UTC", got.CreatedAt.Location())
	}
	got, err = s.GetUserByEmail(ctx, "ann@example.com")
	must(t, err)
	diff(t, "GetUserByEmail", wantU, got)

	dup := newUser("u2", "ann@example.com")
	dup.EmailVerified = true
	wantErr(t, s.CreateUser(ctx, dup), storage.ErrAlreadyExists, "CreateUser same verified email")
	wantErr(t, s.CreateUser(ctx, newUser("u1", "other@example.com")), storage.ErrAlreadyExists, "CreateUser same id")
	_, err = s.GetUser(ctx, "nobody")
	wantErr(t, err, storage.ErrNotFound, "GetUser missing")
	_, err = s.GetUserByEmail(ctx, "nobody@example.com")
	wantErr(t, err, storage.ErrNotFound, "GetUserByEmail missing")

	bob := newUser("u2", "bob@example.com")
	bob.EmailVerified, bob.CreatedAt = true, base.Add(time.Minute)
	must(t, s.CreateUser(ctx, bob))

	u.Email, u.Status, u.PasswordHash, u.Admin, u.UpdatedAt = "ann2@example.com", storage.UserPendingDeletion, "new", false, base.Add(time.Hour)
	must(t, s.UpdateUser(ctx, u))
	got, err = s.GetUser(ctx, "u1")
	must(t, err)
	wantU = u
	wantU.CreatedAt, wantU.UpdatedAt = at(0), at(time.Hour)
	diff(t, "GetUser after UpdateUser", wantU, got)
	_, err = s.GetUserByEmail(ctx, "ann@example.com")
	wantErr(t, err, storage.ErrNotFound, "GetUserByEmail old email")

	u.Email = "bob@example.com"
	wantErr(t, s.UpdateUser(ctx, u), storage.ErrAlreadyExists, "UpdateUser to a taken email")
	wantErr(t, s.UpdateUser(ctx, newUser("nobody", "x@example.com")), storage.ErrNotFound, "UpdateUser missing")

	list, err := s.ListUsers(ctx)
	must(t, err)
	if len(list) != 2 || list[0].ID != "u1" || list[1].ID != "u2" {
		t.Errorf("ListUsers = %+v, want u1, u2 oldest first", list)
	}
}

func testProfileFields(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	createUser(t, s, "u1")
	createUser(t, s, "u2")

	got, err := s.GetProfileFields(ctx, "u1")
	must(t, err)
	if len(got) != 0 {
		t.Fatalf("GetProfileFields of a new user = %v, want none", got)
	}
	must(t, s.PutProfileFields(ctx, nil))
	must(t, s.PutProfileFields(ctx, []storage.ProfileField{
		{UserID: "u1", Field: "given_name", Value: "Ann", Privacy: "on_request", UpdatedAt: base},
		{UserID: "u1", Field: "family_name", Value: "Lee", Privacy: "public", UpdatedAt: base},
		{UserID: "u2", Field: "given_name", Value: "Bob", Privacy: "private", UpdatedAt: base},
	}))
	must(t, s.PutProfileFields(ctx, []storage.ProfileField{
		{UserID: "u1", Field: "given_name", Value: "Anne", Privacy: "public", UpdatedAt: base.Add(time.Hour)},
	}))
	got, err = s.GetProfileFields(ctx, "u1")
	must(t, err)
	diff(t, "GetProfileFields", []storage.ProfileField{
		{UserID: "u1", Field: "family_name", Value: "Lee", Privacy: "public", UpdatedAt: at(0)},
		{UserID: "u1", Field: "given_name", Value: "Anne", Privacy: "public", UpdatedAt: at(time.Hour)},
	}, got)

	must(t, s.DeleteProfileField(ctx, "u1", "family_name"))
	must(t, s.DeleteProfileField(ctx, "u1", "family_name")) // absent: not an error
	got, err = s.GetProfileFields(ctx, "u1")
	must(t, err)
	if len(got) != 1 || got[0].Field != "given_name" {
		t.Errorf("GetProfileFields after delete = %+v, want given_name only", got)
	}
	got, err = s.GetProfileFields(ctx, "u2")
	must(t, err)
	if len(got) != 1 || got[0].Value != "Bob" {
		t.Errorf("GetProfileFields(u2) = %+v, want Bob untouched", got)
	}
}

func newClient(id string) storage.Client {
	return storage.Client{
		ID: id, SecretHash: []byte{0, 1, 2, 0xff}, Name: "App " + id, Description: "An app",
		LogoURI: "https://app.example/logo.png", PolicyURI: "https://app.example/policy",
		HomeURI:                 "https://app.example/",
		RedirectURIs:            []string{"https://app.example/cb", "http://127.0.0.1:8080/cb"},
		PostLogoutRedirectURIs:  []string{"https://app.example/bye"},
		GrantTypes:              []string{"authorization_code", "refresh_token"},
		ResponseTypes:           []string{"code"},
		Scopes:                  []string{"openid", "profile", "email", "offline_access"},
		Audience:                []string{"https://api.example"},
		TokenEndpointAuthMethod: "client_secret_basic",
		BackchannelLogoutURI:    "https://app.example/bcl", BackchannelLogoutSessionRequired: true,
		PKCE:      storage.PKCEOptional,
		CreatedAt: base, UpdatedAt: base,
	}
}

func testClients(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	c := newClient("app")
	must(t, s.CreateClient(ctx, c))
	got, err := s.GetClient(ctx, "app")
	must(t, err)
	wantC := c
	wantC.CreatedAt, wantC.UpdatedAt = at(0), at(0)
	diff(t, "GetClient", wantC, got)

	wantErr(t, s.CreateClient(ctx, c), storage.ErrAlreadyExists, "CreateClient same id")
	_, err = s.GetClient(ctx, "nope")
	wantErr(t, err, storage.ErrNotFound, "GetClient missing")

	// A public client: no secret, empty lists read back as nil.
	pub := storage.Client{ID: "pub", Name: "Public", Public: true, TokenEndpointAuthMethod: "none",
		RedirectURIs: []string{}, CreatedAt: base, UpdatedAt: base}
	must(t, s.CreateClient(ctx, pub))
	got, err = s.GetClient(ctx, "pub")
	must(t, err)
	if len(got.SecretHash) != 0 || !got.Public || got.RedirectURIs != nil || got.Scopes != nil {
		t.Errorf("GetClient(pub) = %+v, want public with no secret and nil lists", got)
	}
	if got.PKCE != storage.PKCERequired {
		t.Errorf("GetClient(pub).PKCE = %q, want %q (an empty policy is stored as required)", got.PKCE, storage.PKCERequired)
	}

	c.Name, c.SecretHash, c.RedirectURIs, c.Scopes, c.UpdatedAt = "Renamed", []byte("new"), []string{"https://x/cb"}, nil, base.Add(time.Hour)
	c.PKCE = storage.PKCERequired
	c.Closed, c.InCatalog, c.Type = true, true, "Productivity"
	must(t, s.UpdateClient(ctx, c))
	got, err = s.GetClient(ctx, "app")
	must(t, err)
	wantC = c
	wantC.CreatedAt, wantC.UpdatedAt = at(0), at(time.Hour)
	diff(t, "GetClient after UpdateClient", wantC, got)
	wantErr(t, s.UpdateClient(ctx, newClient("nope")), storage.ErrNotFound, "UpdateClient missing")

	list, err := s.ListClients(ctx)
	must(t, err)
	if len(list) != 2 || list[0].ID != "app" || list[1].ID != "pub" {
		t.Errorf("ListClients = %+v, want app, pub", list)
	}

	// Deleting a client removes its grants.
	createUser(t, s, "u1")
	must(t, s.PutGrant(ctx, storage.Grant{UserID: "u1", ClientID: "app", Scopes: []string{"openid"}, CreatedAt: base, UpdatedAt: base}))
	must(t, s.DeleteClient(ctx, "app"))
	_, err = s.GetClient(ctx, "app")
	wantErr(t, err, storage.ErrNotFound, "GetClient after DeleteClient")
	_, err = s.GetGrant(ctx, "u1", "app")
	wantErr(t, err, storage.ErrNotFound, "GetGrant after DeleteClient")
	wantErr(t, s.DeleteClient(ctx, "app"), storage.ErrNotFound, "DeleteClient missing")
}

func newToken(kind storage.TokenKind, sig, request, subject, client string) storage.Token {
	return storage.Token{
		Kind: kind, Signature: sig, RequestID: request, ClientID: client, Subject: subject, Active: true,
		RequestedAt: base, ExpiresAt: base.Add(time.Hour), Data: []byte(`{"request":"` + request + `"}`),
	}
}

// concurrently runs fn(0..n-1) in n goroutines released at once and returns their errors.
func concurrently(n int, fn func(i int) error) []error {
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = fn(i)
		})
	}
	close(start)
	wg.Wait()
	return errs
}

func createToken(t testing.TB, s storage.Storage, tok storage.Token) {
	t.Helper()
	must(t, s.CreateToken(t.Context(), tok))
}

func tokenExists(t testing.TB, s storage.Storage, kind storage.TokenKind, sig string) (storage.Token, bool) {
	t.Helper()
	tok, err := s.GetToken(t.Context(), kind, sig)
	if errors.Is(err, storage.ErrNotFound) {
		return storage.Token{}, false
	}
	must(t, err)
	return tok, true
}

func testTokenRoundTrip(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	data := make([]byte, 4096)
	for i := range data {
		data[i] = byte(i * 7) // zero bytes, high bytes, invalid UTF-8
	}
	kinds := []storage.TokenKind{storage.KindAuthorizeCode, storage.KindAccessToken, storage.KindRefreshToken, storage.KindPKCE, storage.KindOIDC}
	for i, kind := range kinds {
		tok := storage.Token{
			Kind: kind, Signature: "same-signature", RequestID: "req-1", ClientID: "app", Subject: "u1",
			Active: i%2 == 0, AccessSignature: "access-sig",
			RequestedAt: base, ExpiresAt: base.Add(time.Duration(i+1) * time.Hour), Data: data,
		}
		must(t, s.CreateToken(ctx, tok))
		got, err := s.GetToken(ctx, kind, "same-signature")
		must(t, err)
		wantT := tok
		wantT.RequestedAt, wantT.ExpiresAt = at(0), at(time.Duration(i+1)*time.Hour)
		diff(t, "GetToken "+string(kind), wantT, got)
		if !bytes.Equal(got.Data, data) {
			t.Errorf("GetToken %s: Data changed", kind)
		}
		if got.ExpiresAt.Location() != time.UTC || got.RequestedAt.Location() != time.UTC {
			t.Errorf("GetToken %s: times not in UTC: %v %v", kind, got.RequestedAt, got.ExpiresAt)
		}
		wantErr(t, s.CreateToken(ctx, tok), storage.ErrAlreadyExists, "CreateToken same kind and signature")
		// The same row with its subject's release version: "u1" is no user here.
		gotV, v, err := s.GetTokenReleaseVersion(ctx, kind, "same-signature")
		must(t, err)
		diff(t, "GetTokenReleaseVersion "+string(kind), got, gotV)
		if v != -1 {
			t.Errorf("GetTokenReleaseVersion %s: version %d for a subject that is no user, want -1", kind, v)
		}
	}
	_, err := s.GetToken(ctx, storage.KindAccessToken, "nope")
	wantErr(t, err, storage.ErrNotFound, "GetToken missing")
	_, _, err = s.GetTokenReleaseVersion(ctx, storage.KindAccessToken, "nope")
	wantErr(t, err, storage.ErrNotFound, "GetTokenReleaseVersion missing")

	must(t, s.DeleteToken(ctx, storage.KindAccessToken, "same-signature"))
	if _, ok := tokenExists(t, s, storage.KindAccessToken, "same-signature"); ok {
		t.Error("access token still there after DeleteToken")
	}
	if _, ok := tokenExists(t, s, storage.KindRefreshToken, "same-signature"); !ok {
		t.Error("DeleteToken removed another kind with the same signature")
	}
	must(t, s.DeleteToken(ctx, storage.KindAccessToken, "same-signature")) // absent: not an error
}

func testDeactivateToken(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	createToken(t, s, newToken(storage.KindAuthorizeCode, "code", "req", "u1", "app"))
	must(t, s.DeactivateToken(ctx, storage.KindAuthorizeCode, "code"))
	got, err := s.GetToken(ctx, storage.KindAuthorizeCode, "code")
	must(t, err) // inactive tokens are still returned
	if got.Active {
		t.Error("token still active after DeactivateToken")
	}
	err = s.DeactivateToken(ctx, storage.KindAuthorizeCode, "code")
	wantErr(t, err, storage.ErrConflict, "second DeactivateToken")
	if errors.Is(err, storage.ErrNotFound) {
		t.Errorf("second DeactivateToken is also ErrNotFound: %v", err)
	}
	wantErr(t, s.DeactivateToken(ctx, storage.KindAuthorizeCode, "nope"), storage.ErrNotFound, "DeactivateToken missing")
	wantErr(t, s.DeactivateToken(ctx, storage.KindAccessToken, "code"), storage.ErrNotFound, "DeactivateToken other kind")
}

func testRotateRefreshToken(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	createToken(t, s, newToken(storage.KindRefreshToken, "refresh", "req", "u1", "app"))
	createToken(t, s, newToken(storage.KindAccessToken, "access-1", "req", "u1", "app"))
	createToken(t, s, newToken(storage.KindAccessToken, "access-2", "req", "u1", "app"))
	createToken(t, s, newToken(storage.KindAccessToken, "other", "req-other", "u1", "app"))

	when := base.Add(time.Minute)
	must(t, s.RotateRefreshToken(ctx, "req", "refresh", when))
	if tok, ok := tokenExists(t, s, storage.KindRefreshToken, "refresh"); !ok || tok.Active {
		t.Errorf("refresh token after rotation: present=%v active=%v, want present and inactive", ok, tok.Active)
	} else if !tok.RotatedAt.Equal(at(time.Minute)) {
		t.Errorf("refresh token after rotation: RotatedAt = %v, want %v", tok.RotatedAt, at(time.Minute))
	}
	for _, sig := range []string{"access-1", "access-2"} {
		if _, ok := tokenExists(t, s, storage.KindAccessToken, sig); ok {
			t.Errorf("access token %s of the request survived rotation", sig)
		}
	}
	if _, ok := tokenExists(t, s, storage.KindAccessToken, "other"); !ok {
		t.Error("rotation deleted another request's access token")
	}
	wantErr(t, s.RotateRefreshToken(ctx, "req", "refresh", when), storage.ErrConflict, "second RotateRefreshToken")
	wantErr(t, s.RotateRefreshToken(ctx, "req", "nope", when), storage.ErrNotFound, "RotateRefreshToken missing")
}

// testRotateRefreshTokenRace: 16 concurrent refreshes of one token, exactly one wins and the
// others see ErrConflict, never another error (which would become a 500).
func testRotateRefreshTokenRace(t *testing.T, s storage.Storage) {
	createToken(t, s, newToken(storage.KindRefreshToken, "refresh", "req", "u1", "app"))
	createToken(t, s, newToken(storage.KindAccessToken, "access", "req", "u1", "app"))
	const n = 16
	errs := concurrently(n, func(int) error { return s.RotateRefreshToken(t.Context(), "req", "refresh", base) })
	wins := 0
	for _, err := range errs {
		switch {
		case err == nil:
			wins++
		case errors.Is(err, storage.ErrConflict):
		default:
			t.Errorf("RotateRefreshToken: unexpected error %v", err)
		}
	}
	if wins != 1 {
		t.Errorf("%d of %d concurrent rotations won, want exactly 1", wins, n)
	}
}

func testRevokeRequest(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	createToken(t, s, newToken(storage.KindRefreshToken, "refresh", "req", "u1", "app"))
	createToken(t, s, newToken(storage.KindAccessToken, "access", "req", "u1", "app"))
	createToken(t, s, newToken(storage.KindAccessToken, "other-access", "req-2", "u1", "app"))
	createToken(t, s, newToken(storage.KindRefreshToken, "other-refresh", "req-2", "u1", "app"))

	must(t, s.RevokeRequest(ctx, storage.KindRefreshToken, "req"))
	if tok, ok := tokenExists(t, s, storage.KindRefreshToken, "refresh"); !ok || tok.Active {
		t.Errorf("refresh token after RevokeRequest: present=%v active=%v, want kept inactive", ok, tok.Active)
	}
	if _, ok := tokenExists(t, s, storage.KindAccessToken, "access"); !ok {
		t.Error("RevokeRequest(refresh) touched an access token")
	}
	must(t, s.RevokeRequest(ctx, storage.KindAccessToken, "req"))
	if _, ok := tokenExists(t, s, storage.KindAccessToken, "access"); ok {
		t.Error("access token survived RevokeRequest")
	}
	must(t, s.RevokeRequest(ctx, storage.KindAccessToken, "req")) // nothing left: not an error
	if tok, ok := tokenExists(t, s, storage.KindRefreshToken, "other-refresh"); !ok || !tok.Active {
		t.Error("RevokeRequest touched another request's refresh token")
	}
	if _, ok := tokenExists(t, s, storage.KindAccessToken, "other-access"); !ok {
		t.Error("RevokeRequest touched another request's access token")
	}
}

func testRevokeSubject(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	seed := func(prefix, subject, client string) {
		req := prefix + "-req"
		createToken(t, s, newToken(storage.KindAuthorizeCode, prefix+"-code", req, subject, client))
		createToken(t, s, newToken(storage.KindPKCE, prefix+"-code", req, subject, client))
		createToken(t, s, newToken(storage.KindOIDC, prefix+"-code", req, subject, client))
		createToken(t, s, newToken(storage.KindAccessToken, prefix+"-access", req, subject, client))
		createToken(t, s, newToken(storage.KindRefreshToken, prefix+"-refresh", req, subject, client))
	}
	seed("a", "u1", "app-a")
	seed("b", "u1", "app-b")
	seed("c", "u2", "app-a")
	ended := func(prefix string) bool {
		t.Helper()
		for _, k := range []storage.TokenKind{storage.KindAuthorizeCode, storage.KindPKCE, storage.KindOIDC} {
			if _, ok := tokenExists(t, s, k, prefix+"-code"); ok {
				return false
			}
		}
		if _, ok := tokenExists(t, s, storage.KindAccessToken, prefix+"-access"); ok {
			return false
		}
		tok, ok := tokenExists(t, s, storage.KindRefreshToken, prefix+"-refresh")
		return ok && !tok.Active // kept, inactive, for reuse detection
	}

	n, err := s.RevokeSubject(ctx, "u1", "app-a")
	must(t, err)
	if n != 3 {
		t.Errorf("RevokeSubject(u1, app-a) = %d, want 3 (code, access, refresh)", n)
	}
	if !ended("a") {
		t.Error("u1's tokens for app-a not all ended")
	}
	if ended("b") || ended("c") {
		t.Error("RevokeSubject with a client ended tokens of another client or subject")
	}

	n, err = s.RevokeSubject(ctx, "u1", "")
	must(t, err)
	if n != 3 {
		t.Errorf("RevokeSubject(u1) = %d, want 3 (app-b's code, access, refresh)", n)
	}
	if !ended("b") {
		t.Error("u1's tokens for app-b not all ended")
	}
	if ended("c") {
		t.Error("RevokeSubject ended another subject's tokens")
	}
	n, err = s.RevokeSubject(ctx, "u1", "")
	must(t, err)
	if n != 0 {
		t.Errorf("RevokeSubject again = %d, want 0", n)
	}
}

func testDeleteExpiredTokens(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	old := newToken(storage.KindAccessToken, "old", "r1", "u1", "app")
	old.ExpiresAt = base.Add(-time.Minute)
	oldRefresh := newToken(storage.KindRefreshToken, "old", "r1", "u1", "app")
	oldRefresh.ExpiresAt, oldRefresh.Active = base.Add(-time.Second), false
	fresh := newToken(storage.KindAccessToken, "fresh", "r2", "u1", "app")
	fresh.ExpiresAt = base.Add(time.Minute)
	createToken(t, s, old)
	createToken(t, s, oldRefresh)
	createToken(t, s, fresh)

	n, err := s.DeleteExpiredTokens(ctx, base)
	must(t, err)
	if n != 2 {
		t.Errorf("DeleteExpiredTokens = %d, want 2", n)
	}
	if _, ok := tokenExists(t, s, storage.KindAccessToken, "fresh"); !ok {
		t.Error("DeleteExpiredTokens removed an unexpired token")
	}
	if _, ok := tokenExists(t, s, storage.KindAccessToken, "old"); ok {
		t.Error("DeleteExpiredTokens kept an expired token")
	}
}

func testTransactions(t *testing.T, s storage.Storage) {
	ctx := t.Context()

	// Commit: visible inside the transaction and after it.
	txCtx, err := s.BeginTx(ctx)
	must(t, err)
	must(t, s.CreateUser(txCtx, newUser("u1", "u1@example.com")))
	if _, err := s.GetUser(txCtx, "u1"); err != nil {
		t.Errorf("GetUser inside the transaction: %v", err)
	}
	if _, err := s.BeginTx(txCtx); err == nil {
		t.Error("BeginTx inside a transaction succeeded, want an error")
	}
	must(t, s.Commit(txCtx))
	if _, err := s.GetUser(ctx, "u1"); err != nil {
		t.Errorf("GetUser after Commit: %v", err)
	}

	// Rollback: gone.
	txCtx, err = s.BeginTx(ctx)
	must(t, err)
	must(t, s.CreateUser(txCtx, newUser("u2", "u2@example.com")))
	must(t, s.Rollback(txCtx))
	_, err = s.GetUser(ctx, "u2")
	wantErr(t, err, storage.ErrNotFound, "GetUser after Rollback")

	if err := s.Commit(ctx); err == nil {
		t.Error("Commit without a transaction succeeded, want an error")
	}
	if err := s.Rollback(ctx); err == nil {
		t.Error("Rollback without a transaction succeeded, want an error")
	}

	// InTx: commits on nil, rolls back on error; nested InTx joins the outer transaction.
	must(t, s.InTx(ctx, func(ctx context.Context) error {
		return s.CreateUser(ctx, newUser("u3", "u3@example.com"))
	}))
	if _, err := s.GetUser(ctx, "u3"); err != nil {
		t.Errorf("GetUser after InTx: %v", err)
	}
	boom := errors.New("boom")
	err = s.InTx(ctx, func(ctx context.Context) error {
		must(t, s.CreateUser(ctx, newUser("u4", "u4@example.com")))
		must(t, s.InTx(ctx, func(ctx context.Context) error {
			return s.CreateUser(ctx, newUser("u5", "u5@example.com"))
		}))
		return boom
	})
	wantErr(t, err, boom, "InTx")
	for _, id := range []string{"u4", "u5"} {
		_, err = s.GetUser(ctx, id)
		wantErr(t, err, storage.ErrNotFound, "GetUser "+id+" after a failed InTx")
	}

	// A failed statement inside InTx rolls the whole transaction back.
	err = s.InTx(ctx, func(ctx context.Context) error {
		must(t, s.CreateUser(ctx, newUser("u6", "u6@example.com")))
		return s.CreateUser(ctx, newUser("u1", "u7@example.com"))
	})
	wantErr(t, err, storage.ErrAlreadyExists, "InTx with a duplicate id")
	_, err = s.GetUser(ctx, "u6")
	wantErr(t, err, storage.ErrNotFound, "GetUser u6 after a failed InTx")
}

// testEveryMethodInTx calls every method inside one transaction, then rolls it back: nothing
// may remain. A method that bypassed the transaction would leave a row behind (and, on
// SQLite, wait on the transaction's write lock until busy_timeout and fail).
func testEveryMethodInTx(t *testing.T, s storage.Storage) {
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	createUser(t, s, "base-user")
	txCtx, err := s.BeginTx(ctx)
	must(t, err)
	step := func(what string, err error) {
		t.Helper()
		if err != nil {
			_ = s.Rollback(txCtx)
			t.Fatalf("%s in a transaction: %v", what, err)
		}
	}
	second := func(_ any, err error) error { return err }

	step("CreateUser", s.CreateUser(txCtx, newUser("u1", "u1@example.com")))
	step("GetUser", second(s.GetUser(txCtx, "u1")))
	step("GetUserByEmail", second(s.GetUserByEmail(txCtx, "u1@example.com")))
	step("ListUsers", second(s.ListUsers(txCtx)))
	step("UpdateUser", s.UpdateUser(txCtx, newUser("base-user", "changed@example.com")))
	step("UsersByEmail", second(s.UsersByEmail(txCtx, "u1@example.com", 3)))
	step("VerifyEmail", second(s.VerifyEmail(txCtx, "u1", "u1@example.com", base)))
	step("DeleteUnverifiedUsers", second(s.DeleteUnverifiedUsers(txCtx, base.Add(-time.Hour))))
	step("PutProfileFields", s.PutProfileFields(txCtx, []storage.ProfileField{{UserID: "u1", Field: "name", Value: "x", UpdatedAt: base}}))
	step("GetProfileFields", second(s.GetProfileFields(txCtx, "u1")))
	step("DeleteProfileField", s.DeleteProfileField(txCtx, "u1", "none"))
	step("CreateClient", s.CreateClient(txCtx, newClient("app")))
	step("GetClient", second(s.GetClient(txCtx, "app")))
	step("ListClients", second(s.ListClients(txCtx)))
	step("UpdateClient", s.UpdateClient(txCtx, newClient("app")))
	step("CreateClient", s.CreateClient(txCtx, newClient("gone")))
	step("DeleteClient", s.DeleteClient(txCtx, "gone"))
	step("CreateToken", s.CreateToken(txCtx, newToken(storage.KindRefreshToken, "r", "req", "u1", "app")))
	step("CreateToken", s.CreateToken(txCtx, newToken(storage.KindAccessToken, "a", "req", "u1", "app")))
	step("CreateToken", s.CreateToken(txCtx, newToken(storage.KindAuthorizeCode, "c", "req", "u1", "app")))
	step("GetToken", second(s.GetToken(txCtx, storage.KindRefreshToken, "r")))
	step("DeactivateToken", s.DeactivateToken(txCtx, storage.KindAuthorizeCode, "c"))
	step("DeleteToken", s.DeleteToken(txCtx, storage.KindAuthorizeCode, "c"))
	step("ActiveRefreshToken", second(s.ActiveRefreshToken(txCtx, "req")))
	step("RotateRefreshToken", s.RotateRefreshToken(txCtx, "req", "r", base))
	step("RevokeRequest", s.RevokeRequest(txCtx, storage.KindRefreshToken, "req"))
	step("ListUserApps", second(s.ListUserApps(txCtx, "u1", base)))
	step("ListUserSessions", second(s.ListUserSessions(txCtx, "u1")))
	step("RevokeSubject", second(s.RevokeSubject(txCtx, "u1", "")))
	step("DeleteExpiredTokens", second(s.DeleteExpiredTokens(txCtx, base)))
	step("CreateSigningKey", s.CreateSigningKey(txCtx, newKey("k1", base), base))
	step("ListSigningKeys", second(s.ListSigningKeys(txCtx)))
	step("CreateSession", s.CreateSession(txCtx, newSession("s1", "u1")))
	step("GetSession", second(s.GetSession(txCtx, "s1")))
	step("TouchSession", s.TouchSession(txCtx, "s1", base))
	step("DeleteSession", s.DeleteSession(txCtx, "none"))
	step("DeleteUserSessions", second(s.DeleteUserSessions(txCtx, "nobody")))
	step("DeleteExpiredSessions", second(s.DeleteExpiredSessions(txCtx, base.Add(-time.Hour), base.Add(-time.Hour))))
	step("PutGrant", s.PutGrant(txCtx, storage.Grant{UserID: "u1", ClientID: "app", CreatedAt: base, UpdatedAt: base}))
	step("GetGrant", second(s.GetGrant(txCtx, "u1", "app")))
	step("ListGrants", second(s.ListGrants(txCtx, "u1")))
	step("PutClaimDeclines", s.PutClaimDeclines(txCtx, "u1", "app", []string{"email"}, base))
	step("GetClaimDeclines", second(s.GetClaimDeclines(txCtx, "u1", "app")))
	step("ListClaimDeclines", second(s.ListClaimDeclines(txCtx, "u1")))
	step("DeleteClaimDeclines", s.DeleteClaimDeclines(txCtx, "u1", "app", []string{"none"}))
	step("DeleteGrant", s.DeleteGrant(txCtx, "nobody", "app"))
	step("PutSettingIfAbsent", second(s.PutSettingIfAbsent(txCtx, "k", "v")))
	step("GetSetting", second(s.GetSetting(txCtx, "k")))
	step("Hit", second(s.Hit(txCtx, "c", base)))
	step("ResetCounter", s.ResetCounter(txCtx, "none"))
	step("TryLease", second(s.TryLease(txCtx, "job", "node", base, time.Minute)))
	step("PutProfileValues", s.PutProfileValues(txCtx, "u1", map[string]string{"nickname": "x"}, base))
	step("FindUserIDByField", second(s.FindUserIDByField(txCtx, "nickname", "x")))
	step("SetPasswordHash", s.SetPasswordHash(txCtx, "u1", "h", base))
	step("CountUserSessions", second(s.CountUserSessions(txCtx, "u1", base, base)))
	step("PutSessionClient", s.PutSessionClient(txCtx, storage.SessionClient{SessionID: "s1", ClientID: "app", SID: "x", CreatedAt: base}))
	step("SessionClients", second(s.SessionClients(txCtx, "s1")))
	step("UserSessionClients", second(s.UserSessionClients(txCtx, "u1")))
	step("EnqueueLogouts", s.EnqueueLogouts(txCtx, []storage.LogoutMessage{{ID: "m1", ClientID: "app", Subject: "u1", NextAttemptAt: base, CreatedAt: base}}))
	step("ClaimLogouts", second(s.ClaimLogouts(txCtx, base, base.Add(time.Minute), 1)))
	step("RetryLogout", s.RetryLogout(txCtx, "m1", base, ""))
	step("GetLogout", second(s.GetLogout(txCtx, "m1")))
	step("FinishLogout", s.FinishLogout(txCtx, "m1", storage.LogoutDelivered, "", base))
	step("DeleteFinishedLogouts", second(s.DeleteFinishedLogouts(txCtx, base)))
	step("CreateLoginMethod", s.CreateLoginMethod(txCtx, newLoginMethod("m", "M")))
	step("GetLoginMethod", second(s.GetLoginMethod(txCtx, "m")))
	step("ListLoginMethods", second(s.ListLoginMethods(txCtx)))
	step("UpdateLoginMethod", s.UpdateLoginMethod(txCtx, newLoginMethod("m", "M2")))
	step("CreateIdentifier", s.CreateIdentifier(txCtx, storage.Identifier{ID: "i1", UserID: "u1", MethodID: "m", Subject: "1", LinkedAt: base, LastUsedAt: base}))
	step("CreateIdentifier", s.CreateIdentifier(txCtx, storage.Identifier{ID: "i2", UserID: "u1", MethodID: "m", Subject: "2", LinkedAt: base, LastUsedAt: base}))
	step("GetIdentifierBySubject", second(s.GetIdentifierBySubject(txCtx, "m", "1")))
	step("ListIdentifiers", second(s.ListIdentifiers(txCtx, "u1")))
	step("TouchIdentifier", s.TouchIdentifier(txCtx, "i1", "", "", "", base))
	step("DeleteIdentifier", s.DeleteIdentifier(txCtx, "u1", "i2"))
	step("DeleteLoginMethod", s.DeleteLoginMethod(txCtx, "m"))
	step("AddLoginFailure", second(s.AddLoginFailure(txCtx, "f", base, base)))
	step("LoginFailures", func() error { _, _, err := s.LoginFailures(txCtx, "f"); return err }())
	step("ResetLoginFailures", s.ResetLoginFailures(txCtx, "f"))
	step("PutTOTP", s.PutTOTP(txCtx, storage.TOTP{UserID: "u1", Secret: []byte("s"), CreatedAt: base}))
	step("GetTOTP", second(s.GetTOTP(txCtx, "u1")))
	step("UseTOTPStep", s.UseTOTPStep(txCtx, "u1", 1))
	step("DeleteTOTP", s.DeleteTOTP(txCtx, "u1"))
	step("ReplaceRecoveryCodes", s.ReplaceRecoveryCodes(txCtx, "u1", [][]byte{[]byte("h")}, base))
	step("UseRecoveryCode", s.UseRecoveryCode(txCtx, "u1", []byte("h"), base))
	step("CountRecoveryCodes", second(s.CountRecoveryCodes(txCtx, "u1")))
	step("DeleteRecoveryCodes", s.DeleteRecoveryCodes(txCtx, "u1"))
	step("CreatePasskey", s.CreatePasskey(txCtx, newPasskey("tx-passkey", "u1", 0x42)))
	step("ListPasskeys", second(s.ListPasskeys(txCtx, "u1")))
	step("GetPasskeyByCredentialID", second(s.GetPasskeyByCredentialID(txCtx, []byte{0x42, 0xfe, 0x01})))
	step("RenamePasskey", s.RenamePasskey(txCtx, "u1", "tx-passkey", "renamed"))
	step("UsePasskey", s.UsePasskey(txCtx, "tx-passkey", 7, 8, 0x1d, true, base))
	step("DeletePasskey", s.DeletePasskey(txCtx, "u1", "tx-passkey"))
	step("PutWebAuthnChallenge", s.PutWebAuthnChallenge(txCtx, storage.WebAuthnChallenge{ID: "tx-challenge", Kind: storage.ChallengeRegister,
		UserID: "u1", Data: []byte("d"), CreatedAt: base, ExpiresAt: base.Add(time.Minute)}))
	step("ConsumeWebAuthnChallenge", second(s.ConsumeWebAuthnChallenge(txCtx, "tx-challenge", storage.ChallengeRegister, base)))
	step("CreateCardIfAbsent", second(s.CreateCardIfAbsent(txCtx, storage.Card{UserID: "u1", Identifier: "tx-card", CreatedAt: base, UpdatedAt: base})))
	step("GetCard", second(s.GetCard(txCtx, "u1")))
	step("GetCardByIdentifier", second(s.GetCardByIdentifier(txCtx, "TX-card")))
	step("UpdateCard", s.UpdateCard(txCtx, storage.Card{UserID: "u1", Identifier: "tx-card-2", Active: true, UpdatedAt: base}))
	step("ListClientAccess", second(s.ListClientAccess(txCtx, "u1")))
	step("SetFeature", s.SetFeature(txCtx, "tx-feature", true, base))
	step("GetFeature", second(s.GetFeature(txCtx, "tx-feature")))
	step("ListFeatures", second(s.ListFeatures(txCtx)))
	step("CreateClient", s.CreateClient(txCtx, catalogClient("listed", "", true, false)))
	step("AddFavorite", s.AddFavorite(txCtx, "u1", "listed", base))
	step("AddFavorite", s.AddFavorite(txCtx, "u1", "listed", base))
	step("CatalogApps", second(s.CatalogApps(txCtx, "u1")))
	step("CatalogApp", second(s.CatalogApp(txCtx, "u1", "listed")))
	step("Favorites", second(s.Favorites(txCtx, "u1")))
	step("ListFavorites", second(s.ListFavorites(txCtx, "u1")))
	step("RemoveFavorite", second(s.RemoveFavorite(txCtx, "u1", "listed")))
	step("MarkDeletion", s.MarkDeletion(txCtx, storage.Deletion{UserID: "u1", RequestedAt: base, PurgeAfter: base}))
	step("GetDeletion", second(s.GetDeletion(txCtx, "u1")))
	step("DueDeletions", second(s.DueDeletions(txCtx, base, 10)))
	step("PurgeUser", s.PurgeUser(txCtx, "u1", base))
	step("IsTombstone", second(s.IsTombstone(txCtx, "u1")))
	step("CreateUser", s.CreateUser(txCtx, newUser("u2", "u2@example.com")))
	step("MarkDeletion", s.MarkDeletion(txCtx, storage.Deletion{UserID: "u2", RequestedAt: base, PurgeAfter: base}))
	step("RestoreUser", s.RestoreUser(txCtx, "u2", base))
	must(t, s.Rollback(txCtx))

	users, err := s.ListUsers(ctx)
	must(t, err)
	if len(users) != 1 || users[0].Email != "base-user@example.com" {
		t.Errorf("users after rollback = %+v, want base-user unchanged", users)
	}
	if l, err := s.ListClients(ctx); err != nil || len(l) != 0 {
		t.Errorf("ListClients after rollback = %v, %v; want none", l, err)
	}
	if _, ok := tokenExists(t, s, storage.KindRefreshToken, "r"); ok {
		t.Error("token survived rollback")
	}
	if l, err := s.ListSigningKeys(ctx); err != nil || len(l) != 0 {
		t.Errorf("ListSigningKeys after rollback = %v, %v; want none", l, err)
	}
	if _, err := s.GetSetting(ctx, "k"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("GetSetting after rollback: %v, want ErrNotFound", err)
	}
	if n, err := s.Hit(ctx, "c", base); err != nil || n != 1 {
		t.Errorf("Hit after rollback = %d, %v; want 1", n, err)
	}
	if ok, err := s.TryLease(ctx, "job", "other", base, time.Minute); err != nil || !ok {
		t.Errorf("TryLease after rollback = %v, %v; want the lease free", ok, err)
	}
}

func newKey(id string, created time.Time) storage.SigningKey {
	return storage.SigningKey{
		ID: id, Algorithm: "RS256", PrivateKey: []byte("encrypted\x00" + id), PublicJWK: []byte(`{"kid":"` + id + `"}`),
		Active: true, CreatedAt: created,
	}
}

func testSigningKeys(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	k1 := newKey("k1", base)
	must(t, s.CreateSigningKey(ctx, k1, base.Add(time.Hour)))
	keys, err := s.ListSigningKeys(ctx)
	must(t, err)
	wantK1 := k1
	wantK1.CreatedAt = at(0)
	diff(t, "ListSigningKeys", []storage.SigningKey{wantK1}, keys)

	// An inactive key does not retire anything.
	k0 := newKey("k0", base.Add(-time.Hour))
	k0.Active = false
	must(t, s.CreateSigningKey(ctx, k0, base))

	k2 := newKey("k2", base.Add(24*time.Hour))
	must(t, s.CreateSigningKey(ctx, k2, base.Add(48*time.Hour)))
	keys, err = s.ListSigningKeys(ctx)
	must(t, err)
	retired, publishUntil := at(24*time.Hour), at(48*time.Hour)
	wantK2 := k2
	wantK2.CreatedAt = at(24 * time.Hour)
	wantK1.Active, wantK1.RetiredAt, wantK1.PublishUntil = false, &retired, &publishUntil
	wantK0 := k0
	wantK0.CreatedAt = at(-time.Hour)
	diff(t, "ListSigningKeys after rotation (newest first)", []storage.SigningKey{wantK2, wantK1, wantK0}, keys)

	wantErr(t, s.CreateSigningKey(ctx, newKey("k2", base), base), storage.ErrAlreadyExists, "CreateSigningKey same id")
	keys, err = s.ListSigningKeys(ctx)
	must(t, err)
	if !keys[0].Active || keys[0].ID != "k2" {
		t.Errorf("a failed CreateSigningKey retired the active key: %+v", keys[0])
	}
}

func newSession(id, user string) storage.Session {
	return storage.Session{
		ID: id, UserID: user, AuthTime: base, CreatedAt: base, LastSeenAt: base,
		ExpiresAt: base.Add(30 * 24 * time.Hour), AMR: []string{"pwd"}, IP: "192.0.2.1", UserAgent: "Firefox",
	}
}

func testSessions(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	createUser(t, s, "u1")
	createUser(t, s, "u2")
	se := newSession("s1", "u1")
	must(t, s.CreateSession(ctx, se))
	got, err := s.GetSession(ctx, "s1")
	must(t, err)
	wantS := se
	wantS.AuthTime, wantS.CreatedAt, wantS.LastSeenAt, wantS.ExpiresAt = at(0), at(0), at(0), at(30*24*time.Hour)
	diff(t, "GetSession", wantS, got)
	wantErr(t, s.CreateSession(ctx, se), storage.ErrAlreadyExists, "CreateSession same id")
	_, err = s.GetSession(ctx, "nope")
	wantErr(t, err, storage.ErrNotFound, "GetSession missing")

	must(t, s.TouchSession(ctx, "s1", base.Add(time.Minute)))
	got, err = s.GetSession(ctx, "s1")
	must(t, err)
	if !got.LastSeenAt.Equal(at(time.Minute)) {
		t.Errorf("LastSeenAt after TouchSession = %v, want %v", got.LastSeenAt, at(time.Minute))
	}
	wantErr(t, s.TouchSession(ctx, "nope", base), storage.ErrNotFound, "TouchSession missing")

	must(t, s.DeleteSession(ctx, "s1"))
	_, err = s.GetSession(ctx, "s1")
	wantErr(t, err, storage.ErrNotFound, "GetSession after DeleteSession")
	must(t, s.DeleteSession(ctx, "s1")) // absent: not an error

	for _, id := range []string{"a", "b", "c"} {
		must(t, s.CreateSession(ctx, newSession(id, "u1")))
	}
	must(t, s.CreateSession(ctx, newSession("other", "u2")))
	n, err := s.DeleteUserSessions(ctx, "u1")
	must(t, err)
	if n != 3 {
		t.Errorf("DeleteUserSessions = %d, want 3", n)
	}
	if _, err := s.GetSession(ctx, "other"); err != nil {
		t.Errorf("DeleteUserSessions removed another user's session: %v", err)
	}

	// Expiry: idle since before idleBefore, or past the absolute expiry at now.
	idle := newSession("idle", "u1")
	idle.LastSeenAt = base.Add(-2 * time.Hour)
	absolute := newSession("absolute", "u1")
	absolute.ExpiresAt = base
	live := newSession("live", "u1")
	for _, x := range []storage.Session{idle, absolute, live} {
		must(t, s.CreateSession(ctx, x))
	}
	n, err = s.DeleteExpiredSessions(ctx, base.Add(-time.Hour), base)
	must(t, err)
	if n != 2 {
		t.Errorf("DeleteExpiredSessions = %d, want 2 (idle, absolute)", n)
	}
	for id, want := range map[string]bool{"idle": false, "absolute": false, "live": true, "other": true} {
		_, err := s.GetSession(ctx, id)
		if got := err == nil; got != want {
			t.Errorf("session %s present = %v after DeleteExpiredSessions, want %v (err %v)", id, got, want, err)
		}
	}
}

func testGrants(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	createUser(t, s, "u1")
	createUser(t, s, "u2")
	for _, id := range []string{"app-a", "app-b"} {
		must(t, s.CreateClient(ctx, newClient(id)))
	}
	_, err := s.GetGrant(ctx, "u1", "app-a")
	wantErr(t, err, storage.ErrNotFound, "GetGrant missing")

	g := storage.Grant{UserID: "u1", ClientID: "app-a", Scopes: []string{"openid", "profile"},
		Claims: []string{"given_name"}, CreatedAt: base, UpdatedAt: base}
	must(t, s.PutGrant(ctx, g))
	g.Scopes, g.Claims = []string{"openid", "profile", "email"}, []string{"given_name", "email"}
	g.CreatedAt, g.UpdatedAt = base.Add(time.Hour), base.Add(time.Hour)
	must(t, s.PutGrant(ctx, g))
	got, err := s.GetGrant(ctx, "u1", "app-a")
	must(t, err)
	wantG := g
	wantG.CreatedAt, wantG.UpdatedAt = at(0), at(time.Hour) // CreatedAt stays the first one
	diff(t, "GetGrant after two PutGrant", wantG, got)

	must(t, s.PutGrant(ctx, storage.Grant{UserID: "u1", ClientID: "app-b", CreatedAt: base, UpdatedAt: base}))
	must(t, s.PutGrant(ctx, storage.Grant{UserID: "u2", ClientID: "app-a", CreatedAt: base, UpdatedAt: base}))
	list, err := s.ListGrants(ctx, "u1")
	must(t, err)
	if len(list) != 2 || list[0].ClientID != "app-a" || list[1].ClientID != "app-b" || list[1].Scopes != nil {
		t.Errorf("ListGrants(u1) = %+v, want app-a, app-b (no scopes)", list)
	}
	must(t, s.DeleteGrant(ctx, "u1", "app-a"))
	_, err = s.GetGrant(ctx, "u1", "app-a")
	wantErr(t, err, storage.ErrNotFound, "GetGrant after DeleteGrant")
	must(t, s.DeleteGrant(ctx, "u1", "app-a")) // absent: not an error
	if _, err := s.GetGrant(ctx, "u2", "app-a"); err != nil {
		t.Errorf("DeleteGrant removed another user's grant: %v", err)
	}
}

// testClaimDeclines: declines are kept per (user, client, claim), listed per client, forgotten
// one by one, belong to the grant (none without it; DeleteGrant and DeleteClient forget them)
// and to their user (another user's are untouched).
func testClaimDeclines(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	createUser(t, s, "u1")
	createUser(t, s, "u2")
	for _, id := range []string{"app-a", "app-b"} {
		must(t, s.CreateClient(ctx, newClient(id)))
	}
	wantErr(t, s.PutClaimDeclines(ctx, "u1", "app-a", []string{"email"}, base), storage.ErrNotFound, "PutClaimDeclines without a grant")
	for _, g := range []storage.Grant{
		{UserID: "u1", ClientID: "app-a", Scopes: []string{"openid"}, Claims: []string{"given_name"}, CreatedAt: base, UpdatedAt: base},
		{UserID: "u1", ClientID: "app-b", Scopes: []string{"openid"}, CreatedAt: base, UpdatedAt: base},
		{UserID: "u2", ClientID: "app-a", Scopes: []string{"openid"}, CreatedAt: base, UpdatedAt: base},
	} {
		must(t, s.PutGrant(ctx, g))
	}
	got, err := s.GetClaimDeclines(ctx, "u1", "app-a")
	must(t, err)
	if got != nil {
		t.Errorf("GetClaimDeclines before any = %+v, want nil", got)
	}
	must(t, s.PutClaimDeclines(ctx, "u1", "app-a", []string{"phone_number", "email"}, base))
	must(t, s.PutClaimDeclines(ctx, "u1", "app-a", []string{"email"}, base.Add(time.Hour))) // again: one row, the later time
	must(t, s.PutClaimDeclines(ctx, "u1", "app-b", []string{"birthdate"}, base))
	must(t, s.PutClaimDeclines(ctx, "u2", "app-a", []string{"email"}, base))
	got, err = s.GetClaimDeclines(ctx, "u1", "app-a")
	must(t, err)
	diff(t, "GetClaimDeclines", []storage.ClaimDecline{
		{UserID: "u1", ClientID: "app-a", Claim: "email", DeclinedAt: at(time.Hour)},
		{UserID: "u1", ClientID: "app-a", Claim: "phone_number", DeclinedAt: at(0)},
	}, got)
	list, err := s.ListClaimDeclines(ctx, "u1")
	must(t, err)
	diff(t, "ListClaimDeclines", []storage.ClaimDecline{
		{UserID: "u1", ClientID: "app-a", Claim: "email", DeclinedAt: at(time.Hour)},
		{UserID: "u1", ClientID: "app-a", Claim: "phone_number", DeclinedAt: at(0)},
		{UserID: "u1", ClientID: "app-b", Claim: "birthdate", DeclinedAt: at(0)},
	}, list)

	// A grant update keeps the declines; forgetting one leaves the others.
	must(t, s.PutGrant(ctx, storage.Grant{UserID: "u1", ClientID: "app-a", Scopes: []string{"openid", "email"}, CreatedAt: base, UpdatedAt: base.Add(time.Hour)}))
	must(t, s.DeleteClaimDeclines(ctx, "u1", "app-a", []string{"email", "never-declined"}))
	got, err = s.GetClaimDeclines(ctx, "u1", "app-a")
	must(t, err)
	if len(got) != 1 || got[0].Claim != "phone_number" {
		t.Errorf("GetClaimDeclines after forgetting email = %+v, want phone_number", got)
	}

	// Revoking the permission forgets its declines, and only those.
	must(t, s.DeleteGrant(ctx, "u1", "app-a"))
	if got, err = s.GetClaimDeclines(ctx, "u1", "app-a"); err != nil || got != nil {
		t.Errorf("GetClaimDeclines after DeleteGrant = %+v, %v; want none", got, err)
	}
	if got, err = s.GetClaimDeclines(ctx, "u2", "app-a"); err != nil || len(got) != 1 {
		t.Errorf("another user's declines after DeleteGrant = %+v, %v; want email", got, err)
	}
	must(t, s.DeleteClient(ctx, "app-b"))
	if list, err = s.ListClaimDeclines(ctx, "u1"); err != nil || list != nil {
		t.Errorf("ListClaimDeclines after DeleteClient = %+v, %v; want none", list, err)
	}
}

func testSettings(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	_, err := s.GetSetting(ctx, "secret")
	wantErr(t, err, storage.ErrNotFound, "GetSetting missing")

	// Several nodes starting at once: the first writer wins and all agree.
	const n = 8
	got := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			got[i], errs[i] = s.PutSettingIfAbsent(t.Context(), "secret", fmt.Sprintf("value-%d", i))
		})
	}
	close(start)
	wg.Wait()
	for i := range n {
		must(t, errs[i])
		if got[i] != got[0] {
			t.Fatalf("PutSettingIfAbsent returned %q and %q, want one value for all", got[0], got[i])
		}
	}
	v, err := s.GetSetting(ctx, "secret")
	must(t, err)
	if v != got[0] {
		t.Errorf("GetSetting = %q, want the winner %q", v, got[0])
	}
	v, err = s.PutSettingIfAbsent(ctx, "secret", "late")
	must(t, err)
	if v != got[0] {
		t.Errorf("PutSettingIfAbsent on a set key = %q, want %q", v, got[0])
	}
}

func testCounters(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	hit := func(key string, window time.Time, want int) {
		t.Helper()
		got, err := s.Hit(ctx, key, window)
		must(t, err)
		if got != want {
			t.Errorf("Hit(%s, %v) = %d, want %d", key, window, got, want)
		}
	}
	w1, w2 := base, base.Add(time.Minute)
	hit("login:ann", w1, 1)
	hit("login:ann", w1, 2)
	hit("login:ann", w1, 3)
	hit("login:bob", w1, 1)
	hit("login:ann", w2, 1) // a new window resets
	hit("login:ann", w2, 2)
	hit("login:ann", w1, 3) // a lagging node's hit counts in the current window
	must(t, s.ResetCounter(ctx, "login:ann"))
	hit("login:ann", w2, 1)
	must(t, s.ResetCounter(ctx, "never-hit"))

	// Concurrent hits are all counted.
	const n = 16
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			if _, err := s.Hit(t.Context(), "burst", w1); err != nil {
				t.Errorf("Hit: %v", err)
			}
		})
	}
	wg.Wait()
	hit("burst", w1, n+1)
}

func testLeases(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	try := func(holder string, now time.Time, want bool) {
		t.Helper()
		got, err := s.TryLease(ctx, "purge", holder, now, time.Minute)
		must(t, err)
		if got != want {
			t.Errorf("TryLease(%s, %v) = %v, want %v", holder, now, got, want)
		}
	}
	try("a", base, true)
	try("b", base.Add(30*time.Second), false)
	try("a", base.Add(30*time.Second), true) // renew: now held until +90s
	try("b", base.Add(80*time.Second), false)
	try("b", base.Add(90*time.Second), true) // expired
	try("a", base.Add(100*time.Second), false)
	ok, err := s.TryLease(ctx, "other-job", "a", base.Add(100*time.Second), time.Minute)
	must(t, err)
	if !ok {
		t.Error("TryLease of another name was refused")
	}

	// Of several nodes racing for a free lease, exactly one gets it.
	const n = 8
	wins := make([]bool, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			ok, err := s.TryLease(t.Context(), "race", fmt.Sprintf("node-%d", i), base, time.Minute)
			if err != nil {
				t.Errorf("TryLease: %v", err)
			}
			wins[i] = ok
		})
	}
	close(start)
	wg.Wait()
	count := 0
	for _, w := range wins {
		if w {
			count++
		}
	}
	if count != 1 {
		t.Errorf("%d of %d racing nodes got the lease, want 1", count, n)
	}
}
