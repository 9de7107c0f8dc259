package stored

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/fxamacker/cbor/v2"
)

// cborRow encodes v (a stand-in for a stored request) with the version byte.
func cborRow(t testing.TB, v any) []byte {
	b, err := cbor.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return append([]byte{VersionCBOR}, b...)
}

// TestLimits: the decoder refuses rows beyond what a request holds before it
// allocates for them (too many items or levels, too many bytes), and maps, unknown versions
// and rows of another shape; a row at each limit still decodes.
func TestLimits(t *testing.T) {
	list := func(n int) []string { return slices.Repeat([]string{"s"}, n) }
	head := func(more ...any) []any { return append([]any{"r", 1, "app", nil, nil, nil, nil}, more...) }
	session := func(amr any) []any { return []any{"u", 0, 0, "", amr, nil, nil, 0, ""} }
	nonce := func(n int) []byte { return cborRow(t, head([]string{"nonce", strings.Repeat("n", n)}, nil)) }
	for _, c := range []struct {
		name      string
		ok, over  []byte
		wantError any
	}{
		{"items", cborRow(t, append([]any{"r", 1, "app", list(1024)}, nil, nil, nil, nil, nil)),
			cborRow(t, append([]any{"r", 1, "app", list(1025)}, nil, nil, nil, nil, nil)), new(*cbor.MaxArrayElementsError)},
		{"levels", cborRow(t, head(nil, session([]string{"pwd"}))), cborRow(t, head(nil, session([]any{[]any{[]any{"pwd"}}}))), new(*cbor.MaxNestedLevelError)},
		{"map", cborRow(t, head([]string{"nonce", "n"}, nil)), cborRow(t, head(map[string]string{"nonce": "n"}, nil)), new(*cbor.UnmarshalTypeError)},
		{"odd form", cborRow(t, head([]string{"nonce", "n"}, nil)), cborRow(t, head([]string{"nonce"}, nil)), nil},
		{"fields", cborRow(t, head(nil, nil)), cborRow(t, head(nil)), new(*cbor.UnmarshalTypeError)},
		{"size", nonce(maxSize - 64), nonce(maxSize), nil},
		{"version", cborRow(t, head(nil, nil)), append([]byte{0x03}, cborRow(t, head(nil, nil))[1:]...), nil},
	} {
		if _, err := Decode(c.ok); err != nil {
			t.Errorf("%s: the row at the limit: %v", c.name, err)
		}
		_, err := Decode(c.over)
		if err == nil || !errors.Is(err, ErrMalformed) || (c.wantError != nil && !errors.As(err, c.wantError)) {
			t.Errorf("%s: the row over the limit: %v, want %T", c.name, err, c.wantError)
		}
	}
}
