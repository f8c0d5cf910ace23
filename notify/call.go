package notify

import "net/http"

func (rc *Receiver) handleCall(w http.ResponseWriter, r *http.Request) {
	http.Error(w, "not implemented", http.StatusNotImplemented)
}
