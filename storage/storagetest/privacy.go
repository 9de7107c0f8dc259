package storagetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/facetid/facet/storage"
)

// testPrivacy: field levels set alone (value kept), the private-profile switch (off by default, per user, unknown user is
// ErrNotFound) and the disclosure record (one line per user, client and claim set; the
// earliest first_at, the latest last_at, counts added; claim order does not matter; all of it
// inside a transaction too).
func testPrivacy(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	createUser(t, s, "u1")
	createUser(t, s, "u2")

	on, err := s.GetPrivateProfile(ctx, "u1")
	must(t, err)
	if on {
		t.Fatal("private profile of a new user is on")
	}
	must(t, s.SetPrivateProfile(ctx, "u1", true, base))
	for id, want := range map[string]bool{"u1": true, "u2": false} {
		on, err := s.GetPrivateProfile(ctx, id)
		must(t, err)
		if on != want {
			t.Errorf("GetPrivateProfile(%s) = %v, want %v", id, on, want)
		}
	}
	must(t, s.SetPrivateProfile(ctx, "u1", false, base.Add(time.Minute)))
	if on, _ := s.GetPrivateProfile(ctx, "u1"); on {
		t.Error("private profile still on after switching it off")
	}
	wantErr(t, s.SetPrivateProfile(ctx, "nobody", true, base), storage.ErrNotFound, "SetPrivateProfile unknown user")

	// Field levels: only the privacy column changes; a field without a row gets one.
	must(t, s.PutProfileFields(ctx, []storage.ProfileField{{UserID: "u1", Field: "given_name", Value: "Ann", Privacy: "", UpdatedAt: base}}))
	must(t, s.SetFieldPrivacy(ctx, "u1", "given_name", "public", base.Add(time.Hour)))
	must(t, s.SetFieldPrivacy(ctx, "u1", "email", "private", base.Add(time.Hour)))
	fields, err := s.GetProfileFields(ctx, "u1")
	must(t, err)
	diff(t, "GetProfileFields after SetFieldPrivacy", []storage.ProfileField{
		{UserID: "u1", Field: "email", Value: "", Privacy: "private", UpdatedAt: at(time.Hour)},
		{UserID: "u1", Field: "given_name", Value: "Ann", Privacy: "public", UpdatedAt: at(0)},
	}, fields)
	wantErr(t, s.SetFieldPrivacy(ctx, "nobody", "email", "public", base), storage.ErrNotFound, "SetFieldPrivacy unknown user")

	list, err := s.ListDisclosures(ctx, "u1")
	must(t, err)
	if list != nil {
		t.Fatalf("ListDisclosures of a new user = %v, want nil", list)
	}
	must(t, s.RecordDisclosures(ctx, nil))
	must(t, s.RecordDisclosures(ctx, []storage.Disclosure{
		{UserID: "u1", ClientID: "app", Claims: []string{"sub", "email"}, FirstAt: base, LastAt: base},
		{UserID: "u1", ClientID: "app", Claims: []string{"sub"}, FirstAt: base, LastAt: base},
		{UserID: "u1", ClientID: "other", Claims: []string{"sub"}, FirstAt: base.Add(time.Minute)},
		{UserID: "u2", ClientID: "app", Claims: []string{"sub"}, FirstAt: base},
	}))
	// The same set in another order, later and earlier: one line.
	must(t, s.InTx(ctx, func(ctx context.Context) error {
		return s.RecordDisclosures(ctx, []storage.Disclosure{
			{UserID: "u1", ClientID: "app", Claims: []string{"email", "sub"}, FirstAt: base.Add(2 * time.Hour), LastAt: base.Add(2 * time.Hour), Count: 3},
			{UserID: "u1", ClientID: "app", Claims: []string{"email", "sub", "sub"}, FirstAt: base.Add(-time.Hour), LastAt: base.Add(-time.Hour)},
		})
	}))
	list, err = s.ListDisclosures(ctx, "u1")
	must(t, err)
	diff(t, "ListDisclosures", []storage.Disclosure{
		{UserID: "u1", ClientID: "app", Claims: []string{"email", "sub"}, FirstAt: at(-time.Hour), LastAt: at(2 * time.Hour), Count: 5},
		{UserID: "u1", ClientID: "other", Claims: []string{"sub"}, FirstAt: at(time.Minute), LastAt: at(time.Minute), Count: 1},
		{UserID: "u1", ClientID: "app", Claims: []string{"sub"}, FirstAt: at(0), LastAt: at(0), Count: 1},
	}, list)
	for _, d := range list {
		if d.LastAt.Location() != time.UTC {
			t.Errorf("LastAt location = %v, want UTC", d.LastAt.Location())
		}
	}
	list, err = s.ListDisclosures(ctx, "u2")
	must(t, err)
	if len(list) != 1 || list[0].ClientID != "app" {
		t.Errorf("ListDisclosures(u2) = %+v, want its own line only", list)
	}
}

