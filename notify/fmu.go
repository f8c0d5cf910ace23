package notify

import "net/http"

func (rc *Receiver) handleFMU(w http.ResponseWriter, r *http.Request) {
	http.Error(w, "not implemented", http.StatusNotImplemented)
}
