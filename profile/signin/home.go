package signin

import (
	"errors"
	"net/http"

	"github.com/facetid/facet/storage"
)

// home shows who is signed in, or the way in.
func (h *Handler) home(w http.ResponseWriter, r *http.Request) {
	var data homePage
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
		default:
			data = homePage{SignedIn: true, Email: u.Email}
		}
	}
	h.kit.Render(w, r, http.StatusOK, "home", data)
}

// homePage is home.html's data.
type homePage struct {
	SignedIn bool
	Email    string
}
