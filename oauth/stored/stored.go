// Package stored is the stored form of an OAuth request: what a token row keeps of the
// fosite request it was issued for (Token.Data), as a version byte and CBOR (RFC 8949). It
// knows plain values only; oauth turns a fosite request into a Request and back, and decides
// which form members are kept.
//
// Every token read (introspection, userinfo, refresh, the code exchange) decodes one:
// encoding/json's reflection was ≈ 15 % of introspection's CPU; CBOR of arrays takes a
// fraction of that, within 1 µs of a hand-written binary form (BenchmarkDecodeRequest in
// oauth; docs/performance.md). Each struct is a CBOR array in field order (toarray), so no
// member names are stored, and the encoding is the core deterministic one (RFC 8949 §4.2.1):
// one request, one byte string.
//
// Version 1, a hand-written binary form, is still read (decodeV1): its rows live until their
// token expires, refresh tokens the longest (refresh_token_lifespan), and every rotation
// writes the new tokens in the current form, so no row needs rewriting. Once every token
// written in version 1 has expired, no row reaches decodeV1.
package stored

import (
	"encoding/binary"
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/fxamacker/cbor/v2"
)

// The version byte that starts a stored request.
const (
	VersionBinary = 0x01 // version 1, the hand-written binary form; read, never written
	VersionCBOR   = 0x02 // the current form, written by Encode
)

// maxSize bounds a stored request, read or written. net/http reads at most 1 MiB of
// request line and headers (http.DefaultMaxHeaderBytes) and the token endpoint's body is
// smaller, so no stored form of a client's request comes near it.
const maxSize = 1 << 20

// ErrMalformed is a stored request that does not decode. Every error of Decode wraps it.
var ErrMalformed = errors.New("malformed stored request")

// Request is what a fosite request keeps in storage: only what later steps read back.
type Request struct {
	_               struct{} `cbor:",toarray"`
	ID              string
	RequestedAt     int64 // Unix ms
	ClientID        string
	Scopes          []string
	GrantedScopes   []string
	Audience        []string
	GrantedAudience []string
	Form            []string // the stored form members the request had: name, value, name, value…
	Session         *Session // nil: none
}

// Session is oauth's Session as stored. ID-token bookkeeping (exp, iat, jti, at_hash, nonce,
// aud, iss) is recomputed each time an ID token is signed, so it is not stored. Times are Unix
// seconds, 0 for none.
type Session struct {
	_         struct{} `cbor:",toarray"`
	Subject   string
	AuthTime  int64
	Requested int64
	ACR       string
	AMR       []string
	// Extra is the ID token's extra claims as the JSON they are signed as (empty for none),
	// decoded only when there are any (most tokens carry none).
	Extra     []byte
	ExpiresAt []Expiry // by token type, in the order of the types' names
	GrantedAt int64
	Claims    string // the claims parameter (OIDC Core §5.5), "" for none
}

// Expiry is one token type's expiry, in Unix seconds.
type Expiry struct {
	_    struct{} `cbor:",toarray"`
	Type string
	At   int64
}

var (
	cborEnc = mustMode(cbor.CoreDetEncOptions().EncMode())
	// cborDec refuses what no stored request holds, and so bounds what a corrupted or forged
	// row can make a decode allocate: deeper nesting than request → session → expiries →
	// expiry, more items than a client's registration allows in a list, maps (the form has
	// none), indefinite lengths, tags, invalid UTF-8.
	cborDec = mustMode(cbor.DecOptions{
		MaxNestedLevels:  4,    // what our rows need, and the library's minimum
		MaxArrayElements: 1024, // scopes and audiences are bounded by the client's registration
		MaxMapPairs:      16,   // the library's minimum; the stored form has no map
		IndefLength:      cbor.IndefLengthForbidden,
		TagsMd:           cbor.TagsForbidden,
		UTF8:             cbor.UTF8RejectInvalid,
	}.DecMode())
)

// mustMode returns a codec mode built from fixed options, which only a programming error
// makes invalid (and the package's tests would not start).
func mustMode[M any](m M, err error) M {
	if err != nil {
		panic(fmt.Sprintf("stored: cbor options: %v", err))
	}
	return m
}

