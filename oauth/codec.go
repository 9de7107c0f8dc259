package oauth

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"

	"github.com/ory/fosite"
)

// The stored request's binary form. Every token read (introspection, userinfo, refresh, the
// code exchange) decodes one stored request, and encoding/json's reflection was ≈ 15 % of
// introspection's CPU (docs/performance.md); this form decodes in a fraction of that.
//
// Layout, after the version byte: strings and byte strings are a uvarint length and the
// bytes; integers are varints; a list is a uvarint count and its items.
//
//	id, requested_at (Unix ms), client_id,
//	scopes, granted_scopes, audience, granted_audience    (lists of strings)
//	form                                                  (count, then key and list of values)
//	session flag (0 none, 1 Facet session), then the session:
//	  sub, auth_time, rat, acr, amr (list), ext (the extra claims as JSON, or empty),
//	  exp (count, then token type and Unix seconds), granted_at, claims (the claims parameter)
//
// Rows written before this form hold JSON (first byte '{'), which decodeStored still reads;
// a session of another type than *Session is stored as JSON too.
const codecV1 = 0x01

// errCodec is a malformed binary stored request.
var errCodec = errors.New("malformed stored request")

// encodeBinary appends the binary form of r, whose session is s (nil for none).
func encodeBinary(r fosite.Requester, s *Session) ([]byte, error) {
	b := make([]byte, 0, 256)
	b = append(b, codecV1)
	b = appendString(b, r.GetID())
	b = binary.AppendVarint(b, r.GetRequestedAt().UnixMilli())
	b = appendString(b, r.GetClient().GetID())
	b = appendList(b, r.GetRequestedScopes())
	b = appendList(b, r.GetGrantedScopes())
	b = appendList(b, r.GetRequestedAudience())
	b = appendList(b, r.GetGrantedAudience())

	form := r.GetRequestForm()
	n := 0
	for _, k := range storedForm {
		if form.Get(k) != "" {
			n++
		}
	}
	b = binary.AppendUvarint(b, uint64(n))
	for _, k := range storedForm { // a fixed order: the same request encodes the same
		if v := form.Get(k); v != "" {
			b = appendString(b, k)
			b = appendList(b, []string{v})
		}
	}

	if s == nil {
		return append(b, 0), nil
	}
	w := s.wire()
	b = append(b, 1)
	b = appendString(b, w.Subject)
	b = binary.AppendVarint(b, w.AuthTime)
	b = binary.AppendVarint(b, w.Requested)
	b = appendString(b, w.ACR)
	b = appendList(b, w.AMR)
	var ext []byte
	if len(w.Extra) > 0 {
		var err error
		if ext, err = json.Marshal(w.Extra); err != nil {
			return nil, fmt.Errorf("encode request: extra claims: %w", err)
		}
	}
	b = appendBytes(b, ext)
	keys := make([]string, 0, len(w.ExpiresAt))
	for k := range w.ExpiresAt {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b = binary.AppendUvarint(b, uint64(len(keys)))
	for _, k := range keys {
		b = appendString(b, k)
		b = binary.AppendVarint(b, w.ExpiresAt[k])
	}
	b = binary.AppendVarint(b, w.GrantedAt)
	b = appendString(b, w.Claims)
	return b, nil
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendBytes(b, s []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendList(b []byte, l []string) []byte {
	b = binary.AppendUvarint(b, uint64(len(l)))
	for _, s := range l {
		b = appendString(b, s)
	}
	return b
}

// decodeBinary reads the binary form into the same structure the JSON form decodes into.
func decodeBinary(data []byte) (storedRequestIn, error) {
	d := decoder{b: data}
	if d.byte() != codecV1 {
		return storedRequestIn{}, errCodec
	}
	var sr storedRequestIn
	sr.ID = d.string()
	sr.RequestedAt = d.varint()
	sr.ClientID = d.string()
	sr.Scopes = d.list()
	sr.GrantedScopes = d.list()
	sr.Audience = d.list()
	sr.GrantedAudience = d.list()
	if n := d.count(); n > 0 {
		sr.Form = make(url.Values, n)
		for range n {
			k := d.string()
			sr.Form[k] = d.list()
		}
	}
	switch d.byte() {
	case 0:
	case 1:
		w := &storedSession{}
		w.Subject = d.string()
		w.AuthTime = d.varint()
		w.Requested = d.varint()
		w.ACR = d.string()
		w.AMR = d.list()
		if ext := d.bytes(); len(ext) > 0 {
			w.Extra = json.RawMessage(ext)
		}
		if n := d.count(); n > 0 {
			w.ExpiresAt = make(map[string]int64, n)
			for range n {
				k := d.string()
				w.ExpiresAt[k] = d.varint()
			}
		}
		w.GrantedAt = d.varint()
		w.Claims = d.string()
		sr.Session = w
	default:
		d.err = true
	}
	if d.err || len(d.b) != 0 {
		return storedRequestIn{}, errCodec
	}
	return sr, nil
}

// decoder reads the binary form; the first malformed read sets err and every later read
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

func (d *decoder) string() string {
	return string(d.bytes())
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
