package main

import (
	"context"
	"maps"
	"slices"

	"github.com/facetid/facet/oauth"
	"github.com/facetid/facet/profile"
)

// flows is profile's FlowFinder over the provider: the authorization request a flow page's
// return_to holds, with its app's name and the form that cancels it.
func flows(p *oauth.Provider) profile.FlowFinder {
	return func(ctx context.Context, returnTo string) (profile.Flow, bool, error) {
		f, ok, err := p.Flow(ctx, returnTo)
		if err != nil || !ok {
			return profile.Flow{}, false, err
		}
		out := profile.Flow{AppName: f.AppName, CancelAction: f.CancelAction}
		for _, k := range slices.Sorted(maps.Keys(f.CancelForm)) {
			for _, v := range f.CancelForm[k] {
				out.CancelFields = append(out.CancelFields, profile.HiddenField{Name: k, Value: v})
			}
		}
		return out, true, nil
	}
}
