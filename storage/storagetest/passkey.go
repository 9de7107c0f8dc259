package storagetest

import (
	"bytes"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/facetid/facet/storage"
)

func newPasskey(id, userID string, credID byte) storage.Passkey {
	return storage.Passkey{
		ID: id, UserID: userID, CredentialID: []byte{credID, 0xfe, 0x01}, PublicKey: []byte("cose-key-" + id),
		SignCount: 7, AAGUID: bytes.Repeat([]byte{0xaa}, 16), Transports: []string{"internal", "hybrid"},
		AttestationType: "none", Flags: 0x5d, BackupEligible: true, BackupState: true, Name: "Key " + id, CreatedAt: base,
	}
}

// testPasskeys: a passkey round-trips every field; its credential id is unique across
// accounts; rename and delete are the owner's only (another user's id is ErrNotFound); the
// counter moves only from the value read (compare and set), one winner among 16; the rows go
// with their user.
func testPasskeys(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	createUser(t, s, "u1")
	createUser(t, s, "u2")
	if l, err := s.ListPasskeys(ctx, "u1"); err != nil || l == nil || len(l) != 0 {
		t.Fatalf("ListPasskeys of none = %#v, %v; want an empty list", l, err)
	}
	p1 := newPasskey("p1", "u1", 1)
	must(t, s.CreatePasskey(ctx, p1))
	p2 := newPasskey("p2", "u1", 2)
	p2.CreatedAt, p2.Transports, p2.AAGUID, p2.BackupEligible, p2.BackupState, p2.SignCount = base.Add(time.Minute), nil, nil, false, false, 0
	must(t, s.CreatePasskey(ctx, p2))
	dup := newPasskey("p3", "u2", 1)
	wantErr(t, s.CreatePasskey(ctx, dup), storage.ErrAlreadyExists, "CreatePasskey with a taken credential id")
	wantErr(t, s.CreatePasskey(ctx, newPasskey("p1", "u2", 9)), storage.ErrAlreadyExists, "CreatePasskey with a taken id")
	want1 := p1
	want1.CreatedAt = at(0)
	want2 := p2
	want2.CreatedAt, want2.Transports, want2.AAGUID = at(time.Minute), []string{}, []byte{}
	l, err := s.ListPasskeys(ctx, "u1")
	must(t, err)
	diff(t, "ListPasskeys", []storage.Passkey{want1, want2}, l)
	got, err := s.GetPasskeyByCredentialID(ctx, []byte{1, 0xfe, 0x01})
	must(t, err)
	diff(t, "GetPasskeyByCredentialID", want1, got)
	_, err = s.GetPasskeyByCredentialID(ctx, []byte{9})
	wantErr(t, err, storage.ErrNotFound, "GetPasskeyByCredentialID of an unknown id")

	wantErr(t, s.RenamePasskey(ctx, "u2", "p1", "stolen"), storage.ErrNotFound, "RenamePasskey of another user's")
	wantErr(t, s.DeletePasskey(ctx, "u2", "p1"), storage.ErrNotFound, "DeletePasskey of another user's")
	must(t, s.RenamePasskey(ctx, "u1", "p1", "Laptop"))

	used := base.Add(time.Hour)
	must(t, s.UsePasskey(ctx, "p1", 7, 8, 0x1d, false, used))
	wantErr(t, s.UsePasskey(ctx, "p1", 7, 9, 0x1d, false, used), storage.ErrConflict, "UsePasskey from a stale counter")
	wantErr(t, s.UsePasskey(ctx, "gone", 0, 1, 0, false, used), storage.ErrNotFound, "UsePasskey of an unknown passkey")
	got, err = s.GetPasskeyByCredentialID(ctx, p1.CredentialID)
	must(t, err)
	want1.Name, want1.SignCount, want1.Flags, want1.BackupState, want1.LastUsedAt = "Laptop", 8, 0x1d, false, at(time.Hour)
	diff(t, "after rename and use", want1, got)

	// 16 sign-ins that read counter 8 race: one moves it.
	var wins atomic.Int32
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := s.UsePasskey(ctx, "p1", 8, uint32(9+i), 0x1d, false, used)
			switch {
			case err == nil:
				wins.Add(1)
			case !isConflict(err):
				t.Errorf("racing UsePasskey: %v", err)
			}
		}()
	}
	wg.Wait()
	if n := wins.Load(); n != 1 {
		t.Fatalf("%d racing sign-ins moved the counter, want 1", n)
	}

	must(t, s.DeletePasskey(ctx, "u1", "p2"))
	wantErr(t, s.DeletePasskey(ctx, "u1", "p2"), storage.ErrNotFound, "DeletePasskey twice")
	// The rows go with their user.
	must(t, s.MarkDeletion(ctx, storage.Deletion{UserID: "u1", RequestedAt: base, PurgeAfter: base}))
	must(t, s.PurgeUser(ctx, "u1", base))
	_, err = s.GetPasskeyByCredentialID(ctx, p1.CredentialID)
	wantErr(t, err, storage.ErrNotFound, "a purged user's passkey")
	// Its credential id is free again.
	must(t, s.CreatePasskey(ctx, newPasskey("p4", "u2", 1)))
}

