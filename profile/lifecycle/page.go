package lifecycle

import (
	"context"

	"github.com/facetid/facet/profile"
	"github.com/facetid/facet/storage"
	"github.com/facetid/facet/templates"
)

// OtherActions gives the profile page's "Other actions" block its lifecycle actions
// (profile.Deps.Blocks; the block of the same id from another source is merged with it):
// Download Data, Personal Data Processing Policy and Delete account, behind its dialog.
func (h *Handler) OtherActions(ctx context.Context, u storage.User) (profile.ActionBlock, bool, error) {
	l := templates.LangFrom(ctx)
	return profile.ActionBlock{
		ID:    "other-actions",
		Title: l.T("apps.other"),
		Links: []profile.ActionLink{
			{Text: l.T("lifecycle.export.link"), URL: pathExport, Icon: "download", Download: true},
			{Text: l.T("lifecycle.policy.link"), URL: pathPolicy, Icon: "document", Download: true},
		},
		Actions: []profile.Confirmation{h.deleteConfirmation(l, u)},
	}, true, nil
}
