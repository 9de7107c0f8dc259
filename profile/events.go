package profile

import "github.com/gorilla/mux"

// eventRoutes registers this area's pages on r and its JSON routes on api (under APIPrefix,
// authenticated by apiAuth).
func (h *Handler) eventRoutes(r, api *mux.Router) {}
