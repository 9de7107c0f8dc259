package storagetest

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/facetid/facet/storage"
)

func newVerification(userID, kind, value string, code byte, link []byte) storage.Verification {
	return storage.Verification{
		UserID: userID, Kind: kind, Value: value, Channel: "email",
		CodeHash: []byte{code, 1, 2, 3}, LinkHash: link,
		ExpiresAt: base.Add(10 * time.Minute), LastSentAt: base, CreatedAt: base,
	}
}

// testContacts covers pending verifications (throttled upsert, atomic attempts, single use),
// the one-owner rule for verified phone numbers, photos checked against their owner, and the
// trimmed development outbox — each also inside a transaction.
func testContacts(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	createUser(t, s, "u1")
	createUser(t, s, "u2")

	// Verifications.
	v := newVerification("u1", storage.ContactEmail, "new@example.com", 7, []byte("link-hash-1"))
	ok, err := s.PutVerification(ctx, v, base.Add(-time.Minute))
	must(t, err)
	if !ok {
		t.Fatal("first PutVerification not stored")
	}
	got, err := s.GetVerification(ctx, "u1", storage.ContactEmail)
	must(t, err)
	wantV := v
	wantV.ExpiresAt, wantV.LastSentAt, wantV.CreatedAt = at(10*time.Minute), at(0), at(0)
	diff(t, "GetVerification", wantV, got)
	got, err = s.GetVerificationByLink(ctx, []byte("link-hash-1"))
	must(t, err)
	diff(t, "GetVerificationByLink", wantV, got)
	_, err = s.GetVerificationByLink(ctx, []byte("other"))
	wantErr(t, err, storage.ErrNotFound, "GetVerificationByLink unknown")
	_, err = s.GetVerificationByLink(ctx, nil)
	wantErr(t, err, storage.ErrNotFound, "GetVerificationByLink nil")
	_, err = s.GetVerification(ctx, "u2", storage.ContactEmail)
	wantErr(t, err, storage.ErrNotFound, "GetVerification other user")

	// A resend while the last send is newer than sentBefore is refused and changes nothing.
	v2 := newVerification("u1", storage.ContactEmail, "other@example.com", 8, nil)
	v2.LastSentAt = base.Add(30 * time.Second)
	ok, err = s.PutVerification(ctx, v2, base.Add(-30*time.Second))
	must(t, err)
	if ok {
		t.Fatal("throttled PutVerification stored")
	}
	got, err = s.GetVerification(ctx, "u1", storage.ContactEmail)
	must(t, err)
	diff(t, "after throttled put", wantV, got)

	// Attempts: five counted, the sixth refused.
	for i := 1; i <= 5; i++ {
		n, err := s.CountVerificationAttempt(ctx, "u1", storage.ContactEmail, 5)
		must(t, err)
		if n != i {
			t.Fatalf("attempt %d counted as %d", i, n)
		}
	}
	_, err = s.CountVerificationAttempt(ctx, "u1", storage.ContactEmail, 5)
	wantErr(t, err, storage.ErrNotFound, "sixth attempt")
	_, err = s.CountVerificationAttempt(ctx, "u2", storage.ContactEmail, 5)
	wantErr(t, err, storage.ErrNotFound, "attempt without verification")

	// A later resend replaces the row and resets attempts; the old link hash is gone.
	ok, err = s.PutVerification(ctx, v2, base)
	must(t, err)
	if !ok {
		t.Fatal("resend after the throttle not stored")
	}
	got, err = s.GetVerification(ctx, "u1", storage.ContactEmail)
	must(t, err)
	if got.Attempts != 0 || got.Value != "other@example.com" || got.LinkHash != nil || !got.LastSentAt.Equal(at(30*time.Second)) {
		t.Fatalf("after resend: %+v", got)
	}
	_, err = s.GetVerificationByLink(ctx, []byte("link-hash-1"))
	wantErr(t, err, storage.ErrNotFound, "old link after resend")

	// Consume only with the current code hash, once.
	wantErr(t, s.ConsumeVerification(ctx, v), storage.ErrNotFound, "consume with replaced code")
	must(t, s.ConsumeVerification(ctx, v2))
	wantErr(t, s.ConsumeVerification(ctx, v2), storage.ErrNotFound, "consume twice")
	must(t, s.DeleteVerification(ctx, "u1", storage.ContactEmail))

	// 16 concurrent guesses against a limit of 5: exactly 5 counted.
	phone := newVerification("u2", storage.ContactPhone, "+15551234567", 9, nil)
	phone.Channel = "sms"
	_, err = s.PutVerification(ctx, phone, base)
	must(t, err)
	var counted atomic.Int32
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			if _, err := s.CountVerificationAttempt(ctx, "u2", storage.ContactPhone, 5); err == nil {
				counted.Add(1)
			}
		})
	}
	wg.Wait()
	if counted.Load() != 5 {
		t.Errorf("concurrent attempts counted %d, want 5", counted.Load())
	}
	must(t, s.DeleteVerification(ctx, "u2", storage.ContactPhone))
	must(t, s.DeleteVerification(ctx, "u2", storage.ContactPhone))
	_, err = s.GetVerification(ctx, "u2", storage.ContactPhone)
	wantErr(t, err, storage.ErrNotFound, "deleted verification")

	// A verified phone number belongs to one account.
	must(t, s.PutProfileFields(ctx, []storage.ProfileField{{UserID: "u1", Field: "phone_number", Value: "+15551234567", Privacy: "private", UpdatedAt: base}}))
	owner, err := s.PhoneOwner(ctx, "+15551234567")
	must(t, err)
	if owner != "u1" {
		t.Errorf("PhoneOwner = %q", owner)
	}
	_, err = s.PhoneOwner(ctx, "+15550000000")
	wantErr(t, err, storage.ErrNotFound, "PhoneOwner unknown")
	err = s.PutProfileFields(ctx, []storage.ProfileField{{UserID: "u2", Field: "phone_number", Value: "+15551234567", Privacy: "private", UpdatedAt: base}})
	wantErr(t, err, storage.ErrAlreadyExists, "second owner of a phone number")
	// Empty values (a privacy level without a number) and other fields are not constrained.
	must(t, s.PutProfileFields(ctx, []storage.ProfileField{
		{UserID: "u1", Field: "nickname", Value: "+15551234567", UpdatedAt: base},
		{UserID: "u2", Field: "nickname", Value: "+15551234567", UpdatedAt: base},
	}))

	// Photos.
	p := storage.Photo{ID: "photo-1", UserID: "u1", ContentType: "image/png", Data: []byte{0x89, 'P', 'N', 'G'}, CreatedAt: base}
	must(t, s.CreatePhoto(ctx, p))
	wantErr(t, s.CreatePhoto(ctx, p), storage.ErrAlreadyExists, "CreatePhoto same id")
	gotP, err := s.GetPhoto(ctx, "photo-1")
	must(t, err)
	wantP := p
	wantP.CreatedAt = at(0)
	diff(t, "GetPhoto", wantP, gotP)
	_, err = s.GetPhoto(ctx, "none")
	wantErr(t, err, storage.ErrNotFound, "GetPhoto unknown")
	wantErr(t, s.DeletePhoto(ctx, "u2", "photo-1"), storage.ErrNotFound, "DeletePhoto by another user")
	must(t, s.CreatePhoto(ctx, storage.Photo{ID: "photo-2", UserID: "u1", ContentType: "image/jpeg", Data: []byte{1}, CreatedAt: base}))
	must(t, s.CreatePhoto(ctx, storage.Photo{ID: "photo-3", UserID: "u2", ContentType: "image/jpeg", Data: []byte{1}, CreatedAt: base}))
	n, err := s.DeleteOtherPhotos(ctx, "u1", "photo-2")
	must(t, err)
	if n != 1 {
		t.Errorf("DeleteOtherPhotos removed %d", n)
	}
	_, err = s.GetPhoto(ctx, "photo-3")
	must(t, err)
	must(t, s.DeletePhoto(ctx, "u1", "photo-2"))
	wantErr(t, s.DeletePhoto(ctx, "u1", "photo-2"), storage.ErrNotFound, "DeletePhoto twice")

	// The development outbox keeps the newest messages.
	for i := range 5 {
		must(t, s.AddDevMail(ctx, storage.DevMail{Channel: "email", To: "a@example.com", Subject: "s", Body: string(rune('a' + i)), CreatedAt: base}, 3))
	}
	mails, err := s.ListDevMail(ctx, 10)
	must(t, err)
	if len(mails) != 3 || mails[0].Body != "e" || mails[2].Body != "c" || !mails[0].CreatedAt.Equal(at(0)) || mails[0].Seq <= mails[1].Seq {
		t.Fatalf("dev mail: %+v", mails)
	}
	mails, err = s.ListDevMail(ctx, 1)
	must(t, err)
	if len(mails) != 1 || mails[0].Body != "e" {
		t.Fatalf("dev mail limit 1: %+v", mails)
	}

	// Every method inside a transaction, rolled back.
	testContactsInTx(t, s)
}