// testReleaseData: GetReleaseData returns exactly what GetUser, GetProfileFields,
// GetPrivateProfile and GetGrant return (zero grant when none or clientID ""), from current
// data; ErrNotFound for an unknown user.
func testReleaseData(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	createUser(t, s, "u1")
	createUser(t, s, "u2")
	must(t, s.CreateClient(ctx, newClient("app")))
	must(t, s.CreateClient(ctx, newClient("other")))
	must(t, s.PutProfileFields(ctx, []storage.ProfileField{
		{UserID: "u1", Field: "given_name", Value: "Ann", Privacy: "public", UpdatedAt: base},
		{UserID: "u1", Field: "birthdate", Value: "1990-01-02", Privacy: "", UpdatedAt: base.Add(time.Hour)},
		{UserID: "u2", Field: "given_name", Value: "Bob", Privacy: "public", UpdatedAt: base},
	}))
	must(t, s.PutGrant(ctx, storage.Grant{UserID: "u1", ClientID: "app", Scopes: []string{"openid", "profile"},
		Claims: []string{"given_name"}, CreatedAt: base, UpdatedAt: base.Add(time.Minute)}))
	must(t, s.SetPrivateProfile(ctx, "u1", true, base))

	check := func(userID, clientID string) {
		t.Helper()
		got, err := s.GetReleaseData(ctx, userID, clientID)
		must(t, err)
		var want storage.ReleaseData
		want.User, err = s.GetUser(ctx, userID)
		must(t, err)
		want.Fields, err = s.GetProfileFields(ctx, userID)
		must(t, err)
		want.PrivateProfile, err = s.GetPrivateProfile(ctx, userID)
		must(t, err)
		if clientID != "" {
			if want.Grant, err = s.GetGrant(ctx, userID, clientID); errors.Is(err, storage.ErrNotFound) {
				want.Grant = storage.Grant{}
			} else {
				must(t, err)
			}
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("GetReleaseData(%s, %q) (-want +got):\n%s", userID, clientID, diff)
		}
	}
	check("u1", "app")
	check("u1", "other") // no grant
	check("u1", "")
	check("u2", "app") // no fields of u1, no grant, switch off
	createUser(t, s, "u3")
	check("u3", "app") // no fields at all
	if d, _ := s.GetReleaseData(ctx, "u1", "app"); len(d.Fields) != 2 || !d.PrivateProfile || d.Grant.ClientID != "app" {
		t.Errorf("GetReleaseData(u1, app) = %+v", d)
	}
	// Current data: a change shows at once.
	must(t, s.SetPrivateProfile(ctx, "u1", false, base.Add(time.Hour)))
	check("u1", "app")
	_, err := s.GetReleaseData(ctx, "nobody", "app")
	wantErr(t, err, storage.ErrNotFound, "GetReleaseData unknown user")

	releaseChanges(t, s, s)
}

// RunNodes runs the cases that need two stores on one database, as two nodes sharing one
// PostgreSQL (or two processes one SQLite file) have: open returns two fresh, migrated stores
// on one new, empty database (and closes them at the test's cleanup).
func RunNodes(t *testing.T, open func(t *testing.T) (first, second storage.Storage)) {
	cases := []struct {
		name string
		fn   func(t *testing.T, a, b storage.Storage)
	}{
		{"ReleaseData", releaseChanges},
		{"ReleaseDataRace", releaseRace},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			a, b := open(t)
			c.fn(t, a, b)
		})
	}
}