// Encode writes r in the current form.
func Encode(r Request) ([]byte, error) {
	b, err := cborEnc.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("encode request: %w", err)
	}
	if len(b) >= maxSize {
		return nil, fmt.Errorf("encode request: %d bytes, more than %d", len(b)+1, maxSize)
	}
	return append([]byte{VersionCBOR}, b...), nil
}

// Decode reads a stored request of either version.
func Decode(data []byte) (Request, error) {
	if len(data) == 0 || len(data) > maxSize {
		return Request{}, ErrMalformed
	}
	switch data[0] {
	case VersionCBOR:
		var sr Request
		if err := cborDec.Unmarshal(data[1:], &sr); err != nil {
			return Request{}, fmt.Errorf("%w: %w", ErrMalformed, err)
		}
		if len(sr.Form)%2 != 0 {
			return Request{}, fmt.Errorf("%w: a form of %d items", ErrMalformed, len(sr.Form))
		}
		return sr, nil
	case VersionBinary:
		return decodeV1(data)
	}
	return Request{}, ErrMalformed
}

// decodeV1 reads a row of version 1. Its layout, after the version byte: strings and byte
// strings are a uvarint length and the bytes; integers are varints; a list is a uvarint count
// and its items.
//
//	id, requested_at (Unix ms), client_id,
//	scopes, granted_scopes, audience, granted_audience    (lists of strings)
//	form                                                  (count, then key and list of one value)
//	session flag (0 none, 1 Facet session), then the session:
//	  sub, auth_time, rat, acr, amr (list), ext (the extra claims as JSON, or empty),
//	  exp (count, then token type and Unix seconds), granted_at, claims (the claims parameter)
func decodeV1(data []byte) (Request, error) {
	d := decoder{b: data}
	if d.byte() != VersionBinary {
		return Request{}, ErrMalformed
	}
	var sr Request
	sr.ID = d.string()
	sr.RequestedAt = d.varint()
	sr.ClientID = d.string()
	sr.Scopes = d.list()
	sr.GrantedScopes = d.list()
	sr.Audience = d.list()
	sr.GrantedAudience = d.list()
	if n := d.count(); n > 0 {
		sr.Form = make([]string, 0, 2*n)
		for range n {
			k := d.string()
			// The encoder wrote one value per member.
			if v := d.list(); len(v) == 1 {
				sr.Form = append(sr.Form, k, v[0])
			} else {
				d.err = true
			}
		}
	}
	switch d.byte() {
	case 0:
	case 1:
		w := &Session{}
		w.Subject = d.string()
		w.AuthTime = d.varint()
		w.Requested = d.varint()
		w.ACR = d.string()
		w.AMR = d.list()
		w.Extra = d.bytes()
		if n := d.count(); n > 0 {
			w.ExpiresAt = make([]Expiry, n)
			for i := range w.ExpiresAt {
				w.ExpiresAt[i] = Expiry{Type: d.string(), At: d.varint()}
			}
		}
		w.GrantedAt = d.varint()
		w.Claims = d.string()
		sr.Session = w
	default:
		d.err = true
	}
	if d.err || len(d.b) != 0 {
		return Request{}, ErrMalformed
	}
	return sr, nil
}

// decoder reads version 1; the first malformed read sets err and every later read
// returns zero values, so callers check once at the end.
type decoder struct {
	b   []byte
	err bool
}

func (d *decoder) byte() byte {
	if d.err || len(d.b) == 0 {
		d.err = true
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *decoder) uvarint() uint64 {
	if d.err {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = true
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	if d.err {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.err = true
		return 0
	}
	d.b = d.b[n:]
	return v
}

// count reads a list or map length; each item takes at least one byte, so a count above the
// bytes left is malformed (and never allocates).
func (d *decoder) count() int {
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.err = true
		return 0
	}
	return int(n)
}

func (d *decoder) bytes() []byte {
	n := d.count()
	if d.err {
		return nil
	}
	s := d.b[:n:n]
	d.b = d.b[n:]
	return s
}

// string reads a string; like CBOR's text strings (RFC 8949 §3.1) it must be valid UTF-8.
func (d *decoder) string() string {
	b := d.bytes()
	if !utf8.Valid(b) {
		d.err = true
		return ""
	}
	return string(b)
}

func (d *decoder) list() []string {
	n := d.count()
	if n == 0 {
		return nil
	}
	l := make([]string, n)
	for i := range l {
		l[i] = d.string()
	}
	return l
}