func isConflict(err error) bool { return errors.Is(err, storage.ErrConflict) }

// testWebAuthnChallenges: a challenge is consumed once, only as its kind; an expired one is
// not found (and gone); putting one sweeps the expired; 16 concurrent consumers: one wins.
func testWebAuthnChallenges(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	createUser(t, s, "u1")
	c := storage.WebAuthnChallenge{ID: "c1", Kind: storage.ChallengeRegister, UserID: "u1", Data: []byte(`{"challenge":"x"}`),
		CreatedAt: base, ExpiresAt: base.Add(5 * time.Minute)}
	must(t, s.PutWebAuthnChallenge(ctx, c))
	wantErr(t, s.PutWebAuthnChallenge(ctx, c), storage.ErrAlreadyExists, "PutWebAuthnChallenge twice")
	_, err := s.ConsumeWebAuthnChallenge(ctx, "c1", storage.ChallengeLogin, base)
	wantErr(t, err, storage.ErrNotFound, "ConsumeWebAuthnChallenge as another kind")
	got, err := s.ConsumeWebAuthnChallenge(ctx, "c1", storage.ChallengeRegister, base.Add(time.Minute))
	must(t, err)
	want := c
	want.CreatedAt, want.ExpiresAt = at(0), at(5*time.Minute)
	diff(t, "ConsumeWebAuthnChallenge", want, got)
	_, err = s.ConsumeWebAuthnChallenge(ctx, "c1", storage.ChallengeRegister, base.Add(time.Minute))
	wantErr(t, err, storage.ErrNotFound, "ConsumeWebAuthnChallenge twice")

	// No user (a passwordless sign-in); expired when consumed.
	must(t, s.PutWebAuthnChallenge(ctx, storage.WebAuthnChallenge{ID: "c2", Kind: storage.ChallengeLogin, Data: []byte("d"),
		CreatedAt: base, ExpiresAt: base.Add(time.Minute)}))
	_, err = s.ConsumeWebAuthnChallenge(ctx, "c2", storage.ChallengeLogin, base.Add(time.Minute))
	wantErr(t, err, storage.ErrNotFound, "an expired challenge")
	must(t, s.PutWebAuthnChallenge(ctx, storage.WebAuthnChallenge{ID: "c2", Kind: storage.ChallengeLogin, Data: []byte("d"),
		CreatedAt: base, ExpiresAt: base.Add(time.Minute)}))
	// A later put sweeps it.
	must(t, s.PutWebAuthnChallenge(ctx, storage.WebAuthnChallenge{ID: "c3", Kind: storage.ChallengeMFA, UserID: "u1", Data: []byte("d"),
		CreatedAt: base.Add(2 * time.Minute), ExpiresAt: base.Add(7 * time.Minute)}))
	_, err = s.ConsumeWebAuthnChallenge(ctx, "c2", storage.ChallengeLogin, base)
	wantErr(t, err, storage.ErrNotFound, "a swept challenge")

	var wins atomic.Int32
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.ConsumeWebAuthnChallenge(ctx, "c3", storage.ChallengeMFA, base.Add(3*time.Minute))
			switch {
			case err == nil:
				wins.Add(1)
			case !errors.Is(err, storage.ErrNotFound) && !errors.Is(err, storage.ErrConflict):
				t.Errorf("racing ConsumeWebAuthnChallenge: %v", err)
			}
		}()
	}
	wg.Wait()
	if n := wins.Load(); n != 1 {
		t.Fatalf("%d racing consumers got the challenge, want 1", n)
	}
	// A user's challenges go with the user.
	must(t, s.PutWebAuthnChallenge(ctx, storage.WebAuthnChallenge{ID: "c4", Kind: storage.ChallengeMFA, UserID: "u1", Data: []byte("d"),
		CreatedAt: base.Add(2 * time.Minute), ExpiresAt: base.Add(7 * time.Minute)}))
	must(t, s.MarkDeletion(ctx, storage.Deletion{UserID: "u1", RequestedAt: base, PurgeAfter: base}))
	must(t, s.PurgeUser(ctx, "u1", base))
	_, err = s.ConsumeWebAuthnChallenge(ctx, "c4", storage.ChallengeMFA, base.Add(3*time.Minute))
	wantErr(t, err, storage.ErrNotFound, "a purged user's challenge")
}