// releaseChanges: GetReleaseData returns current data on every store right after each kind
// of change of its inputs made through either store — a field's level, value, insertion and
// deletion (a verified phone number is a field too), the private-profile switch, a grant
// inserted, widened, deleted and removed with its client, and every column of the user
// (email, email_verified, status, password hash, admin). Before each change both stores have
// just read the data, so a store that keeps release data must notice the change made
// elsewhere. A change rolled back never shows, also after a later change (a store that kept
// data read inside the transaction would serve the rolled-back value), and inside a
// transaction GetReleaseData sees the transaction's own changes. a and b may be one store.
func releaseChanges(t *testing.T, a, b storage.Storage) {
	ctx := t.Context()
	createUser(t, a, "r1")
	createUser(t, a, "r2")
	must(t, a.CreateClient(ctx, newClient("rapp")))
	must(t, a.CreateClient(ctx, newClient("rother")))
	must(t, a.PutProfileFields(ctx, []storage.ProfileField{
		{UserID: "r1", Field: "given_name", Value: "Ann", Privacy: "public", UpdatedAt: base},
		{UserID: "r1", Field: "nickname", Value: "annie", Privacy: "on_request", UpdatedAt: base},
		{UserID: "r2", Field: "given_name", Value: "Bob", Privacy: "public", UpdatedAt: base},
	}))
	nodes := []storage.Storage{a, b}
	clients := []string{"rapp", "rother", ""}
	// An access token per user: GetTokenReleaseVersion reads the version GetReleaseDataAt
	// checks its cached data against (userinfo's path).
	for _, u := range []string{"r1", "r2"} {
		createToken(t, a, newToken(storage.KindAccessToken, "at-"+u, "req-"+u, u, "rapp"))
	}

	// current reads the data with the plain getters (from a: both see one database).
	current := func(userID, clientID string) storage.ReleaseData {
		t.Helper()
		var (
			d   storage.ReleaseData
			err error
		)
		d.User, err = a.GetUser(ctx, userID)
		must(t, err)
		d.Fields, err = a.GetProfileFields(ctx, userID)
		must(t, err)
		d.PrivateProfile, err = a.GetPrivateProfile(ctx, userID)
		must(t, err)
		if clientID != "" {
			if d.Grant, err = a.GetGrant(ctx, userID, clientID); errors.Is(err, storage.ErrNotFound) {
				d.Grant = storage.Grant{}
			} else {
				must(t, err)
			}
		}
		return d
	}
	// read reads the data of r1 for every client through every store.
	read := func() map[string]storage.ReleaseData {
		t.Helper()
		out := map[string]storage.ReleaseData{}
		for i, n := range nodes {
			for _, c := range clients {
				d, err := n.GetReleaseData(ctx, "r1", c)
				must(t, err)
				out[fmt.Sprintf("store %d, client %q", i+1, c)] = d
			}
		}
		return out
	}
	// check compares every store's GetReleaseData of r1 (and of r2, untouched) with current.
	check := func(what string) {
		t.Helper()
		for i, n := range nodes {
			for _, c := range clients {
				for _, u := range []string{"r1", "r2"} {
					// userinfo's path first, while the store may still hold data from
					// before the change.
					_, v, err := n.GetTokenReleaseVersion(ctx, storage.KindAccessToken, "at-"+u)
					must(t, err)
					got, err := n.GetReleaseDataAt(ctx, u, c, v)
					must(t, err)
					if d := cmp.Diff(current(u, c), got); d != "" {
						t.Errorf("after %s: store %d: GetReleaseDataAt(%s, %q, %d) (-current +got):\n%s", what, i+1, u, c, v, d)
					}
					got, err = n.GetReleaseData(ctx, u, c)
					must(t, err)
					if d := cmp.Diff(current(u, c), got); d != "" {
						t.Errorf("after %s: store %d: GetReleaseData(%s, %q) (-current +got):\n%s", what, i+1, u, c, d)
					}
				}
			}
		}
	}
	minute := 0
	next := func() time.Time { minute++; return base.Add(time.Duration(minute) * time.Minute) }
	user := func() storage.User {
		t.Helper()
		u, err := a.GetUser(ctx, "r1")
		must(t, err)
		return u
	}

	steps := []struct {
		what   string
		change func(s storage.Storage) error
	}{
		{"SetFieldPrivacy", func(s storage.Storage) error {
			return s.SetFieldPrivacy(ctx, "r1", "given_name", "on_request", next())
		}},
		{"SetFieldPrivacy of a field without a row", func(s storage.Storage) error {
			return s.SetFieldPrivacy(ctx, "r1", "birthdate", "public", next())
		}},
		{"PutProfileFields (a value)", func(s storage.Storage) error {
			return s.PutProfileFields(ctx, []storage.ProfileField{{UserID: "r1", Field: "given_name", Value: "Anna", Privacy: "public", UpdatedAt: next()}})
		}},
		{"PutProfileFields (a verified phone number)", func(s storage.Storage) error {
			return s.PutProfileFields(ctx, []storage.ProfileField{{UserID: "r1", Field: "phone_number", Value: "+15555550100", Privacy: "public", UpdatedAt: next()}})
		}},
		{"PutProfileValues (new field)", func(s storage.Storage) error {
			return s.PutProfileValues(ctx, "r1", map[string]string{"family_name": "Smith"}, next())
		}},
		{"PutProfileValues (changed value)", func(s storage.Storage) error {
			return s.PutProfileValues(ctx, "r1", map[string]string{"family_name": "Smyth", "nickname": "an"}, next())
		}},
		{"DeleteProfileField", func(s storage.Storage) error {
			return s.DeleteProfileField(ctx, "r1", "phone_number")
		}},
		{"SetPrivateProfile on", func(s storage.Storage) error {
			return s.SetPrivateProfile(ctx, "r1", true, next())
		}},
		{"SetPrivateProfile off", func(s storage.Storage) error {
			return s.SetPrivateProfile(ctx, "r1", false, next())
		}},
		{"PutGrant (new)", func(s storage.Storage) error {
			at := next()
			return s.PutGrant(ctx, storage.Grant{UserID: "r1", ClientID: "rapp", Scopes: []string{"openid"}, CreatedAt: at, UpdatedAt: at})
		}},
		{"PutGrant (more claims)", func(s storage.Storage) error {
			g, err := s.GetGrant(ctx, "r1", "rapp")
			if err != nil {
				return err
			}
			g.Scopes, g.Claims, g.UpdatedAt = []string{"openid", "profile"}, []string{"nickname"}, next()
			return s.PutGrant(ctx, g)
		}},
		{"DeleteGrant", func(s storage.Storage) error {
			return s.DeleteGrant(ctx, "r1", "rapp")
		}},
		{"PutGrant (other client)", func(s storage.Storage) error {
			at := next()
			return s.PutGrant(ctx, storage.Grant{UserID: "r1", ClientID: "rother", Scopes: []string{"openid"}, Claims: []string{"nickname"}, CreatedAt: at, UpdatedAt: at})
		}},
		{"DeleteClient (its grants go with it)", func(s storage.Storage) error {
			return s.DeleteClient(ctx, "rother")
		}},
		{"UpdateUser (email)", func(s storage.Storage) error {
			u := user()
			u.Email, u.EmailVerified, u.UpdatedAt = "ann@example.net", true, next()
			return s.UpdateUser(ctx, u)
		}},
		{"UpdateUser (email deleted)", func(s storage.Storage) error {
			u := user()
			u.Email, u.EmailVerified = "", false
			return s.UpdateUser(ctx, u) // updated_at kept: only the email changes
		}},
		{"UpdateUser (admin)", func(s storage.Storage) error {
			u := user()
			u.Admin = true
			return s.UpdateUser(ctx, u)
		}},
		{"UpdateUser (status)", func(s storage.Storage) error {
			u := user()
			u.Status, u.UpdatedAt = storage.UserPendingDeletion, next()
			return s.UpdateUser(ctx, u)
		}},
		{"UpdateUser (status back)", func(s storage.Storage) error {
			u := user()
			u.Status = storage.UserActive
			return s.UpdateUser(ctx, u)
		}},
		{"SetPasswordHash", func(s storage.Storage) error {
			return s.SetPasswordHash(ctx, "r1", "$argon2id$v=19$m=19456,t=2,p=1$c2FsdDI$aGFzaDI", next())
		}},
		{"PutProfileValues in a transaction with GetReleaseData", func(s storage.Storage) error {
			return s.InTx(ctx, func(ctx context.Context) error {
				if err := s.PutProfileValues(ctx, "r1", map[string]string{"nickname": "in tx"}, next()); err != nil {
					return err
				}
				d, err := s.GetReleaseData(ctx, "r1", "rapp")
				if err != nil {
					return err
				}
				if f := fieldValue(d.Fields, "nickname"); f != "in tx" {
					t.Errorf("GetReleaseData inside the transaction: nickname = %q, want its own change %q", f, "in tx")
				}
				return nil
			})
		}},
	}
	errRollback := errors.New("roll back")
	for i, st := range steps {
		// Alternate the writer: a change through either store shows on both.
		writer := nodes[i%2]
		before := read()
		must(t, st.change(writer))
		if cmp.Equal(before["store 1, client \"rapp\""], current("r1", "rapp")) &&
			cmp.Equal(before["store 1, client \"rother\""], current("r1", "rother")) {
			t.Fatalf("%s: the release data did not change; the step tests nothing", st.what)
		}
		check(st.what)

		// A change rolled back (read inside its transaction) never shows, not even once a
		// later change brings the user to the version the rolled-back one had. No read in
		// between: it would replace what a faulty store kept inside the transaction.
		err := writer.InTx(ctx, func(ctx context.Context) error {
			if err := writer.PutProfileValues(ctx, "r1", map[string]string{"nickname": "rolled back"}, next()); err != nil {
				return err
			}
			if _, err := writer.GetReleaseData(ctx, "r1", "rapp"); err != nil {
				return err
			}
			return errRollback
		})
		wantErr(t, err, errRollback, "transaction")
		must(t, writer.PutProfileValues(ctx, "r1", map[string]string{"nickname": fmt.Sprint("after ", i)}, next()))
		check(st.what + ", then a change rolled back and another one")
	}
}

