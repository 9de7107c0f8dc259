package profile

import "github.com/gorilla/mux"

// accountRoutes registers this area's pages on r and its JSON routes on api (under APIPrefix,
// authenticated by apiAuth).
func (h *Handler) accountRoutes(r, api *mux.Router) {}
