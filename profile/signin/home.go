package signin

import (
	"errors"
	"net/http"

	"github.com/facetid/facet/storage"
)

// home is the way in; a signed-in person goes on to their account.
func (h *Handler) home(w http.ResponseWriter, r *http.Request) {
	s, ok, err := h.kit.Current(r)
	if err != nil {
		h.kit.ServerError(w, r, "current session", err)
		return
	}
	if ok {
		u, err := h.store.GetUser(r.Context(), s.UserID)
		switch {
		case errors.Is(err, storage.ErrNotFound):
		case err != nil:
			h.kit.ServerError(w, r, "get user", err)
			return
		case u.Status == storage.UserActive:
			http.Redirect(w, r, "/profile", http.StatusSeeOther)
			return
		}
	}
	h.kit.Render(w, r, http.StatusOK, "home", nil)
}
