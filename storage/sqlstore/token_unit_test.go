package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/facetid/facet/storage"
)

func unitToken(kind storage.TokenKind, sig, request string, active bool) storage.Token {
	now := time.Now()
	return storage.Token{Kind: kind, Signature: sig, RequestID: request, ClientID: "app", Subject: "u1",
		Active: active, RequestedAt: now, ExpiresAt: now.Add(time.Hour), Data: []byte("{}")}
}

// TestSQLiteBatchUnits runs units and plain writes in ONE group-commit batch: a unit whose
// precondition fails, or whose insert takes a used signature, is undone alone (even its
// writes that had applied), a failing plain insert fails alone, and everything else commits
// in the batch's one transaction.
func TestSQLiteBatchUnits(t *testing.T) {
	ctx := t.Context()
	s, err := Open(ctx, "sqlite://"+filepath.Join(t.TempDir(), "facet.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	for _, tok := range []storage.Token{
		unitToken(storage.KindRefreshToken, "rt-a", "req-a", true),
		unitToken(storage.KindAccessToken, "at-a", "req-a", true),
		unitToken(storage.KindRefreshToken, "rt-b", "req-b", false), // rotated already
		unitToken(storage.KindAccessToken, "at-b", "req-b", true),
		unitToken(storage.KindAuthorizeCode, "code-c", "req-c", true),
		unitToken(storage.KindAccessToken, "taken", "req-x", true),
	} {
		if err := s.CreateToken(ctx, tok); err != nil {
			t.Fatal(err)
		}
	}

	var txs []*sql.Tx // the transaction each unit ran in
	unit := func(writes ...storage.TokenWrite) *writeOp {
		return &writeOp{wake: make(chan struct{}, 1), unit: func(ctx context.Context, tx *sql.Tx) error {
			txs = append(txs, tx)
			return s.applyTx(ctx, tx, writes)
		}}
	}
	insert := func(tok storage.Token) *writeOp {
		return &writeOp{wake: make(chan struct{}, 1), query: insertToken, args: tokenArgs(tok)}
	}
	deactivate := func(kind storage.TokenKind, sig string) storage.TokenWrite {
		return storage.TokenWrite{Op: storage.TokenDeactivate, Token: storage.Token{Kind: kind, Signature: sig}}
	}
	revoke := func(kind storage.TokenKind, request string) storage.TokenWrite {
		return storage.TokenWrite{Op: storage.TokenRevokeRequest, Token: storage.Token{Kind: kind, RequestID: request}}
	}
	create := func(kind storage.TokenKind, sig, request string) storage.TokenWrite {
		return storage.TokenWrite{Op: storage.TokenCreate, Token: unitToken(kind, sig, request, true)}
	}
	batch := []*writeOp{
		insert(unitToken(storage.KindAccessToken, "plain-1", "req-p", true)),
		unit(deactivate(storage.KindRefreshToken, "rt-a"), revoke(storage.KindAccessToken, "req-a"),
			create(storage.KindAccessToken, "at-a1", "req-a"), create(storage.KindRefreshToken, "rt-a1", "req-a")),
		unit(deactivate(storage.KindRefreshToken, "rt-b"), revoke(storage.KindAccessToken, "req-b"),
			create(storage.KindAccessToken, "at-b1", "req-b"), create(storage.KindRefreshToken, "rt-b1", "req-b")),
		insert(unitToken(storage.KindAccessToken, "taken", "req-y", true)),
		unit(deactivate(storage.KindAuthorizeCode, "code-c"), create(storage.KindAccessToken, "at-c1", "req-c"),
			create(storage.KindAccessToken, "taken", "req-c")),
		unit(deactivate(storage.KindAuthorizeCode, "nope"), create(storage.KindAccessToken, "at-d1", "req-d")),
		insert(unitToken(storage.KindAccessToken, "plain-2", "req-p", true)),
	}
	s.batch.execBatch(ctx, batch)

	wantErrs := []error{nil, nil, storage.ErrConflict, storage.ErrAlreadyExists, storage.ErrAlreadyExists, storage.ErrNotFound, nil}
	for i, op := range batch {
		err := mapErr(op.err)
		if want := wantErrs[i]; (want == nil) != (err == nil) || want != nil && !errors.Is(err, want) {
			t.Errorf("op %d: %v, want %v", i, err, want)
		}
	}
	if len(txs) != 4 {
		t.Fatalf("units ran %d times, want 4 (once each: the batch did not fall back to one transaction per write)", len(txs))
	}
	for _, tx := range txs[1:] {
		if tx != txs[0] {
			t.Fatal("units ran in different transactions, want the batch's one")
		}
	}
	for sig, want := range map[string]string{
		"plain-1": "active", "plain-2": "active",
		"at-a": "absent", "at-a1": "active", "rt-a1": "active", "rt-a": "inactive",
		"at-b": "active", "at-b1": "absent", "rt-b1": "absent",
		"code-c": "active", "at-c1": "absent", "at-d1": "absent",
	} {
		kind := storage.KindAccessToken
		switch {
		case strings.HasPrefix(sig, "rt-"):
			kind = storage.KindRefreshToken
		case strings.HasPrefix(sig, "code-"):
			kind = storage.KindAuthorizeCode
		}
		got := "absent"
		tok, err := s.GetToken(ctx, kind, sig)
		switch {
		case err == nil && tok.Active:
			got = "active"
		case err == nil:
			got = "inactive"
		case !errors.Is(err, storage.ErrNotFound):
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("%s is %s, want %s", sig, got, want)
		}
	}
}
