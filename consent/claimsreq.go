package consent

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
)

// ClaimsRequest is the OpenID Connect "claims" request parameter (OIDC Core §5.5): the
// individual claims an app asks for, to be returned from the UserInfo endpoint (Userinfo) or
// in the ID token (IDToken). Only the claim names matter to Facet. "essential" does not make
// a withheld claim fail the flow, and "value"/"values" do not change what is released: a
// claim is released, or withheld, by its privacy level and the user's grant alone.
type ClaimsRequest struct {
	Userinfo []string
	IDToken  []string
}

// maxClaimsRequest bounds the parameter's size (it arrives in the authorization URL).
const maxClaimsRequest = 4 << 10

// ParseClaimsRequest reads the "claims" parameter; "" is the empty request. It keeps the
// names of claims Facet can release (Claims), sorted and without duplicates; other names
// are ignored, as §5.5 asks of claims the OP does not understand. A parameter that is not a
// JSON object of objects is an error (the caller answers invalid_request).
func ParseClaimsRequest(raw string) (ClaimsRequest, error) {
	var cr ClaimsRequest
	if raw == "" {
		return cr, nil
	}
	if len(raw) > maxClaimsRequest {
		return cr, errors.New("claims parameter too long")
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal([]byte(raw), &doc); err != nil {
		return cr, fmt.Errorf("claims parameter: %w", err)
	}
	member := func(name string) ([]string, error) {
		m, ok := doc[name]
		if !ok || bytes.Equal(bytes.TrimSpace(m), []byte("null")) {
			return nil, nil
		}
		var claims map[string]json.RawMessage
		if err := json.Unmarshal(m, &claims); err != nil {
			return nil, fmt.Errorf("claims parameter %q member: %w", name, err)
		}
		var out []string
		for c, spec := range claims {
			// Each value is null or an object (essential, value, values).
			if s := bytes.TrimSpace(spec); !bytes.Equal(s, []byte("null")) && (len(s) == 0 || s[0] != '{') {
				return nil, fmt.Errorf("claims parameter: %q in %q is neither null nor an object", c, name)
			}
			if _, ok := claimIndex[c]; ok {
				out = append(out, c)
			}
		}
		slices.Sort(out)
		return out, nil
	}
	var err error
	if cr.Userinfo, err = member("userinfo"); err != nil {
		return ClaimsRequest{}, err
	}
	if cr.IDToken, err = member("id_token"); err != nil {
		return ClaimsRequest{}, err
	}
	return cr, nil
}

// String is the compact form stored with a grant's tokens: the JSON of §5.5 with null
// members, which ParseClaimsRequest reads back. The empty request is "".
func (cr ClaimsRequest) String() string {
	if len(cr.Userinfo) == 0 && len(cr.IDToken) == 0 {
		return ""
	}
	doc := map[string]map[string]any{}
	add := func(name string, claims []string) {
		if len(claims) == 0 {
			return
		}
		m := make(map[string]any, len(claims))
		for _, c := range claims {
			m[c] = nil
		}
		doc[name] = m
	}
	add("userinfo", cr.Userinfo)
	add("id_token", cr.IDToken)
	b, err := json.Marshal(doc)
	if err != nil { // maps of strings to nil always marshal
		return ""
	}
	return string(b)
}