func testContactsInTx(t *testing.T, s storage.Storage) {
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
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
	v := newVerification("u2", storage.ContactEmail, "tx@example.com", 1, []byte("tx-link"))
	step("PutVerification", second(s.PutVerification(txCtx, v, base)))
	step("GetVerification", second(s.GetVerification(txCtx, "u2", storage.ContactEmail)))
	step("GetVerificationByLink", second(s.GetVerificationByLink(txCtx, []byte("tx-link"))))
	step("CountVerificationAttempt", second(s.CountVerificationAttempt(txCtx, "u2", storage.ContactEmail, 5)))
	step("ConsumeVerification", s.ConsumeVerification(txCtx, v))
	step("DeleteVerification", s.DeleteVerification(txCtx, "u2", storage.ContactEmail))
	step("PhoneOwner", second(s.PhoneOwner(txCtx, "+15551234567")))
	step("CreatePhoto", s.CreatePhoto(txCtx, storage.Photo{ID: "tx-photo", UserID: "u2", ContentType: "image/png", Data: []byte{1}, CreatedAt: base}))
	step("GetPhoto", second(s.GetPhoto(txCtx, "tx-photo")))
	step("DeleteOtherPhotos", second(s.DeleteOtherPhotos(txCtx, "u2", "tx-photo")))
	step("DeletePhoto", s.DeletePhoto(txCtx, "u2", "tx-photo"))
	step("AddDevMail", s.AddDevMail(txCtx, storage.DevMail{Channel: "sms", To: "+1", Body: "x", CreatedAt: base}, 10))
	step("ListDevMail", second(s.ListDevMail(txCtx, 10)))
	must(t, s.Rollback(txCtx))
	if _, err := s.GetPhoto(ctx, "photo-3"); err != nil {
		t.Fatalf("photo-3 after rollback: %v", err)
	}
}
