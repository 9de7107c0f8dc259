package profile

import "github.com/gorilla/mux"

// contactRoutes registers this area's pages on r and its JSON routes on api (under APIPrefix,
// authenticated by apiAuth).
func (h *Handler) contactRoutes(r, api *mux.Router) {}