// releaseRace: while readers call GetReleaseData on both stores without pause, a writer
// changes a field through one store, again and again; right after each change returns, both
// stores return the new value. A store that kept data read before a change under a version
// read after it would serve the old value here.
func releaseRace(t *testing.T, a, b storage.Storage) {
	ctx := t.Context()
	createUser(t, a, "r1")
	must(t, a.CreateClient(ctx, newClient("rapp")))
	must(t, a.PutProfileValues(ctx, "r1", map[string]string{"nickname": "start", "given_name": "Ann"}, base))
	nodes := []storage.Storage{a, b}
	done := make(chan struct{})
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			n := nodes[i%2]
			for {
				select {
				case <-done:
					return
				default:
				}
				if _, err := n.GetReleaseData(ctx, "r1", "rapp"); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	defer func() {
		close(done)
		wg.Wait()
	}()
	for i := range 100 {
		want := fmt.Sprint("n", i)
		must(t, nodes[i%2].PutProfileValues(ctx, "r1", map[string]string{"nickname": want}, base.Add(time.Duration(i)*time.Second)))
		for j, n := range nodes {
			d, err := n.GetReleaseData(ctx, "r1", "rapp")
			must(t, err)
			if got := fieldValue(d.Fields, "nickname"); got != want {
				t.Fatalf("change %d: store %d returned nickname %q right after it was set to %q", i, j+1, got, want)
			}
		}
	}
}

// fieldValue returns the value of field in fields, "" when absent.
func fieldValue(fields []storage.ProfileField, field string) string {
	for _, f := range fields {
		if f.Field == field {
			return f.Value
		}
	}
	return ""
}
